"""Invitation after the call is set up: re-INVITEs both ways and their
cancellation, Replaces, the late offer answered in the ACK, transfer, a
broken answer. (Forking and the other SIPp flows: test_call_flows.py.)

Peers: SIPp (tests/scenarios/calls/), baresip, and the Engine itself (two
Invitations of one Engine calling each other over loopback, for Replaces).
"""

from __future__ import annotations

import threading

import pytest

from devkit.sipp import SippServer, run_sipp, sip_target, sipp_in_background
from sipsimple.core import (
    SIPURI,
    Engine,
    Invitation,
    ReplacesHeader,
    SIPCoreInvalidStateError,
)
from sipsimple.notification import NotificationCenter
from tests.support.calls import ProposalAnswerer, Responder, audio_sdp, bob_calls, invite, wait_state, with_direction
from tests.support.notifications import observe
from tests.support.scenarios import SCENARIOS

pytestmark = pytest.mark.timeout(120)

CALLS = SCENARIOS / "calls"


def _sub_state_changes(recorder, invitation) -> list[tuple[str, str, str, int | None]]:
    return [
        (n.data.prev_sub_state, n.data.sub_state, n.data.originator, n.data.code)
        for n in recorder.named("SIPInvitationChangedState")
        if n.sender is invitation and n.data.prev_state == n.data.state == "connected"
    ]


# --- re-INVITE received: the application decides ---------------------------------------


def test_received_proposal_cancelled_by_the_other_side(engine: Engine) -> None:
    # Nobody answers the re-INVITE; SIPp cancels it; PJSIP answers 487 and
    # the sub_state goes back to normal, the session unchanged.
    responder = Responder([(200, audio_sdp(40100))])
    recorder = observe("SIPInvitationChangedState")
    result = bob_calls(engine, "reinvite_cancelled_by_uac.xml", "-set", "cancel_ms", "300")
    for line in ("REINVITE-TRYING", "CANCEL-OK", "REINVITE-487"):
        assert line in result.log
    invitation = responder.invitations[0]
    wait_state(recorder, invitation, "disconnected")
    assert _sub_state_changes(recorder, invitation) == [
        ("normal", "received_proposal", "remote", None),
        ("received_proposal", "normal", "remote", 487),
    ]
    assert invitation.local_sdp is None  # over; during the call it stayed the first answer


def test_received_proposal_refused_by_the_application(engine: Engine) -> None:
    # 488 to the hold offer: the negotiator forgets the offer and the next
    # re-INVITE (inactive) is a fresh proposal, answered this time.
    responder = Responder([(200, audio_sdp(40102))])
    refusals: list[int] = []

    class RefuseFirst:
        def handle_notification(self, notification) -> None:
            invitation, data = notification.sender, notification.data
            if data.sub_state != "received_proposal" or data.prev_sub_state == "received_proposal":
                return
            if not refusals:
                refusals.append(488)
                invitation.send_response(488)
            else:
                answer = with_direction(invitation.local_sdp, "inactive")
                invitation.send_response(200, sdp=answer)

    refuser = RefuseFirst()
    NotificationCenter().add_observer(refuser, name="SIPInvitationChangedState")
    result = run_sipp(
        CALLS / "call_hold_uac.xml",
        sip_target("127.0.0.1", engine.local_udp_port),
        extra=["-s", "bob", "-set", "step_ms", "100"],
    )
    # The scenario wants a 200 to its first hold: the 488 ends it, as it should.
    assert not result.succeeded
    assert "SIP/2.0 488 " in result.messages
    assert responder.invitations and refusals == [488]


def test_send_response_checks_the_proposal_state(engine: Engine) -> None:
    responder = Responder([(200, audio_sdp(40104))])
    answerer = ProposalAnswerer()
    recorder = observe("SIPInvitationChangedState")
    bob_calls(engine, "call_hold_uac.xml", "-set", "step_ms", "100")
    invitation = responder.invitations[0]
    wait_state(recorder, invitation, "disconnected")
    with pytest.raises(SIPCoreInvalidStateError):
        invitation.send_response(200, sdp=audio_sdp(40104))
    with pytest.raises(SIPCoreInvalidStateError):
        invitation.cancel_reinvite()
    assert len(answerer.proposals) == 3


