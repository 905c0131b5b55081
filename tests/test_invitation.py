"""Invitation (INVITE sessions) against SIPp: the first call flows of the calls issue.

SIPp plays the other user agent with the scenarios of tests/scenarios/calls/
(proven against pjsua2 by test_call_scenarios_selfcheck.py).
"""

from __future__ import annotations

import re
import threading

import pytest

from devkit.sipp import SippServer, run_sipp, sip_target, sipp_in_background
from sipsimple.core import (
    SIPURI,
    Engine,
    Invitation,
)
from sipsimple.notification import NotificationCenter
from tests.support.calls import ProposalAnswerer, Responder, audio_sdp, bob_calls, invite
from tests.support.notifications import observe
from tests.support.scenarios import SCENARIOS

pytestmark = pytest.mark.timeout(120)

CALLS = SCENARIOS / "calls"


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
                invitation.send_response(200, sdp=audio_sdp(40002))
            else:
                invitation.send_response(self.code)


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_incoming_call_answered_then_remote_bye(engine: Engine, transport: str) -> None:
    answerer = Answerer()
    recorder = observe("SIPInvitationChangedState", "SIPInvitationGotSDPUpdate")
    bob_calls(engine, "call_bye_uac.xml", "-set", "talk_ms", "300", transport=transport)
    invitation = answerer.invitations[0]
    recorder.wait_for(
        lambda n: n.sender is invitation and n.name == "SIPInvitationChangedState" and n.data.state == "disconnected"
    )
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
    answerer = Answerer(486)
    recorder = observe("SIPInvitationChangedState", "SIPEngineSIPTrace")
    # The scenario passes only when its INVITE gets a 486 (or 603) as final response, which it acknowledges.
    result = bob_calls(engine, "call_refused_uac.xml")
    assert "REFUSED code=486 reason=Busy Here" in result.log

    [invitation] = answerer.invitations
    assert invitation.remote_user_agent == "SIPp call scenario"
    ended = recorder.wait_for(
        lambda n: n.sender is invitation and n.name == "SIPInvitationChangedState" and n.data.state == "disconnected"
    )
    assert (ended.data.code, ended.data.reason, ended.data.disconnect_reason) == (486, "Busy Here", "Busy Here")
    assert ended.data.originator == "local"  # we refused the call
    states = [n.data.state for n in recorder.named("SIPInvitationChangedState") if n.sender is invitation]
    assert states == ["incoming", "early", "disconnected"]
    assert invitation.state == "disconnected"

    # On the wire: the INVITE's responses were 100, 180 and one 486, which SIPp's ACK stopped (no retransmission
    # in the half second SIPp lingers), all in the INVITE's transaction.
    sent = [
        n.data.data if isinstance(n.data.data, str) else n.data.data.decode()
        for n in recorder.named("SIPEngineSIPTrace")
        if not n.data.received
    ]
    responses = [text for text in sent if f"Call-ID: {invitation.call_id}" in text]
    assert [text.split(" ", 2)[1] for text in responses] == ["100", "180", "486"]
    assert all("CSeq: 1 INVITE" in text for text in responses)
    received = [
        n.data.data if isinstance(n.data.data, str) else n.data.data.decode()
        for n in recorder.named("SIPEngineSIPTrace")
        if n.data.received
    ]
    assert [text.split(" ", 1)[0] for text in received if f"Call-ID: {invitation.call_id}" in text] == ["INVITE", "ACK"]


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_outgoing_call_answered_then_local_bye(engine: Engine, transport: str) -> None:
    server = SippServer(CALLS / "call_answer_wait_bye_uas.xml", transport=transport)
    recorder = observe("SIPInvitationChangedState", "SIPInvitationGotSDPUpdate")
    parameters = {"transport": transport} if transport != "udp" else None
    to_uri = SIPURI(user="bob", host=server.host, port=server.port, parameters=parameters)
    invitation = invite(engine, to_uri, audio_sdp(40004), transport=transport)
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
    with sipp_in_background(
        CALLS / "call_wait_bye_uac.xml", sip_target("127.0.0.1", engine.local_udp_port), extra=["-s", "bob"], timeout=15
    ):
        recorder.wait_for(lambda n: n.name == "SIPInvitationChangedState" and n.data.state == "connected")
        engine.stop()
        assert answerer.invitations[0].state == "disconnected"


