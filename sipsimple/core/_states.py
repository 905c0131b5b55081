"""The transition tables of the core's stateful objects.

Pure Python, so that they can be read, tested and drawn (scripts/state_diagrams.py
writes them into docs/api/) without building the extension; the .pxi files
import them and change their objects' states only through them.

The state names are the SIP SIMPLE core's public ones, kept as that API has
them (upper case where PJSIP's names came through: "NULL", "WAIT_STUN",
"ACTIVE"; lower case elsewhere). Events and operations are snake_case.
"""

from __future__ import annotations

from sipsimple.statemachine import StateMachine, Transition

__all__ = [
    "AUDIO_MIXER",
    "AUDIO_TRANSPORT",
    "INCOMING_REFERRAL",
    "INCOMING_REQUEST",
    "INCOMING_SUBSCRIPTION",
    "INVITATION",
    "INVITATION_SUB_STATE",
    "MACHINES",
    "MESSAGE",
    "REFERRAL",
    "REQUEST",
    "RTP_TRANSPORT",
    "RTP_TRANSPORT_ICE",
    "MIXER_SLOT",
    "SUBSCRIPTION",
]


def _from_each(sources: tuple[str, ...], event: str, target: str, note: str = "") -> list[Transition]:
    return [Transition(source, event, target, note) for source in sources]


# --- Invitation (invitation.pxi) ------------------------------------------------------------------
#
# Events named after PJSIP's invite session states ("provisional": EARLY,
# "answered": CONNECTING, "acknowledged": CONFIRMED, "terminated":
# DISCONNECTED) come from its state callback; the others from our methods.

_INVITATION_LIVE = ("outgoing", "incoming", "early", "connecting", "connected")

INVITATION = StateMachine(
    "Invitation",
    ("NULL", "outgoing", "incoming", "early", "connecting", "connected", "disconnecting", "disconnected"),
    "NULL",
    [
        Transition("NULL", "send_invite", "outgoing", "send_invite()"),
        Transition("NULL", "receive_invite", "incoming", "INVITE received"),
        Transition("outgoing", "provisional", "early", "1xx with a To tag"),
        Transition("incoming", "provisional", "early", "send_response(1xx)"),
        Transition("outgoing", "answered", "connecting", "2xx"),
        Transition("incoming", "answered", "connecting", "send_response(2xx)"),
        Transition("early", "answered", "connecting", "2xx"),
        Transition("connecting", "acknowledged", "connected", "ACK"),
        *_from_each(_INVITATION_LIVE, "end", "disconnecting", "end()"),
        # Our CANCEL crossed by the response it cancels (or end() sending the
        # ACK a late offer kept waiting): PJSIP still reports the session's
        # progress, and so do we.
        Transition("disconnecting", "provisional", "early", "1xx crossing our CANCEL"),
        Transition("disconnecting", "answered", "connecting", "2xx crossing our CANCEL"),
        Transition("disconnecting", "acknowledged", "connected", "ACK"),
        *_from_each(
            ("NULL", *_INVITATION_LIVE, "disconnecting"),
            "terminated",
            "disconnected",
            "failure, BYE, CANCEL, final response",
        ),
        *_from_each(("NULL", *_INVITATION_LIVE, "disconnecting"), "engine_stopped", "disconnected", "Engine stopped"),
    ],
    {
        "send_invite": ("NULL",),
        "send_response": ("incoming", "early"),
        "send_ack": ("connecting",),
        "send_reinvite": ("connected",),
        "cancel_reinvite": ("connected",),
        "transfer": ("connected",),
        "end": _INVITATION_LIVE,
    },
)

# sub_state: None outside "connected", "normal" on entering it.
INVITATION_SUB_STATE = StateMachine(
    "Invitation",
    ("normal", "sending_proposal", "received_proposal"),
    "normal",
    [
        Transition("normal", "send_reinvite", "sending_proposal", "send_reinvite()"),
        Transition("sending_proposal", "send_failed", "normal", "the re-INVITE could not be sent"),
        Transition("sending_proposal", "response_received", "normal", "final response, 487 after cancel_reinvite()"),
        Transition("normal", "receive_reinvite", "received_proposal", "re-INVITE with an offer"),
        Transition("received_proposal", "send_response", "normal", "send_response(final)"),
        Transition("received_proposal", "answered_by_stack", "normal", "CANCELed: PJSIP answers 487"),
    ],
    {
        "send_reinvite": ("normal",),
        "cancel_reinvite": ("sending_proposal",),
        "send_response": ("received_proposal",),
    },
    attribute="sub_state",
)


# --- requests outside a dialog (request.pxi, _message.py) ------------------------------------------

REQUEST = StateMachine(
    "Request",
    ("INIT", "IN_PROGRESS", "EXPIRING", "TERMINATED"),
    "INIT",
    [
        Transition("INIT", "send", "IN_PROGRESS", "send()"),
        Transition("IN_PROGRESS", "send_failed", "TERMINATED", "the request could not be sent"),
        Transition("IN_PROGRESS", "expiring", "EXPIRING", "2xx with an expiry"),
        Transition("IN_PROGRESS", "terminate", "TERMINATED", "final response without expiry, timeout, end()"),
        Transition("EXPIRING", "terminate", "TERMINATED", "expiry, end(), Engine stop"),
    ],
    {
        "send": ("INIT",),
        "end": ("IN_PROGRESS", "EXPIRING"),  # elsewhere it does nothing
    },
)

