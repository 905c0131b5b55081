"""A scripted SIP peer on a plain socket, for what pjsua2 cannot play.

    python -m tests.peers.raw_peer ACTION [options]

Actions:
  refer-client  sends an out-of-dialog REFER to --peer-port, then answers the
                NOTIFYs of the implicit subscription with 200 until one says
                Subscription-State: terminated, checking that each belongs to
                the dialog the 202 created (RFC 3515, RFC 6665).
  refer-server  listens on --port; answers a REFER with --final (202 or 200)
                and sends --notifies NOTIFYs (sipfrag "100 Trying" while
                active, "200 OK" in the last, terminated), each expecting 200.
                --fault breaks one thing on purpose, to show the scenario sees it.
  register      sends REGISTERs to --peer-port, one per --expires value
                (same Call-ID, CSeq from --cseq), each waiting for its answer.
  message       sends a MESSAGE to --peer-port and answers its 401/407 with
                digest credentials (--user/--password, RFC 2617 qop=auth);
                --fault other-realm|other-nonce|no-qop spoils them.
  publish       sends the PUBLISHes named by --steps to --peer-port, each
                waiting for its answer; SIP-If-Match carries the last SIP-ETag
                received (or "stale-etag" for a step ending in -stale).

Prints "READY <port>" when listening (refer-server) and "RESULT <json>" at the
end. Every wait is bounded by --seconds.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys

from tests.peers.rawsip import Connection, Message, new_token, response, uri_host

PIDF = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@{host}">\n'
    '  <tuple id="raw-{n}"><status><basic>open</basic></status><note>{note}</note></tuple>\n'
    '</presence>\n'
)


def finish(result: dict, conn: Connection | None = None) -> None:
    print("RESULT " + json.dumps(result), flush=True)
    if conn is not None:
        conn.linger(2.0)
        conn.close()
    sys.exit(0)


def final_response(conn: Connection, seconds: float) -> Message:
    while True:
        message = conn.receive(seconds)
        if not message.is_request and message.status >= 200:
            return message


def via(conn: Connection) -> str:
    return f"SIP/2.0/{conn.via_transport} {uri_host(conn.host)}:{conn.port};branch=z9hG4bK{new_token()};rport"


# --- REFER, as the referrer ---------------------------------------------------

def refer_client(args: argparse.Namespace) -> None:
    conn = Connection(args.transport, args.host)
    conn.connect(args.peer_port)
    host = uri_host(args.host)
    tag, call_id = new_token(), f"{new_token()}@{host}"
    contact_uri = f"sip:alice@{host}:{conn.port};transport={args.transport}"
    refer = Message(f"REFER sip:bob@{host}:{args.peer_port} SIP/2.0", [
        ("Via", via(conn)), ("Max-Forwards", "70"),
        ("From", f"<sip:alice@{host}>;tag={tag}"), ("To", f"<sip:bob@{host}:{args.peer_port}>"),
        ("Call-ID", call_id), ("CSeq", "1 REFER"), ("Contact", f"<{contact_uri}>"),
        ("Refer-To", f"<sip:carol@{host}>"), ("Referred-By", f"<sip:alice@{host}>"),
    ])
    conn.send(refer)
    answer = final_response(conn, args.seconds)
    result: dict = {"final": answer.status, "notifies": [], "problems": []}
    remote_tag = answer.tag("To")
    if answer.status // 100 != 2 or not remote_tag:
        result["problems"].append(f"REFER answered {answer.start} with To tag {remote_tag!r}")
        finish(result)
    last_cseq = -1
    while True:
        try:
            notify = conn.receive(args.seconds)
        except TimeoutError:
            result["problems"].append("no terminating NOTIFY")
            finish(result)
        if not notify.is_request:
            continue
        problems = result["problems"]
        checks = {
            "method": notify.method == "NOTIFY",
            "request-uri": notify.request_uri == contact_uri,
            "call-id": notify.get("Call-ID") == call_id,
            "from tag": notify.tag("From") == remote_tag,
            "to tag": notify.tag("To") == tag,
            "event": (notify.get("Event") or "").split(";")[0].strip().lower() == "refer",
            "content-type": (notify.get("Content-Type") or "").lower().startswith("message/sipfrag"),
            "cseq": notify.cseq[0] > last_cseq,
        }
        problems += [f"NOTIFY {notify.cseq[0]}: wrong {name}" for name, ok in checks.items() if not ok]
        last_cseq = notify.cseq[0]
        state = notify.get("Subscription-State") or ""
        result["notifies"].append({"state": state, "body": notify.body.decode(errors="replace"),
                                   "content_type": notify.get("Content-Type")})
        conn.send(response(notify, 200, "OK"))
        if state.strip().lower().startswith("terminated") or notify.method != "NOTIFY":
            finish(result, conn)


# --- REFER, as the referee ----------------------------------------------------

def refer_server(args: argparse.Namespace) -> None:
    conn = Connection(args.transport, args.host, args.port)
    print(f"READY {conn.port}", flush=True)
    refer = conn.receive(args.seconds)
    result: dict = {"refer": refer.start, "refer_to": refer.get("Refer-To"), "answers": []}
    if refer.method != "REFER":
        result["problems"] = [f"expected REFER, got {refer.start}"]
        finish(result)
    host = uri_host(args.host)
    tag = new_token()
    contact = f"<sip:bob@{host}:{conn.port};transport={args.transport}>"
    reason = "Accepted" if args.final == 202 else "OK"
    conn.send(response(refer, args.final, reason, tag, [("Contact", contact)]))
    target = (refer.get("Contact") or "").strip().lstrip("<").split(">")[0]
    from_tag = "not-the-dialog-tag" if args.fault == "from-tag" else tag
    for index in range(args.notifies):
        last = index == args.notifies - 1
        state = "terminated;reason=noresource" if last else "active;expires=60"
        body = b"SIP/2.0 200 OK\r\n" if last else b"SIP/2.0 100 Trying\r\n"
        content_type = "text/plain" if args.fault == "content-type" else "message/sipfrag;version=2.0"
        event = "presence" if args.fault == "event" else "refer"
        notify = Message(f"NOTIFY {target} SIP/2.0", [
            ("Via", via(conn)), ("Max-Forwards", "70"),
            ("From", f"{refer.get('To')};tag={from_tag}"), ("To", refer.get("From") or ""),
            ("Call-ID", refer.get("Call-ID") or ""), ("CSeq", f"{index + 1} NOTIFY"), ("Contact", contact),
            ("Event", event), ("Subscription-State", state), ("Content-Type", content_type),
        ], body)
        conn.send(notify)
        try:
            answer = final_response(conn, args.seconds)
        except TimeoutError:
            result["answers"].append(None)
            break
        result["answers"].append(answer.status)
    finish(result, conn)


# --- REGISTER -----------------------------------------------------------------

def register(args: argparse.Namespace) -> None:
    conn = Connection(args.transport, args.host)
    conn.connect(args.peer_port)
    host = uri_host(args.host)
    tag, call_id = new_token(), f"{new_token()}@{host}"
    expiries = args.expires.split(",")
    cseqs = [int(c) for c in args.cseq.split(",")] if args.cseq else list(range(1, len(expiries) + 1))
    codes: list[int | None] = []
    for expiry, cseq in zip(expiries, cseqs, strict=True):
        contact = f"<sip:alice@{host}:{conn.port};transport={args.transport}>"
        headers = [("Via", via(conn)), ("Max-Forwards", "70"), ("From", f"<sip:alice@{host}>;tag={tag}"),
                   ("To", f"<sip:alice@{host}>"), ("Call-ID", call_id), ("CSeq", f"{cseq} REGISTER")]
        if args.contact_param:
            headers.append(("Contact", f"{contact};expires={expiry}"))
        else:
            headers += [("Contact", contact), ("Expires", expiry)]
        conn.send(Message(f"REGISTER sip:{host}:{args.peer_port} SIP/2.0", headers))
        try:
            codes.append(final_response(conn, args.seconds).status)
        except (TimeoutError, ConnectionError):
            codes.append(None)
            break
    finish({"codes": codes}, conn)


# --- MESSAGE with digest authentication -----------------------------------------

def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def message(args: argparse.Namespace) -> None:
    conn = Connection(args.transport, args.host)
    conn.connect(args.peer_port)
    host = uri_host(args.host)
    tag, call_id = new_token(), f"{new_token()}@{host}"
    ruri = f"sip:bob@{host}:{args.peer_port}"

    def send(cseq: int, extra: list[tuple[str, str]]) -> Message:
        conn.send(Message(f"MESSAGE {ruri} SIP/2.0", [
            ("Via", via(conn)), ("Max-Forwards", "70"), ("From", f"<sip:{args.user}@{host}>;tag={tag}"),
            ("To", f"<{ruri}>"), ("Call-ID", call_id), ("CSeq", f"{cseq} MESSAGE"),
            *extra, ("Content-Type", "text/plain"),
        ], b"Hello from the raw stand-in"))
        return final_response(conn, args.seconds)

    challenge = send(1, [])
    header = challenge.get("WWW-Authenticate") or challenge.get("Proxy-Authenticate") or ""
    params = dict(re.findall(r'(\w+)="?([^",]*)"?', header))
    realm = "elsewhere.test" if args.fault == "other-realm" else params.get("realm", "")
    nonce = "not-the-nonce" if args.fault == "other-nonce" else params.get("nonce", "")
    ha1 = md5(f"{args.user}:{realm}:{args.password}")
    ha2 = md5(f"MESSAGE:{ruri}")
    credentials = f'Digest username="{args.user}", realm="{realm}", nonce="{nonce}", uri="{ruri}", algorithm=MD5'
    if args.fault == "no-qop":
        credentials += f', response="{md5(f"{ha1}:{nonce}:{ha2}")}"'
    else:
        cnonce = new_token()
        credentials += (f', response="{md5(f"{ha1}:{nonce}:00000001:{cnonce}:auth:{ha2}")}", qop=auth, '
                        f'nc=00000001, cnonce="{cnonce}"')
    name = "Authorization" if challenge.status == 401 else "Proxy-Authorization"
    try:
        answer = send(2, [(name, credentials)])
    except (TimeoutError, ConnectionError):
        finish({"challenge": challenge.status, "final": None}, conn)
    finish({"challenge": challenge.status, "final": answer.status}, conn)


# --- PUBLISH ------------------------------------------------------------------

def publish(args: argparse.Namespace) -> None:
    conn = Connection(args.transport, args.host)
    conn.connect(args.peer_port)
    host = uri_host(args.host)
    tag, call_id = new_token(), f"{new_token()}@{host}"
    etag: str | None = None
    codes: list[int | None] = []
    for number, step in enumerate(args.steps.split(","), start=1):
        kind, _, flaw = step.partition("-")
        headers = [("Via", via(conn)), ("Max-Forwards", "70"), ("From", f"<sip:alice@{host}>;tag={tag}"),
                   ("To", f"<sip:alice@{host}>"), ("Call-ID", call_id), ("CSeq", f"{number} PUBLISH"),
                   ("Event", "presence")]
        if kind in ("refresh", "modify", "remove"):
            headers.append(("SIP-If-Match", "stale-etag" if flaw == "stale" else etag or ""))
        headers.append(("Expires", "0" if kind == "remove" else "3600"))
        body = b""
        if (kind in ("initial", "modify", "fresh") and flaw != "nobody") or flaw == "body":
            headers.append(("Content-Type", "application/pidf+xml"))
            body = PIDF.format(host=host, n=number, note=step).encode()
        conn.send(Message(f"PUBLISH sip:alice@{host}:{args.peer_port} SIP/2.0", headers, body))
        try:
            answer = final_response(conn, args.seconds)
        except (TimeoutError, ConnectionError):
            codes.append(None)
            break
        codes.append(answer.status)
        etag = answer.get("SIP-ETag") or etag
    finish({"codes": codes}, conn)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["refer-client", "refer-server", "register", "message", "publish"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--peer-port", type=int, default=0)
    parser.add_argument("--transport", choices=["udp", "tcp"], default="udp")
    parser.add_argument("--final", type=int, choices=[200, 202], default=202)
    parser.add_argument("--notifies", type=int, default=2)
    parser.add_argument("--fault", default="none",
                        choices=["none", "from-tag", "content-type", "event", "other-realm", "other-nonce", "no-qop"])
    parser.add_argument("--user", default="alice")
    parser.add_argument("--password", default="secret")
    parser.add_argument("--expires", default="60,300,0")
    parser.add_argument("--cseq", default="")
    parser.add_argument("--contact-param", action="store_true", help="expiry as a Contact parameter")
    parser.add_argument("--steps", default="initial,refresh,modify,remove",
                        help="initial|refresh|modify|remove|fresh, optionally -stale, -body or -nobody")
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    {"refer-client": refer_client, "refer-server": refer_server, "register": register, "message": message,
     "publish": publish}[args.action](args)


if __name__ == "__main__":
    main()
