"""The process side of tests/peers/pjsua2_agent.py: one pjsua2 Endpoint driven by JSON lines.

Run by Pjsua2Agent as ``python -m tests.peers.pjsua2_agent_process --log FILE``; the
commands and events are described in tests/peers/pjsua2_agent.py. Each command has a
handler of its own (COMMANDS); pjsua2 is polled from the main thread only, so every
callback and every handler runs there.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import queue
import sys
import threading
from collections.abc import Callable
from typing import Any

import pjsua2 as pj

from devkit.pjsua2 import add_transport, create_endpoint, endpoint_config
from tests.peers.json_lines import Event, emit


class Account(pj.Account):
    def __init__(self, agent: Agent, name: str, answer_calls: bool) -> None:
        super().__init__()
        self.agent = agent
        self.name = name
        self.buddies: dict[str, Buddy] = {}
        self.answer_calls = answer_calls

    def onRegState(self, prm: Any) -> None:
        info = self.getInfo()
        emit(
            "reg_state",
            name=self.name,
            code=prm.code,
            reason=prm.reason,
            expires=prm.expiration,
            active=info.regIsActive,
            status=prm.status,
        )

    def onInstantMessage(self, prm: Any) -> None:
        emit(
            "im", name=self.name, from_uri=prm.fromUri, to_uri=prm.toUri, content_type=prm.contentType, body=prm.msgBody
        )

    def onInstantMessageStatus(self, prm: Any) -> None:
        emit("im_status", name=self.name, to_uri=prm.toUri, code=prm.code, reason=prm.reason, body=prm.msgBody)

    def onIncomingCall(self, prm: Any) -> None:
        call = Call(self, prm.callId)
        self.agent.calls.append(call)
        answer = pj.CallOpParam()
        answer.statusCode = 200 if self.answer_calls else 486
        call.answer(answer)

    def buddy(self, uri: str, subscribe: bool) -> Buddy:
        """The buddy for `uri`, made on first use; subscribed to when `subscribe`."""
        if uri not in self.buddies:
            buddy_config = pj.BuddyConfig()
            buddy_config.uri = uri
            buddy_config.subscribe = subscribe
            created = Buddy(self, uri)
            created.create(self, buddy_config)
            self.buddies[uri] = created
        elif subscribe:
            self.buddies[uri].subscribePresence(True)
        return self.buddies[uri]


class Call(pj.Call):
    def __init__(self, account: Account, call_id: int = pj.PJSUA_INVALID_ID) -> None:
        super().__init__(account, call_id)
        self.account = account

    def onCallState(self, prm: Any) -> None:
        info = self.getInfo()
        role = "caller" if info.role == pj.PJSIP_ROLE_UAC else "callee"
        emit(
            "call_state",
            name=self.account.name,
            call_id=info.callIdString,
            role=role,
            state=info.stateText,
            code=info.lastStatusCode,
            reason=info.lastReason,
            remote_uri=info.remoteUri,
        )


class Buddy(pj.Buddy):
    def __init__(self, account: Account, uri: str) -> None:
        super().__init__()
        self.account = account
        self.uri = uri

    def onBuddyState(self) -> None:
        info = self.getInfo()
        status = {pj.PJSUA_BUDDY_STATUS_ONLINE: "online", pj.PJSUA_BUDDY_STATUS_OFFLINE: "offline"}.get(
            info.presStatus.status, "unknown"
        )
        emit(
            "buddy_state",
            name=self.account.name,
            uri=self.uri,
            status=status,
            status_text=info.presStatus.statusText,
            note=info.presStatus.note,
            sub_state=info.subStateName,
            contact=info.contact,
        )

    def onBuddyEvSubState(self, prm: Any) -> None:
        info = self.getInfo()
        emit(
            "buddy_sub_state",
            name=self.account.name,
            uri=self.uri,
            sub_state=info.subStateName,
            term_code=info.subTermCode,
            term_reason=info.subTermReason,
        )


class Agent:
    """The Endpoint, its UDP and TCP transports, and the accounts and calls the commands made."""

    def __init__(self, host: str, log_file: str, log_level: int) -> None:
        self.endpoint = create_endpoint(
            endpoint_config("sipsimple-tests-pjsua2-agent", log_level=log_level, log_file=log_file)
        )
        self.transports: dict[str, int] = {}
        self.ports: dict[str, int] = {}
        for kind in ("udp", "tcp"):
            self.transports[kind], self.ports[kind] = add_transport(self.endpoint, kind, host, public_address=host)
        self.endpoint.libStart()
        self.accounts: dict[str, Account] = {}
        self.calls: list[Call] = []

    # -- the commands: each takes the command's JSON object ---------------------

    def account(self, command: Event) -> None:
        name = command["name"]
        user = command.get("user", name)
        domain = command["domain"]
        transport = command.get("transport", "udp")
        proxy = command["proxy"]  # the server, e.g. sip:127.0.0.1:5060
        proxy_params = "" if transport == "udp" else f";transport={transport}"
        config = pj.AccountConfig()
        config.idUri = f"sip:{user}@{domain}"
        config.regConfig.registrarUri = f"sip:{domain}{proxy_params}"
        config.regConfig.registerOnAdd = bool(command.get("register", True))
        config.regConfig.timeoutSec = int(command.get("expires", 300))
        config.regConfig.retryIntervalSec = 0  # a failed registration stays failed
        config.regConfig.unregWaitMsec = 2000
        config.sipConfig.proxies.append(f"{proxy}{proxy_params};lr")
        config.sipConfig.transportId = self.transports[transport]
        credentials = pj.AuthCredInfo("digest", "*", command.get("auth_user", user), 0, command["password"])
        config.sipConfig.authCreds.append(credentials)
        config.presConfig.publishEnabled = bool(command.get("publish", False))
        config.presConfig.publishShutdownWaitMsec = 2000
        nat = config.natConfig
        nat.sipStunUse = pj.PJSUA_STUN_USE_DISABLED
        nat.mediaStunUse = pj.PJSUA_STUN_USE_DISABLED
        nat.contactRewriteUse = 0
        nat.viaRewriteUse = 0
        nat.sdpNatRewriteUse = 0
        nat.udpKaIntervalSec = 0
        account = Account(self, name, bool(command.get("answer_calls", True)))
        account.create(config, True)
        self.accounts[name] = account

    def register(self, command: Event) -> None:
        self.accounts[command["name"]].setRegistration(bool(command.get("active", True)))

    def message(self, command: Event) -> None:
        parameters = pj.SendInstantMessageParam()
        parameters.content = command["body"]
        parameters.contentType = command.get("content_type", "text/plain")
        self.accounts[command["name"]].buddy(command["to"], False).sendInstantMessage(parameters)

    def presence(self, command: Event) -> None:
        status = pj.PresenceStatus()
        online = command.get("online", True)
        status.status = pj.PJSUA_BUDDY_STATUS_ONLINE if online else pj.PJSUA_BUDDY_STATUS_OFFLINE
        status.note = command.get("note", "")
        self.accounts[command["name"]].setOnlineStatus(status)

    def buddy(self, command: Event) -> None:
        self.accounts[command["name"]].buddy(command["uri"], bool(command.get("subscribe", True)))

    def unsubscribe(self, command: Event) -> None:
        self.accounts[command["name"]].buddies[command["uri"]].subscribePresence(False)

    def call(self, command: Event) -> None:
        call = Call(self.accounts[command["name"]])
        call.makeCall(command["to"], pj.CallOpParam(True))
        self.calls.append(call)

    def hangup(self, command: Event) -> None:
        for call in self.calls:
            if call.account.name == command["name"] and call.isActive():
                call.hangup(pj.CallOpParam(True))

    def ping(self, command: Event) -> None:
        pass

    # -- running ------------------------------------------------------------------

    def run(self, commands: queue.Queue[Event | None]) -> None:
        """Poll pjsua and run the commands as they come, until "quit" or the end of input."""
        while True:
            self.endpoint.libHandleEvents(10)
            while True:
                try:
                    command = commands.get_nowait()
                except queue.Empty:
                    break
                if command is None or command.get("cmd") == "quit":
                    return
                self.dispatch(command)

    def dispatch(self, command: Event) -> None:
        handler = COMMANDS.get(command.get("cmd", ""))
        try:
            if handler is None:
                raise ValueError(f"unknown command {command.get('cmd')!r}")
            handler(self, command)
        except Exception as error:  # reported to the test, which decides
            emit("result", id=command.get("id"), ok=False, error=f"{type(error).__name__}: {error}")
        else:
            emit("result", id=command.get("id"), ok=True)

    def shut_down(self) -> None:
        """Hang up, unregister, unpublish and unsubscribe, then destroy the library."""
        with contextlib.suppress(Exception):
            self.endpoint.hangupAllCalls()
        for _ in range(50):
            self.endpoint.libHandleEvents(10)
        self.calls.clear()
        for account in self.accounts.values():
            account.buddies.clear()
            with contextlib.suppress(Exception):
                account.shutdown()
        self.accounts.clear()
        self.endpoint.libDestroy()


COMMANDS: dict[str, Callable[[Agent, Event], None]] = {
    "account": Agent.account,
    "register": Agent.register,
    "message": Agent.message,
    "presence": Agent.presence,
    "buddy": Agent.buddy,
    "unsubscribe": Agent.unsubscribe,
    "call": Agent.call,
    "hangup": Agent.hangup,
    "ping": Agent.ping,
}


def read_commands(commands: queue.Queue[Event | None]) -> None:
    """stdin's JSON lines into `commands` (a thread of its own: pjsua is polled meanwhile); None at the end."""
    for line in sys.stdin:
        line = line.strip()
        if line:
            try:
                commands.put(json.loads(line))
            except ValueError as error:
                emit("result", id=None, ok=False, error=f"bad JSON: {error}")
    commands.put(None)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log", required=True, help="pjsua2's log file (SIP messages included)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--log-level", type=int, default=5)
    options = parser.parse_args(argv)
    agent = Agent(options.host, options.log, options.log_level)
    commands: queue.Queue[Event | None] = queue.Queue()
    threading.Thread(target=read_commands, args=(commands,), name="stdin", daemon=True).start()
    emit("ready", pid=os.getpid(), ports=agent.ports, version=agent.endpoint.libVersion().full)
    agent.run(commands)
    agent.shut_down()
    emit("destroyed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
