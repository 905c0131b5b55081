"""A pjsua2 user agent in a process of its own, driven by JSON lines.

pjsua2 (PyPI's pjsua2-python) is a second, independent SIP stack the tests
use as a peer. It runs in a subprocess because pjlib keeps process-wide
state: one pjsua2 Endpoint per process, and none beside sipsimple's Engine.

The process (``python -m tests.peers.pjsua2_agent_process --log FILE``) reads
one JSON command a line on stdin and writes one JSON event a line on stdout:

    {"id": 1, "cmd": "account", "name": "alice", "user": "alice", "password": "secret",
     "domain": "example.test", "proxy": "sip:127.0.0.1:5060", "transport": "udp",
     "register": true, "expires": 300, "publish": false}
    {"id": 2, "cmd": "register", "name": "alice", "active": false}
    {"id": 3, "cmd": "message", "name": "alice", "to": "sip:bob@example.test", "body": "hi"}
    {"id": 4, "cmd": "presence", "name": "alice", "online": true, "note": "Lunch"}
    {"id": 5, "cmd": "buddy", "name": "bob", "uri": "sip:alice@example.test", "subscribe": true}
    {"id": 6, "cmd": "unsubscribe", "name": "bob", "uri": "sip:alice@example.test"}
    {"id": 7, "cmd": "call", "name": "alice", "to": "sip:bob@example.test"}
    {"id": 8, "cmd": "hangup", "name": "alice"}
    {"id": 9, "cmd": "quit"}

Every command is answered by {"event": "result", "id": N, "ok": true/false,
"error": "..."}. Asynchronous events: "ready" (with the local ports),
"reg_state", "im" (a MESSAGE received), "im_status" (the final response to
a MESSAGE sent), "buddy_state", "buddy_sub_state", "call_state". Incoming
calls are answered with 200 (486 for an account made with "answer_calls":
false), with the null sound device. pjsua2 is polled from the
main thread only (no worker threads), so every callback runs there too.

This module gives Pjsua2Agent, which runs that process and waits for its
events; it does not import pjsua2 itself.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.peers.json_lines import send_command
from tests.support.peer_programs import start_peer

Event = dict[str, Any]


class AgentError(RuntimeError):
    pass


class Pjsua2Agent:
    """The test side: starts the agent process and talks to it."""

    def __init__(self, log_path: str | os.PathLike[str], *, host: str = "127.0.0.1", ready_timeout: float = 20.0):
        if importlib.util.find_spec("pjsua2") is None:
            raise AgentError(
                f"pjsua2 is not installed for {sys.executable}: run scripts/bootstrap "
                "(it installs pyproject.toml's bench group, pjsua2-python)"
            )
        self.log_path = Path(log_path)
        self.stderr_path = self.log_path.with_suffix(".stderr")
        self.events: list[Event] = []
        self._condition = threading.Condition()
        self._next_id = 0
        with open(self.stderr_path, "wb") as stderr:
            self.process = start_peer(
                "pjsua2_agent_process",
                "--log",
                self.log_path,
                "--host",
                host,
                stderr=stderr,
                line_buffered=True,
                unbuffered=True,
            )
        self._reader = threading.Thread(target=self._read, name="pjsua2-agent-reader", daemon=True)
        self._reader.start()
        try:
            self.ready = self.wait_for("ready", timeout=ready_timeout)
        except BaseException:
            self.close()
            raise

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                event = {"event": "garbage", "line": line}
            with self._condition:
                self.events.append(event)
                self._condition.notify_all()
        with self._condition:
            self.events.append({"event": "exited"})
            self._condition.notify_all()

    def wait_for(
        self, event: str, timeout: float = 10.0, where: Callable[[Event], bool] | None = None, **fields: Any
    ) -> Event:
        """The first event named event whose fields match (and where(event) holds), waiting up to timeout."""

        def matches(candidate: Event) -> bool:
            return (
                candidate.get("event") == event
                and all(candidate.get(k) == v for k, v in fields.items())
                and (where is None or where(candidate))
            )

        deadline = time.monotonic() + timeout
        with self._condition:
            while True:
                for candidate in self.events:
                    if matches(candidate):
                        return candidate
                if any(candidate.get("event") == "exited" for candidate in self.events):
                    raise AgentError(
                        f"the pjsua2 agent exited while waiting for {event} {fields}; {self.diagnostics()}"
                    )
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no {event} event matching {fields} within {timeout} s; {self.diagnostics()}")
                self._condition.wait(remaining)

    def command(self, cmd: str, timeout: float = 10.0, **arguments: Any) -> Event:
        """Send a command and wait for its result; AgentError if it failed."""
        self._next_id += 1
        try:
            send_command(self.process, self._next_id, cmd, **arguments)
        except (BrokenPipeError, OSError) as error:
            raise AgentError(f"the pjsua2 agent is gone: {error}; {self.diagnostics()}") from error
        result = self.wait_for("result", timeout, id=self._next_id)
        if not result.get("ok"):
            raise AgentError(f"{cmd} failed: {result.get('error')}")
        return result

    def diagnostics(self) -> str:
        stderr = self.stderr_path.read_text(errors="replace")[-3000:] if self.stderr_path.exists() else ""
        return f"events: {self.events[-20:]}; stderr: {stderr}; log: {self.log_path}"

    def quit(self) -> None:
        """Ask the agent to quit, without waiting (close() waits)."""
        if self.process.poll() is None:
            with contextlib.suppress(BrokenPipeError, OSError):
                send_command(self.process, 0, "quit")

    def close(self, timeout: float = 15.0) -> None:
        """Quit (pjsua unregisters its accounts on the way out, which takes it about 1 s), kill on timeout."""
        if self.process.poll() is None:
            self.quit()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        with contextlib.suppress(OSError):
            if self.process.stdin is not None:
                self.process.stdin.close()
        self._reader.join(5)

    def __enter__(self) -> Pjsua2Agent:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