INCOMING_REQUEST = StateMachine(
    "IncomingRequest",
    ("incoming", "answered", "terminated"),
    "incoming",
    [
        Transition("incoming", "answer", "answered", "answer(final), or 480 when left unanswered"),
        *_from_each(("incoming", "answered"), "engine_stopped", "terminated", "Engine stop"),
    ],
    {"answer": ("incoming",)},
)

MESSAGE = StateMachine(
    "Message",
    ("new", "sending", "done"),
    "new",
    [
        Transition("new", "send", "sending", "send()"),
        Transition("sending", "succeeded", "done", "2xx"),
        Transition("sending", "failed", "done", "failure"),
    ],
    {
        "send": ("new",),
        "end": ("sending",),  # elsewhere it does nothing
    },
)


# --- Subscription and Referral (subscription.pxi, referral.pxi, transfer.pxi) ------------------------
#
# The events are the states PJSIP's event subscription reports (its
# on_evsub_state callback), lower case; "UNKNOWN" is a NOTIFY's extension
# Subscription-State.

_CLIENT_LIVE = ("NULL", "SENT", "ACCEPTED", "PENDING", "ACTIVE", "UNKNOWN")
_CLIENT_STATES = (*_CLIENT_LIVE, "TERMINATED")


def _client_transitions() -> list[Transition]:
    return [
        Transition("NULL", "sent", "SENT", "request sent"),
        Transition("SENT", "accepted", "ACCEPTED", "2xx"),
        *_from_each(("SENT", "ACCEPTED", "ACTIVE", "UNKNOWN"), "pending", "PENDING", "NOTIFY pending"),
        *_from_each(("SENT", "ACCEPTED", "PENDING", "UNKNOWN"), "active", "ACTIVE", "NOTIFY active"),
        *_from_each(("SENT", "ACCEPTED", "PENDING", "ACTIVE"), "unknown", "UNKNOWN", "NOTIFY with another state"),
        *_from_each(
            _CLIENT_LIVE, "terminated", "TERMINATED", "NOTIFY terminated, failure, 481, refresh failure, timeout"
        ),
        *_from_each(_CLIENT_LIVE, "engine_stopped", "TERMINATED", "Engine stopped"),
    ]


SUBSCRIPTION = StateMachine(
    "Subscription",
    _CLIENT_STATES,
    "NULL",
    [
        *_client_transitions(),
        Transition("TERMINATED", "resubscribe", "NULL", "deactivated or probation: again in a new dialog"),
    ],
    {
        "subscribe": _CLIENT_LIVE,
        "end": _CLIENT_LIVE[1:],
    },
)

REFERRAL = StateMachine(
    "Referral",
    _CLIENT_STATES,
    "NULL",
    _client_transitions(),
    {
        "send_refer": ("NULL",),
        "end": _CLIENT_LIVE[1:],
    },
)

INCOMING_SUBSCRIPTION = StateMachine(
    "IncomingSubscription",
    ("incoming", "pending", "active", "terminated"),
    "incoming",
    [
        Transition("incoming", "accept_pending", "pending", "accept_pending()"),
        Transition("incoming", "accept", "active", "accept()"),
        Transition("pending", "accept", "active", "accept()"),
        *_from_each(
            ("incoming", "pending", "active"),
            "terminated",
            "terminated",
            "reject(), end(), unsubscribe, no refresh, unanswered",
        ),
        *_from_each(("incoming", "pending", "active"), "engine_stopped", "terminated", "Engine stopped"),
    ],
    {
        "accept_pending": ("incoming",),
        "accept": ("incoming", "pending"),
        "push_content": ("active",),
        "reject": ("incoming",),
        "end": ("pending", "active"),
    },
)

INCOMING_REFERRAL = StateMachine(
    "IncomingReferral",
    ("incoming", "active", "terminated"),
    "incoming",
    [
        Transition("incoming", "accept", "active", "accept()"),
        Transition("incoming", "reject", "terminated", "reject() of a REFER in a call"),
        *_from_each(("incoming", "active"), "terminated", "terminated", "reject(), final NOTIFY, unanswered"),
        *_from_each(("incoming", "active"), "engine_stopped", "terminated", "Engine stopped"),
    ],
    {
        "accept": ("incoming",),
        "reject": ("incoming",),
        "send_notify": ("active",),
        "end": ("incoming", "active"),
    },
)


# --- media (mediatransport.pxi) ------------------------------------------------------------------

