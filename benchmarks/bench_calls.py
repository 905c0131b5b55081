"""Calls set up and torn down per second, and memory per established call (UDP, 127.0.0.1).

SIPp (scenarios/call_uac.xml) places calls on a fresh peer process: INVITE with a small
PCMU offer, optional 100/180/183, 200, ACK, a pause as long as SIPp's -d, BYE, 200. No
media is sent. The peer answers each INVITE with 200 and an audio SDP from Python:

* sipsimple (peers/sipsimple_call_uas.py): an observer of ``SIPInvitationChangedState`` calls
  ``send_response(200, sdp=...)`` on each incoming Invitation;
* pjsua2 (peers/pjsua2_call_uas.py): ``Account.onIncomingCall`` answers with
  ``Call.answer(200)``; pjsua2 sets up an audio stream for each call (null audio device).

Each round runs two measurements per side, each with its own peer:

1. rate: CALLS calls with at most call_limit(settings) outstanding (--call-limit, 64, capped by
   pjsua2's PJSUA_MAX_CALLS) and BYE right after the ACK. Rate = successful calls / SIPp's
   elapsed time; the peer's CPU (all threads, READY to STOP) per successful call.
2. memory: after WARMUP_CALLS short calls, the peer's resident set size (/proc/self/statm)
   is read, then HELD_CALLS calls (pjsua2: no more than its PJSUA_MAX_CALLS) are set up at
   once and held for HOLD_MS; once the peer reports them all up the RSS is read again; memory
   per call = the difference / the calls up. SIPp then ends them with BYE and the peer is
   stopped after they are gone.

Best of settings.repeats rounds per side (highest rate, lowest memory per call).
settings.count and settings.limit (the OPTIONS benchmarks') do not apply.

pjsua caps simultaneous calls at its compile-time PJSUA_MAX_CALLS (uaConfig.maxCalls is clamped
to it; one more INVITE gets 486 Busy Here). The pjsua2 that benchmarks/run builds
(deps/pjsip/build_pjsua2.sh) has 512; the pjsua2-python wheel has pjsua's default of 4, which
caps both sides' rate runs at 4 outstanding and the pjsua2 memory runs at 4 calls held.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.harness import (
    PEER_MODULES,
    SCENARIOS,
    SIDES,
    BenchmarkError,
    BenchmarkResult,
    Figure,
    LoadFigures,
    Peer,
    Settings,
    SidedRuns,
    _children_cpu_s,
    alternate,
    best,
    cpu_per_transaction_us,
    finish_load,
    load_command,
    pick,
    start_load,
)

NAME = "calls"
DESCRIPTION = "INVITE/200/ACK/BYE calls per second and memory per established call under SIPp load (UDP)"

CALLS = 5000  # per rate run
WARMUP_CALLS = 20  # short calls before the memory baseline
HELD_CALLS = 200  # calls held open at once in a memory run
HOLD_MS = 6000  # how long SIPp holds each of them before BYE
SIPP_TIMEOUT_S = 60  # a SIPp run stops by itself after this long
PEER_MAX_S = 300  # a peer stops by itself after this long

CALL_PEERS = {"sipsimple": "benchmarks.peers.sipsimple_call_uas", "pjsua2": "benchmarks.peers.pjsua2_call_uas"}


class CallPeer(Peer):
    """A call-answering peer: the usual line protocol plus the RSS command."""

    def __init__(self, settings: Settings, side: str) -> None:
        super().__init__(settings, side, trace=False)
        self.stack = "pjsua2" if settings.peers[side] == PEER_MODULES["pjsua2"] else "sipsimple"
        self.module = CALL_PEERS[self.stack]
        self.held_calls = min(HELD_CALLS, settings.pjsua2_max_calls) if self.stack == "pjsua2" else HELD_CALLS
        self.argv = [settings.python, "-m", self.module, "--max-seconds", str(PEER_MAX_S)]

    def rss(self, timeout_s: float = 10.0) -> tuple[int, int, int]:
        """(resident bytes, calls up now, calls established so far), as the peer reports them."""
        assert self._process is not None and self._process.stdin is not None
        try:
            self._process.stdin.write("RSS\n")
            self._process.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise BenchmarkError(f"{self.side} peer: cannot send RSS: {exc}{self._stderr_tail()}") from exc
        deadline = time.monotonic() + timeout_s
        while True:
            line = self._next_line(deadline)
            if line.startswith("RSS "):
                _, rss, active, established = line.split()
                return int(rss), int(active), int(established)
            self.noise.append(line)


class SippCalls:
    """One SIPp client run of scenarios/call_uac.xml, started in the background."""

    def __init__(self, settings: Settings, port: int, count: int, limit: int, hold_ms: int = 0) -> None:
        self.settings = settings
        self.workdir = Path(tempfile.mkdtemp(prefix="bench-sipp-calls-"))
        argv = load_command(self.workdir, SCENARIOS / "call_uac.xml", port, count, limit, SIPP_TIMEOUT_S)
        argv += ["-d", str(hold_ms)]
        self._cpu_before = _children_cpu_s()
        self.process = start_load(settings, argv, self.workdir)

    def finish(self) -> LoadFigures:
        """Wait for SIPp (killing it if it overruns its own timeout) and read its final statistics."""
        result = finish_load(self.process, self.workdir, self._cpu_before, SIPP_TIMEOUT_S)
        self.settings.log(
            f"SIPp calls: {result.successful} ok, {result.failed} failed, {result.retransmissions} retransmitted,"
            f" {result.rate:.0f}/s"
        )
        return result

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                pass

    def close(self) -> None:
        self.kill()
        shutil.rmtree(self.workdir, ignore_errors=True)


def call_limit(settings: Settings) -> int:
    """Most calls outstanding in the rate runs, the same for both sides: settings.call_limit, but
    no more than pjsua2 can hold when a pjsua2 peer is measured."""
    if PEER_MODULES["pjsua2"] in settings.peers.values():
        return max(1, min(settings.call_limit, settings.pjsua2_max_calls))
    return max(1, settings.call_limit)


def run_calls(settings: Settings, port: int, count: int, limit: int, hold_ms: int = 0) -> LoadFigures:
    sipp = SippCalls(settings, port, count, limit, hold_ms)
    try:
        return sipp.finish()
    finally:
        sipp.close()


def measure_rate(settings: Settings, side: str) -> dict[str, Any]:
    peer = CallPeer(settings, side)
    try:
        peer.start()
        limit = call_limit(settings)
        settings.log(f"{side} call peer ready on UDP port {peer.port}: {CALLS} calls, {limit} outstanding")
        sipp = run_calls(settings, peer.port, CALLS, limit)
        counters = peer.stop()
    finally:
        peer.kill()
    return {
        **sipp.as_dict(),
        "peer": counters,
        "peer_cpu_us_per_call": cpu_per_transaction_us(counters, sipp.successful),
    }


def wait_for_calls(peer: CallPeer, wanted: int, deadline: float) -> tuple[int, int, int]:
    """Poll the peer's RSS until `wanted` calls are up (or the deadline passes); the last reading."""
    while True:
        reading = peer.rss()
        if reading[1] == wanted or time.monotonic() >= deadline:
            return reading
        time.sleep(0.2)