# --- re-INVITE sent: hold by us, and taking it back ---------------------------------


def test_cancel_reinvite(engine: Engine) -> None:
    # Our hold re-INVITE gets 100 and no answer; cancel_reinvite() sends
    # CANCEL; SIPp answers 200 + 487 and we are back to normal.
    responder = Responder([(200, audio_sdp(40106))])
    recorder = observe("SIPInvitationChangedState")
    with sipp_in_background(
        CALLS / "reinvite_cancel_received_uac.xml", sip_target("127.0.0.1", engine.local_udp_port), extra=["-s", "bob"]
    ) as sipp:
        recorder.wait_for(lambda n: n.name == "SIPInvitationChangedState" and n.data.state == "connected")
        invitation = responder.invitations[0]
        invitation.send_reinvite(sdp=with_direction(invitation.local_sdp, "sendonly"))
        assert invitation.sub_state == "sending_proposal"
        with pytest.raises(SIPCoreInvalidStateError):
            invitation.send_reinvite(sdp=invitation.local_sdp)  # one proposal at a time
        threading.Timer(0.3, invitation.cancel_reinvite).start()
        recorder.wait_for(lambda n: n.sender is invitation and n.data.prev_sub_state == "sending_proposal")
        assert sipp.wait() == 0, sipp.explain()
    wait_state(recorder, invitation, "disconnected")
    assert _sub_state_changes(recorder, invitation) == [
        ("normal", "sending_proposal", "local", None),
        ("sending_proposal", "normal", "remote", 487),
    ]


def test_hold_and_resume_by_us_with_baresip(engine: Engine, tmp_path) -> None:
    from tests.peers.baresip import Baresip

    recorder = observe("SIPInvitationChangedState", "SIPInvitationGotSDPUpdate")
    with Baresip(tmp_path / "baresip") as bob:
        invitation = invite(engine, SIPURI(user="bob", host="127.0.0.1", port=bob.port), sdp=audio_sdp(40108))
        wait_state(recorder, invitation, "connected")
        remote_directions = []
        for direction in ("sendonly", "inactive", "sendrecv"):
            done = len(_sub_state_changes(recorder, invitation)) + 2
            invitation.send_reinvite(sdp=with_direction(invitation.local_sdp, direction))
            recorder.wait_for(lambda n, done=done: len(_sub_state_changes(recorder, invitation)) == done)
            remote_directions.append(invitation.remote_sdp.media[0].direction)
            assert invitation.local_sdp.media[0].direction == direction
        invitation.end()
        wait_state(recorder, invitation, "disconnected")
    assert remote_directions == ["recvonly", "inactive", "sendrecv"]
    assert (
        _sub_state_changes(recorder, invitation)
        == [("normal", "sending_proposal", "local", None), ("sending_proposal", "normal", "remote", 200)] * 3
    )


# --- late offer from our side: the answer goes in the ACK ----------------------------


def test_late_offer_to_baresip_answered_in_the_ack(engine: Engine, tmp_path) -> None:
    from tests.peers.baresip import Baresip

    recorder = observe("SIPInvitationChangedState", "SIPInvitationGotSDPUpdate")
    with Baresip(tmp_path / "baresip") as bob:
        invitation = invite(engine, SIPURI(user="bob", host="127.0.0.1", port=bob.port))
        connecting = wait_state(recorder, invitation, "connecting")
        offer = invitation.proposed_remote_sdp
        assert offer is not None and connecting.data.body
        answer = audio_sdp(40110)
        answer.media[0].formats = [offer.media[0].formats[0]]
        answer.media[0].attributes = [a for a in offer.media[0].attributes if a.name == "rtpmap"][:1]
        invitation.send_ack(answer)
        wait_state(recorder, invitation, "connected")
        update = recorder.wait_named("SIPInvitationGotSDPUpdate")
        assert update.data.succeeded and update.data.local_sdp.media[0].port == 40110
        assert bob.wait_established()
        with pytest.raises(SIPCoreInvalidStateError):
            invitation.send_ack(answer)
        invitation.end()
        wait_state(recorder, invitation, "disconnected")


