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
  of the two processes;
* RTP received per stream = packets received in the window (STATS just before and after it)
  / (streams * seconds), the lower of the two processes: 50 when every stream keeps pace;
* tone check: after the window the callee records CHECK_CALLS of its calls, spread over
  them, for a second (media_common.py's CHECK), and the harness finds the tone's dominant
  frequency and level in each (1 kHz at -15.3 dBFS sent; devkit/audio.py).

Best of MEDIA_REPEATS runs per side (lowest CPU; memory: the lowest too). Then "the
ceiling", a real limit rather than the top of a list: one run per N, the ladder's
(settings.media_ladder) ascending, then steps growing by CEILING_GROWTH until one fails,
then bisection between the last N that passed and the first that failed, to within
CEILING_RESOLUTION. A run passes with all N calls up, both processes under LOSS_LIMIT of
RTP loss and receiving at least RATE_LIMIT of the 50 packets/s per stream (an overloaded
sender falls behind without sequence gaps), and the tone in every sampled call. pjsua2
cannot be asked for more than its build's PJSUA_MAX_CALLS (512 in deps/pjsip/
build_pjsua2.sh): if it passes there, its ceiling is reported as at least that.
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
from devkit.audio import dominant_frequency, read_wav, rms_dbfs

NAME = "media"
DESCRIPTION = "concurrent calls with PCMU audio through the mixer between two user agents: CPU, memory, RTP loss"

SETTLE_S = 2.0
MEDIA_REPEATS = 3  # at most; fewer when settings.repeats is lower
LOSS_LIMIT = 0.01
PACKETS_PER_S = 50  # PCMU, 20 ms per packet
RATE_LIMIT = 0.95  # a stream must receive at least this share of PACKETS_PER_S in the window
SETUP_TIMEOUT_S = 30.0
READY_TIMEOUT_S = 30.0
CLOCK_RATE = 16000
TONE_HZ = 1000
TONE_AMPLITUDE = 8000
TONE_DBFS = 20 * math.log10(TONE_AMPLITUDE / math.sqrt(2) / 32768)  # -15.3 dBFS, as rms_dbfs measures
TONE_HZ_TOLERANCE = 10
TONE_DB_TOLERANCE = 3  # PCMU's quantisation moves a -15 dBFS tone by a few tenths of a dB
CHECK_CALLS = 4  # calls per run whose incoming audio the callee records and the harness analyses
CEILING_GROWTH = 1.5  # beyond the ladder: each step this much bigger, until one fails
CEILING_RESOLUTION = 0.1  # then bisect until the failing N is within 10% of the passing one
CEILING_MAX = 3000  # sipsimple's own bound here: RTP port ranges of the two peers (4 ports per call)

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
        # RTP counters just outside the CPU window: the packets each stream received in it.
        counted_before = [(time.monotonic(), peer.stats()) for peer in peers]
        cpu_before = [cpu_s(peer.pid) for peer in peers]
        started = time.monotonic()
        time.sleep(window_s)
        cpu_after = [cpu_s(peer.pid) for peer in peers]
        window = time.monotonic() - started
        rss_after = [rss_bytes(peer.pid) for peer in peers]
        caller_stats, callee_stats = caller.stats(), callee.stats()
        counted_after = [time.monotonic(), time.monotonic()]
        # After the window (recording costs CPU): does the tone arrive?
        tone = tone_check(callee, min(CHECK_CALLS, up))
        caller.stop(timeout_s=15)
        callee.stop(timeout_s=15)
    finally:
        if caller is not None:
            caller.kill()
        callee.kill()
    cpu = [after - before for before, after in zip(cpu_before, cpu_after, strict=True)]
    memory = [after - before for before, after in zip(rss_before, rss_after, strict=True)]
    losses = [loss(caller_stats), loss(callee_stats)]
    # Packets per stream and second, each process over its own interval between two STATS.
    rates = []
    for (at, before), after_stats, after_at in zip(
        counted_before, (caller_stats, callee_stats), counted_after, strict=True
    ):
        streams = int(after_stats["up"])
        received = int(after_stats["rx_packets"]) - int(before["rx_packets"])
        rates.append(received / (streams * (after_at - at)) if streams else None)
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
        "rx_packets_per_stream_s": {"caller": rates[0], "callee": rates[1]},
        "lowest_rx_packets_per_stream_s": min((r for r in rates if r is not None), default=None),
        "tone_check": tone,
        "tone_calls_ok": sum(1 for entry in tone if entry["ok"]),
        "tone_calls_checked": len(tone),
    }
    settings.log(
        f"{side}: {up}/{calls} up in {setup_s:.1f} s, CPU {run['cpu_ms_per_call_s']} ms per call-s,"
        f" memory {run['memory_kib_per_call']} KiB per call, loss {losses}, RTP/stream/s {rates},"
        f" tone in {run['tone_calls_ok']}/{len(tone)} sampled calls"
    )
    return run


