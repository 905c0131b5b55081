"""Events delivered from the SIP stack into Python per second, while SIPp floods OPTIONS.

Each side's peer makes one Python call per SIP message received or sent, so two per
OPTIONS transaction:

* sipsimple: ``SIPEngineSIPTrace`` notifications (Engine started with ``trace_sip=True``),
  received by an observer registered with the NotificationCenter;
* pjsua2: calls of a ``pj.LogWriter`` subclass's ``write()`` with ``logConfig.msgLogging``
  on and level 4, the level pjsua logs messages at (log lines that carry no SIP message
  are not counted).

The peer counts the events and notes the time of the first and the last one; events/s is
events / that window, best of settings.repeats runs per side. Retransmitted requests are
events too, so "events per OPTIONS" may exceed 2 when the peer falls behind.
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

NAME = "notifications"
DESCRIPTION = "SIP trace events delivered into Python per second while SIPp floods OPTIONS"


def measure(settings: Settings, side: str) -> dict[str, Any]:
    sipp, measured = options_flood(settings, side, trace=True)
    counters = measured["peer"]
    events = int(counters.get("events", 0))
    window = float(counters.get("event_window_s", 0.0))
    return {
        **measured,
        "events": events,
        "events_per_s": events / window if window > 0 else None,
        "events_per_options": events / sipp.successful if sipp.successful else None,
        "peer_cpu_us_per_event": float(counters["cpu_s"]) / events * 1e6 if events and "cpu_s" in counters else None,
    }


def run(settings: Settings) -> BenchmarkResult:
    sides: SidedRuns = run_both_sides(settings, NAME, lambda side: measure(settings, side), best_key="events_per_s")
    figures = [
        sides.figure("events into Python", "per s", "events_per_s"),
        sides.figure("OPTIONS answered, tracing", "per s", "rate"),
        sides.figure("events per OPTIONS", "expect 2", "events_per_options", higher_is_better=None),
        sides.figure("peer CPU per event", "us", "peer_cpu_us_per_event", higher_is_better=False),
        sides.failed_figure("failed OPTIONS, tracing"),
    ]
    return sides.result(NAME, DESCRIPTION, figures)
