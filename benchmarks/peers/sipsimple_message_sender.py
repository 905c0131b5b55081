"""A sipsimple peer that sends SIP MESSAGEs over UDP to a receiver, a few outstanding at a time.

Through the public API: ``sipsimple.core.Message`` when it can be imported (notifications
``SIPMessageDidSucceed`` / ``SIPMessageDidFail``, sender the Message), else the core
``Request`` it is built on (``SIPRequestDidSucceed`` / ``SIPRequestDidFail``, sender the
Request); the counters say which ("api").

Threads: the main thread sends the first ``--window`` MESSAGEs; every later one is sent by
the observer, on the Engine's thread, as soon as a final response arrives (observers run
with no PJSIP lock held, and send() may be called from any thread).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

from benchmarks.peers.message_common import (
    CONTENT_TYPE,
    HOST,
    RECEIVER_USER,
    SENDER_USER,
    ClosedLoop,
    make_body,
    parse_sender_args,
)
from benchmarks.peers.protocol import announce_ready, report, stop_and_exit, wait_for_stop
from benchmarks.peers.sipsimple_stack import start_engine
from sipsimple.notification import NotificationCenter


class Completions:
    """Observer of the final-response notifications; held weakly by the NotificationCenter."""

    def __init__(self) -> None:
        self.loop: ClosedLoop | None = None
        # What has been sent and not answered yet. The core keeps a Request alive while it
        # is pending, but a Message is only referenced by us (and weakly as an observer).
        self.pending: set[Any] = set()

    def send(self, request: Any, timeout: float) -> None:
        """request.send(), keeping `request` referenced until its outcome comes."""
        self.pending.add(request)
        try:
            request.send(timeout=timeout)
        except BaseException:
            self.pending.discard(request)
            raise

    def handle_notification(self, notification: Any) -> None:
        self.pending.discard(notification.sender)
        assert self.loop is not None
        self.loop.finished(notification.name.endswith("DidSucceed"), getattr(notification.data, "code", None))


def message_sender(port: int, timeout: float, completions: Completions) -> tuple[str, Callable[[int], None]]:
    """The API in use and a function sending MESSAGE number `seq` with it."""
    center = NotificationCenter()
    try:
        from sipsimple.core import SIPURI, FromHeader, Message, ToHeader  # type: ignore[attr-defined]
    except ImportError:
        from sipsimple.core._core import Request

        for name in ("SIPRequestDidSucceed", "SIPRequestDidFail"):
            center.add_observer(completions, name=name)
        from_uri = f"<sip:{SENDER_USER}@{HOST}>"
        to_uri = f"<sip:{RECEIVER_USER}@{HOST}>"
        request_uri = f"sip:{RECEIVER_USER}@{HOST}:{port}"

        def send_request(seq: int) -> None:
            request = Request(
                "MESSAGE", from_uri, to_uri, request_uri, None, content_type=CONTENT_TYPE, body=make_body(seq)
            )
            completions.send(request, timeout)

        return "Request", send_request

    for name in ("SIPMessageDidSucceed", "SIPMessageDidFail"):
        center.add_observer(completions, name=name)
    from_header = FromHeader(SIPURI(user=SENDER_USER, host=HOST))
    to_header = ToHeader(SIPURI(user=RECEIVER_USER, host=HOST, port=port))

    def send_message(seq: int) -> None:
        message = Message(from_header, to_header, None, CONTENT_TYPE, make_body(seq))
        completions.send(message, timeout)

    return "Message", send_message


def main() -> int:
    args = parse_sender_args(__doc__ or "sipsimple MESSAGE sender")
    completions = Completions()
    api, send = message_sender(args.target_port, args.message_timeout, completions)
    loop = ClosedLoop(args.count, args.window, send)
    completions.loop = loop
    engine = start_engine()
    announce_ready(engine.local_udp_port)
    loop.start()
    loop.wait(args.run_timeout)
    counters: dict[str, object] = {"peer": "sipsimple", "role": "sender", "api": api, "pid": os.getpid()}
    counters.update(loop.as_dict())
    counters["stop_reason"] = wait_for_stop(args.max_seconds)
    report(counters)
    stop_and_exit(engine.stop)


if __name__ == "__main__":
    sys.exit(main())