def test_cancel_while_ringing(engine: Engine) -> None:
    responder = Responder([(180, None)])
    recorder = observe("SIPInvitationChangedState")
    result = bob_calls(engine, "call_cancel_uac.xml", "-set", "ring_ms", "200")
    invitation = responder.invitations[0]
    ended = recorder.wait_for(lambda n: n.sender is invitation and n.data.state == "disconnected")
    assert ended.data.originator == "remote"
    assert "CANCELLED" in result.log


def test_late_offer_the_answer_comes_in_the_ack(engine: Engine) -> None:
    responder = Responder([(180, None), (200, audio_sdp(40006))])
    recorder = observe("SIPInvitationGotSDPUpdate", "SIPInvitationChangedState")
    bob_calls(engine, "call_late_offer_uac.xml", "-set", "talk_ms", "300")
    update = recorder.wait_named("SIPInvitationGotSDPUpdate")
    assert update.data.succeeded
    assert update.data.local_sdp.media[0].port == 40006
    recorder.wait_for(lambda n: n.name == "SIPInvitationChangedState" and n.data.state == "disconnected")
    assert responder.invitations


def test_hold_and_resume_by_the_remote_party(engine: Engine) -> None:
    responder = Responder([(200, audio_sdp(40008))])
    answerer = ProposalAnswerer()
    recorder = observe("SIPInvitationGotSDPUpdate", "SIPInvitationChangedState")
    result = bob_calls(engine, "call_hold_uac.xml", "-set", "step_ms", "100")
    assert "HOLD-ANSWER offer=sendonly answer=recvonly" in result.log
    assert "HOLD-ANSWER offer=inactive answer=inactive" in result.log
    assert "HOLD-ANSWER offer=sendrecv answer=sendrecv" in result.log
    # The initial negotiation and the three re-INVITEs, each seen by the application.
    recorder.wait_for(lambda n: len(recorder.named("SIPInvitationGotSDPUpdate")) == 4)
    directions = [n.data.local_sdp.media[0].direction for n in recorder.named("SIPInvitationGotSDPUpdate")]
    assert directions == ["sendrecv", "recvonly", "inactive", "sendrecv"]
    assert [offer.media[0].direction for offer in answerer.proposals] == ["sendonly", "inactive", "sendrecv"]
    sub_states = [
        (n.data.prev_sub_state, n.data.sub_state, n.data.originator)
        for n in recorder.named("SIPInvitationChangedState")
        if n.data.prev_state == n.data.state
    ]
    assert sub_states == [("normal", "received_proposal", "remote"), ("received_proposal", "normal", "local")] * 3
    assert responder.invitations


def test_reliable_provisional_response(engine: Engine) -> None:
    # (When the caller only says Supported: 100rel, the Engine sends
    # unreliable provisionals; making them reliable then is a policy for the
    # calls issue to expose.)
    header = "Require"
    # The 180 goes reliably (RSeq, retransmitted until PRACKed); the 200
    # comes a little later, once the PRACK had time to arrive.
    responder = Responder([(180, None)])
    recorder = observe("SIPInvitationChangedState")
    with sipp_in_background(
        CALLS / "call_100rel_uac.xml",
        sip_target("127.0.0.1", engine.local_udp_port),
        extra=["-s", "bob", "-set", "rel_header", header],
    ) as sipp:
        recorder.wait_for(lambda n: n.data.state == "early")
        threading.Timer(0.5, lambda: responder.invitations[0].send_response(200, sdp=audio_sdp(40012))).start()
        assert sipp.wait() == 0, sipp.explain()
    recorder.wait_for(lambda n: n.data.state == "disconnected")


