"""Events delivered from the SIP stack into Python per second, while SIPp floods OPTIONS.

Each side's peer delivers one Python call per SIP message received or sent, so two per
OPTIONS transaction:

* sipsimple: ``SIPEngineSIPTrace`` notifications (Engine started with ``trace_sip=True``),
  received by an observer registered with the NotificationCenter;
* pjsua2: calls of a ``pj.LogWriter`` subclass's ``write()`` with ``logConfig.msgLogging``
  on and level 4, the level pjsua logs messages at (log lines that carry no SIP message
  are not counted).

The peer counts the events and notes the time of the first and the last one; events/s is
events / that window, best of settings.repeats runs per side.
"""

from __future__ import annotations

from typing import Any

from benchmarks.harness import (
    SIDES,
    BenchmarkResult,
    Figure,
    Settings,
    alternate,
    best,
    pick,
    run_sipp_uac,
    running_peer,
)

NAME = "notifications"
DESCRIPTION = "SIP trace events delivered into Python per second while SIPp floods OPTIONS"


def measure(settings: Settings, side: str) -> dict[str, Any]:
    with running_peer(settings, side, trace=True) as peer:
        sipp = run_sipp_uac(settings, peer.port)
        counters = peer.stop()
    events = int(counters.get("events", 0))
    window = float(counters.get("event_window_s", 0.0))
    return {
        **sipp.as_dict(),
        "peer": counters,
        "events": events,
        "events_per_s": events / window if window > 0 else None,
        "events_per_options": events / sipp.successful if sipp.successful else None,
    }


def run(settings: Settings) -> BenchmarkResult:
    errors: list[str] = []
    runs = alternate(settings, lambda side: measure(settings, side), errors)
    chosen = {side: best(runs[side], "events_per_s") for side in SIDES}
    failed = {side: float(sum(run["failed"] for run in runs[side])) if runs[side] else None for side in SIDES}
    figures = [
        Figure("events into Python", "per s", {side: pick(chosen[side], "events_per_s") for side in SIDES}),
        Figure("OPTIONS answered, tracing", "per s", {side: pick(chosen[side], "rate") for side in SIDES}),
        Figure("events per OPTIONS", "expect 2", {side: pick(chosen[side], "events_per_options") for side in SIDES}),
        Figure("failed OPTIONS, tracing", "all runs", failed, higher_is_better=False),
    ]
    return BenchmarkResult(NAME, DESCRIPTION, figures, runs, {}, errors)
