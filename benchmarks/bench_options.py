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
    BenchmarkResult,
    Settings,
    SidedRuns,
    options_flood,
    run_both_sides,
)

NAME = "options"
DESCRIPTION = "OPTIONS transactions answered per second under SIPp load (UDP, 127.0.0.1), no tracing"


def measure(settings: Settings, side: str) -> dict[str, Any]:
    return options_flood(settings, side, trace=False)[1]


def run(settings: Settings) -> BenchmarkResult:
    sides: SidedRuns = run_both_sides(settings, NAME, lambda side: measure(settings, side), best_key="rate")
    figures = [
        sides.figure("OPTIONS answered", "per s", "rate"),
        sides.figure("peer CPU per OPTIONS", "us", "peer_cpu_us_per_options", higher_is_better=False),
        sides.failed_figure("failed OPTIONS"),
    ]
    return sides.result(NAME, DESCRIPTION, figures)
