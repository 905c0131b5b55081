"""A sipsimple peer that receives SIP MESSAGEs over UDP and checks every body.

The Engine answers each MESSAGE outside a dialog with 200 by itself and posts a
``SIPEngineGotMessage`` notification (data: request_uri, from_header, to_header, headers,
body as bytes, content_type) from its thread; an observer decodes the body as UTF-8 and
checks it (see message_common.BodyChecker). The Python main thread only waits for the harness.
"""

from __future__ import annotations

import os
import sys

from benchmarks.peers.message_common import BodyChecker, parse_receiver_args
from benchmarks.peers.protocol import announce_ready, report, stop_and_exit, wait_for_stop
from benchmarks.peers.sipsimple_stack import start_engine
from sipsimple.notification import NotificationCenter


class MessageCounter:
    """Observer of SIPEngineGotMessage; the NotificationCenter holds it weakly, so keep a reference."""

    def __init__(self, expect: int) -> None:
        self.checker = BodyChecker(expect)

    def handle_notification(self, notification: object) -> None:
        data = notification.data  # type: ignore[attr-defined]
        try:
            body: str | None = data.body.decode("utf-8")
        except (AttributeError, UnicodeDecodeError):
            body = None
        self.checker.check(body, data.content_type)


def main() -> int:
    args = parse_receiver_args(__doc__ or "sipsimple MESSAGE receiver")
    observer = MessageCounter(args.expect)
    NotificationCenter().add_observer(observer, name="SIPEngineGotMessage")
    engine = start_engine(args.port)
    announce_ready(engine.local_udp_port)
    reason = wait_for_stop(args.max_seconds)
    counters: dict[str, object] = {"peer": "sipsimple", "role": "receiver", "stop_reason": reason, "pid": os.getpid()}
    counters.update(observer.checker.as_dict())
    report(counters)
    stop_and_exit(engine.stop)


if __name__ == "__main__":
    sys.exit(main())
