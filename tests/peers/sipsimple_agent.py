"""A second sipsimple Engine in a process of its own, driven by JSON lines.

The Engine is a process-wide singleton, so a test that needs two sipsimple
user agents (say, two registered users exchanging MESSAGE through Kamailio)
runs the second one here. Run as a script (``python -m tests.peers.sipsimple_agent``),
it reads one JSON command a line on stdin and writes one JSON event a line on
stdout:

    {"id": 1, "cmd": "register", "user": "bob", "password": "pw", "domain": "example.test",
     "proxy": "127.0.0.1:5060", "transport": "udp", "expires": 300}
    {"id": 2, "cmd": "message", "to": "sip:alice@example.test", "body": "hi", "content_type": "text/plain"}
    {"id": 3, "cmd": "subscribe", "to": "sip:alice@example.test", "event": "presence"}
    {"id": 4, "cmd": "unsubscribe"}
    {"id": 5, "cmd": "unregister"}
    {"id": 6, "cmd": "audio_answer", "encryption": null, "use_ice": false, "codecs": ["PCMU"]}
    {"id": 7, "cmd": "audio_dtmf", "digits": "123"}
    {"id": 8, "cmd": "audio_stats"}
    {"id": 9, "cmd": "quit"}

Every command is answered by {"event": "result", "id": N, "ok": true/false, "error": "..."}.
Asynchronous events: "ready" (udp/tcp ports), "registration" (succeeded/failed/ended, code),
"message" (a MESSAGE received: from, body as text, body_hex, content_type), "message_status"
(code of the final answer to a MESSAGE sent), "notify" (subscription_state, content_type,
body), "subscription" (started/ended/failed, code). With audio (tests/media_calls.py):
audio_answer arms an RTPTransport (encryption, srtp_suites, use_ice, codecs) and answers the
next incoming call with audio; then "call" (state), "audio_started" (codec, sample_rate,
srtp_cipher, ice_active), "audio_direction", "dtmf" (digit), "ice", "audio_stats" (statistics);
audio_record (path) records what the call brings in until audio_record_stop ("audio_recording",
"audio_recorded").

Imported, it gives SipsimpleAgent, which runs the script and waits for its
events (the process side imports sipsimple; the test side only starts it).
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

Event = dict[str, Any]
REPO = Path(__file__).resolve().parents[2]


class AgentError(RuntimeError):
    pass


class SipsimpleAgent:
    """The test side: starts the agent process and talks to it."""

    def __init__(self, *, host: str = "127.0.0.1", ready_timeout: float = 20.0) -> None:
        environment = dict(os.environ, PYTHONPATH=str(REPO))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.peers.sipsimple_agent", "--host", host], cwd=REPO, env=environment,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1,
        )
        self.events: queue.Queue[Event] = queue.Queue()
        self.seen: list[Event] = []
        self._next_id = 0
        self._stderr: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=lambda: self._stderr.extend(self.process.stderr), daemon=True).start()
        ready = self.wait_for("ready", timeout=ready_timeout)
        self.udp_port: int = ready["udp_port"]
        self.tcp_port: int = ready["tcp_port"]

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            line = line.strip()
            if line.startswith("{"):
                self.events.put(json.loads(line))

    def wait_for(self, event: str, timeout: float = 10.0, where: Callable[[Event], bool] | None = None) -> Event:
        for candidate in self.seen:
            if candidate["event"] == event and (where is None or where(candidate)):
                self.seen.remove(candidate)
                return candidate
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AgentError(f"no {event!r} event within {timeout} s; stderr: {''.join(self._stderr)[-2000:]}")
            try:
                candidate = self.events.get(timeout=remaining)
            except queue.Empty:
                continue
            if candidate["event"] == event and (where is None or where(candidate)):
                return candidate
            self.seen.append(candidate)

    def command(self, cmd: str, timeout: float = 10.0, **arguments: Any) -> Event:
        self._next_id += 1
        command_id = self._next_id
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"id": command_id, "cmd": cmd, **arguments}) + "\n")
        self.process.stdin.flush()
        result = self.wait_for("result", timeout, where=lambda event: event.get("id") == command_id)
        if not result.get("ok"):
            raise AgentError(f"{cmd} failed: {result.get('error')}")
        return result

    def close(self, timeout: float = 15.0) -> None:
        if self.process.poll() is None:
            try:
                self.command("quit", timeout=timeout)
            except (AgentError, BrokenPipeError, OSError):
                pass
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> SipsimpleAgent:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _main(argv: list[str]) -> int:
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
    from sipsimple.core._core import Subscription
    from sipsimple.notification import NotificationCenter

    host = argv[argv.index("--host") + 1] if "--host" in argv else "127.0.0.1"
    lock = threading.Lock()

    def emit(event: str, **fields: Any) -> None:
        with lock:
            sys.stdout.write(json.dumps({"event": event, **fields}) + "\n")
            sys.stdout.flush()

    engine = Engine()
    engine.start(ip_address=host, udp_port=0, tcp_port=0, user_agent="sipsimple test agent",
                 rtp_port_range=(40000, 40998))  # apart from the test process's default range
    state: dict[str, Any] = {}

    class Observer:
        def handle_notification(self, notification: Any) -> None:
            name, data = notification.name, notification.data
            if name == "SIPEngineGotMessage":
                emit("message", from_=data.from_header.body, body=data.body.decode("utf-8", "replace"),
                     body_hex=data.body.hex(), content_type=data.content_type)
            elif name == "SIPMessageDidSucceed" or name == "SIPMessageDidFail":
                emit("message_status", code=data.code)
            elif name == "SIPRegistrationDidSucceed":
                emit("registration", state="succeeded", code=data.code, expires=data.expires_in)
            elif name == "SIPRegistrationDidFail":
                emit("registration", state="failed", code=data.code)
            elif name == "SIPRegistrationDidEnd":
                emit("registration", state="ended", expired=data.expired)
            elif name == "SIPSubscriptionGotNotify":
                emit("notify", subscription_state=data.subscription_state, content_type=data.content_type,
                     body=(data.body or b"").decode("utf-8", "replace"))
            elif name == "SIPSubscriptionDidStart":
                emit("subscription", state="started")
            elif name == "SIPSubscriptionDidEnd":
                emit("subscription", state="ended", code=data.code, reason=data.reason)
            elif name == "SIPSubscriptionDidFail":
                emit("subscription", state="failed", code=data.code, reason=data.reason)
            elif name == "SIPInvitationChangedState":
                call = state.get("audio_call")
                if data.state == "incoming" and data.prev_state == "NULL" and call is not None:
                    call.invitation = notification.sender
                    answer = call.answer(notification.sender.proposed_remote_sdp)
                    notification.sender.send_response(200, sdp=answer)
                emit("call", state=data.state, sub_state=data.sub_state)

    observer = Observer()
    center = NotificationCenter()
    for name in ("SIPEngineGotMessage", "SIPMessageDidSucceed", "SIPMessageDidFail", "SIPRegistrationDidSucceed",
                 "SIPRegistrationDidFail", "SIPRegistrationDidEnd", "SIPSubscriptionGotNotify",
                 "SIPSubscriptionDidStart", "SIPSubscriptionDidEnd", "SIPSubscriptionDidFail",
                 "SIPInvitationChangedState"):
        center.add_observer(observer, name=name)
    emit("ready", udp_port=engine.local_udp_port, tcp_port=engine.local_tcp_port)

    def route(account: dict[str, Any]) -> Any:
        proxy_host, _, proxy_port = account["proxy"].rpartition(":")
        parameters = {"lr": None}
        if account.get("transport", "udp") != "udp":
            parameters["transport"] = account["transport"]
        return RouteHeader(SIPURI(host=proxy_host.strip("[]"), port=int(proxy_port), parameters=parameters))

    def contact(account: dict[str, Any]) -> Any:
        transport = account.get("transport", "udp")
        port = engine.local_tcp_port if transport == "tcp" else engine.local_udp_port
        parameters = {"transport": transport} if transport != "udp" else None
        return ContactHeader(SIPURI(user=account["user"], host=host, port=port, parameters=parameters))

    def run(command: dict[str, Any]) -> None:
        cmd = command["cmd"]
        account = state.get("account")
        if cmd == "register":
            state["account"] = account = command
            from_header = FromHeader(SIPURI(user=command["user"], host=command["domain"]))
            credentials = Credentials(command["user"], command["password"])
            registration = Registration(from_header, credentials=credentials, duration=command.get("expires", 300))
            state["registration"] = registration
            registration.register(contact(account), route(account), timeout=10)
        elif cmd == "unregister":
            state["registration"].end(timeout=10)
        elif cmd == "message":
            to_uri = SIPURI.parse(command["to"])
            message = Message(FromHeader(SIPURI(user=account["user"], host=account["domain"])), ToHeader(to_uri),
                              route(account), command.get("content_type", "text/plain"), command["body"],
                              credentials=Credentials(account["user"], account["password"]))
            state.setdefault("messages", []).append(message)
            message.send(timeout=10)
        elif cmd == "subscribe":
            to_uri = SIPURI.parse(command["to"])
            subscription = Subscription(to_uri, FromHeader(SIPURI(user=account["user"], host=account["domain"])),
                                        ToHeader(to_uri), contact(account), command.get("event", "presence"),
                                        route(account), credentials=Credentials(account["user"], account["password"]),
                                        refresh=command.get("refresh", 300))
            state["subscription"] = subscription
            subscription.subscribe(timeout=10)
        elif cmd == "unsubscribe":
            state["subscription"].end(timeout=10)
        elif cmd == "audio_answer":
            from sipsimple.core._core import AudioMixer
            from tests.media_calls import AudioCall

            if "mixer" not in state:
                state["mixer"] = AudioMixer(None, None, 32000, 0)
            call = AudioCall(state["mixer"], encryption=command.get("encryption"),
                             srtp_suites=command.get("srtp_suites"), use_ice=command.get("use_ice", False),
                             codecs=command.get("codecs"), address=host, emit=emit,
                             transport_options=command.get("transport_options"))
            call.wait_initialized()
            state["audio_call"] = call
        elif cmd == "audio_dtmf":
            for digit in command["digits"]:
                state["audio_call"].audio.send_dtmf(digit)
        elif cmd == "audio_stats":
            emit("audio_stats", statistics=state["audio_call"].statistics())
        elif cmd == "audio_record":
            # What the call brings in, into a WAV file at the mixer's rate.
            from sipsimple.core._core import RecordingWaveFile

            recorder = RecordingWaveFile(state["mixer"], command["path"])
            recorder.start()
            state["mixer"].connect_slots(state["audio_call"].audio.slot, recorder.slot)
            state["recorder"] = recorder
            emit("audio_recording", path=command["path"])
        elif cmd == "audio_record_stop":
            state.pop("recorder").stop()
            emit("audio_recorded", path=command.get("path"))
        else:
            raise ValueError(f"unknown command {cmd!r}")

    for line in sys.stdin:
        if not line.strip():
            continue
        command = json.loads(line)
        if command["cmd"] == "quit":
            registration = state.get("registration")
            if registration is not None and registration.is_registered:
                registration.end(timeout=5)
                deadline = time.monotonic() + 5
                while registration.is_registered and time.monotonic() < deadline:
                    time.sleep(0.05)
            engine.stop()
            emit("result", id=command["id"], ok=True)
            return 0
        try:
            run(command)
        except Exception as error:  # reported to the test, which decides
            emit("result", id=command["id"], ok=False, error=f"{type(error).__name__}: {error}")
        else:
            emit("result", id=command["id"], ok=True)
    engine.stop()
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
