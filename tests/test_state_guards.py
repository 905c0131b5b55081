"""The core objects follow their transition tables (sipsimple/core/_states.py) at run time.

An operation called in a state its table does not allow raises
SIPCoreInvalidStateError naming the operation and the state; the state
changes a real call announces are transitions of the tables. Peers: the
Engine itself (two Invitations calling each other over loopback).
"""

from __future__ import annotations

import pytest

from sipsimple.core import (
    SIPURI,
    AudioMixer,
    AudioTransport,
    ContactHeader,
    Engine,
    FromHeader,
    IncomingSubscription,
    Invitation,
    Message,
    RTPTransport,
    SIPCoreInvalidStateError,
    ToHeader,
)
from sipsimple.core._states import INVITATION, INVITATION_SUB_STATE, MESSAGE
from tests.support.calls import ProposalAnswerer, Responder, audio_sdp, invite, wait_state, with_direction
from tests.support.notifications import NotificationRecorder, observe

pytestmark = pytest.mark.timeout(60)


def _changes(recorder: NotificationRecorder, invitation: Invitation) -> list[tuple[str, str, str | None, str | None]]:
    return [
        (n.data.prev_state, n.data.state, n.data.prev_sub_state, n.data.sub_state)
        for n in recorder.named("SIPInvitationChangedState")
        if n.sender is invitation
    ]


def _assert_follows_the_tables(changes: list[tuple[str, str, str | None, str | None]]) -> None:
    for prev_state, state, prev_sub_state, sub_state in changes:
        if prev_state != state:
            assert any(t.source == prev_state and t.target == state for t in INVITATION.transitions), (
                prev_state,
                state,
            )
        elif prev_sub_state is not None and sub_state is not None:
            assert any(
                t.source == prev_sub_state and t.target == sub_state for t in INVITATION_SUB_STATE.transitions
            ), (prev_sub_state, sub_state)
        else:
            pytest.fail(f"a change that changes nothing: {prev_state} {prev_sub_state} -> {sub_state}")
        assert (sub_state is None) == (state != "connected"), (state, sub_state)


def test_a_new_invitation_refuses_what_needs_a_call_naming_the_method_and_the_state(engine: Engine) -> None:
    invitation = Invitation()
    with pytest.raises(
        SIPCoreInvalidStateError,
        match=r"Invitation\.send_reinvite\(\) is not possible in state 'NULL' \(only in connected\)",
    ):
        invitation.send_reinvite(sdp=audio_sdp(40300))
    with pytest.raises(
        SIPCoreInvalidStateError, match=r"Invitation\.cancel_reinvite\(\) is not possible in state 'NULL'"
    ):
        invitation.cancel_reinvite()
    with pytest.raises(SIPCoreInvalidStateError, match=r"Invitation\.transfer\(\) is not possible in state 'NULL'"):
        invitation.transfer(SIPURI(user="carol", host="127.0.0.1"))
    with pytest.raises(
        SIPCoreInvalidStateError,
        match=r"Invitation\.send_ack\(\) is not possible in state 'NULL' \(only in connecting\)",
    ):
        invitation.send_ack(audio_sdp(40300))
    invitation.end()  # nothing to end: does nothing
    assert invitation.state == "NULL"


