"""The Engine's Invitation plays the other side of the call scenarios that
test_invitation.py does not cover: SIPp as UAS for late offer, hold from
either side, 100rel, session timers, 407 and forking; SIPp as UAC for early
media, refusals and a callee that holds.

Each scenario is proven right against pjsua2 or baresip by
test_call_scenarios_selfcheck.py; here the Engine must pass it too.
"""

from __future__ import annotations

import pytest

from devkit.sipp import SippServer, sip_target, sipp_in_background
from sipsimple.core import (
    SIPURI,
    Credentials,
    Engine,
    Invitation,
)
from tests.support.calls import ProposalAnswerer, Responder, audio_sdp, bob_calls, invite, wait_state, with_direction
from tests.support.notifications import observe
from tests.support.scenarios import SCENARIOS

pytestmark = pytest.mark.timeout(120)

CALLS = SCENARIOS / "calls"


def _call_sipp(engine: Engine, server: SippServer, sdp=None, credentials=None) -> Invitation:
    """An outgoing call to the SIPp UAS, over the scenario's transport."""
    parameters = {"transport": server.transport} if server.transport != "udp" else None
    to_uri = SIPURI(user="bob", host=server.host, port=server.port, parameters=parameters)
    return invite(engine, to_uri, sdp, credentials=credentials, transport=server.transport)


def _hold_steps(recorder, invitation: Invitation) -> list[int]:
    """Our re-INVITEs: sendonly, inactive, sendrecv, each after the last was answered; the answers' codes."""

    def answered() -> list:
        return [
            n
            for n in recorder.named("SIPInvitationChangedState")
            if n.sender is invitation and n.data.prev_sub_state == "sending_proposal"
        ]

    for direction in ("sendonly", "inactive", "sendrecv"):
        count = len(answered())
        invitation.send_reinvite(sdp=with_direction(invitation.local_sdp, direction))
        recorder.wait_for(lambda n, count=count: len(answered()) > count)
    assert all(n.data.sub_state == "normal" for n in answered())
    return [n.data.code for n in answered()]


# --- SIPp answers -----------------------------------------------------------------------


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_late_offer_from_us(engine: Engine, transport: str) -> None:
    server = SippServer(CALLS / "call_late_offer_uas.xml", transport=transport, extra=["-set", "talk_ms", "300"])
    recorder = observe("SIPInvitationChangedState", "SIPInvitationGotSDPUpdate")
    invitation = _call_sipp(engine, server)
    wait_state(recorder, invitation, "connecting")
    offer = invitation.proposed_remote_sdp
    answer = audio_sdp(40200)
    answer.media[0].formats = ["0"]
    answer.media[0].attributes = [
        attribute
        for attribute in answer.media[0].attributes
        if attribute.value is None or attribute.value.startswith("0 ")
    ]
    assert "0" in offer.media[0].formats
    invitation.send_ack(answer)
    wait_state(recorder, invitation, "connected")
    ended = wait_state(recorder, invitation, "disconnected")
    assert ended.data.originator == "remote"
    update = recorder.wait_named("SIPInvitationGotSDPUpdate")
    assert update.data.succeeded and update.data.local_sdp.media[0].port == 40200
    run = server.finish()
    assert run.succeeded, run.explain()
    assert "LATE-ANSWER m=audio 40200" in run.log


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_held_by_the_callee(engine: Engine, transport: str) -> None:
    server = SippServer(CALLS / "call_hold_uas.xml", transport=transport, extra=["-set", "step_ms", "100"])
    answerer = ProposalAnswerer()
    recorder = observe("SIPInvitationChangedState")
    invitation = _call_sipp(engine, server, sdp=audio_sdp(40202))
    wait_state(recorder, invitation, "disconnected")
    run = server.finish()
    assert run.succeeded, run.explain()
    assert [offer.media[0].direction for offer in answerer.proposals] == ["sendonly", "inactive", "sendrecv"]
    for offered, answered in (("sendonly", "recvonly"), ("inactive", "inactive"), ("sendrecv", "sendrecv")):
        assert f"HOLD-ANSWER offer={offered} answer={answered}" in run.log


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_we_hold_the_callee(engine: Engine, transport: str) -> None:
    server = SippServer(CALLS / "call_held_uas.xml", transport=transport)
    recorder = observe("SIPInvitationChangedState")
    invitation = _call_sipp(engine, server, sdp=audio_sdp(40204))
    wait_state(recorder, invitation, "connected")
    assert _hold_steps(recorder, invitation) == [200, 200, 200]
    assert invitation.remote_sdp.media[0].direction == "sendrecv"
    invitation.end()
    wait_state(recorder, invitation, "disconnected")
    run = server.finish()
    assert run.succeeded, run.explain()
    assert "PEER-BYE" in run.log


