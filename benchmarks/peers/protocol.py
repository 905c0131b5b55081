"""The line protocol between the harness and a peer process.

A peer is started with ``python -m benchmarks.peers.<name> [--trace] [--max-seconds N]``.

1. Once its SIP stack listens, the peer prints ``READY <udp-port>`` on stdout.
2. The harness later writes ``STOP`` on the peer's stdin (or just closes stdin).
3. The peer prints one JSON object on a single line holding its counters and exits.
   ``cpu_s`` in it is the CPU time (user + system, all threads) the peer used from READY
   until STOP.

A peer that hears nothing for ``--max-seconds`` stops on its own, so that a
crashed harness never leaves a peer behind.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import select
import sys
import threading
import time
from collections.abc import Callable
from typing import Any


def parse_peer_args(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--trace", action="store_true", help="deliver every SIP message into Python and count it")
    parser.add_argument("--port", type=int, default=0, help="UDP port to listen on (0: pick a free one)")
    parser.add_argument("--max-seconds", type=float, default=300.0, help="stop by itself after this long")
    return parser.parse_args()


_cpu_at_ready = 0.0


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def announce_ready(port: int) -> None:
    global _cpu_at_ready
    _cpu_at_ready = _cpu_s()
    print(f"READY {port}", flush=True)


def wait_for_stop(max_seconds: float, on_command: Callable[[str], None] | None = None) -> str:
    """Block until ``STOP`` or end of input arrives on stdin, or until max_seconds pass.

    Any other line is handed (stripped, upper-cased) to on_command, when given.
    Returns the reason: "stop", "eof" or "timeout".
    """
    deadline = time.monotonic() + max_seconds
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return "timeout"
        readable, _, _ = select.select([sys.stdin], [], [], min(remaining, 1.0))
        if not readable:
            continue
        line = sys.stdin.readline()
        if not line:
            return "eof"
        command = line.strip().upper()
        if command == "STOP":
            return "stop"
        if on_command is not None:
            on_command(command)


def report(counters: dict[str, Any]) -> None:
    counters = {**counters, "cpu_s": _cpu_s() - _cpu_at_ready}
    print(json.dumps(counters, sort_keys=True), flush=True)


class EventCounter:
    """Counts events delivered into Python, with the time of the first and the last one.

    Kept as cheap as possible, since it runs once per event in the SIP stack's thread.
    """

    __slots__ = ("count", "first", "last", "received", "sent")

    def __init__(self) -> None:
        self.count = 0
        self.received = 0
        self.sent = 0
        self.first = 0.0
        self.last = 0.0

    def hit(self, received: bool) -> None:
        now = time.monotonic()
        if not self.count:
            self.first = now
        self.last = now
        self.count += 1
        if received:
            self.received += 1
        else:
            self.sent += 1

    def as_dict(self) -> dict[str, Any]:
        window = self.last - self.first
        return {
            "events": self.count,
            "events_received": self.received,
            "events_sent": self.sent,
            "event_window_s": window,
        }


_PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    """This process's resident memory, for the peers that answer the ``RSS`` command."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * _PAGE


class CallCounts:
    """What a call peer counts: calls that came in, were established and ended, and answers that failed."""

    def __init__(self) -> None:
        self.incoming = 0
        self.established = 0
        self.ended = 0
        self.answer_errors = 0
        self.last_error = ""

    def active(self) -> int:
        return self.established - self.ended

    def as_dict(self) -> dict[str, object]:
        return {
            "incoming": self.incoming,
            "established": self.established,
            "ended": self.ended,
            "answer_errors": self.answer_errors,
            "last_error": self.last_error,
        }

    def answer_rss(self, command: str) -> None:
        """The RSS command of the call peers: resident memory, calls up, calls established so far."""
        if command == "RSS":
            print(f"RSS {rss_bytes()} {self.active()} {self.established}", flush=True)


def stop_and_exit(stop: Any, timeout: float = 10.0) -> None:
    """Call stop() (not measured, but exercised), bounded so a hang cannot stall the run, then exit."""
    stopper = threading.Thread(target=stop, daemon=True)
    stopper.start()
    stopper.join(timeout)
    sys.stdout.flush()
    os._exit(0 if not stopper.is_alive() else 3)
