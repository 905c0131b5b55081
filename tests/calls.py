"""What the call tests share: SDP for them, applications that answer, and
SIPp running in the background while a test drives the Engine."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sipsimple.core import (
    SDPAttribute,
    SDPConnection,
    SDPMediaStream,
    SDPSession,
)
from sipsimple.notification import NotificationCenter
from tests.support import NotificationRecorder, run_sipp

MIRRORED = {"sendonly": "recvonly", "recvonly": "sendonly", "inactive": "inactive", "sendrecv": "sendrecv"}


def audio_sdp(port: int = 40000, direction: str = "sendrecv") -> SDPSession:
    """An audio offer or answer: PCMU, PCMA and telephone-event on 127.0.0.1."""
    stream = SDPMediaStream("audio", port, "RTP/AVP", formats=["0", "8", "101"],
                            attributes=[SDPAttribute("rtpmap", "0 PCMU/8000"), SDPAttribute("rtpmap", "8 PCMA/8000"),
                                        SDPAttribute("rtpmap", "101 telephone-event/8000"),
                                        SDPAttribute("fmtp", "101 0-15"), SDPAttribute(direction, None)])
    return SDPSession("127.0.0.1", connection=SDPConnection("127.0.0.1"), media=[stream])


def with_direction(sdp, direction: str) -> SDPSession:
    """`sdp` with every stream set to `direction`, as a new version (a re-INVITE's offer)."""
    changed = SDPSession.new(sdp)
    changed.version += 1
    for stream in changed.media:
        stream.direction = direction
    return changed


def wait_state(recorder: NotificationRecorder, invitation, state: str):
    return recorder.wait_for(lambda n: n.sender is invitation and n.name == "SIPInvitationChangedState"
                             and n.data.state == state)


class Responder:
    """Answers every incoming invitation with a scripted list of (code, sdp)."""

    def __init__(self, responses: list[tuple[int, object]]) -> None:
        self.responses = responses
        self.invitations: list = []
        NotificationCenter().add_observer(self, name="SIPInvitationChangedState")

    def handle_notification(self, notification) -> None:
        invitation, data = notification.sender, notification.data
        if data.state == "incoming" and data.prev_state == "NULL":
            self.invitations.append(invitation)
            for code, sdp in self.responses:
                invitation.send_response(code, sdp=sdp)


class ProposalAnswerer:
    """Answers re-INVITE offers (sub_state received_proposal) as a softphone does for hold/resume."""

    def __init__(self) -> None:
        self.proposals: list = []
        NotificationCenter().add_observer(self, name="SIPInvitationChangedState")

    def handle_notification(self, notification) -> None:
        invitation, data = notification.sender, notification.data
        if data.sub_state == "received_proposal" and data.prev_sub_state != "received_proposal":
            offer = invitation.proposed_remote_sdp
            self.proposals.append(offer)
            answer = SDPSession.new(invitation.local_sdp)
            answer.version += 1
            for stream, offered in zip(answer.media, offer.media, strict=True):
                stream.direction = MIRRORED[offered.direction]
            invitation.send_response(200, sdp=answer)


@dataclass
class BackgroundSipp:
    process: subprocess.Popen[str]
    stdout: str = ""
    stderr: str = ""

    def wait(self, timeout: float = 30.0) -> int:
        """Wait for SIPp to finish its scenario; its exit status (0: the scenario passed)."""
        self.stdout, self.stderr = self.process.communicate(timeout=timeout)
        return self.process.returncode

    def explain(self) -> str:
        return self.stdout[-3000:] + self.stderr[-3000:]


@contextmanager
def sipp_in_background(*args, **kwargs) -> Iterator[BackgroundSipp]:
    """run_sipp() in the background for the length of the block; killed if still running at its end."""
    process = run_sipp(*args, background=True, **kwargs)
    assert isinstance(process, subprocess.Popen)
    try:
        yield BackgroundSipp(process)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
