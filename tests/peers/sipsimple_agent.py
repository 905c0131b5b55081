"""A second sipsimple Engine in a process of its own, driven by JSON lines.

The Engine is a process-wide singleton, so a test that needs two sipsimple
user agents (say, two registered users exchanging MESSAGE through Kamailio)
runs the second one here. The process (``python -m tests.peers.sipsimple_agent_process``)
reads one JSON command a line on stdin and writes one JSON event a line on
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
body), "subscription" (started/ended/failed, code). With audio (tests/support/media_calls.py):
audio_answer arms an RTPTransport (encryption, srtp_suites, use_ice, codecs) and answers the
next incoming call with audio; then "call" (state), "audio_started" (codec, sample_rate,
srtp_cipher, ice_active), "audio_direction", "dtmf" (digit), "ice", "audio_stats" (statistics);
audio_record (path) records what the call brings in until audio_record_stop ("audio_recording",
"audio_recorded").

This module gives SipsimpleAgent, which runs that process and waits for its
events (the process side imports sipsimple; the test side only starts it).
"""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any

from tests.peers.json_lines import Event, next_event, send_command
from tests.support.peer_programs import start_peer


class AgentError(RuntimeError):
    pass


class SipsimpleAgent:
    """The test side: starts the agent process and talks to it."""

    def __init__(self, *, host: str = "127.0.0.1", ready_timeout: float = 20.0) -> None:
        self.process = start_peer("sipsimple_agent_process", "--host", host, line_buffered=True)
        self.events: queue.Queue[Event | None] = queue.Queue()
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
        self.events.put(None)

    def wait_for(self, event: str, timeout: float = 10.0, where: Callable[[Event], bool] | None = None) -> Event:
        for candidate in self.seen:
            if candidate["event"] == event and (where is None or where(candidate)):
                self.seen.remove(candidate)
                return candidate
        deadline = time.monotonic() + timeout
        while True:
            try:
                candidate = next_event(self.events, deadline)
            except TimeoutError:
                raise AgentError(
                    f"no {event!r} event within {timeout} s; stderr: {''.join(self._stderr)[-2000:]}"
                ) from None
            if candidate is None:
                raise AgentError(f"the agent exited; stderr: {''.join(self._stderr)[-2000:]}")
            if candidate["event"] == event and (where is None or where(candidate)):
                return candidate
            self.seen.append(candidate)

    def command(self, cmd: str, timeout: float = 10.0, **arguments: Any) -> Event:
        self._next_id += 1
        command_id = self._next_id
        send_command(self.process, command_id, cmd, **arguments)
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