def test_session_timer_refreshes_are_answered(engine: Engine) -> None:
    # The refresh re-INVITE has a new o= version, so it is a proposal the
    # application answers; the UPDATE without SDP is answered by the core.
    responder = Responder([(200, audio_sdp(40014))])
    answerer = ProposalAnswerer()
    bob_calls(engine, "call_timer_uac.xml", "-set", "refresh_ms", "1500", timeout=20)
    assert responder.invitations
    assert [offer.media[0].direction for offer in answerer.proposals] == ["sendrecv"]


def test_bye_for_an_unknown_dialog_gets_481(engine: Engine) -> None:
    result = bob_calls(engine, "bye_unknown_dialog_uac.xml")
    assert "BYE-481" in result.log


@pytest.mark.parametrize(("scenario", "code"), [("call_busy_486_uas.xml", 486), ("call_decline_603_uas.xml", 603)])
def test_outgoing_call_refused(engine: Engine, scenario: str, code: int) -> None:
    server = SippServer(CALLS / scenario)
    recorder = observe("SIPInvitationChangedState")
    invitation = invite(engine, SIPURI(user="bob", host=server.host, port=server.port), audio_sdp(40016))
    ended = recorder.wait_for(lambda n: n.sender is invitation and n.data.state == "disconnected")
    assert (ended.data.code, ended.data.originator) == (code, "remote")  # the other side refused
    run = server.finish()
    assert run.succeeded, run.explain()


def test_outgoing_call_cancelled(engine: Engine) -> None:
    server = SippServer(CALLS / "call_ring_cancel_uas.xml")
    recorder = observe("SIPInvitationChangedState")
    invitation = invite(engine, SIPURI(user="bob", host=server.host, port=server.port), audio_sdp(40018), timeout=None)
    recorder.wait_for(lambda n: n.sender is invitation and n.data.state == "early")
    invitation.end()
    ended = recorder.wait_for(lambda n: n.sender is invitation and n.data.state == "disconnected")
    assert ended.data.code == 487
    run = server.finish()
    assert run.succeeded, run.explain()


# --- real user agents ------------------------------------------------------------------


def _call(engine: Engine, to_uri: SIPURI, route=None, credentials=None, timeout: float = 10) -> Invitation:
    return invite(engine, to_uri, audio_sdp(40020), route=route, credentials=credentials, timeout=timeout)


@pytest.mark.parametrize("ended_by", ["engine", "baresip"])
def test_call_to_baresip(engine: Engine, tmp_path, ended_by: str) -> None:
    from tests.peers.baresip import Baresip

    recorder = observe("SIPInvitationChangedState", "SIPInvitationGotSDPUpdate")
    with Baresip(tmp_path / "baresip") as bob:
        invitation = _call(engine, SIPURI(user="bob", host="127.0.0.1", port=bob.port))
        recorder.wait_for(lambda n: n.name == "SIPInvitationChangedState" and n.data.state == "connected")
        assert bob.wait_established()
        update = recorder.wait_named("SIPInvitationGotSDPUpdate")
        assert update.data.succeeded
        assert update.data.remote_sdp.media[0].media == "audio"
        # From its responses' Server header, e.g. "baresip v1.0.0 (x86_64/linux)"
        assert re.fullmatch(r"baresip v[0-9.]+ \([^/()]+/[^/()]+\)", invitation.remote_user_agent or "")
        if ended_by == "engine":
            invitation.end()
        else:
            bob.hangup()
        ended = recorder.wait_for(lambda n: n.name == "SIPInvitationChangedState" and n.data.state == "disconnected")
        assert ended.data.originator == ("local" if ended_by == "engine" else "remote")
        assert bob.wait_closed() is not None