def test_a_call_between_two_invitations_follows_the_tables_and_refuses_out_of_state_calls(engine: Engine) -> None:
    responder = Responder([(180, None), (200, audio_sdp(40302))])
    answerer = ProposalAnswerer()
    recorder = observe("SIPInvitationChangedState")
    bob = SIPURI(user="bob", host="127.0.0.1", port=engine.local_udp_port)
    caller = invite(engine, bob, sdp=audio_sdp(40304))
    wait_state(recorder, caller, "connected")
    callee = responder.invitations[0]
    wait_state(recorder, callee, "connected")

    with pytest.raises(
        SIPCoreInvalidStateError,
        match=r"Invitation\.send_invite\(\) is not possible in state 'connected' \(only in NULL\)",
    ):
        caller.send_invite(FromHeader(SIPURI(user="alice", host="127.0.0.1")), ToHeader(bob), None, ContactHeader(bob))
    with pytest.raises(
        SIPCoreInvalidStateError, match=r"Invitation\.send_response\(\) is not possible in state 'connected'"
    ):
        callee.send_response(180)
    with pytest.raises(
        SIPCoreInvalidStateError,
        match=r"Invitation\.cancel_reinvite\(\) is not possible in sub_state 'normal' \(only in sending_proposal\)",
    ):
        caller.cancel_reinvite()

    # A proposal both ways (answered by ProposalAnswerer), then the end.
    caller.send_reinvite(sdp=with_direction(caller.local_sdp, "sendonly"))
    recorder.wait_for(
        lambda n: n.sender is caller and n.data.prev_sub_state == "sending_proposal" and n.data.sub_state == "normal"
    )
    assert answerer.proposals
    caller.end()
    wait_state(recorder, caller, "disconnected")
    wait_state(recorder, callee, "disconnected")

    caller_changes, callee_changes = _changes(recorder, caller), _changes(recorder, callee)
    assert [c[1] for c in caller_changes if c[0] != c[1]] == [
        "outgoing",
        "early",
        "connecting",
        "connected",
        "disconnecting",
        "disconnected",
    ]
    assert [c[1] for c in callee_changes if c[0] != c[1]] == [
        "incoming",
        "early",
        "connecting",
        "connected",
        "disconnected",
    ]
    assert ("connected", "connected", "normal", "received_proposal") in callee_changes
    _assert_follows_the_tables(caller_changes)
    _assert_follows_the_tables(callee_changes)
    with pytest.raises(SIPCoreInvalidStateError, match=r"not possible in state 'disconnected'"):
        caller.send_reinvite(sdp=audio_sdp(40304))


def test_an_incoming_subscription_refuses_to_push_before_it_is_active(engine: Engine) -> None:
    subscription = IncomingSubscription()
    with pytest.raises(
        SIPCoreInvalidStateError,
        match=r"IncomingSubscription\.push_content\(\) is not possible in state 'incoming' \(only in active\)",
    ):
        subscription.push_content("text/plain", "x")
    # Allowed in its state, but this one was made by hand: no request behind it.
    with pytest.raises(SIPCoreInvalidStateError, match="This subscription no longer exists"):
        subscription.accept_pending()


def test_media_transports_name_their_state_when_refusing(engine: Engine) -> None:
    mixer = AudioMixer(None, None, 16000, 0)
    try:
        unready = RTPTransport()
        with pytest.raises(
            SIPCoreInvalidStateError,
            match=r"RTPTransport\.create_media\(\) is not possible in state 'NULL' \(only in INIT\)",
        ):
            AudioTransport(mixer, unready)
        transport = RTPTransport()
        transport.set_INIT()
        assert transport.state == "INIT"
        with pytest.raises(
            SIPCoreInvalidStateError,
            match=r"RTPTransport\.set_INIT\(\) is not possible in state 'INIT' \(only in NULL\)",
        ):
            transport.set_INIT()
        audio = AudioTransport(mixer, transport)
        assert (audio.state, transport.state) == ("INIT", "LOCAL")
        with pytest.raises(
            SIPCoreInvalidStateError,
            match=r"AudioTransport\.send_dtmf\(\) is not possible in state 'INIT' \(only in STARTED\)",
        ):
            audio.send_dtmf("1")
        audio.stop()
        assert (audio.state, transport.state) == ("STOPPED", "INVALID")
        with pytest.raises(
            SIPCoreInvalidStateError, match=r"AudioTransport\.get_local_media\(\) is not possible in state 'STOPPED'"
        ):
            audio.get_local_media()
    finally:
        mixer.close()


def test_a_message_is_sent_once(engine: Engine) -> None:
    recorder = observe("SIPMessageDidSucceed", "SIPMessageDidFail")
    to = SIPURI(user="bob", host="127.0.0.1", port=engine.local_udp_port)
    message = Message(FromHeader(SIPURI(user="alice", host="127.0.0.1")), ToHeader(to), None, "text/plain", "hi")
    assert message.state == MESSAGE.initial
    message.send()
    # The Engine may have had its answer already: sending, or done.
    with pytest.raises(
        SIPCoreInvalidStateError, match=r"Message\.send\(\) is not possible in state '(sending|done)' \(only in new\)"
    ):
        message.send()
    recorder.wait_for(lambda n: n.sender is message)
    assert message.state == "done"