@pytest.mark.parametrize("provisional", ["180", "183"])
def test_reliable_provisional_from_the_callee(engine: Engine, provisional: str) -> None:
    server = SippServer(
        CALLS / "call_100rel_uas.xml", extra=["-set", "provisional", provisional, "-set", "talk_ms", "200"]
    )
    recorder = observe("SIPInvitationChangedState", "SIPInvitationGotSDPUpdate")
    invitation = _call_sipp(engine, server, sdp=audio_sdp(40206))
    early = wait_state(recorder, invitation, "early")
    assert early.data.code == int(provisional)
    wait_state(recorder, invitation, "disconnected")
    run = server.finish()
    assert run.succeeded, run.explain()
    assert "PRACK-RECEIVED rack=4711 " in run.log
    assert recorder.wait_named("SIPInvitationGotSDPUpdate").data.succeeded


def test_session_refreshed_by_the_callee(engine: Engine) -> None:
    server = SippServer(CALLS / "call_timer_uas.xml", extra=["-set", "refresh_ms", "500"], timeout=20)
    answerer = ProposalAnswerer()
    recorder = observe("SIPInvitationChangedState")
    invitation = _call_sipp(engine, server, sdp=audio_sdp(40208))
    wait_state(recorder, invitation, "disconnected")
    run = server.finish()
    assert run.succeeded, run.explain()
    assert len(answerer.proposals) == 1  # the re-INVITE refresh; the UPDATE is the core's
    assert invitation.local_sdp is None


@pytest.mark.parametrize(("password", "succeeds"), [("secret", True), ("wrong", False)])
def test_invite_challenged_with_407(engine: Engine, password: str, succeeds: bool) -> None:
    server = SippServer(CALLS / "call_auth_407_uas.xml", extra=["-set", "password", "secret"])
    recorder = observe("SIPInvitationChangedState")
    invitation = _call_sipp(engine, server, sdp=audio_sdp(40210), credentials=Credentials("alice", password))
    if succeeds:
        wait_state(recorder, invitation, "connected")
        invitation.end()
    ended = wait_state(recorder, invitation, "disconnected")
    run = server.finish()
    assert run.succeeded == succeeds, run.explain()
    if succeeds:
        assert "AUTH-OK user=alice" in run.log and "PEER-BYE" in run.log
    else:
        assert ended.data.code == 403


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_forked_answers_first_2xx_wins(engine: Engine, transport: str) -> None:
    server = SippServer(CALLS / "call_forked_uas.xml", transport=transport)
    recorder = observe("SIPInvitationChangedState", "SIPInvitationGotSDPUpdate", "SIPEngineLog")
    invitation = _call_sipp(engine, server, sdp=audio_sdp(40212))
    wait_state(recorder, invitation, "connected")
    assert invitation.dialog_id.remote_tag == "forkB"
    ended = wait_state(recorder, invitation, "disconnected")
    assert ended.data.originator == "remote"  # SIPp ends the dialog that won
    states = [n.data.state for n in recorder.named("SIPInvitationChangedState") if n.sender is invitation]
    assert states == ["outgoing", "early", "connecting", "connected", "disconnected"]
    assert invitation.dialog_id.remote_tag == "forkB"
    run = server.finish()
    assert run.succeeded, run.explain()
    for line in ("ACK dialog=forkB", "ACK dialog=forkA", "BYE dialog=forkA", "BYE-ANSWERED dialog=forkB"):
        assert line in run.log
    assert any("to-tag forkA" in n.data.message for n in recorder.named("SIPEngineLog"))


# --- SIPp calls --------------------------------------------------------------------------


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_early_media_answer_then_200(engine: Engine, transport: str) -> None:
    responder = Responder([(183, audio_sdp(40214)), (200, audio_sdp(40214))])
    bob_calls(engine, "call_early_media_uac.xml", "-set", "talk_ms", "200", transport=transport)
    assert responder.invitations


@pytest.mark.parametrize("code", [486, 603])
def test_refused(engine: Engine, code: int) -> None:
    responder = Responder([(code, None)])
    result = bob_calls(engine, "call_refused_uac.xml")
    assert f"REFUSED code={code}" in result.log
    assert responder.invitations[0].state == "disconnected"


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_callee_holds_the_caller(engine: Engine, transport: str) -> None:
    responder = Responder([(200, audio_sdp(40216))])
    recorder = observe("SIPInvitationChangedState")
    port = engine.local_tcp_port if transport == "tcp" else engine.local_udp_port
    with sipp_in_background(
        CALLS / "call_held_uac.xml", sip_target("127.0.0.1", port), transport=transport, extra=["-s", "bob"], timeout=20
    ) as sipp:
        recorder.wait_for(lambda n: n.name == "SIPInvitationChangedState" and n.data.state == "connected")
        invitation = responder.invitations[0]
        assert _hold_steps(recorder, invitation) == [200, 200, 200]
        ended = wait_state(recorder, invitation, "disconnected")
        assert sipp.wait() == 0, sipp.explain()
    assert ended.data.originator == "remote"