# --- Replaces (RFC 3891) ----------------------------------------------------------------


def test_replaces_names_the_replaced_invitation(engine: Engine) -> None:
    # Call 1: alice -> bob (both Invitations in this Engine). Call 2 carries
    # Replaces for bob's side of call 1: bob's new Invitation says which
    # Invitation it replaces; the application ends that one.
    responder = Responder([(200, audio_sdp(40112))])
    recorder = observe("SIPInvitationChangedState")
    bob = SIPURI(user="bob", host="127.0.0.1", port=engine.local_udp_port)
    first = invite(engine, bob, sdp=audio_sdp(40114))
    wait_state(recorder, first, "connected")
    replaced = responder.invitations[0]
    call_id, local_tag, remote_tag = replaced.dialog_id
    assert first.dialog_id == (call_id, remote_tag, local_tag)  # the same dialog, seen from the other end
    second = invite(
        engine,
        bob,
        sdp=audio_sdp(40116),
        extra_headers=[ReplacesHeader(call_id, from_tag=remote_tag, to_tag=local_tag)],
    )
    wait_state(recorder, second, "connected")
    replacing = responder.invitations[1]
    assert replacing.replaced_invitation is replaced
    assert replaced.replaced_invitation is None
    replaced.end()
    wait_state(recorder, first, "disconnected")
    for invitation in (second, replacing):
        invitation.end()
    wait_state(recorder, second, "disconnected")


def test_replaces_for_an_unknown_dialog_gets_481(engine: Engine) -> None:
    responder = Responder([(200, audio_sdp(40118))])
    recorder = observe("SIPInvitationChangedState", "SIPEngineRejectedRequest")
    bob = SIPURI(user="bob", host="127.0.0.1", port=engine.local_udp_port)
    invitation = invite(
        engine, bob, sdp=audio_sdp(40120), extra_headers=[ReplacesHeader("no-such-call", from_tag="a", to_tag="b")]
    )
    ended = wait_state(recorder, invitation, "disconnected")
    assert ended.data.code == 481
    rejected = recorder.wait_named("SIPEngineRejectedRequest")
    assert (rejected.data.method, rejected.data.code) == ("INVITE", 481)
    assert not responder.invitations


# --- transfer (REFER in the call) --------------------------------------------------------


class TransferTarget:
    """The transferee's application: accepts a transfer and reports a ringing, then answered, call."""

    def __init__(self, accept: bool = True) -> None:
        self.accept = accept
        self.requests: list[object] = []
        NotificationCenter().add_observer(self, name="SIPInvitationTransferNewIncoming")

    def handle_notification(self, notification) -> None:
        invitation = notification.sender
        self.requests.append(notification.data.refer_to_header)
        if not self.accept:
            invitation.reject_transfer(603)
            return
        invitation.accept_transfer()
        invitation.notify_transfer_progress(180, "Ringing")
        invitation.notify_transfer_progress(200, "OK")


def _connected_pair(engine: Engine, recorder, responder: Responder) -> tuple[Invitation, Invitation]:
    bob = SIPURI(user="bob", host="127.0.0.1", port=engine.local_udp_port)
    caller = invite(engine, bob, sdp=audio_sdp(40130))
    wait_state(recorder, caller, "connected")
    callee = responder.invitations[-1]
    wait_state(recorder, callee, "connected")
    return caller, callee


