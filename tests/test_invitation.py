"""Invitation (INVITE sessions) against SIPp: the first call flows of the calls issue.

SIPp plays the other user agent with the scenarios of tests/scenarios/calls/
(proven against pjsua2 by test_call_scenarios_selfcheck.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

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
from tests.support import SCENARIOS, SippServer, observe, run_sipp, sip_target

pytestmark = pytest.mark.timeout(120)

CALLS = SCENARIOS / "calls"


def _audio_sdp(port: int = 40000, direction: str = "sendrecv") -> SDPSession:
    stream = SDPMediaStream("audio", port, "RTP/AVP", formats=["0", "8", "101"],
                            attributes=[SDPAttribute("rtpmap", "0 PCMU/8000"), SDPAttribute("rtpmap", "8 PCMA/8000"),
                                        SDPAttribute("rtpmap", "101 telephone-event/8000"),
                                        SDPAttribute("fmtp", "101 0-15"), SDPAttribute(direction, None)])
    return SDPSession("127.0.0.1", connection=SDPConnection("127.0.0.1"), media=[stream])


@pytest.fixture
def engine() -> Iterator[Engine]:
    engine = Engine()
    engine.start(ip_address="127.0.0.1", udp_port=0, tcp_port=0)
    yield engine
    engine.stop()


class Answerer:
    """Answers incoming invitations: ring, then 200 with an SDP answer."""

    def __init__(self, code: int = 200) -> None:
        self.code = code
        self.invitations: list[Invitation] = []
        NotificationCenter().add_observer(self, name="SIPInvitationChangedState")

    def handle_notification(self, notification) -> None:
        invitation = notification.sender
        if notification.data.state == "incoming":
            self.invitations.append(invitation)
            invitation.send_response(180)
            if self.code == 200:
                invitation.send_response(200, sdp=_audio_sdp(40002))
            else:
                invitation.send_response(self.code)


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_incoming_call_answered_then_remote_bye(engine: Engine, transport: str) -> None:
    answerer = Answerer()
    recorder = observe("SIPInvitationChangedState", "SIPInvitationGotSDPUpdate")
    port = engine.local_tcp_port if transport == "tcp" else engine.local_udp_port
    result = run_sipp(CALLS / "call_bye_uac.xml", sip_target("127.0.0.1", port), transport=transport,
                      extra=["-s", "bob", "-set", "talk_ms", "300"])
    assert result.succeeded, result.stderr + result.log
    invitation = answerer.invitations[0]
    recorder.wait_for(lambda n: n.sender is invitation and n.name == "SIPInvitationChangedState"
                      and n.data.state == "disconnected")
    states = [n.data.state for n in recorder.named("SIPInvitationChangedState") if n.sender is invitation]
    assert states == ["incoming", "early", "connecting", "connected", "disconnected"]
    update = recorder.wait_named("SIPInvitationGotSDPUpdate")
    assert update.data.succeeded
    assert update.data.remote_sdp.media[0].port > 0
    assert update.data.local_sdp.media[0].port == 40002
    ended = recorder.named("SIPInvitationChangedState")[-1]
    assert ended.data.originator == "remote"
    assert invitation.direction == "incoming"
    assert invitation.transport == transport


def test_incoming_call_refused_busy(engine: Engine) -> None:
    answerer = Answerer(486)  # noqa: F841 - observers are held weakly
    result = run_sipp(CALLS / "call_bye_uac.xml", sip_target("127.0.0.1", engine.local_udp_port),
                      extra=["-s", "bob"])
    assert not result.succeeded  # the scenario wants a 200; the 486 is the point
    assert "486" in result.messages


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_outgoing_call_answered_then_local_bye(engine: Engine, transport: str) -> None:
    server = SippServer(CALLS / "call_answer_wait_bye_uas.xml", transport=transport)
    recorder = observe("SIPInvitationChangedState", "SIPInvitationGotSDPUpdate")
    port = engine.local_tcp_port if transport == "tcp" else engine.local_udp_port
    invitation = Invitation()
    invitation.send_invite(FromHeader(SIPURI(user="alice", host="127.0.0.1")),
                           ToHeader(SIPURI(user="bob", host=server.host, port=server.port,
                                           parameters={"transport": transport} if transport != "udp" else None)),
                           None, ContactHeader(SIPURI(user="alice", host="127.0.0.1", port=port,
                                                      parameters={"transport": transport} if transport != "udp"
                                                      else None)),
                           sdp=_audio_sdp(40004), timeout=10)
    recorder.wait_for(lambda n: n.name == "SIPInvitationChangedState" and n.data.state == "connected")
    assert recorder.wait_named("SIPInvitationGotSDPUpdate").data.succeeded
    assert invitation.remote_sdp is not None and invitation.local_sdp.media[0].port == 40004
    invitation.end(timeout=5)
    recorder.wait_for(lambda n: n.name == "SIPInvitationChangedState" and n.data.state == "disconnected")
    states = [n.data.state for n in recorder.named("SIPInvitationChangedState")]
    assert states[0] == "outgoing" and states[-2:] == ["disconnecting", "disconnected"]
    assert "connected" in states
    run = server.finish()
    assert run.succeeded, run.explain()


def test_engine_stop_ends_calls(engine: Engine) -> None:
    answerer = Answerer()
    recorder = observe("SIPInvitationChangedState")
    running = run_sipp(CALLS / "call_wait_bye_uac.xml", sip_target("127.0.0.1", engine.local_udp_port),
                       extra=["-s", "bob"], background=True, timeout=15)
    try:
        recorder.wait_for(lambda n: n.name == "SIPInvitationChangedState" and n.data.state == "connected")
        engine.stop()
        assert answerer.invitations[0].state == "disconnected"
    finally:
        running.kill()
        running.communicate()
