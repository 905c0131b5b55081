"""Concurrent established calls with PCMU audio flowing through the mixer, both ends our own.

No SIPp here: each run starts two fresh peer processes of one side, a callee and a caller
(benchmarks/peers/*_media_peer.py, shared code in peers/media_common.py), on 127.0.0.1 with
UDP, no SRTP, no ICE. The caller places N calls to the callee, each with one PCMU stream
(8 kHz, 20 ms packets, 50 packets/s each way), and connects one looping tone player (a
1 kHz WAV at 16 kHz, the mixer's rate) to every call. The callee answers every call and
records nothing (nothing listens to its streams), but connects its mixer's sound-device
slot (the null device: silence) to every call, so that its streams send 50 packets/s too
(no silence detection on either stack; a pjsua call port that nothing transmits to sends
about one packet a second).

* sipsimple: Invitation, RTPTransport, AudioTransport(codecs=["PCMU"]) on an
  AudioMixer(None, None, 16000, 0), WaveFile.start(loop=True) connected with connect_slots;
* pjsua2: Endpoint with the null audio device (clock rate 16000, noVad), PCMU the only codec,
  Call.makeCall / Account.onIncomingCall, an AudioMediaPlayer transmitted to each call.

Once all N calls are up (the caller prints UP) and SETTLE_S more seconds have passed, the
harness reads both processes' CPU time (/proc/<pid>/stat, all threads) over a window of W
seconds, then their RSS (/proc/<pid>/statm). Figures, both processes summed:

* CPU per call-second = CPU time in the window / (N * W);
* memory per call = (RSS with the N calls up - RSS before the calls, after READY) / N;
* RTP loss = lost / (received + lost), over every stream of both processes, from
  AudioTransport.statistics["rx"] and pjsua2's Call.getStreamStat().rtcp.rxStat, the worse
  of the two processes.

Best of MEDIA_REPEATS runs per side (lowest CPU; memory: the lowest too). Then "the
ceiling": one run per side for each N of settings.media_ladder, ascending, and the largest N
at which all calls came up and both processes lost under LOSS_LIMIT of their RTP (the ladder
stops at the first N that fails).
"""

from __future__ import annotations

import json
import math
import os
import struct
import tempfile
import time
import wave
from pathlib import Path
from typing import Any

from benchmarks.harness import (
    PEER_MODULES,
    SIDES,
    BenchmarkError,
    BenchmarkResult,
    Figure,
    Peer,
    Settings,
    SidedRuns,
    alternate,
)

NAME = "media"
DESCRIPTION = "concurrent calls with PCMU audio through the mixer between two user agents: CPU, memory, RTP loss"

SETTLE_S = 2.0
MEDIA_REPEATS = 3  # at most; fewer when settings.repeats is lower
LOSS_LIMIT = 0.01
SETUP_TIMEOUT_S = 30.0
READY_TIMEOUT_S = 30.0
CLOCK_RATE = 16000
TONE_HZ = 1000

MEDIA_PEERS = {
    "sipsimple": "benchmarks.peers.sipsimple_media_peer",
    "pjsua2": "benchmarks.peers.pjsua2_media_peer",
}
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def write_tone(path: Path, seconds: float = 1.0) -> None:
    """A 1 kHz sine, 16-bit mono at CLOCK_RATE, a whole number of periods so that it loops cleanly."""
    frames = int(CLOCK_RATE * seconds)
    samples = (int(8000 * math.sin(2 * math.pi * TONE_HZ * i / CLOCK_RATE)) for i in range(frames))
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(CLOCK_RATE)
        out.writeframes(b"".join(struct.pack("<h", sample) for sample in samples))


def cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime (fields 14 and 15)


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/statm") as statm:
        return int(statm.read().split()[1]) * PAGE


