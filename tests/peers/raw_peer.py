"""A scripted SIP peer on a plain socket, for what pjsua2 cannot play.

    python -m tests.peers.raw_peer ACTION [options]

Actions:
  call          calls --peer-port and, in that call, plays one side of a REFER:
                --refer client (as refer-client, Refer-To --refer-to) or
                --refer server (as refer-server); for checking those two
                against a real stack, which takes REFER only in a dialog.
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
    "</presence>\n"
)


def finish(result: dict, conn: Connection | None = None) -> None:
    print("RESULT " + json.dumps(result), flush=True)
    if conn is not None:
        conn.linger(2.0)
        conn.close()
    sys.exit(0)


def connect(args: argparse.Namespace) -> tuple[Connection, str, str, str]:
    """A connection to --peer-port, the host as a URI has it, and a new From tag and Call-ID for a request."""
    conn = Connection(args.transport, args.host)
    conn.connect(args.peer_port)
    host = uri_host(args.host)
    return conn, host, new_token(), f"{new_token()}@{host}"


def final_response(conn: Connection, seconds: float) -> Message:
    while True:
        message = conn.receive(seconds)
        if not message.is_request and message.status >= 200:
            return message


def via(conn: Connection) -> str:
    return f"SIP/2.0/{conn.via_transport} {uri_host(conn.host)}:{conn.port};branch=z9hG4bK{new_token()};rport"


def request_headers(
    conn: Connection, from_value: str, to: str, call_id: str, cseq: int | str, method: str, *extra: tuple[str, str]
) -> list[tuple[str, str]]:
    """The headers every request of ours starts with (a new Via branch each), then `extra`."""
    return [
        ("Via", via(conn)),
        ("Max-Forwards", "70"),
        ("From", from_value),
        ("To", to),
        ("Call-ID", call_id),
        ("CSeq", f"{cseq} {method}"),
        *extra,
    ]


# --- REFER, as the referrer ---------------------------------------------------


def refer_client(args: argparse.Namespace) -> None:
    conn, host, tag, call_id = connect(args)
    contact_uri = f"sip:alice@{host}:{conn.port};transport={args.transport}"
    refer = Message(
        f"REFER sip:bob@{host}:{args.peer_port} SIP/2.0",
        request_headers(
            conn,
            f"<sip:alice@{host}>;tag={tag}",
            f"<sip:bob@{host}:{args.peer_port}>",
            call_id,
            1,
            "REFER",
            ("Contact", f"<{contact_uri}>"),
            ("Refer-To", f"<sip:carol@{host}>"),
            ("Referred-By", f"<sip:alice@{host}>"),
        ),
    )
    conn.send(refer)
    answer = final_response(conn, args.seconds)
    result: dict = {"final": answer.status, "notifies": [], "problems": []}
    remote_tag = answer.tag("To")
    if answer.status // 100 != 2 or not remote_tag:
        result["problems"].append(f"REFER answered {answer.start} with To tag {remote_tag!r}")
        finish(result)
    follow_notifies(conn, args, result, contact_uri, call_id, tag, remote_tag)
    finish(result, conn)


def follow_notifies(
    conn: Connection,
    args: argparse.Namespace,
    result: dict,
    contact_uri: str,
    call_id: str,
    local_tag: str,
    remote_tag: str,
) -> None:
    """Answer the NOTIFYs of a REFER's implicit subscription with 200 until one says terminated, checking that
    each belongs to the dialog (Call-ID, tags, our Contact as its request URI, a rising CSeq) and carries a
    sipfrag for the refer event; result["notifies"] gets each one's state and body, result["problems"] what
    was wrong. In a call, the referee's BYE ending the call is answered too (result["bye"])."""
    problems = result["problems"]
    last_cseq = -1
    while True:
        try:
            notify = conn.receive(args.seconds)
        except TimeoutError:
            problems.append("no terminating NOTIFY")
            return
        if not notify.is_request:
            continue
        if notify.method == "BYE" and notify.get("Call-ID") == call_id:
            result["bye"] = True
            conn.send(response(notify, 200, "OK"))
            continue
        checks = {
            "method": notify.method == "NOTIFY",
            "request-uri": notify.request_uri == contact_uri,
            "call-id": notify.get("Call-ID") == call_id,
            "from tag": notify.tag("From") == remote_tag,
            "to tag": notify.tag("To") == local_tag,
            "event": (notify.get("Event") or "").split(";")[0].strip().lower() == "refer",
            "content-type": (notify.get("Content-Type") or "").lower().startswith("message/sipfrag"),
            "cseq": notify.cseq[0] > last_cseq,
        }
        problems += [f"NOTIFY {notify.cseq[0]}: wrong {name}" for name, ok in checks.items() if not ok]
        last_cseq = notify.cseq[0]
        state = notify.get("Subscription-State") or ""
        result["notifies"].append(
            {"state": state, "body": notify.body.decode(errors="replace"), "content_type": notify.get("Content-Type")}
        )
        conn.send(response(notify, 200, "OK"))
        if state.strip().lower().startswith("terminated") or notify.method != "NOTIFY":
            return


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
    from_tag = "not-the-dialog-tag" if args.fault == "from-tag" else tag
    send_notifies(conn, args, result, refer, f"{refer.get('To')};tag={from_tag}", contact, first_cseq=1)
    finish(result, conn)


