"""A call with audio: Invitation + RTPTransport + AudioTransport on one Engine.

Used on both sides of tests/test_media.py: by the test process (the caller)
and by the second Engine in tests/peers/sipsimple_agent.py (the callee,
commands audio_answer / audio_stats / audio_dtmf). The negotiated SDPs come
from SIPInvitationGotSDPUpdate; the stream is (re)started on the first and
follows the direction of every later one (hold and unhold by re-INVITE).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sipsimple.core import SIPURI, Engine, Invitation, SDPConnection, SDPSession
from sipsimple.core._core import AudioTransport, RTPTransport
from sipsimple.notification import NotificationCenter
from tests.support.calls import MIRRORED, invite, mirrored_answer


class AudioCall:
    """The media half of one call. `emit(name, **fields)` reports what happens (DTMF, start, ICE)."""

    def __init__(
        self,
        mixer: Any,
        *,
        encryption: str | None = None,
        srtp_suites: list[str] | None = None,
        use_ice: bool = False,
        codecs: list[str] | None = None,
        address: str = "127.0.0.1",
        emit: Callable[..., None] | None = None,
        transport_options: dict[str, Any] | None = None,
    ) -> None:
        self.mixer = mixer
        self.address = address
        self.codecs = codecs
        self.emit = emit or (lambda name, **fields: None)
        # transport_options: the rest of RTPTransport's arguments (STUN/TURN servers, ice_relay_only).
        self.transport = RTPTransport(
            encryption=encryption, use_ice=use_ice, srtp_suites=srtp_suites, **(transport_options or {})
        )
        self.audio: AudioTransport | None = None
        self.invitation: Any = None
        self.initialized = threading.Event()
        self.started = threading.Event()
        self.digits: list[str] = []
        self.directions: list[str] = []
        center = NotificationCenter()
        for name in (
            "RTPTransportDidInitialize",
            "RTPTransportDidFail",
            "RTPTransportICENegotiationDidSucceed",
            "RTPTransportICENegotiationDidFail",
        ):
            center.add_observer(self, name=name, sender=self.transport)
        center.add_observer(self, name="RTPAudioStreamGotDTMF")
        center.add_observer(self, name="SIPInvitationGotSDPUpdate")
        center.add_observer(self, name="SIPInvitationChangedState")
        self.transport.set_INIT()

    def wait_initialized(self, timeout: float = 10.0) -> None:
        if not self.initialized.wait(timeout) or self.transport.state != "INIT":
            raise RuntimeError(f"RTPTransport did not initialize (state {self.transport.state})")

    def session(self, stream: Any) -> SDPSession:
        return SDPSession(self.address, connection=SDPConnection(self.address), media=[stream])

    def offer(self) -> SDPSession:
        self.wait_initialized()
        self.audio = AudioTransport(self.mixer, self.transport, codecs=self.codecs)
        return self.session(self.audio.get_local_media())

    def place(self, engine: Engine, to_uri: SIPURI, offer: SDPSession | None = None) -> None:
        """Call `to_uri` as alice with `offer` (by default self.offer()); self.invitation is known before
        the INVITE goes out, so none of its notifications passes unrecognised."""
        sdp = offer if offer is not None else self.offer()
        self.invitation = Invitation()
        invite(engine, to_uri, sdp, invitation=self.invitation)

    def answer(self, offer: SDPSession) -> SDPSession:
        self.wait_initialized()
        self.audio = AudioTransport(self.mixer, self.transport, remote_sdp=offer, codecs=self.codecs)
        return self.session(self.audio.get_local_media(remote_sdp=offer, direction=MIRRORED[offer.media[0].direction]))

    def handle_notification(self, notification: Any) -> None:
        name, data = notification.name, notification.data
        if name == "RTPTransportDidInitialize":
            self.initialized.set()
        elif name == "RTPTransportDidFail":
            self.emit("audio_failed", reason=data.reason)
            self.initialized.set()
        elif name == "RTPTransportICENegotiationDidSucceed":
            self.emit(
                "ice",
                succeeded=True,
                local=list(data.chosen_local_candidate),
                remote=list(data.chosen_remote_candidate),
            )
        elif name == "RTPTransportICENegotiationDidFail":
            self.emit("ice", succeeded=False, reason=data.reason)
        elif name == "RTPAudioStreamGotDTMF" and notification.sender is self.audio:
            self.digits.append(data.digit)
            self.emit("dtmf", digit=data.digit)
        elif notification.sender is not self.invitation or self.invitation is None:
            return
        elif name == "SIPInvitationGotSDPUpdate" and data.succeeded and self.audio is not None:
            direction = data.local_sdp.media[0].direction
            if not self.started.is_set():
                self.audio.start(data.local_sdp, data.remote_sdp, 0, timeout=None)
                # As a softphone connects the microphone and the speaker: slot 0
                # is the input device's (silence without one), so that codecs
                # which send nothing without audio frames (opus) send too; and
                # the output device's, so that the bridge decodes the stream
                # from the first packet. (A slot nobody listens to is not read:
                # its jitter buffer overflows and, once read, drops frames, and
                # a decoder that misses frames of a steady tone (speex) drifts
                # out of step with its encoder and comes out ~10 dB too loud.)
                self.mixer.connect_slots(0, self.audio.slot)
                self.mixer.connect_slots(self.audio.slot, 0)
                self.started.set()
                self.emit(
                    "audio_started",
                    codec=self.audio.codec,
                    sample_rate=self.audio.sample_rate,
                    srtp_cipher=self.transport.srtp_cipher,
                    ice_active=self.transport.ice_active,
                    direction=direction,
                )
            else:
                self.audio.update_direction(direction)
            self.directions.append(direction)
            self.emit("audio_direction", direction=direction)
        elif name == "SIPInvitationChangedState":
            if data.sub_state == "received_proposal" and data.prev_sub_state != "received_proposal":
                answer = mirrored_answer(self.invitation.local_sdp, self.invitation.proposed_remote_sdp)
                self.invitation.send_response(200, sdp=answer)
            elif data.state == "disconnected":
                self.stop()

    def stop(self) -> None:
        if self.audio is not None:
            self.audio.stop()
        else:
            self.transport.close()

    def statistics(self) -> dict:
        return self.audio.statistics if self.audio is not None else {}