def measure_memory(settings: Settings, side: str) -> dict[str, Any]:
    peer = CallPeer(settings, side)
    sipp: SippCalls | None = None
    try:
        peer.start()
        held_calls = peer.held_calls
        settings.log(f"{side} call peer ready on UDP port {peer.port}: {held_calls} calls held {HOLD_MS} ms")
        warmup = run_calls(settings, peer.port, WARMUP_CALLS, call_limit(settings))
        time.sleep(0.5)
        rss_before, _, _ = wait_for_calls(peer, 0, time.monotonic() + 5)
        sipp = SippCalls(settings, peer.port, held_calls, held_calls, HOLD_MS)
        started = time.monotonic()
        rss_up, up, _ = wait_for_calls(peer, held_calls, started + HOLD_MS / 1000 * 0.7)
        up_after_s = time.monotonic() - started
        held = sipp.finish()
        rss_after, left, established = wait_for_calls(peer, 0, time.monotonic() + 10)
        counters = peer.stop()
    finally:
        if sipp is not None:
            sipp.close()
        peer.kill()
    return {
        "held_calls": held_calls,
        "held_successful": held.successful,
        "held_failed": held.failed + warmup.failed,
        "calls_up": up,
        "calls_up_after_s": up_after_s,
        "calls_left_after_bye": left,
        "rss_before_kib": rss_before / 1024,
        "rss_up_kib": rss_up / 1024,
        "rss_after_kib": rss_after / 1024,
        "kib_per_call": (rss_up - rss_before) / 1024 / up if up else None,
        "sipp_held": held.as_dict(),
        "peer_established": established,
        "peer": counters,
    }