def send_notifies(
    conn: Connection,
    args: argparse.Namespace,
    result: dict,
    refer: Message,
    from_value: str,
    contact: str,
    first_cseq: int,
) -> None:
    """Report a REFER's progress: --notifies NOTIFYs to its Contact (sipfrag "100 Trying" while active, "200 OK"
    in the last, terminated), From `from_value`, CSeq from `first_cseq`; each final answer goes into
    result["answers"] (None when none came). --fault spoils one thing on purpose."""
    target = (refer.get("Contact") or "").strip().lstrip("<").split(">")[0]
    for index in range(args.notifies):
        last = index == args.notifies - 1
        state = "terminated;reason=noresource" if last else "active;expires=60"
        body = b"SIP/2.0 200 OK\r\n" if last else b"SIP/2.0 100 Trying\r\n"
        content_type = "text/plain" if args.fault == "content-type" else "message/sipfrag;version=2.0"
        event = "presence" if args.fault == "event" else "refer"
        notify = Message(
            f"NOTIFY {target} SIP/2.0",
            request_headers(
                conn,
                from_value,
                refer.get("From") or "",
                refer.get("Call-ID") or "",
                first_cseq + index,
                "NOTIFY",
                ("Contact", contact),
                ("Event", event),
                ("Subscription-State", state),
                ("Content-Type", content_type),
            ),
            body,
        )
        conn.send(notify)
        try:
            answer = final_response(conn, args.seconds)
        except TimeoutError:
            result["answers"].append(None)
            break
        result["answers"].append(answer.status)


# --- REFER in a call, against a real stack --------------------------------------

SDP = (
    "v=0\r\no=raw 1 1 IN IP4 {host}\r\ns=-\r\nc=IN IP4 {host}\r\nt=0 0\r\n"
    "m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n"
)


def call(args: argparse.Namespace) -> None:
    """Call bob at --peer-port and, once the call is up, play one side of a REFER in it: --refer client sends
    a REFER (to --refer-to) and follows the NOTIFYs as refer-client does; --refer server waits for the peer's
    REFER and reports progress as refer-server does. Then the call ends (our BYE, or the peer's)."""
    conn, host, tag, call_id = connect(args)
    contact_uri = f"sip:alice@{host}:{conn.port};transport={args.transport}"
    contact = f"<{contact_uri}>"
    from_value = f"<sip:alice@{host}>;tag={tag}"
    ruri = f"sip:bob@{host}:{args.peer_port}"

    def request(
        method: str, target: str, cseq: int, to: str, extra: list[tuple[str, str]], body: bytes = b""
    ) -> Message:
        return Message(
            f"{method} {target} SIP/2.0", request_headers(conn, from_value, to, call_id, cseq, method, *extra), body
        )

    sdp = SDP.format(host=args.host, port=conn.port + 2).encode()
    conn.send(request("INVITE", ruri, 1, f"<{ruri}>", [("Contact", contact), ("Content-Type", "application/sdp")], sdp))
    answer = final_response(conn, args.seconds)
    result: dict = {"answered": answer.status, "notifies": [], "answers": [], "problems": [], "bye": False}
    if answer.status != 200:
        finish(result, conn)
    to_value, remote_tag = answer.get("To") or "", answer.tag("To") or ""
    remote_target = (answer.get("Contact") or "").strip().lstrip("<").split(">")[0]
    conn.send(request("ACK", remote_target, 1, to_value, []))
    cseq = 2
    if args.refer == "client":
        conn.send(
            request(
                "REFER",
                remote_target,
                cseq,
                to_value,
                [("Contact", contact), ("Refer-To", f"<{args.refer_to}>"), ("Referred-By", f"<sip:alice@{host}>")],
            )
        )
        cseq += 1
        result["final"] = final_response(conn, args.seconds).status
        follow_notifies(conn, args, result, contact_uri, call_id, tag, remote_tag)
    else:
        refer = conn.receive(args.seconds)
        while not refer.is_request:  # 200 retransmissions, say
            refer = conn.receive(args.seconds)
        result["refer"] = refer.start
        if refer.method != "REFER":
            result["problems"].append(f"expected REFER, got {refer.start}")
            finish(result, conn)
        conn.send(response(refer, 202, "Accepted", extra=[("Contact", contact)]))
        from_value = refer.get("To") or ""
        if args.fault == "from-tag":
            from_value = from_value.split(";tag=")[0] + ";tag=not-the-dialog-tag"
        send_notifies(conn, args, result, refer, from_value, contact, first_cseq=cseq)
        cseq += args.notifies
    if not result["bye"]:
        try:  # the peer's BYE, if it ends the call: answered; else ours
            bye = conn.receive(args.hangup_wait)
            if bye.is_request and bye.method == "BYE":
                result["bye"] = True
                conn.send(response(bye, 200, "OK"))
        except TimeoutError:
            pass
    if not result["bye"]:
        conn.send(request("BYE", remote_target, cseq, to_value, []))
        result["bye_answer"] = final_response(conn, args.seconds).status
    finish(result, conn)