RTP_TRANSPORT = StateMachine(
    "RTPTransport",
    ("NULL", "WAIT_STUN", "INIT", "LOCAL", "ESTABLISHED", "INVALID"),
    "NULL",
    [
        Transition("NULL", "set_INIT", "INIT", "set_INIT() without ICE"),
        Transition("NULL", "gather", "WAIT_STUN", "set_INIT() with ICE"),
        Transition("WAIT_STUN", "gathered", "INIT", "candidates gathered"),
        Transition("WAIT_STUN", "gathering_failed", "INVALID", "RTPTransportDidFail"),
        Transition("INIT", "create_media", "LOCAL", "AudioTransport()"),
        Transition("LOCAL", "start_media", "ESTABLISHED", "AudioTransport.start()"),
        Transition("ESTABLISHED", "start_media", "ESTABLISHED", "AudioTransport.start() again"),
        *_from_each(
            ("NULL", "WAIT_STUN", "INIT", "LOCAL", "ESTABLISHED", "INVALID"),
            "close",
            "INVALID",
            "close(), AudioTransport.stop(), Engine stop",
        ),
    ],
    {
        "set_INIT": ("NULL",),
        "create_media": ("INIT",),
        "start_media": ("LOCAL", "ESTABLISHED"),
    },
)

# RTPTransport.ice_state: PJNATH's progress (the events of its ICE callback)
# and what the negotiated SDPs say. Only negotiation's changes are announced
# (RTPTransportICENegotiationStateDidChange); gathering's are the transport's
# own DidInitialize / DidFail.
RTP_TRANSPORT_ICE = StateMachine(
    "RTPTransport",
    ("NULL", "GATHERING", "READY", "NEGOTIATING", "RUNNING", "FAILED", "DISABLED"),
    "NULL",
    [
        Transition("NULL", "gather", "GATHERING", "set_INIT() with ICE"),
        Transition("GATHERING", "gathered", "READY", "candidates gathered"),
        Transition("GATHERING", "gathering_failed", "FAILED", "gathering failed"),
        *_from_each(("READY", "FAILED", "DISABLED"), "negotiate", "NEGOTIATING", "start(): ICE in both SDPs"),
        *_from_each(
            ("READY", "NEGOTIATING", "RUNNING", "FAILED"),
            "peer_without_ice",
            "DISABLED",
            "start(): no ICE in the remote SDP",
        ),
        *_from_each(
            ("NEGOTIATING", "FAILED", "DISABLED"), "negotiation_succeeded", "RUNNING", "a candidate pair chosen"
        ),
        *_from_each(("NEGOTIATING", "RUNNING", "DISABLED"), "negotiation_failed", "FAILED", "no pair works"),
    ],
    attribute="ice_state",
)

AUDIO_TRANSPORT = StateMachine(
    "AudioTransport",
    ("NULL", "INIT", "STARTED", "STOPPED"),
    "NULL",
    [
        Transition("NULL", "create", "INIT", "AudioTransport(): local media prepared"),
        Transition("INIT", "start", "STARTED", "start()"),
        Transition("STARTED", "start", "STARTED", "start() again: the stream rebuilt"),
        *_from_each(
            ("NULL", "INIT", "STARTED"),
            "stop",
            "STOPPED",
            "stop(), Engine stop: the stream and its RTPTransport closed",
        ),
    ],
    {
        "__init__": ("NULL",),
        "get_local_media": ("INIT", "STARTED"),
        "start": ("INIT", "STARTED"),
        "update_direction": ("STARTED",),
        "send_dtmf": ("STARTED",),
    },
)


# --- sound (sound.pxi) ---------------------------------------------------------------------------

AUDIO_MIXER = StateMachine(
    "AudioMixer",
    ("closed", "running", "closing"),
    "closed",
    [
        Transition("closed", "open", "running", "AudioMixer(): devices and clock started"),
        Transition("running", "close", "closing", "close(), Engine stop"),
        Transition("closing", "closed", "closed", "ports, devices and clock gone"),
    ],
    {
        "close": ("running",),
        # Every other method (connect_slots, set_sound_devices, the slot
        # objects' start(), ...): they call into PJMEDIA.
        "use": ("running",),
    },
)

# WaveFile, RecordingWaveFile, ToneGenerator, MixerPort, RelayPort: the
# objects that hold a slot of an AudioMixer.
MIXER_SLOT = StateMachine(
    "MixerSlot",
    ("new", "started", "stopped"),
    "new",
    [
        Transition("new", "start", "started", "start()"),
        Transition("stopped", "start", "started", "start() again"),
        Transition("started", "stop", "stopped", "stop(), end of the file, the mixer closed, Engine stop"),
    ],
    {
        "start": ("new", "stopped"),
        # pause(), resume(), play_tones(), read(), write(), ...
        "use": ("started",),
    },
)


MACHINES: tuple[StateMachine, ...] = (
    REQUEST,
    INCOMING_REQUEST,
    MESSAGE,
    INVITATION,
    INVITATION_SUB_STATE,
    SUBSCRIPTION,
    REFERRAL,
    INCOMING_SUBSCRIPTION,
    INCOMING_REFERRAL,
    RTP_TRANSPORT,
    RTP_TRANSPORT_ICE,
    AUDIO_TRANSPORT,
    AUDIO_MIXER,
    MIXER_SLOT,
)