def test_transfer_accepted_and_reported(engine: Engine) -> None:
    responder = Responder([(200, audio_sdp(40132))])
    target = TransferTarget()
    recorder = observe(
        "SIPInvitationChangedState",
        "SIPInvitationTransferDidStart",
        "SIPInvitationTransferGotNotify",
        "SIPInvitationTransferDidEnd",
        "SIPInvitationTransferDidFail",
    )
    caller, callee = _connected_pair(engine, recorder, responder)
    carol = SIPURI(user="carol", host="127.0.0.1", port=5099)
    caller.transfer(carol)
    ended = recorder.wait_for(lambda n: n.name == "SIPInvitationTransferDidEnd" and n.sender is caller)
    assert recorder.wait_named("SIPInvitationTransferDidStart").sender is caller
    progress = [
        (n.data.code, n.data.reason) for n in recorder.named("SIPInvitationTransferGotNotify") if n.sender is caller
    ]
    assert progress == [(100, "Trying"), (180, "Ringing"), (200, "OK")]
    assert ended.data.originator == "remote"
    assert [str(header.uri) for header in target.requests] == [str(carol)]
    # The call itself goes on; a second transfer can follow the first.
    assert caller.state == callee.state == "connected"
    callee.end()
    wait_state(recorder, caller, "disconnected")


def test_transfer_refused(engine: Engine) -> None:
    responder = Responder([(200, audio_sdp(40134))])
    target = TransferTarget(accept=False)
    recorder = observe("SIPInvitationChangedState", "SIPInvitationTransferDidFail", "SIPInvitationTransferDidStart")
    caller, callee = _connected_pair(engine, recorder, responder)
    caller.transfer(SIPURI(user="carol", host="127.0.0.1"))
    failed = recorder.wait_for(lambda n: n.name == "SIPInvitationTransferDidFail" and n.sender is caller)
    assert failed.data.code == 603
    assert not recorder.named("SIPInvitationTransferDidStart")
    assert target.requests and caller.state == "connected"
    with pytest.raises(SIPCoreInvalidStateError):
        callee.accept_transfer()  # nothing pending any more
    caller.end()
    wait_state(recorder, callee, "disconnected")


def test_attended_transfer_carries_replaces(engine: Engine) -> None:
    # Two calls from alice to bob; alice transfers the first to "carol",
    # replacing the second: the Refer-To names the second call's dialog as
    # its far end (bob here) sees it.
    responder = Responder([(200, audio_sdp(40136))])
    target = TransferTarget()
    recorder = observe("SIPInvitationChangedState", "SIPInvitationTransferDidEnd")
    first, _ = _connected_pair(engine, recorder, responder)
    second, second_far = _connected_pair(engine, recorder, responder)
    first.transfer(SIPURI(user="carol", host="127.0.0.1"), replaced_dialog_id=second.dialog_id)
    recorder.wait_for(lambda n: n.name == "SIPInvitationTransferDidEnd" and n.sender is first)
    replaces = target.requests[0].uri.headers["Replaces"]
    call_id, local_tag, remote_tag = second_far.dialog_id
    assert replaces == f"{call_id};to-tag={local_tag};from-tag={remote_tag}"
    for invitation in (first, second):
        invitation.end()
        wait_state(recorder, invitation, "disconnected")


def test_transfer_needs_a_connected_call(engine: Engine) -> None:
    invitation = Invitation()
    with pytest.raises(SIPCoreInvalidStateError):
        invitation.transfer(SIPURI(user="carol", host="127.0.0.1"))
    with pytest.raises(SIPCoreInvalidStateError):
        invitation.accept_transfer()


def test_transfer_requested_by_sipp(engine: Engine) -> None:
    responder = Responder([(200, audio_sdp(40138))])
    target = TransferTarget()
    result = bob_calls(engine, "call_transferred_by_peer_uac.xml")
    assert "REFER-ACCEPTED" in result.log and "TRANSFER-DONE" in result.log
    notified = [
        line.split("NOTIFY sipfrag=", 1)[1].split(" state=")[0]
        for line in result.log.splitlines()
        if "NOTIFY sipfrag=" in line
    ]
    assert notified == ["SIP/2.0 100 Trying", "SIP/2.0 180 Ringing", "SIP/2.0 200 OK"]
    assert str(target.requests[0].uri).startswith("sip:carol@127.0.0.1")
    assert responder.invitations


