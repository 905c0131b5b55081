"""A sipsimple peer: an Engine listening on UDP that answers SIP OPTIONS by itself.

The Engine runs the pjsip stack on one thread of its own, which polls the stack and posts
notifications; the Python main thread only waits for the harness.

With ``--trace``, the Engine is started with ``trace_sip=True`` and a Python observer counts
the ``SIPEngineSIPTrace`` notifications: one per SIP message received or sent, so two per
OPTIONS transaction.
"""

from __future__ import annotations

import os
import sys

from benchmarks.peers.protocol import (
    EventCounter,
    announce_ready,
    parse_peer_args,
    report,
    stop_and_exit,
    wait_for_stop,
)
from benchmarks.peers.sipsimple_stack import start_engine
from sipsimple.notification import NotificationCenter


class TraceCounter:
    """Observer of SIPEngineSIPTrace; the NotificationCenter holds it weakly, so keep a reference."""

    def __init__(self) -> None:
        self.counter = EventCounter()

    def handle_notification(self, notification: object) -> None:
        self.counter.hit(notification.data.received)  # type: ignore[attr-defined]


def main() -> int:
    args = parse_peer_args(__doc__ or "sipsimple peer")
    observer: TraceCounter | None = None
    if args.trace:
        observer = TraceCounter()
        NotificationCenter().add_observer(observer, name="SIPEngineSIPTrace")
    engine = start_engine(args.port, trace_sip=args.trace)
    announce_ready(engine.local_udp_port)
    reason = wait_for_stop(args.max_seconds)
    counters: dict[str, object] = {"peer": "sipsimple", "stop_reason": reason, "pid": os.getpid()}
    if observer is not None:
        counters.update(observer.counter.as_dict())
    report(counters)
    stop_and_exit(engine.stop)


if __name__ == "__main__":
    sys.exit(main())
