"""What the media peers share: arguments, /proc readings and the loss summary.

The media peers come in pairs of the same stack, a callee and a caller, each a process of its
own speaking the line protocol of ``protocol.py`` plus these commands on stdin:

* ``CALLS`` (caller only): place ``--calls`` calls to the callee, each with one PCMU audio
  stream, and once all are up (or after ``--setup-timeout`` seconds) connect the looping tone
  player to every call and print ``UP <calls up> <seconds it took>``;
* ``STATS`` (both): print ``STATS <json>``: calls up, and the RTP counters summed over the
  calls' streams (``rx_packets``, ``rx_lost``, ``tx_packets``);
* ``CHECK <k>`` (callee): record what k of its calls, spread evenly over them, bring in, for
  CHECK_SECONDS, each into a WAV file of its own (16-bit mono at CLOCK_RATE) in a new
  temporary directory, and print ``CHECKED <path> ...`` once the files are complete; the
  harness analyses them (the tone's frequency and level) and removes them.

The harness reads CPU time and RSS from ``/proc/<pid>`` itself.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from typing import Any

HOST = "127.0.0.1"
CLOCK_RATE = 16000  # the mixer's / conference bridge's rate on both stacks (pjsua's default)
CHECK_SECONDS = 1.0


def sample(items: list[Any], k: int) -> list[Any]:
    """k of items, spread evenly (the first and the last included when k > 1)."""
    if k <= 0 or not items:
        return []
    if k >= len(items):
        return list(items)
    if k == 1:
        return [items[len(items) // 2]]
    return [items[round(i * (len(items) - 1) / (k - 1))] for i in range(k)]


def check_paths(k: int) -> list[str]:
    directory = tempfile.mkdtemp(prefix="bench-media-check-")
    return [os.path.join(directory, f"call-{i}.wav") for i in range(k)]


def print_checked(paths: list[str]) -> None:
    print("CHECKED " + " ".join(paths), flush=True)


def parse_media_args(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--role", choices=("caller", "callee"), required=True)
    parser.add_argument("--target-port", type=int, default=0, help="the callee's UDP port (caller)")
    parser.add_argument("--calls", type=int, default=50, help="calls to place (caller)")
    parser.add_argument("--wav", default="", help="the tone to loop into every call (caller)")
    parser.add_argument("--rtp-port", type=int, default=30000, help="first RTP port")
    parser.add_argument("--setup-timeout", type=float, default=30.0)
    parser.add_argument("--max-seconds", type=float, default=300.0, help="stop by itself after this long")
    return parser.parse_args()


def print_stats(up: int, rx_packets: int, rx_lost: int, tx_packets: int, **extra: Any) -> None:
    counters = {"up": up, "rx_packets": rx_packets, "rx_lost": rx_lost, "tx_packets": tx_packets, **extra}
    print("STATS " + json.dumps(counters, sort_keys=True), flush=True)
