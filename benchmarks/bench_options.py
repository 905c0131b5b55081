"""OPTIONS answered per second under SIPp load (UDP on 127.0.0.1).

SIPp sends settings.count out-of-dialog OPTIONS, at most settings.limit outstanding, to a
fresh peer process; the peer's SIP stack answers each with 200 by itself, with logging and
message tracing off. Rate = successful transactions / SIPp's elapsed time, best of
settings.repeats runs per side. The peer's CPU time per answered OPTIONS (all its threads,
from READY to STOP) is reported too: it depends less on scheduling noise than the rate does.
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
    cpu_per_transaction_us,
    near_ceiling_notes,
    pick,
    run_sipp_uac,
    running_peer,
    sipp_reference,
)

NAME = "options"
DESCRIPTION = "OPTIONS transactions answered per second under SIPp load (UDP, 127.0.0.1), no tracing"


def measure(settings: Settings, side: str) -> dict[str, Any]:
    with running_peer(settings, side, trace=False) as peer:
        sipp = run_sipp_uac(settings, peer.port)
        counters = peer.stop()
    return {
        **sipp.as_dict(),
        "peer": counters,
        "peer_cpu_us_per_options": cpu_per_transaction_us(counters, sipp.successful),
    }


def run(settings: Settings) -> BenchmarkResult:
    errors: list[str] = []
    runs = alternate(settings, lambda side: measure(settings, side), errors)
    chosen = {side: best(runs[side], "rate") for side in SIDES}
    failed = {side: float(sum(run["failed"] for run in runs[side])) if runs[side] else None for side in SIDES}
    figures = [
        Figure("OPTIONS answered", "per s", {side: pick(chosen[side], "rate") for side in SIDES}),
        Figure(
            "peer CPU per OPTIONS",
            "us",
            {side: pick(chosen[side], "peer_cpu_us_per_options") for side in SIDES},
            higher_is_better=False,
        ),
        Figure("failed OPTIONS", "all runs", failed, higher_is_better=False, is_count=True),
    ]
    notes: list[str] = []
    try:
        sipp_reference(settings)
    except BenchmarkError as exc:
        errors.append(f"SIPp reference: {exc}")
    notes += near_ceiling_notes(settings, NAME, {side: pick(chosen[side], "rate") for side in SIDES})
    return BenchmarkResult(NAME, DESCRIPTION, figures, runs, notes, errors)