def test_transfer_sent_to_sipp(engine: Engine) -> None:
    responder = Responder([(200, audio_sdp(40140))])
    recorder = observe("SIPInvitationChangedState", "SIPInvitationTransferGotNotify", "SIPInvitationTransferDidEnd")
    with sipp_in_background(
        CALLS / "call_transfer_received_uac.xml", sip_target("127.0.0.1", engine.local_udp_port), extra=["-s", "bob"]
    ) as sipp:
        recorder.wait_for(lambda n: n.name == "SIPInvitationChangedState" and n.data.state == "connected")
        invitation = responder.invitations[0]
        invitation.transfer(SIPURI(user="carol", host="127.0.0.1", port=5099))
        recorder.wait_for(lambda n: n.name == "SIPInvitationTransferDidEnd" and n.sender is invitation)
        invitation.end()
        assert sipp.wait() == 0, sipp.explain()
    codes = [n.data.code for n in recorder.named("SIPInvitationTransferGotNotify")]
    assert codes == [100, 200]


# --- a broken answer -------------------------------------------------------------------


def test_unusable_answer_is_acknowledged_and_the_call_ended(engine: Engine) -> None:
    server = SippServer(CALLS / "call_bad_answer_uas.xml")
    recorder = observe("SIPInvitationChangedState", "SIPInvitationGotSDPUpdate")
    invitation = invite(engine, SIPURI(user="bob", host=server.host, port=server.port), sdp=audio_sdp(40142))
    ended = wait_state(recorder, invitation, "disconnected")
    update = recorder.wait_named("SIPInvitationGotSDPUpdate")
    assert not update.data.succeeded and "answer" in update.data.error
    assert ended.data.originator == "local"
    run = server.finish()
    assert run.succeeded, run.explain()
    assert "BYE-RECEIVED" in run.log
    assert run.messages.count("\nBYE sip:") == 1


# --- re-INVITE without SDP ----------------------------------------------------------------


def test_reinvite_without_sdp_received(engine: Engine) -> None:
    # PJSIP offers our current SDP in the 200; SIPp's answer comes in the ACK.
    responder = Responder([(200, audio_sdp(40144))])
    recorder = observe("SIPInvitationChangedState", "SIPInvitationGotSDPUpdate")
    result = bob_calls(engine, "reinvite_without_sdp_uac.xml")
    assert "REINVITE-OFFER m=audio 40144 " in result.log
    invitation = responder.invitations[0]
    wait_state(recorder, invitation, "disconnected")
    updates = [n for n in recorder.named("SIPInvitationGotSDPUpdate") if n.sender is invitation]
    assert len(updates) == 2 and all(n.data.succeeded for n in updates)
    assert updates[1].data.remote_sdp.version == 2 and list(updates[1].data.remote_sdp.media[0].formats) == ["0"]


def test_reinvite_without_sdp_sent_to_baresip(engine: Engine, tmp_path) -> None:
    # baresip offers in its 200; the core answers in the ACK with our current
    # SDP, directions mirrored.
    from tests.peers.baresip import Baresip

    recorder = observe("SIPInvitationChangedState", "SIPInvitationGotSDPUpdate")
    with Baresip(tmp_path / "baresip") as bob:
        invitation = invite(engine, SIPURI(user="bob", host="127.0.0.1", port=bob.port), sdp=audio_sdp(40146))
        wait_state(recorder, invitation, "connected")
        invitation.send_reinvite()
        recorder.wait_for(
            lambda n: (
                n.sender is invitation
                and n.name == "SIPInvitationChangedState"
                and n.data.prev_sub_state == "sending_proposal"
            )
        )
        recorder.wait_for(lambda n: len(recorder.named("SIPInvitationGotSDPUpdate")) == 2)
        second = recorder.named("SIPInvitationGotSDPUpdate")[1]
        assert second.data.succeeded and second.data.local_sdp.media[0].port == 40146
        invitation.end()
        wait_state(recorder, invitation, "disconnected")
