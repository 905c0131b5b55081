"""Just enough SIP over a plain socket for the raw stand-ins (raw_peer.py).

Messages are parsed into a start line, an ordered header list and a body;
TCP is framed by Content-Length. Nothing here retransmits: the stand-ins run
on the loopback interface only.
"""

from __future__ import annotations

import re
import socket
import time
import uuid
from dataclasses import dataclass, field

COMPACT = {
    "i": "call-id",
    "m": "contact",
    "e": "content-encoding",
    "l": "content-length",
    "c": "content-type",
    "f": "from",
    "t": "to",
    "v": "via",
    "r": "refer-to",
    "o": "event",
    "k": "supported",
    "s": "subject",
}


def new_token() -> str:
    return uuid.uuid4().hex[:16]


@dataclass
class Message:
    start: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    @classmethod
    def parse(cls, data: bytes) -> Message:
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("utf-8", "replace").split("\r\n")
        headers: list[tuple[str, str]] = []
        for line in lines[1:]:
            if line[:1] in (" ", "\t") and headers:
                name, value = headers[-1]
                headers[-1] = (name, value + " " + line.strip())
            elif ":" in line:
                name, value = line.split(":", 1)
                headers.append((name.strip(), value.strip()))
        return cls(lines[0], headers, body)

    @property
    def is_request(self) -> bool:
        return not self.start.startswith("SIP/2.0 ")

    @property
    def method(self) -> str:
        return self.start.split(" ", 1)[0] if self.is_request else self.cseq[1]

    @property
    def status(self) -> int:
        return 0 if self.is_request else int(self.start.split(" ", 2)[1])

    @property
    def request_uri(self) -> str:
        return self.start.split(" ")[1]

    def all(self, name: str) -> list[str]:
        wanted = name.lower()
        return [v for n, v in self.headers if COMPACT.get(n.lower(), n.lower()) == wanted]

    def get(self, name: str) -> str | None:
        values = self.all(name)
        return values[0] if values else None

    @property
    def cseq(self) -> tuple[int, str]:
        number, method = (self.get("CSeq") or "0 ?").split()
        return int(number), method

    def tag(self, name: str) -> str | None:
        value = self.get(name) or ""
        value = value.rsplit(">", 1)[-1] if "<" in value else value
        match = re.search(r";\s*tag=([^;\s]+)", value, re.IGNORECASE)
        return match.group(1) if match else None

    def bytes(self) -> bytes:
        headers = [(n, v) for n, v in self.headers if n.lower() not in ("content-length", "l")]
        headers.append(("Content-Length", str(len(self.body))))
        head = "\r\n".join([self.start] + [f"{n}: {v}" for n, v in headers])
        return head.encode() + b"\r\n\r\n" + self.body


def uri_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def response(
    request: Message, status: int, reason: str, to_tag: str | None = None, extra: list[tuple[str, str]] | None = None
) -> Message:
    headers = [(n, v) for n, v in request.headers if n.lower() in ("via", "v", "record-route")]
    headers.append(("From", request.get("From") or ""))
    to = request.get("To") or ""
    if to_tag and request.tag("To") is None:
        to = f"{to};tag={to_tag}"
    headers += [("To", to), ("Call-ID", request.get("Call-ID") or ""), ("CSeq", request.get("CSeq") or "")]
    headers += extra or []
    return Message(f"SIP/2.0 {status} {reason}", headers)


class Connection:
    """One UDP socket, or one TCP connection (made, or accepted by listen())."""

    def __init__(self, transport: str, host: str, port: int = 0) -> None:
        self.transport = transport
        self.host = host
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.family = family
        self.buffer = b""
        self.peer: tuple | None = None
        if transport == "udp":
            self.sock = socket.socket(family, socket.SOCK_DGRAM)
            self.sock.bind((host, port))
            self.listener = None
        else:
            self.listener = socket.socket(family, socket.SOCK_STREAM)
            self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.listener.bind((host, port))
            self.sock = None
        self.port = (self.sock or self.listener).getsockname()[1]

    @property
    def via_transport(self) -> str:
        return self.transport.upper()

    def connect(self, port: int, timeout: float = 5.0) -> None:
        if self.transport == "udp":
            self.peer = (self.host, port)
            return
        assert self.listener is not None
        self.listener.listen(1)  # bound so the source port is known; SIPp may connect back
        self.sock = socket.create_connection((self.host, port), timeout=timeout)
        self.peer = self.sock.getpeername()[:2]

    def accept(self, timeout: float) -> None:
        if self.transport == "udp" or self.sock is not None:
            return
        assert self.listener is not None
        self.listener.listen(1)
        self.listener.settimeout(timeout)
        self.sock, address = self.listener.accept()
        self.peer = address[:2]

    def send(self, message: Message, to: tuple | None = None) -> None:
        data = message.bytes()
        if self.transport == "udp":
            self.sock.sendto(data, to or self.peer)
        else:
            self.sock.sendall(data)

    def receive(self, timeout: float) -> Message:
        deadline = time.monotonic() + timeout
        if self.transport == "tcp":
            self.accept(timeout)
        while True:
            if self.transport == "tcp":
                framed = self._frame()
                if framed is not None:
                    return framed
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no SIP message within the time allowed")
            self.sock.settimeout(remaining)
            if self.transport == "udp":
                data, address = self.sock.recvfrom(65535)
                if not data.strip():
                    continue
                self.peer = self.peer or address[:2]
                return Message.parse(data)
            chunk = self.sock.recv(65535)
            if not chunk:
                raise ConnectionError("the peer closed the TCP connection")
            self.buffer += chunk

    def _frame(self) -> Message | None:
        self.buffer = self.buffer.lstrip(b"\r\n")
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return None
        head = Message.parse(self.buffer[: end + 4])
        length = int(head.get("Content-Length") or 0)
        total = end + 4 + length
        if len(self.buffer) < total:
            return None
        data, self.buffer = self.buffer[:total], self.buffer[total:]
        return Message.parse(data)

    def linger(self, seconds: float) -> None:
        """TCP: wait (bounded) for the peer to close first, so it never sees its
        connection drop while its scenario is still running."""
        if self.transport != "tcp" or self.sock is None:
            return
        deadline = time.monotonic() + seconds
        try:
            while time.monotonic() < deadline:
                self.sock.settimeout(max(deadline - time.monotonic(), 0.01))
                if not self.sock.recv(65535):
                    return
        except OSError:
            return

    def close(self) -> None:
        for sock in (self.sock, self.listener):
            if sock is not None:
                sock.close()
