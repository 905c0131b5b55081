"""pjsua2 (PJSIP 2.15) playing the engine's part against the SIPp scenarios.

Run as a subprocess, one pjsua2 Endpoint per process:

    python -m tests.peers.pjsua2_peer ACTION [options]

Actions:
  register   an account registers with --expires at --peer and, once registered,
             unregisters; pjsua retries a 423 by itself with Min-Expires.
  message    sends one MESSAGE to --peer with credentials --user/--password.
  subscribe  subscribes to the presence of --peer and waits for the
             subscription to be terminated.
  publish    an account with presence publication at --peer: waits for the
             initial PUBLISH and its refresh, changes its status (a modifying
             PUBLISH), then removes its publication (--steps) or, with
             --steps 412, waits for the PUBLISH that follows a 412.
  uas        listens (UDP and TCP on --port) and answers what arrives, as
             pjsua does with no application logic: OPTIONS gets 200.

Every action but uas prints "RESULT <json>", its outcome, on a line of stdout;
uas prints "READY <port>" and runs until its stdin closes or --seconds pass.
(pjsua itself may print log lines on stdout before it is initialised.)
With --trace FILE the SIP messages pjsua sent and received are written there.

The process runs pjsua with no worker thread: the main loop polls the stack,
so every callback runs in the main thread. It ends with os._exit: tearing
pjsua down would send requests (un-REGISTER, un-PUBLISH) that the scenarios
do not expect unless the action asked for them.
"""

from __future__ import annotations

import argparse
import json
import re
import select
import sys
import time
from collections.abc import Callable

import pjsua2 as pj

from devkit.pjsua2 import add_transport, create_endpoint, endpoint_config, exit_without_teardown

MESSAGE_LOG_LEVEL = 4


class Trace(pj.LogWriter):
    """Keeps every SIP message pjsua logs ("TX ..."/"RX ...") in order."""

    def __init__(self, path: str | None) -> None:
        super().__init__()
        self.messages: list[tuple[str, str]] = []
        self.errors: list[str] = []
        self.file = open(path, "w") if path else None  # open as long as the process runs

    def write(self, entry: pj.LogEntry) -> None:
        text = entry.msg
        if self.file:
            self.file.write(text if text.endswith("\n") else text + "\n")
            self.file.flush()
        head = text[:80]
        if "TX " in head or "RX " in head:
            direction = "TX" if "TX " in head else "RX"
            body = text.split(":\n", 1)[1] if ":\n" in text else text
            self.messages.append((direction, body))
        elif entry.level <= 1:
            self.errors.append(text.strip())

    def sent(self, start: str) -> list[str]:
        return [m for d, m in self.messages if d == "TX" and m.startswith(start)]

    def received(self, start: str) -> list[str]:
        return [m for d, m in self.messages if d == "RX" and m.startswith(start)]

    def responses(self, direction: str, method: str) -> list[str]:
        """The status lines of the responses to `method` sent ("TX") or received ("RX")."""
        found = []
        for d, message in self.messages:
            cseq = re.search(r"^CSeq:\s*\d+\s+(\S+)", message, re.MULTILINE | re.IGNORECASE)
            if d == direction and message.startswith("SIP/2.0 ") and cseq and cseq.group(1) == method:
                found.append(message.split("\r\n", 1)[0])
        return found


