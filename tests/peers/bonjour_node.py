"""One BonjourAccount in a process of its own, driven by JSON lines (for tests/test_bonjour.py).

Run as ``python -m tests.peers.bonjour_node --display-name Alice [--disabled] [--transports udp,tcp]``
(inside a network namespace: it announces itself with mDNS). It starts a
ConfigurationManager on memory, the Engine on 127.0.0.1 (``--ip-address``; UDP
and TCP on free ports) and the BonjourAccount, and writes one JSON event a line on stdout:

    {"event": "ready", "udp_port": .., "tcp_port": .., "contact_user": .., "contact_host": .., "service_name": ..,
     "instance_id": ..}
    {"event": "SIPAccountDidActivate"} / {"event": "SIPAccountDidDeactivate"}
    {"event": "BonjourAccountDidAddNeighbour", "neighbour": "<name>.<type>.<domain>", "name": .., "type": ..,
     "display_name": .., "host": .., "uri": .., "transport": .., "instance_id": ..}  (and DidUpdateNeighbour)
    {"event": "BonjourAccountDidRemoveNeighbour", "neighbour": ..}
    {"event": "BonjourAccountDiscoveryDidFail", "reason": ..}
    {"event": "message", "body": .., "from_user": .., "from_display_name": .., "request_uri": .., "content_type": ..}
    {"event": "message_status", "code": ..}

Commands, one JSON object a line on stdin, each answered by {"event": "result", "id": N, "ok": ..., ...}:
``message`` (to: a neighbour as written in the events, body), ``display_name`` (value), ``enabled`` (value),
``transports`` (value: the account's sip.transport_list),
``stop_account`` (answered with the seconds stop() took), ``start_account``, ``udp_port`` (rebind UDP to a new
free port), ``engine_stop``, ``engine_start``, ``neighbours``, ``quit``.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from typing import Any

from sipsimple.account.bonjour import BonjourAccount, BonjourServiceDescription
from sipsimple.configuration import ConfigurationManager
from sipsimple.configuration.backend import MemoryBackend
from sipsimple.core import Engine, FromHeader, Message, RouteHeader, ToHeader
from sipsimple.notification import Notification, NotificationCenter
from sipsimple.threading import spawn

_output_lock = threading.Lock()
_messages: list[Message] = []  # kept alive until their final answer is reported


def emit(**event: Any) -> None:
    with _output_lock:
        sys.stdout.write(json.dumps(event) + "\n")
        sys.stdout.flush()


_ip_address: str | None = "127.0.0.1"


def start_engine() -> None:
    Engine().start(ip_address=_ip_address, udp_port=0, tcp_port=0)


class Observer:
    def handle_notification(self, notification: Notification) -> None:
        data: Any = notification.data
        name = notification.name
        if name in ("BonjourAccountDidAddNeighbour", "BonjourAccountDidUpdateNeighbour"):
            neighbour: BonjourServiceDescription = data.neighbour
            emit(
                event=name,
                neighbour=str(neighbour),
                name=neighbour.name,
                type=neighbour.type,
                display_name=data.display_name,
                host=data.host,
                uri=str(data.uri),
                transport=data.transport,
                instance_id=data.instance_id,
            )
        elif name == "BonjourAccountDidRemoveNeighbour":
            emit(event=name, neighbour=str(data.neighbour))
        elif name == "BonjourAccountDiscoveryDidFail":
            emit(event=name, reason=data.reason)
        elif name in ("SIPAccountDidActivate", "SIPAccountDidDeactivate"):
            emit(event=name)
        elif name == "SIPEngineGotMessage":
            body = data.body.decode("utf-8") if isinstance(data.body, bytes) else data.body
            emit(
                event="message",
                body=body,
                from_user=data.from_header.uri.user,
                from_display_name=data.from_header.display_name,
                request_uri=str(data.request_uri),
                content_type=data.content_type,
            )
        elif name in ("SIPMessageDidSucceed", "SIPMessageDidFail"):
            emit(event="message_status", code=data.code)


def send_message(account: BonjourAccount, to: str, body: str) -> None:
    neighbours = {str(description): neighbour for description, neighbour in account.neighbours.items()}
    neighbour = neighbours[to]
    uri = neighbour.uri
    message = Message(
        FromHeader(account.uri, account.display_name),
        ToHeader(uri, neighbour.display_name),
        RouteHeader(uri),
        "text/plain",
        body,
        credentials=account.credentials,
    )
    _messages.append(message)
    message.send(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--display-name", default=None)
    parser.add_argument("--disabled", action="store_true")
    parser.add_argument("--transports", default="udp,tcp")
    parser.add_argument("--ip-address", default="127.0.0.1", help="the Engine's; 0.0.0.0: every interface")
    options = parser.parse_args()
    global _ip_address
    _ip_address = None if options.ip_address == "0.0.0.0" else options.ip_address

    ConfigurationManager().start(MemoryBackend())
    account = BonjourAccount()
    account.display_name = options.display_name
    account.enabled = not options.disabled
    account.sip.transport_list = options.transports.split(",")
    account.save()

    observer = Observer()
    center = NotificationCenter()
    center.add_observer(observer, sender=account)
    center.add_observer(observer, name="SIPEngineGotMessage")
    center.add_observer(observer, name="SIPMessageDidSucceed")
    center.add_observer(observer, name="SIPMessageDidFail")

    start_engine()
    engine = Engine()
    emit(
        event="ready",
        udp_port=engine.local_udp_port,
        tcp_port=engine.local_tcp_port,
        contact_user=account.contact.username,
        contact_host=account.contact.domain,
        service_name=account.service_name,
        instance_id=account.instance_id,
    )
    account.start()

    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        command = json.loads(line)
        cmd, ident = command["cmd"], command.get("id")
        result: dict[str, Any] = {}
        try:
            if cmd == "message":
                send_message(account, command["to"], command["body"])
            elif cmd == "display_name":
                account.display_name = command["value"]
                account.save()
            elif cmd == "transports":
                account.sip.transport_list = command["value"]
                account.save()
            elif cmd == "enabled":
                account.enabled = command["value"]
                account.save()
            elif cmd == "stop_account":
                started = time.monotonic()
                spawn(account.stop).wait(timeout=10)  # from a green thread, as the AccountManager does
                result["seconds"] = time.monotonic() - started
            elif cmd == "start_account":
                account.start()
            elif cmd == "udp_port":
                old = engine.local_udp_port
                engine.set_udp_port(0)
                result["old"], result["new"] = old, engine.local_udp_port
            elif cmd == "engine_stop":
                engine.stop()
            elif cmd == "engine_start":
                start_engine()
                result["udp_port"], result["tcp_port"] = engine.local_udp_port, engine.local_tcp_port
            elif cmd == "neighbours":
                result["neighbours"] = sorted(str(d) for d in account.neighbours)
            elif cmd == "quit":
                emit(event="result", id=ident, ok=True)
                break
            else:
                raise ValueError(f"unknown command {cmd!r}")
        except Exception as error:
            emit(event="result", id=ident, ok=False, error=f"{type(error).__name__}: {error}")
        else:
            emit(event="result", id=ident, ok=True, **result)

    spawn(account.stop).wait(timeout=10)
    engine.stop()
    ConfigurationManager().stop()


if __name__ == "__main__":
    main()