class MediaPeer(Peer):
    """A Peer (same line protocol) started from a media peer module, with commands and replies."""

    def __init__(self, settings: Settings, side: str, module: str, arguments: list[str]) -> None:
        super().__init__(settings, side, trace=False, ready_timeout_s=READY_TIMEOUT_S)
        self.module = module
        self.argv = [settings.python, "-m", module, "--max-seconds", "600", *arguments]
        self.cpu = None

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def command(self, line: str, reply: str, timeout_s: float) -> list[str]:
        """Write `line`, return the words after `reply` of the first line starting with it."""
        assert self._process is not None and self._process.stdin is not None
        self._process.stdin.write(line + "\n")
        self._process.stdin.flush()
        deadline = time.monotonic() + timeout_s
        while True:
            answer = self._next_line(deadline)
            if answer.startswith(reply + " "):
                return answer.split(" ", 1)[1].split()
            self.noise.append(answer)

    def stats(self) -> dict[str, Any]:
        words = self.command("STATS", "STATS", 20)
        return dict(json.loads(" ".join(words)))


def stack_of(settings: Settings, side: str) -> str:
    """Which stack's peers to run for `side` ("sipsimple*" stand-in runs use pjsua2's)."""
    return "pjsua2" if settings.peers[side] == PEER_MODULES["pjsua2"] else "sipsimple"


def loss(stats: dict[str, Any]) -> float | None:
    total = int(stats["rx_packets"]) + int(stats["rx_lost"])
    return int(stats["rx_lost"]) / total if total else None


def measure(settings: Settings, side: str, calls: int, window_s: float, tone: Path) -> dict[str, Any]:
    module = MEDIA_PEERS[stack_of(settings, side)]
    common = ["--calls", str(calls), "--setup-timeout", str(SETUP_TIMEOUT_S)]
    callee = MediaPeer(settings, side, module, ["--role", "callee", "--rtp-port", "32000", *common])
    caller: MediaPeer | None = None
    try:
        callee.start()
        caller_arguments = ["--role", "caller", "--target-port", str(callee.port), "--wav", str(tone)]
        caller = MediaPeer(settings, side, module, [*caller_arguments, "--rtp-port", "20000", *common])
        caller.start()
        peers = (caller, callee)
        time.sleep(0.5)
        rss_before = [rss_bytes(peer.pid) for peer in peers]
        settings.log(f"{side}: placing {calls} calls")
        up_words = caller.command("CALLS", "UP", SETUP_TIMEOUT_S + 15)
        up, setup_s = int(up_words[0]), float(up_words[1])
        time.sleep(SETTLE_S)
        cpu_before = [cpu_s(peer.pid) for peer in peers]
        started = time.monotonic()
        time.sleep(window_s)
        cpu_after = [cpu_s(peer.pid) for peer in peers]
        window = time.monotonic() - started
        rss_after = [rss_bytes(peer.pid) for peer in peers]
        caller_stats, callee_stats = caller.stats(), callee.stats()
        caller.stop(timeout_s=15)
        callee.stop(timeout_s=15)
    finally:
        if caller is not None:
            caller.kill()
        callee.kill()
    cpu = [after - before for before, after in zip(cpu_before, cpu_after, strict=True)]
    memory = [after - before for before, after in zip(rss_before, rss_after, strict=True)]
    losses = [loss(caller_stats), loss(callee_stats)]
    known = [value for value in losses if value is not None]
    run = {
        "calls": calls,
        "up": up,
        "setup_s": setup_s,
        "window_s": window,
        "cpu_s": {"caller": cpu[0], "callee": cpu[1]},
        "rss_before": {"caller": rss_before[0], "callee": rss_before[1]},
        "rss_after": {"caller": rss_after[0], "callee": rss_after[1]},
        "caller": caller_stats,
        "callee": callee_stats,
        "loss": {"caller": losses[0], "callee": losses[1]},
        "worst_loss_percent": max(known) * 100 if known else None,
        "cpu_ms_per_call_s": sum(cpu) / (up * window) * 1e3 if up else None,
        "cpu_caller_ms_per_call_s": cpu[0] / (up * window) * 1e3 if up else None,
        "cpu_callee_ms_per_call_s": cpu[1] / (up * window) * 1e3 if up else None,
        "memory_kib_per_call": sum(memory) / up / 1024 if up else None,
    }
    settings.log(
        f"{side}: {up}/{calls} up in {setup_s:.1f} s, CPU {run['cpu_ms_per_call_s']} ms per call-s,"
        f" memory {run['memory_kib_per_call']} KiB per call, loss {losses}"
    )
    return run


