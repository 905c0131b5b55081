"""A pjsua2 user agent in a process of its own, driven by JSON lines.

pjsua2 (PyPI's pjsua2-python) is a second, independent SIP stack the tests
use as a peer. It runs in a subprocess because pjlib keeps process-wide
state: one pjsua2 Endpoint per process, and none beside sipsimple's Engine.

Run as a script (``python -m tests.peers.pjsua2_agent --log FILE``), it reads
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

Imported, the module gives Pjsua2Agent, which runs the script and waits for
its events; it does not import pjsua2 itself.
"""

from __future__ import annotations

import contextlib
import importlib.util
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


class AgentError(RuntimeError):
    pass


class Pjsua2Agent:
    """The test side: starts the agent process and talks to it."""

    def __init__(self, log_path: str | os.PathLike[str], *, host: str = "127.0.0.1", ready_timeout: float = 20.0):
        if importlib.util.find_spec("pjsua2") is None:
            raise AgentError(f"pjsua2 is not installed for {sys.executable}: run scripts/bootstrap "
                             "(it installs pyproject.toml's bench group, pjsua2-python)")
        self.log_path = Path(log_path)
        self.stderr_path = self.log_path.with_suffix(".stderr")
        self.events: list[Event] = []
        self._condition = threading.Condition()
        self._next_id = 0
        repository = Path(__file__).resolve().parents[2]
        environment = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(repository),
                                                                                os.environ.get("PYTHONPATH")])))
        with open(self.stderr_path, "wb") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, "-u", "-m", "tests.peers.pjsua2_agent", "--log", str(self.log_path), "--host", host],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, text=True, bufsize=1,
                cwd=repository, env=environment,
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

    def wait_for(self, event: str, timeout: float = 10.0, where: Callable[[Event], bool] | None = None,
                 **fields: Any) -> Event:
        """The first event named event whose fields match (and where(event) holds), waiting up to timeout."""

        def matches(candidate: Event) -> bool:
            return (candidate.get("event") == event and all(candidate.get(k) == v for k, v in fields.items())
                    and (where is None or where(candidate)))

        deadline = time.monotonic() + timeout
        with self._condition:
            while True:
                for candidate in self.events:
                    if matches(candidate):
                        return candidate
                if any(candidate.get("event") == "exited" for candidate in self.events):
                    raise AgentError(f"the pjsua2 agent exited while waiting for {event} {fields}; "
                                     f"{self.diagnostics()}")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no {event} event matching {fields} within {timeout} s; "
                                         f"{self.diagnostics()}")
                self._condition.wait(remaining)

    def command(self, cmd: str, timeout: float = 10.0, **arguments: Any) -> Event:
        """Send a command and wait for its result; AgentError if it failed."""
        self._next_id += 1
        request = {"id": self._next_id, "cmd": cmd, **arguments}
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
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
                assert self.process.stdin is not None
                self.process.stdin.write(json.dumps({"id": 0, "cmd": "quit"}) + "\n")
                self.process.stdin.flush()

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


# -- the agent process ------------------------------------------------------


