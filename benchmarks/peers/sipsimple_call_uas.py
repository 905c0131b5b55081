"""A sipsimple peer that answers every incoming INVITE with 200 and a fixed audio SDP.

An observer of ``SIPInvitationChangedState`` (run on the Engine's thread) calls
``send_response(200, sdp=ANSWER)`` on each Invitation in state "incoming"; the caller ends
the call with BYE, which the core answers by itself. No media is set up.

Line protocol of benchmarks/peers/protocol.py, plus one command: ``RSS`` on stdin is
answered with ``RSS <resident bytes> <calls up now> <calls established so far>``.
"""

from __future__ import annotations

import os
import sys

from benchmarks.peers.protocol import (
    CallCounts,
    announce_ready,
    parse_peer_args,
    report,
    stop_and_exit,
    wait_for_stop,
)
from benchmarks.peers.sipsimple_stack import start_engine
from sipsimple.core import SDPAttribute, SDPConnection, SDPMediaStream, SDPSession
from sipsimple.notification import NotificationCenter


class CallAnswerer(CallCounts):
    """Observer of SIPInvitationChangedState; the NotificationCenter holds it weakly, so keep a reference."""

    def __init__(self) -> None:
        super().__init__()
        self.answer = SDPSession(
            "127.0.0.1",
            connection=SDPConnection("127.0.0.1"),
            media=[
                SDPMediaStream(
                    "audio", 40000, "RTP/AVP", formats=["0"], attributes=[SDPAttribute("rtpmap", "0 PCMU/8000")]
                )
            ],
        )

    def handle_notification(self, notification: object) -> None:
        state = notification.data.state  # type: ignore[attr-defined]
        if state == "incoming":
            self.incoming += 1
            try:
                notification.sender.send_response(200, sdp=self.answer)  # type: ignore[attr-defined]
            except Exception as exc:  # counted and reported, the run goes on
                self.answer_errors += 1
                self.last_error = repr(exc)
        elif state == "connected" and notification.data.prev_state != "connected":  # type: ignore[attr-defined]
            self.established += 1
        elif state == "disconnected":
            self.ended += 1


def main() -> int:
    args = parse_peer_args(__doc__ or "sipsimple call peer")
    answerer = CallAnswerer()
    NotificationCenter().add_observer(answerer, name="SIPInvitationChangedState")
    engine = start_engine(args.port)
    announce_ready(engine.local_udp_port)
    reason = wait_for_stop(args.max_seconds, answerer.answer_rss)
    report({"peer": "sipsimple", "stop_reason": reason, "pid": os.getpid(), **answerer.as_dict()})
    stop_and_exit(engine.stop)


if __name__ == "__main__":
    sys.exit(main())