def test_call_through_kamailio_with_digest(engine: Engine, make_kamailio, tmp_path) -> None:
    # Kamailio challenges the INVITE (407); the credentials answer it; bob
    # (pjsua2, registered) answers the call; alice hangs up.
    from sipsimple.core import Credentials, RouteHeader
    from tests.peers.kamailio import TEST_USERS
    from tests.peers.pjsua2_agent import Pjsua2Agent

    server = make_kamailio()
    recorder = observe("SIPInvitationChangedState")
    traces = observe("SIPEngineSIPTrace")
    engine.trace_sip = True
    with Pjsua2Agent(tmp_path / "bob.log") as bob:
        bob.command(
            "account",
            name="bob",
            user="bob",
            password=TEST_USERS["bob"],
            domain=server.domain,
            proxy=server.uri(lr=True),
            transport="udp",
            register=True,
        )
        bob.wait_for("reg_state", where=lambda event: event.get("code") == 200)
        route = RouteHeader(SIPURI(host=server.host, port=server.port, parameters={"lr": None}))
        invitation = _call(
            engine,
            SIPURI(user="bob", host=server.domain),
            route=route,
            credentials=Credentials("alice", TEST_USERS["alice"]),
        )
        recorder.wait_for(lambda n: n.sender is invitation and n.data.state == "connected")
        invitation.end()
        recorder.wait_for(lambda n: n.sender is invitation and n.data.state == "disconnected")
    received = [n.data.data for n in traces.notifications if n.data.received]
    assert any(text.startswith("SIP/2.0 407") and " INVITE\r\n" in text for text in received)
    sent = [n.data.data for n in traces.notifications if not n.data.received and n.data.data.startswith("INVITE ")]
    assert len(sent) == 2 and "Proxy-Authorization: Digest" in sent[1]


@pytest.mark.parametrize("scenario", ["invite_unparsable_sdp", "invite_without_contact"])
def test_bad_invite_is_refused_with_400(engine: Engine, scenario: str) -> None:
    recorder = observe("SIPEngineRejectedRequest", "SIPInvitationChangedState")
    result = run_sipp(SCENARIOS / "malformed" / f"{scenario}.xml", sip_target("127.0.0.1", engine.local_udp_port))
    assert result.succeeded, result.stderr + result.log
    rejected = recorder.wait_named("SIPEngineRejectedRequest")
    assert (rejected.data.method, rejected.data.code) == ("INVITE", 400)
    assert rejected.data.error and rejected.data.call_id and rejected.data.peer_address[0] == "127.0.0.1"
    assert not recorder.named("SIPInvitationChangedState")  # no Invitation for the application


def test_early_media_goes_reliably_when_the_caller_supports_100rel(engine: Engine) -> None:
    # The caller only says Supported: 100rel; a 183 carrying SDP is sent
    # reliably anyway (RFC 3262 recommends it), and the 200 repeats no SDP.
    responder = Responder([(183, audio_sdp(40022))])
    recorder = observe("SIPInvitationChangedState", "SIPInvitationGotSDPUpdate")
    traces = observe("SIPEngineSIPTrace")
    engine.trace_sip = True
    with sipp_in_background(
        CALLS / "call_100rel_uac.xml",
        sip_target("127.0.0.1", engine.local_udp_port),
        extra=["-s", "bob", "-set", "rel_header", "Supported"],
    ) as sipp:
        recorder.wait_for(lambda n: n.name == "SIPInvitationGotSDPUpdate")
        threading.Timer(0.5, lambda: responder.invitations[0].send_response(200, sdp=audio_sdp(40022))).start()
        assert sipp.wait() == 0, sipp.explain()
    recorder.wait_for(lambda n: n.name == "SIPInvitationChangedState" and n.data.state == "disconnected")
    sent = [n.data.data for n in traces.notifications if not n.data.received]
    progress = [text for text in sent if text.startswith("SIP/2.0 183 ")]
    assert len(progress) >= 1 and all("Require: 100rel" in text and "RSeq: " in text for text in progress)
    assert "m=audio 40022 " in progress[0]
    accepted = [text for text in sent if text.startswith("SIP/2.0 200 ") and " INVITE\r\n" in text]
    assert accepted and "m=audio" not in accepted[0]  # the answer was given in the 183