def _main(argv: list[str]) -> int:
    import argparse

    import pjsua2 as pj

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log", required=True, help="pjsua2's log file (SIP messages included)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--log-level", type=int, default=5)
    options = parser.parse_args(argv)

    output_lock = threading.Lock()

    def emit(event: str, **fields: Any) -> None:
        with output_lock:
            sys.stdout.write(json.dumps({"event": event, **fields}) + "\n")
            sys.stdout.flush()

    class Account(pj.Account):
        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name
            self.buddies: dict[str, Buddy] = {}
            self.answer_calls = True

        def onRegState(self, prm: Any) -> None:
            info = self.getInfo()
            emit("reg_state", name=self.name, code=prm.code, reason=prm.reason, expires=prm.expiration,
                 active=info.regIsActive, status=prm.status)

        def onInstantMessage(self, prm: Any) -> None:
            emit("im", name=self.name, from_uri=prm.fromUri, to_uri=prm.toUri, content_type=prm.contentType,
                 body=prm.msgBody)

        def onInstantMessageStatus(self, prm: Any) -> None:
            emit("im_status", name=self.name, to_uri=prm.toUri, code=prm.code, reason=prm.reason, body=prm.msgBody)

        def onIncomingCall(self, prm: Any) -> None:
            call = Call(self, prm.callId)
            calls.append(call)
            answer = pj.CallOpParam()
            answer.statusCode = 200 if self.answer_calls else 486
            call.answer(answer)

    class Call(pj.Call):
        def __init__(self, account: Account, call_id: int = pj.PJSUA_INVALID_ID) -> None:
            super().__init__(account, call_id)
            self.account = account

        def onCallState(self, prm: Any) -> None:
            info = self.getInfo()
            role = "caller" if info.role == pj.PJSIP_ROLE_UAC else "callee"
            emit("call_state", name=self.account.name, call_id=info.callIdString, role=role, state=info.stateText,
                 code=info.lastStatusCode, reason=info.lastReason, remote_uri=info.remoteUri)

    class Buddy(pj.Buddy):
        def __init__(self, account: Account, uri: str) -> None:
            super().__init__()
            self.account = account
            self.uri = uri

        def onBuddyState(self) -> None:
            info = self.getInfo()
            status = {pj.PJSUA_BUDDY_STATUS_ONLINE: "online", pj.PJSUA_BUDDY_STATUS_OFFLINE: "offline"}.get(
                info.presStatus.status, "unknown")
            emit("buddy_state", name=self.account.name, uri=self.uri, status=status,
                 status_text=info.presStatus.statusText, note=info.presStatus.note, sub_state=info.subStateName,
                 contact=info.contact)

        def onBuddyEvSubState(self, prm: Any) -> None:
            info = self.getInfo()
            emit("buddy_sub_state", name=self.account.name, uri=self.uri, sub_state=info.subStateName,
                 term_code=info.subTermCode, term_reason=info.subTermReason)

    endpoint = pj.Endpoint()
    endpoint.libCreate()
    config = pj.EpConfig()
    config.uaConfig.threadCnt = 0
    config.uaConfig.mainThreadOnly = True
    config.uaConfig.userAgent = "sipsimple-tests-pjsua2-agent"
    config.logConfig.filename = options.log
    config.logConfig.level = options.log_level
    config.logConfig.consoleLevel = 0  # stdout is the event channel
    config.logConfig.msgLogging = True
    config.medConfig.threadCnt = 0
    endpoint.libInit(config)
    endpoint.audDevManager().setNullDev()

    transports: dict[str, int] = {}
    ports: dict[str, int] = {}
    ipv6 = ":" in options.host
    for name, kind in (("udp", pj.PJSIP_TRANSPORT_UDP6 if ipv6 else pj.PJSIP_TRANSPORT_UDP),
                       ("tcp", pj.PJSIP_TRANSPORT_TCP6 if ipv6 else pj.PJSIP_TRANSPORT_TCP)):
        transport_config = pj.TransportConfig()
        transport_config.boundAddress = options.host
        transport_config.publicAddress = options.host
        transport_config.port = 0
        transports[name] = endpoint.transportCreate(kind, transport_config)
        ports[name] = endpoint.transportGetInfo(transports[name]).localName.split(":")[-1]
    endpoint.libStart()

    accounts: dict[str, Account] = {}
    calls: list[Call] = []
    commands: queue.Queue[Event | None] = queue.Queue()

    def read_commands() -> None:
        for line in sys.stdin:
            line = line.strip()
            if line:
                try:
                    commands.put(json.loads(line))
                except ValueError as error:
                    emit("result", id=None, ok=False, error=f"bad JSON: {error}")
        commands.put(None)

    threading.Thread(target=read_commands, name="stdin", daemon=True).start()

    def make_account(command: Event) -> None:
        name = command["name"]
        user = command.get("user", name)
        domain = command["domain"]
        transport = command.get("transport", "udp")
        proxy = command["proxy"]  # the server, e.g. sip:127.0.0.1:5060
        proxy_params = "" if transport == "udp" else f";transport={transport}"
        account_config = pj.AccountConfig()
        account_config.idUri = f"sip:{user}@{domain}"
        account_config.regConfig.registrarUri = f"sip:{domain}{proxy_params}"
        account_config.regConfig.registerOnAdd = bool(command.get("register", True))
        account_config.regConfig.timeoutSec = int(command.get("expires", 300))
        account_config.regConfig.retryIntervalSec = 0  # a failed registration stays failed
        account_config.regConfig.unregWaitMsec = 2000
        account_config.sipConfig.proxies.append(f"{proxy}{proxy_params};lr")
        account_config.sipConfig.transportId = transports[transport]
        credentials = pj.AuthCredInfo("digest", "*", command.get("auth_user", user), 0, command["password"])
        account_config.sipConfig.authCreds.append(credentials)
        account_config.presConfig.publishEnabled = bool(command.get("publish", False))
        account_config.presConfig.publishShutdownWaitMsec = 2000
        nat = account_config.natConfig
        nat.sipStunUse = pj.PJSUA_STUN_USE_DISABLED
        nat.mediaStunUse = pj.PJSUA_STUN_USE_DISABLED
        nat.contactRewriteUse = 0
        nat.viaRewriteUse = 0
        nat.sdpNatRewriteUse = 0
        nat.udpKaIntervalSec = 0
        account = Account(name)
        account.answer_calls = bool(command.get("answer_calls", True))
        account.create(account_config, True)
        accounts[name] = account

    def buddy(account: Account, uri: str, subscribe: bool) -> Buddy:
        if uri not in account.buddies:
            buddy_config = pj.BuddyConfig()
            buddy_config.uri = uri
            buddy_config.subscribe = subscribe
            created = Buddy(account, uri)
            created.create(account, buddy_config)
            account.buddies[uri] = created
        elif subscribe:
            account.buddies[uri].subscribePresence(True)
        return account.buddies[uri]

    def run(command: Event) -> Event:
        cmd = command["cmd"]
        if cmd == "account":
            make_account(command)
        elif cmd == "register":
            accounts[command["name"]].setRegistration(bool(command.get("active", True)))
        elif cmd == "message":
            account = accounts[command["name"]]
            parameters = pj.SendInstantMessageParam()
            parameters.content = command["body"]
            parameters.contentType = command.get("content_type", "text/plain")
            buddy(account, command["to"], False).sendInstantMessage(parameters)
        elif cmd == "presence":
            status = pj.PresenceStatus()
            status.status = pj.PJSUA_BUDDY_STATUS_ONLINE if command.get("online", True) else \
                pj.PJSUA_BUDDY_STATUS_OFFLINE
            status.note = command.get("note", "")
            accounts[command["name"]].setOnlineStatus(status)
        elif cmd == "buddy":
            buddy(accounts[command["name"]], command["uri"], bool(command.get("subscribe", True)))
        elif cmd == "unsubscribe":
            accounts[command["name"]].buddies[command["uri"]].subscribePresence(False)
        elif cmd == "call":
            call = Call(accounts[command["name"]])
            call.makeCall(command["to"], pj.CallOpParam(True))
            calls.append(call)
        elif cmd == "hangup":
            for call in calls:
                if call.account.name == command["name"] and call.isActive():
                    call.hangup(pj.CallOpParam(True))
        elif cmd == "ping":
            pass
        else:
            raise ValueError(f"unknown command {cmd!r}")
        return {}

    emit("ready", pid=os.getpid(), ports=ports, version=endpoint.libVersion().full)
    running = True
    while running:
        endpoint.libHandleEvents(10)
        while True:
            try:
                command = commands.get_nowait()
            except queue.Empty:
                break
            if command is None or command.get("cmd") == "quit":
                running = False
                break
            try:
                extra = run(command)
                emit("result", id=command.get("id"), ok=True, **extra)
            except Exception as error:  # reported to the test, which decides
                emit("result", id=command.get("id"), ok=False, error=f"{type(error).__name__}: {error}")
    # Hang up, unregister, unpublish and unsubscribe, then go.
    with contextlib.suppress(Exception):
        endpoint.hangupAllCalls()
    for _ in range(50):
        endpoint.libHandleEvents(10)
    calls.clear()
    for account in accounts.values():
        account.buddies.clear()
        with contextlib.suppress(Exception):
            account.shutdown()
    accounts.clear()
    endpoint.libDestroy()
    emit("destroyed")
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
