"""What the call tests share: SDP for them, alice's outgoing call (invite), SIPp calling as bob
(bob_calls), and applications that answer calls and re-INVITEs.

(SIPp running in the background while a test drives the Engine: devkit.sipp.sipp_in_background.)"""

from __future__ import annotations

from typing import Any

from devkit.sipp import SippResult, run_sipp, sip_target
from sipsimple.core import (
    SIPURI,
    ContactHeader,
    Engine,
    FromHeader,
    Invitation,
    SDPAttribute,
    SDPConnection,
    SDPMediaStream,
    SDPSession,
    ToHeader,
)
from sipsimple.notification import NotificationCenter
from tests.support.notifications import NotificationRecorder
from tests.support.scenarios import CALLS

# The direction an answer takes for each direction offered (RFC 3264 section 6.1).
MIRRORED = {"sendonly": "recvonly", "recvonly": "sendonly", "inactive": "inactive", "sendrecv": "sendrecv"}


def mirrored_answer(local_sdp: Any, offer: Any) -> SDPSession:
    """The answer to a re-INVITE's `offer`: our current SDP, a version up, each stream mirroring the offer's."""
    answer = SDPSession.new(local_sdp)
    answer.version += 1
    for stream, offered in zip(answer.media, offer.media, strict=True):
        stream.direction = MIRRORED[offered.direction]
    return answer


def invite(
    engine: Engine,
    to_uri: SIPURI,
    sdp: SDPSession | None = None,
    *,
    route: Any = None,
    credentials: Any = None,
    extra_headers: list[Any] | None = None,
    transport: str = "udp",
    timeout: float | None = 10,
    invitation: Invitation | None = None,
) -> Invitation:
    """alice's outgoing call to `to_uri`, her Contact on the engine's port for `transport` (127.0.0.1).

    `invitation`: one made beforehand, for an observer that must know it before its first notification.
    """
    parameters = {"transport": transport} if transport != "udp" else None
    port = engine.local_tcp_port if transport == "tcp" else engine.local_udp_port
    invitation = Invitation() if invitation is None else invitation
    invitation.send_invite(
        FromHeader(SIPURI(user="alice", host="127.0.0.1")),
        ToHeader(to_uri),
        route,
        ContactHeader(SIPURI(user="alice", host="127.0.0.1", port=port, parameters=parameters)),
        sdp=sdp,
        credentials=credentials,
        extra_headers=extra_headers,
        timeout=timeout,
    )
    return invitation


def bob_calls(
    engine: Engine, scenario: str, *options: str, transport: str = "udp", timeout: float = 10.0
) -> SippResult:
    """SIPp, as bob, plays scenarios/calls/`scenario` (its `options` added) against the engine over
    `transport`; the run, which must have succeeded."""
    port = engine.local_tcp_port if transport == "tcp" else engine.local_udp_port
    result = run_sipp(
        CALLS / scenario,
        sip_target("127.0.0.1", port),
        transport=transport,
        timeout=timeout,
        extra=["-s", "bob", *options],
    )
    assert isinstance(result, SippResult)
    assert result.succeeded, result.stderr + result.log
    return result


def audio_sdp(port: int = 40000, direction: str = "sendrecv") -> SDPSession:
    """An audio offer or answer: PCMU, PCMA and telephone-event on 127.0.0.1."""
    stream = SDPMediaStream(
        "audio",
        port,
        "RTP/AVP",
        formats=["0", "8", "101"],
        attributes=[
            SDPAttribute("rtpmap", "0 PCMU/8000"),
            SDPAttribute("rtpmap", "8 PCMA/8000"),
            SDPAttribute("rtpmap", "101 telephone-event/8000"),
            SDPAttribute("fmtp", "101 0-15"),
            SDPAttribute(direction, None),
        ],
    )
    return SDPSession("127.0.0.1", connection=SDPConnection("127.0.0.1"), media=[stream])


def with_direction(sdp, direction: str) -> SDPSession:
    """`sdp` with every stream set to `direction`, as a new version (a re-INVITE's offer)."""
    changed = SDPSession.new(sdp)
    changed.version += 1
    for stream in changed.media:
        stream.direction = direction
    return changed


def wait_state(recorder: NotificationRecorder, invitation, state: str):
    return recorder.wait_for(
        lambda n: n.sender is invitation and n.name == "SIPInvitationChangedState" and n.data.state == state
    )


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
            invitation.send_response(200, sdp=mirrored_answer(invitation.local_sdp, offer))