def tone_check(callee: MediaPeer, k: int) -> list[dict[str, Any]]:
    """The callee records k of its calls (CHECK); each recording: the tone's frequency and level."""
    if k <= 0:
        return []
    paths = callee.command(f"CHECK {k}", "CHECKED", 30)
    results = []
    for path in paths:
        try:
            samples, rate = read_wav(path)
        except (OSError, EOFError, ValueError) as exc:
            results.append({"ok": False, "error": str(exc)})
            continue
        finally:
            Path(path).unlink(missing_ok=True)
        # Past the first 300 ms (what the jitter buffer held while nothing read the stream).
        steady = samples[int(rate * 0.3) :]
        frequency = dominant_frequency(steady, rate) if len(steady) > rate // 10 else None
        level = rms_dbfs(steady)
        ok = (
            frequency is not None
            and abs(frequency - TONE_HZ) <= TONE_HZ_TOLERANCE
            and abs(level - TONE_DBFS) <= TONE_DB_TOLERANCE
        )
        results.append({"ok": ok, "frequency_hz": frequency, "level_dbfs": None if math.isinf(level) else level})
    if paths:
        Path(paths[0]).parent.rmdir()
    return results


def lowest(runs: list[dict[str, Any]], key: str) -> float | None:
    values = [run[key] for run in runs if run.get(key) is not None]
    return min(values) if values else None


def cpu_or_inf(run: dict[str, Any]) -> float:
    value = run.get("cpu_ms_per_call_s")
    return math.inf if value is None else float(value)


def passes(run: dict[str, Any]) -> bool:
    """All calls up; in both processes RTP loss under LOSS_LIMIT and the streams receiving at
    least RATE_LIMIT of PACKETS_PER_S (an overloaded sender sends fewer packets without any
    sequence gap, so loss alone does not see it); the tone in every sampled call."""
    worst = run.get("worst_loss_percent")
    rate = run.get("lowest_rx_packets_per_stream_s")
    return (
        run["up"] == run["calls"]
        and worst is not None
        and worst < LOSS_LIMIT * 100
        and rate is not None
        and rate >= RATE_LIMIT * PACKETS_PER_S
        and run["tone_calls_ok"] == run["tone_calls_checked"] > 0
    )


def ceiling_limit(settings: Settings, side: str) -> int:
    """The most calls a side can be asked for: pjsua2's PJSUA_MAX_CALLS, else CEILING_MAX."""
    return settings.pjsua2_max_calls if stack_of(settings, side) == "pjsua2" else CEILING_MAX


def ceiling(
    settings: Settings, tone: Path, notes: list[str]
) -> tuple[dict[str, float | None], dict[str, Any], dict[str, int | None]]:
    """Per side: the largest N that passes, and the smallest N found to fail (None: none did).

    The ladder's steps first, ascending, up to the side's limit; if all pass, steps growing
    by CEILING_GROWTH until one fails or the limit is reached; then bisection between the
    last pass and the first failure until they are within CEILING_RESOLUTION of each other.
    """
    found: dict[str, float | None] = {side: None for side in SIDES}
    failed_at: dict[str, int | None] = {side: None for side in SIDES}
    steps: dict[str, list[dict[str, Any]]] = {side: [] for side in SIDES}
    for side in SIDES:
        if side not in settings.peers:
            continue
        limit = ceiling_limit(settings, side)

        def attempt(calls: int, side: str = side) -> bool:
            settings.log(f"ceiling, {side}: {calls} calls")
            try:
                run = measure(settings, side, calls, settings.media_window_s, tone)
            except BenchmarkError as exc:
                # A peer too loaded to set the calls up or to answer the harness in
                # time has not carried them: a failed step, said in a note.
                notes.append(f"{NAME}, ceiling, {side}, {calls} calls failed: {exc}".splitlines()[0])
                return False
            steps[side].append(run)
            return passes(run)

        passed: int | None = None
        failed: int | None = None
        ladder = sorted({min(calls, limit) for calls in settings.media_ladder})
        for calls in ladder:
            if not attempt(calls):
                failed = calls
                break
            passed = calls
        else:
            while passed is not None and passed < limit:
                calls = min(limit, max(passed + 1, int(passed * CEILING_GROWTH)))
                if not attempt(calls):
                    failed = calls
                    break
                passed = calls
        low = passed if passed is not None else 0
        while failed is not None and failed - low > max(1, int(low * CEILING_RESOLUTION)):
            calls = (low + failed) // 2
            if attempt(calls):
                low = passed = calls
            else:
                failed = calls
        found[side] = float(passed) if passed is not None else None
        failed_at[side] = failed
    return found, steps, failed_at