# --- REGISTER -----------------------------------------------------------------


def register(args: argparse.Namespace) -> None:
    conn, host, tag, call_id = connect(args)
    expiries = args.expires.split(",")
    cseqs = [int(c) for c in args.cseq.split(",")] if args.cseq else list(range(1, len(expiries) + 1))
    codes: list[int | None] = []
    for expiry, cseq in zip(expiries, cseqs, strict=True):
        contact = f"<sip:alice@{host}:{conn.port};transport={args.transport}>"
        headers = request_headers(
            conn, f"<sip:alice@{host}>;tag={tag}", f"<sip:alice@{host}>", call_id, cseq, "REGISTER"
        )
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
    conn, host, tag, call_id = connect(args)
    ruri = f"sip:bob@{host}:{args.peer_port}"

    def send(cseq: int, extra: list[tuple[str, str]]) -> Message:
        conn.send(
            Message(
                f"MESSAGE {ruri} SIP/2.0",
                request_headers(
                    conn,
                    f"<sip:{args.user}@{host}>;tag={tag}",
                    f"<{ruri}>",
                    call_id,
                    cseq,
                    "MESSAGE",
                    *extra,
                    ("Content-Type", "text/plain"),
                ),
                b"Hello from the raw stand-in",
            )
        )
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
        credentials += (
            f', response="{md5(f"{ha1}:{nonce}:00000001:{cnonce}:auth:{ha2}")}", qop=auth, '
            f'nc=00000001, cnonce="{cnonce}"'
        )
    name = "Authorization" if challenge.status == 401 else "Proxy-Authorization"
    try:
        answer = send(2, [(name, credentials)])
    except (TimeoutError, ConnectionError):
        finish({"challenge": challenge.status, "final": None}, conn)
    finish({"challenge": challenge.status, "final": answer.status}, conn)


# --- PUBLISH ------------------------------------------------------------------


def publish(args: argparse.Namespace) -> None:
    conn, host, tag, call_id = connect(args)
    etag: str | None = None
    codes: list[int | None] = []
    for number, step in enumerate(args.steps.split(","), start=1):
        kind, _, flaw = step.partition("-")
        headers = request_headers(
            conn,
            f"<sip:alice@{host}>;tag={tag}",
            f"<sip:alice@{host}>",
            call_id,
            number,
            "PUBLISH",
            ("Event", "presence"),
        )
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
    parser.add_argument("action", choices=["refer-client", "refer-server", "call", "register", "message", "publish"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--peer-port", type=int, default=0)
    parser.add_argument("--transport", choices=["udp", "tcp"], default="udp")
    parser.add_argument("--final", type=int, choices=[200, 202], default=202)
    parser.add_argument("--notifies", type=int, default=2)
    parser.add_argument(
        "--fault",
        default="none",
        choices=["none", "from-tag", "content-type", "event", "other-realm", "other-nonce", "no-qop"],
    )
    parser.add_argument("--user", default="alice")
    parser.add_argument("--password", default="secret")
    parser.add_argument("--expires", default="60,300,0")
    parser.add_argument("--cseq", default="")
    parser.add_argument("--contact-param", action="store_true", help="expiry as a Contact parameter")
    parser.add_argument(
        "--steps",
        default="initial,refresh,modify,remove",
        help="initial|refresh|modify|remove|fresh, optionally -stale, -body or -nobody",
    )
    parser.add_argument("--refer", choices=["client", "server"], default="client", help="call: our part in the REFER")
    parser.add_argument("--refer-to", default="", help="call --refer client: the Refer-To URI")
    parser.add_argument("--hangup-wait", type=float, default=2.0, help="call: how long to wait for the peer's BYE")
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    {
        "refer-client": refer_client,
        "refer-server": refer_server,
        "call": call,
        "register": register,
        "message": message,
        "publish": publish,
    }[args.action](args)


if __name__ == "__main__":
    main()