def measure(settings: Settings, side: str) -> dict[str, Any]:
    rate = measure_rate(settings, side)
    memory = measure_memory(settings, side)
    return {**rate, "memory": memory, "kib_per_call": memory["kib_per_call"]}


def lowest(runs: list[dict[str, Any]], key: str) -> dict[str, Any] | None:
    usable = [run for run in runs if run.get(key) is not None]
    return min(usable, key=lambda run: run[key]) if usable else None


def run(settings: Settings) -> BenchmarkResult:
    # run_both_sides would also run the SIPp OPTIONS reference, which says nothing about calls.
    errors: list[str] = []
    runs = alternate(settings, lambda side: measure(settings, side), errors)
    chosen = {side: best(runs[side], "rate") for side in SIDES}
    leanest = {side: lowest(runs[side], "kib_per_call") for side in SIDES}
    failed = {
        side: float(sum(run["failed"] + run["memory"]["held_failed"] for run in runs[side])) if runs[side] else None
        for side in SIDES
    }
    notes: list[str] = []
    for side in SIDES:
        for index, entry in enumerate(runs[side], start=1):
            memory = entry["memory"]
            if memory["calls_up"] != memory["held_calls"]:
                notes.append(
                    f"{NAME}, {side}, run {index}: {memory['calls_up']} of {memory['held_calls']} calls were up"
                    " when the memory was read"
                )
            if memory["calls_left_after_bye"]:
                notes.append(f"{NAME}, {side}, run {index}: {memory['calls_left_after_bye']} calls left after BYE")
            for part in (entry["peer"], memory["peer"]):
                if part.get("answer_errors"):
                    notes.append(
                        f"{NAME}, {side}, run {index}: {part['answer_errors']} INVITEs not answered:"
                        f" {part.get('last_error')}"
                    )
    if runs["pjsua2"] or runs["sipsimple"]:
        held = {side: runs[side][0]["memory"]["held_calls"] for side in SIDES if runs[side]}
        limit = call_limit(settings)
        capped = (
            f", capped by pjsua2's PJSUA_MAX_CALLS {settings.pjsua2_max_calls}" if limit < settings.call_limit else ""
        )
        notes.append(
            f"{NAME}: {CALLS} calls per rate run, at most {limit} outstanding (--call-limit {settings.call_limit}"
            f"{capped}); calls held for the memory figure: "
            + ", ".join(f"{side} {count}" for side, count in held.items())
        )
    sides = SidedRuns(runs, chosen, failed, errors, notes)
    figures = [
        sides.figure("calls set up and torn down", "per s", "rate"),
        sides.figure("peer CPU per call", "us", "peer_cpu_us_per_call", higher_is_better=False),
        Figure(
            "memory per established call",
            "KiB",
            {side: pick(leanest[side], "kib_per_call") for side in SIDES},
            higher_is_better=False,
        ),
        sides.failed_figure("failed calls"),
    ]
    return sides.result(NAME, DESCRIPTION, figures)