def lowest(runs: list[dict[str, Any]], key: str) -> float | None:
    values = [run[key] for run in runs if run.get(key) is not None]
    return min(values) if values else None


def cpu_or_inf(run: dict[str, Any]) -> float:
    value = run.get("cpu_ms_per_call_s")
    return math.inf if value is None else float(value)


def passes(run: dict[str, Any]) -> bool:
    worst = run.get("worst_loss_percent")
    return run["up"] == run["calls"] and worst is not None and worst < LOSS_LIMIT * 100


def ceiling(settings: Settings, tone: Path, errors: list[str]) -> tuple[dict[str, float | None], dict[str, Any]]:
    found: dict[str, float | None] = {side: None for side in SIDES}
    steps: dict[str, list[dict[str, Any]]] = {side: [] for side in SIDES}
    for side in SIDES:
        if side not in settings.peers:
            continue
        for calls in sorted(settings.media_ladder):
            settings.log(f"ceiling, {side}: {calls} calls")
            try:
                run = measure(settings, side, calls, settings.media_window_s, tone)
            except BenchmarkError as exc:
                errors.append(f"ceiling, {side}, {calls} calls: {exc}")
                break
            steps[side].append(run)
            if not passes(run):
                break
            found[side] = float(calls)
    return found, steps


def run(settings: Settings) -> BenchmarkResult:
    errors: list[str] = []
    calls, window_s = settings.media_calls, settings.media_window_s
    with tempfile.TemporaryDirectory(prefix="bench-media-") as tmp:
        tone = Path(tmp) / "tone.wav"
        write_tone(tone)
        repeats = settings.repeats
        settings.repeats = min(repeats, MEDIA_REPEATS)
        try:
            runs = alternate(settings, lambda side: measure(settings, side, calls, window_s, tone), errors)
        finally:
            settings.repeats = repeats
        chosen = {side: min(runs[side], key=cpu_or_inf, default=None) for side in SIDES}
        if settings.media_ladder:
            ceilings, steps = ceiling(settings, tone, errors)
        else:
            ceilings, steps = {side: None for side in SIDES}, {}
    notes = [
        f"{NAME}: {calls} calls, {window_s:g} s window after all were up and {SETTLE_S:g} s more; PCMU over UDP on"
        " 127.0.0.1, no SRTP, no ICE; the callee records nothing and sends its null sound device's silence;"
        f" both processes summed; best of {min(settings.repeats, MEDIA_REPEATS)} runs per side"
    ]
    for side in SIDES:
        short = [run for run in runs[side] if run["up"] < run["calls"]]
        if short:
            notes.append(f"{NAME}, {side}: {len(short)} run(s) with fewer than {calls} calls up")
    if settings.media_ladder:
        ladder = ", ".join(str(step) for step in sorted(settings.media_ladder))
        notes.append(
            f"{NAME}: ceiling = largest N of {ladder} with all calls up and RTP loss under"
            f" {LOSS_LIMIT:.0%} in both processes (one run per N, stopping at the first failure)"
        )
    else:
        notes.append(f"{NAME}: ceiling not measured (--media-ladder none)")
    sides = SidedRuns({**runs, "ceiling": steps}, chosen, {side: None for side in SIDES}, errors, notes)  # type: ignore[dict-item]
    figures = [
        sides.figure("CPU per call-second", "ms", "cpu_ms_per_call_s", higher_is_better=False),
        sides.figure("caller CPU per call-second", "ms", "cpu_caller_ms_per_call_s", higher_is_better=False),
        sides.figure("callee CPU per call-second", "ms", "cpu_callee_ms_per_call_s", higher_is_better=False),
        Figure(
            "memory per call",
            "KiB, both processes",
            {side: lowest(runs[side], "memory_kib_per_call") for side in SIDES},
            higher_is_better=False,
        ),
        sides.figure("worst RTP loss", "%", "worst_loss_percent", higher_is_better=False),
        Figure("ceiling", "calls, loss < 1%", ceilings, higher_is_better=True, is_count=True),
    ]
    return sides.result(NAME, DESCRIPTION, figures)