def run(settings: Settings) -> BenchmarkResult:
    errors: list[str] = []
    ceiling_notes: list[str] = []
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
            ceilings, steps, failed_at = ceiling(settings, tone, ceiling_notes)
        else:
            ceilings, steps, failed_at = {side: None for side in SIDES}, {}, {side: None for side in SIDES}
    notes = [
        f"{NAME}: {calls} calls, {window_s:g} s window after all were up and {SETTLE_S:g} s more; PCMU over UDP on"
        " 127.0.0.1, no SRTP, no ICE; the callee records nothing and sends its null sound device's silence;"
        f" both processes summed; best of {min(settings.repeats, MEDIA_REPEATS)} runs per side"
    ]
    for side in SIDES:
        short = [run for run in runs[side] if run["up"] < run["calls"]]
        if short:
            notes.append(f"{NAME}, {side}: {len(short)} run(s) with fewer than {calls} calls up")
    for side in SIDES:
        checked = [entry for run in runs[side] for entry in run["tone_check"]]
        if runs[side]:
            levels = [entry["level_dbfs"] for entry in checked if entry.get("level_dbfs") is not None]
            notes.append(
                f"{NAME}, {side}: tone check, {sum(entry['ok'] for entry in checked)} of {len(checked)} sampled"
                f" calls carried {TONE_HZ} Hz at {TONE_DBFS:.1f} dBFS +-{TONE_DB_TOLERANCE} dB"
                + (f" (levels {min(levels):.1f} to {max(levels):.1f} dBFS)" if levels else "")
            )
    if settings.media_ladder:
        ladder = ", ".join(str(step) for step in sorted(settings.media_ladder))
        notes.append(
            f"{NAME}: ceiling = largest N with all calls up, in both processes RTP loss under {LOSS_LIMIT:.0%}"
            f" and every stream receiving >= {RATE_LIMIT * PACKETS_PER_S:g} packets/s, and the tone in every"
            f" sampled call: the ladder {ladder}, then steps x{CEILING_GROWTH:g} until one"
            f" fails, then bisection to within {CEILING_RESOLUTION:.0%} (one run per N)"
        )
        for side in SIDES:
            if side not in settings.peers:
                continue
            limit = ceiling_limit(settings, side)
            if failed_at[side] is not None:
                notes.append(f"{NAME}, {side}: ceiling {ceilings[side]:g}, {failed_at[side]} calls failed")
            elif ceilings[side] == limit:
                what = "its build's PJSUA_MAX_CALLS" if stack_of(settings, side) == "pjsua2" else "CEILING_MAX"
                notes.append(f"{NAME}, {side}: ceiling >= {limit} ({what}): no N up to it failed")
    else:
        notes.append(f"{NAME}: ceiling not measured (--media-ladder none)")
    notes.extend(ceiling_notes)
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
        sides.figure(
            "RTP received per stream",
            f"packets/s ({PACKETS_PER_S} sent)",
            "lowest_rx_packets_per_stream_s",
            higher_is_better=None,
        ),
        sides.figure(
            "tone check", f"of {CHECK_CALLS} sampled calls with the tone", "tone_calls_ok", higher_is_better=None
        ),
        Figure("ceiling", "calls, loss < 1%, >= 95% of packets, tone", ceilings, higher_is_better=True, is_count=True),
    ]
    return sides.result(NAME, DESCRIPTION, figures)
