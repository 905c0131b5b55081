"""OPTIONS answered per second under SIPp load (UDP on 127.0.0.1).

SIPp sends settings.count out-of-dialog OPTIONS, at most settings.limit outstanding, to a
fresh peer process; the peer's SIP stack answers each with 200 by itself, with logging and
message tracing off. Rate = successful transactions / SIPp's elapsed time; best of
settings.repeats runs per side. A reference run of SIPp against a SIPp server shows how much
the SIPp client itself can drive on this machine: a side close to it is limited by SIPp.
"""

from __future__ import annotations

from typing import Any

from benchmarks.harness import (
    SIDES,
    BenchmarkError,
    BenchmarkResult,
    Figure,
    Settings,
    alternate,
    best,
    pick,
    run_sipp_uac,
    running_peer,
    sipp_ceiling,
)

NAME = "options"
DESCRIPTION = "OPTIONS transactions answered per second under SIPp load (UDP, 127.0.0.1), no tracing"


def measure(settings: Settings, side: str) -> dict[str, Any]:
    with running_peer(settings, side, trace=False) as peer:
        sipp = run_sipp_uac(settings, peer.port)
        counters = peer.stop()
    return {**sipp.as_dict(), "peer": counters}


def run(settings: Settings) -> BenchmarkResult:
    errors: list[str] = []
    runs = alternate(settings, lambda side: measure(settings, side), errors)
    chosen = {side: best(runs[side], "rate") for side in SIDES}
    failed = {side: float(sum(run["failed"] for run in runs[side])) if runs[side] else None for side in SIDES}
    figures = [
        Figure("OPTIONS answered", "per s", {side: pick(chosen[side], "rate") for side in SIDES}),
        Figure("failed OPTIONS", "all runs", failed, higher_is_better=False),
    ]
    reference: dict[str, Any] = {}
    try:
        reference["sipp_ceiling"] = sipp_ceiling(settings)
    except BenchmarkError as exc:
        errors.append(f"SIPp ceiling: {exc}")
    return BenchmarkResult(NAME, DESCRIPTION, figures, runs, reference, errors)
