"""The process side of tests/peers/sipsimple_agent.py: a second sipsimple Engine driven by JSON lines.

Run by SipsimpleAgent as ``python -m tests.peers.sipsimple_agent_process --host HOST``; the
commands and events are described in tests/peers/sipsimple_agent.py. Each command has a
handler of its own (COMMANDS); notifications become events (Agent.handle_notification).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any

from sipsimple.core import (
    SIPURI,
    ContactHeader,
    Credentials,
    Engine,
    FromHeader,
    Message,
    Registration,
    RouteHeader,
    ToHeader,
)
from sipsimple.core._core import AudioMixer, RecordingWaveFile, Subscription
from sipsimple.notification import Notification, NotificationCenter
from tests.peers.json_lines import Event, emit
from tests.support.media_calls import AudioCall

# Notification name -> the event it becomes (fields from its data).
EVENTS: dict[str, Callable[[Any], None]] = {
    "SIPEngineGotMessage": lambda data: emit(
        "message",
        from_=data.from_header.body,
        body=data.body.decode("utf-8", "replace"),
        body_hex=data.body.hex(),
        content_type=data.content_type,
    ),
    "SIPMessageDidSucceed": lambda data: emit("message_status", code=data.code),
    "SIPMessageDidFail": lambda data: emit("message_status", code=data.code),
    "SIPRegistrationDidSucceed": lambda data: emit(
        "registration", state="succeeded", code=data.code, expires=data.expires_in
    ),
    "SIPRegistrationDidFail": lambda data: emit("registration", state="failed", code=data.code),
    "SIPRegistrationDidEnd": lambda data: emit("registration", state="ended", expired=data.expired),
    "SIPSubscriptionGotNotify": lambda data: emit(
        "notify",
        subscription_state=data.subscription_state,
        content_type=data.content_type,
        body=(data.body or b"").decode("utf-8", "replace"),
    ),
    "SIPSubscriptionDidStart": lambda data: emit("subscription", state="started"),
    "SIPSubscriptionDidEnd": lambda data: emit("subscription", state="ended", code=data.code, reason=data.reason),
    "SIPSubscriptionDidFail": lambda data: emit("subscription", state="failed", code=data.code, reason=data.reason),
}


class Agent:
    """The Engine, the account a "register" command gave, and what the commands made since."""

    def __init__(self, host: str) -> None:
        self.host = host
        self.engine = Engine()
        self.engine.start(
            ip_address=host, udp_port=0, tcp_port=0, user_agent="sipsimple test agent", rtp_port_range=(40000, 40998)
        )  # apart from the test process's default range
        self.account: Event = {}
        self.registration: Any = None
        self.subscription: Any = None
        self.messages: list[Any] = []
        self.mixer: Any = None
        self.audio_call: AudioCall | None = None
        self.recorder: Any = None
        center = NotificationCenter()
        for name in (*EVENTS, "SIPInvitationChangedState"):
            center.add_observer(self, name=name)

    def handle_notification(self, notification: Notification) -> None:
        data = notification.data
        if notification.name != "SIPInvitationChangedState":
            EVENTS[notification.name](data)
            return
        if data.state == "incoming" and data.prev_state == "NULL" and self.audio_call is not None:
            self.audio_call.invitation = notification.sender
            answer = self.audio_call.answer(notification.sender.proposed_remote_sdp)
            notification.sender.send_response(200, sdp=answer)
        emit("call", state=data.state, sub_state=data.sub_state)

    # -- what the requests of the account carry -----------------------------------------

    def route(self) -> RouteHeader:
        proxy_host, _, proxy_port = self.account["proxy"].rpartition(":")
        parameters: dict[str, str | None] = {"lr": None}
        if self.account.get("transport", "udp") != "udp":
            parameters["transport"] = self.account["transport"]
        return RouteHeader(SIPURI(host=proxy_host.strip("[]"), port=int(proxy_port), parameters=parameters))

    def contact(self) -> ContactHeader:
        transport = self.account.get("transport", "udp")
        port = self.engine.local_tcp_port if transport == "tcp" else self.engine.local_udp_port
        parameters = {"transport": transport} if transport != "udp" else None
        return ContactHeader(SIPURI(user=self.account["user"], host=self.host, port=port, parameters=parameters))

    def from_header(self) -> FromHeader:
        return FromHeader(SIPURI(user=self.account["user"], host=self.account["domain"]))

    def credentials(self) -> Credentials:
        return Credentials(self.account["user"], self.account["password"])

    # -- the commands: each takes the command's JSON object ---------------------------

    def register(self, command: Event) -> None:
        self.account = command
        self.registration = Registration(
            self.from_header(), credentials=self.credentials(), duration=command.get("expires", 300)
        )
        self.registration.register(self.contact(), self.route(), timeout=10)

    def unregister(self, command: Event) -> None:
        self.registration.end(timeout=10)

    def message(self, command: Event) -> None:
        message = Message(
            self.from_header(),
            ToHeader(SIPURI.parse(command["to"])),
            self.route(),
            command.get("content_type", "text/plain"),
            command["body"],
            credentials=self.credentials(),
        )
        self.messages.append(message)
        message.send(timeout=10)

    def subscribe(self, command: Event) -> None:
        to_uri = SIPURI.parse(command["to"])
        self.subscription = Subscription(
            to_uri,
            self.from_header(),
            ToHeader(to_uri),
            self.contact(),
            command.get("event", "presence"),
            self.route(),
            credentials=self.credentials(),
            refresh=command.get("refresh", 300),
        )
        self.subscription.subscribe(timeout=10)

    def unsubscribe(self, command: Event) -> None:
        self.subscription.end(timeout=10)

    def audio_answer(self, command: Event) -> None:
        """Arm an RTPTransport; the next incoming call is answered with audio (handle_notification)."""
        if self.mixer is None:
            self.mixer = AudioMixer(None, None, 32000, 0)
        call = AudioCall(
            self.mixer,
            encryption=command.get("encryption"),
            srtp_suites=command.get("srtp_suites"),
            use_ice=command.get("use_ice", False),
            codecs=command.get("codecs"),
            address=self.host,
            emit=emit,
            transport_options=command.get("transport_options"),
        )
        call.wait_initialized()
        self.audio_call = call

    def audio_dtmf(self, command: Event) -> None:
        assert self.audio_call is not None and self.audio_call.audio is not None
        for digit in command["digits"]:
            self.audio_call.audio.send_dtmf(digit)

    def audio_stats(self, command: Event) -> None:
        assert self.audio_call is not None
        emit("audio_stats", statistics=self.audio_call.statistics())

    def audio_record(self, command: Event) -> None:
        """What the call brings in, into a WAV file at the mixer's rate."""
        assert self.audio_call is not None and self.audio_call.audio is not None
        self.recorder = RecordingWaveFile(self.mixer, command["path"])
        self.recorder.start()
        self.mixer.connect_slots(self.audio_call.audio.slot, self.recorder.slot)
        emit("audio_recording", path=command["path"])

    def audio_record_stop(self, command: Event) -> None:
        recorder, self.recorder = self.recorder, None
        recorder.stop()
        emit("audio_recorded", path=command.get("path"))

    # -- running ----------------------------------------------------------------------

    def dispatch(self, command: Event) -> None:
        handler = COMMANDS.get(command["cmd"])
        try:
            if handler is None:
                raise ValueError(f"unknown command {command['cmd']!r}")
            handler(self, command)
        except Exception as error:  # reported to the test, which decides
            emit("result", id=command["id"], ok=False, error=f"{type(error).__name__}: {error}")
        else:
            emit("result", id=command["id"], ok=True)

    def stop(self) -> None:
        """Unregister (bounded), then stop the Engine."""
        registration = self.registration
        if registration is not None and registration.is_registered:
            registration.end(timeout=5)
            deadline = time.monotonic() + 5
            while registration.is_registered and time.monotonic() < deadline:
                time.sleep(0.05)
        self.engine.stop()


COMMANDS: dict[str, Callable[[Agent, Event], None]] = {
    "register": Agent.register,
    "unregister": Agent.unregister,
    "message": Agent.message,
    "subscribe": Agent.subscribe,
    "unsubscribe": Agent.unsubscribe,
    "audio_answer": Agent.audio_answer,
    "audio_dtmf": Agent.audio_dtmf,
    "audio_stats": Agent.audio_stats,
    "audio_record": Agent.audio_record,
    "audio_record_stop": Agent.audio_record_stop,
}


def main(argv: list[str]) -> int:
    host = argv[argv.index("--host") + 1] if "--host" in argv else "127.0.0.1"
    agent = Agent(host)
    emit("ready", udp_port=agent.engine.local_udp_port, tcp_port=agent.engine.local_tcp_port)
    for line in sys.stdin:
        if not line.strip():
            continue
        command = json.loads(line)
        if command["cmd"] == "quit":
            agent.stop()
            emit("result", id=command["id"], ok=True)
            return 0
        agent.dispatch(command)
    agent.engine.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