class Peer:
    """The Endpoint (devkit.pjsua2's set-up, polled from the main thread) and its trace."""

    def __init__(self, trace_path: str | None) -> None:
        self.trace = Trace(trace_path)
        cfg = endpoint_config(
            "pjsua2 stand-in", log_level=MESSAGE_LOG_LEVEL, console_level=MESSAGE_LOG_LEVEL, log_writer=self.trace
        )
        cfg.medConfig.noVad = True
        self.ep = create_endpoint(cfg)
        self.transports: dict[str, int] = {}

    def add_transport(self, kind: str, host: str, port: int = 0) -> int:
        self.transports[kind], local_port = add_transport(self.ep, kind, host, port)
        return local_port

    def listen(self, host: str, port: int = 0) -> int:
        """UDP and TCP on one port number (port, or any free one); returns it.

        The number the OS gave UDP may be taken for TCP (by an outgoing
        connection, say): then another is tried.
        """
        for attempt in range(10):
            local_port = self.add_transport("udp", host, port)
            try:
                self.add_transport("tcp", host, local_port)
                return local_port
            except pj.Error:
                self.ep.transportClose(self.transports.pop("udp"))
                if port or attempt == 9:
                    raise
        raise AssertionError("unreachable")

    def start(self) -> None:
        self.ep.libStart()

    def run_until(self, done: Callable[[], bool], seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if done():
                return True
            self.ep.libHandleEvents(20)
        return done()

    def run_for(self, seconds: float) -> None:
        self.run_until(lambda: False, seconds)


def uri(host: str, port: int, user: str | None = None, transport: str = "udp") -> str:
    hostport = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    userpart = f"{user}@" if user else ""
    params = ";transport=tcp" if transport == "tcp" else ""
    return f"sip:{userpart}{hostport}{params}"


def account_config(peer: Peer, args: argparse.Namespace, id_uri: str) -> pj.AccountConfig:
    """An account bound to the transport of --transport (IPv6 if --host is)."""
    acfg = pj.AccountConfig()
    acfg.idUri = id_uri
    acfg.sipConfig.transportId = peer.transports[args.transport]
    return acfg


def add_buddy(buddy: pj.Buddy, account: pj.Account, args: argparse.Namespace, subscribe: bool) -> pj.Buddy:
    """`buddy` created for bob at SIPp (--peer-port, --transport) in `account`, subscribed to when `subscribe`."""
    bcfg = pj.BuddyConfig()
    bcfg.uri = uri(args.host, args.peer_port, "bob", args.transport)
    bcfg.subscribe = subscribe
    buddy.create(account, bcfg)
    return buddy


def finish(result: dict, peer: Peer) -> None:
    print("RESULT " + json.dumps(result), flush=True)
    # Like an engine that lives on, keep the TCP connection a moment so that
    # SIPp ends its scenario before it sees the connection close.
    peer.run_for(0.5)
    exit_without_teardown()


# --- register -----------------------------------------------------------------


class RegAccount(pj.Account):
    def __init__(self) -> None:
        super().__init__()
        self.states: list[dict] = []

    def onRegState(self, prm: pj.OnRegStateParam) -> None:
        self.states.append({"code": prm.code, "expiration": prm.expiration, "reason": prm.reason})


def do_register(peer: Peer, args: argparse.Namespace) -> None:
    acfg = account_config(peer, args, uri(args.host, args.peer_port, args.user))
    acfg.regConfig.registrarUri = uri(args.host, args.peer_port, transport=args.transport)
    acfg.regConfig.timeoutSec = args.expires
    acfg.regConfig.retryIntervalSec = 0
    acc = RegAccount()
    acc.create(acfg)
    registered = peer.run_until(
        lambda: any(s["code"] // 100 == 2 and s["expiration"] > 0 for s in acc.states), args.seconds
    )
    result: dict = {"registered": registered, "states": list(acc.states)}
    if registered:
        info = acc.getInfo()
        result["expires"] = info.regExpiresSec
        acc.setRegistration(False)
        result["unregistered"] = peer.run_until(
            lambda: any(s["code"] // 100 == 2 and s["expiration"] == 0 for s in acc.states[len(result["states"]) :]),
            args.seconds,
        )
        result["states"] = list(acc.states)
    result["registers_sent"] = len(peer.trace.sent("REGISTER "))
    finish(result, peer)


# --- message ------------------------------------------------------------------


class ImBuddy(pj.Buddy):
    pass


class ImAccount(pj.Account):
    def __init__(self) -> None:
        super().__init__()
        self.status: list[dict] = []

    def onInstantMessageStatus(self, prm: pj.OnInstantMessageStatusParam) -> None:
        self.status.append({"code": prm.code, "reason": prm.reason})


def credentials(args: argparse.Namespace) -> pj.AuthCredInfo:
    cred = pj.AuthCredInfo()
    cred.scheme = "digest"
    cred.realm = args.realm
    cred.username = args.user
    cred.dataType = 0
    cred.data = args.password
    return cred


def do_message(peer: Peer, args: argparse.Namespace) -> None:
    acfg = account_config(peer, args, uri(args.host, peer.local_port, args.user))
    acfg.sipConfig.authCreds.append(credentials(args))
    acc = ImAccount()
    acc.create(acfg)
    buddy = add_buddy(ImBuddy(), acc, args, subscribe=False)
    prm = pj.SendInstantMessageParam()
    prm.content = "Hello from the pjsua2 stand-in"
    prm.contentType = "text/plain"
    buddy.sendInstantMessage(prm)
    done = peer.run_until(lambda: bool(acc.status), args.seconds)
    finish({"done": done, "status": acc.status, "messages_sent": len(peer.trace.sent("MESSAGE "))}, peer)


# --- subscribe ----------------------------------------------------------------


class PresBuddy(pj.Buddy):
    def __init__(self) -> None:
        super().__init__()
        self.states: list[dict] = []

    def onBuddyState(self) -> None:
        info = self.getInfo()
        self.states.append(
            {
                "status": info.presStatus.status,
                "statusText": info.presStatus.statusText,
                "note": info.presStatus.note,
                "subState": info.subStateName,
                "termReason": info.subTermReason,
            }
        )

    def onBuddyEvSubState(self, prm: pj.OnBuddyEvSubStateParam) -> None:
        info = self.getInfo()
        self.states.append(
            {"subState": info.subStateName, "termReason": info.subTermReason, "termCode": info.subTermCode}
        )


def do_subscribe(peer: Peer, args: argparse.Namespace) -> None:
    acfg = account_config(peer, args, uri(args.host, peer.local_port, args.user))
    acc = pj.Account()
    acc.create(acfg)
    buddy = add_buddy(PresBuddy(), acc, args, subscribe=True)
    terminated = peer.run_until(lambda: any(s.get("subState") == "TERMINATED" for s in buddy.states), args.seconds)
    # pjsua subscribes again 500 ms after "deactivated" (RFC 6665: retry at once).
    resubscribed = peer.run_until(lambda: len(peer.trace.sent("SUBSCRIBE ")) >= 2, 3)
    finish(
        {
            "terminated": terminated,
            "states": buddy.states,
            "resubscribed": resubscribed,
            "notify_answers": peer.trace.responses("TX", "NOTIFY"),
        },
        peer,
    )


# --- publish ------------------------------------------------------------------


def publishes(peer: Peer) -> list[str]:
    return peer.trace.sent("PUBLISH ")


def answered_ok(peer: Peer, count: int) -> bool:
    """`count` PUBLISHes got a 2xx."""
    return sum(line.startswith("SIP/2.0 2") for line in peer.trace.responses("RX", "PUBLISH")) >= count


def do_publish(peer: Peer, args: argparse.Namespace) -> None:
    acfg = account_config(peer, args, uri(args.host, args.peer_port, args.user))
    if args.transport == "tcp":
        acfg.sipConfig.proxies.append(uri(args.host, args.peer_port, transport="tcp") + ";lr")
    acfg.presConfig.publishEnabled = True
    acfg.presConfig.publishShutdownWaitMsec = 3000
    acc = pj.Account()
    acc.create(acfg)
    status = pj.PresenceStatus()
    status.status = pj.PJSUA_BUDDY_STATUS_ONLINE
    status.note = "Available"
    acc.setOnlineStatus(status)
    result: dict = {}
    result["initial"] = peer.run_until(lambda: answered_ok(peer, 1), args.seconds)
    if args.steps == "412":
        # The refresh gets 412; pjsua then publishes anew (a new Call-ID, a body).
        result["fresh"] = peer.run_until(lambda: answered_ok(peer, 2) and len(publishes(peer)) >= 3, args.seconds)
    else:
        result["refreshed"] = peer.run_until(lambda: answered_ok(peer, 2), args.seconds)
        status.note = "Busy in a test"
        status.activity = pj.PJRPID_ACTIVITY_BUSY
        acc.setOnlineStatus(status)
        result["modified"] = peer.run_until(lambda: answered_ok(peer, 3), args.seconds)
        acc.shutdown()  # un-PUBLISH: Expires: 0
        result["removed"] = peer.run_until(lambda: answered_ok(peer, 4), args.seconds)
    result["publishes"] = [m.split("\r\n\r\n", 1)[0] for m in publishes(peer)]
    result["responses"] = peer.trace.responses("RX", "PUBLISH")
    finish(result, peer)


# --- uas ----------------------------------------------------------------------


def do_uas(peer: Peer, args: argparse.Namespace) -> None:
    acfg = account_config(peer, args, uri(args.host, peer.local_port, "uas"))
    acc = pj.Account()
    acc.create(acfg, True)
    print(f"READY {peer.local_port}", flush=True)
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        peer.ep.libHandleEvents(20)
        readable, _, _ = select.select([sys.stdin], [], [], 0)
        if readable and not sys.stdin.readline():
            break
    exit_without_teardown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["register", "message", "subscribe", "publish", "uas"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="local port (uas)")
    parser.add_argument("--peer-port", type=int, default=0, help="SIPp's port")
    parser.add_argument("--transport", choices=["udp", "tcp"], default="udp")
    parser.add_argument("--user", default="alice")
    parser.add_argument("--password", default="secret")
    parser.add_argument("--realm", default="sipsimple.test")
    parser.add_argument("--expires", type=int, default=60)
    parser.add_argument("--steps", choices=["full", "412"], default="full")
    parser.add_argument("--seconds", type=float, default=15.0, help="bound on each wait")
    parser.add_argument("--trace", help="write pjsua's log (SIP messages included) here")
    args = parser.parse_args()

    peer = Peer(args.trace)
    peer.local_port = peer.listen(args.host, args.port)
    peer.start()
    action = {
        "register": do_register,
        "message": do_message,
        "subscribe": do_subscribe,
        "publish": do_publish,
        "uas": do_uas,
    }[args.action]
    action(peer, args)


if __name__ == "__main__":
    main()
