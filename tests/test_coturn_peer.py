"""The coturn peer (tests/peers/coturn.py) is right: it answers STUN, relays
for its users with the right password and refuses a wrong one.

Relaying is checked with coturn's own client, turnutils_uclient, which sends
data through the relay to a loopback peer and counts what comes back. The
refusal is checked on the wire: a TURN Allocate (RFC 5766) with the long-term
credential (RFC 5389 10.2) is sent by hand, so the test reads coturn's answer
itself, a 401 error for the wrong password and a relayed address for the
right one, to the same server.

coturn is installed by scripts/bootstrap: missing, it is a failure, not a skip.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import shutil
import socket
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.peers.coturn import Coturn

pytestmark = [pytest.mark.timeout(60)]

MAGIC_COOKIE = 0x2112A442
ALLOCATE_REQUEST, ALLOCATE_SUCCESS, ALLOCATE_ERROR = 0x0003, 0x0103, 0x0113
USERNAME, MESSAGE_INTEGRITY, ERROR_CODE, REALM, NONCE = 0x0006, 0x0008, 0x0009, 0x0014, 0x0015
XOR_RELAYED_ADDRESS, REQUESTED_TRANSPORT = 0x0016, 0x0019
UDP_PROTOCOL = 17


@pytest.fixture(autouse=True)
def _coturn_is_installed() -> None:
    for tool in ("turnserver", "turnutils_uclient"):
        if shutil.which(tool) is None:
            pytest.fail(
                f"{tool} is not installed (Debian package coturn; scripts/bootstrap installs it)", pytrace=False
            )


# --- a TURN Allocate by hand --------------------------------------------------------------


@dataclass
class StunMessage:
    type: int
    attributes: list[tuple[int, bytes]]

    def attribute(self, kind: int) -> bytes | None:
        return next((value for key, value in self.attributes if key == kind), None)

    @property
    def error_code(self) -> int | None:
        value = self.attribute(ERROR_CODE)
        return None if value is None else (value[2] & 0x07) * 100 + value[3]


def _attribute(kind: int, value: bytes) -> bytes:
    return struct.pack("!HH", kind, len(value)) + value + b"\0" * (-len(value) % 4)


def _encode(kind: int, transaction: bytes, attributes: list[tuple[int, bytes]], key: bytes | None = None) -> bytes:
    body = b"".join(_attribute(k, v) for k, v in attributes)
    if key is None:
        return struct.pack("!HHI", kind, len(body), MAGIC_COOKIE) + transaction + body
    # MESSAGE-INTEGRITY covers the message up to itself, with the length counting it (24 bytes) already.
    header = struct.pack("!HHI", kind, len(body) + 24, MAGIC_COOKIE) + transaction
    digest = hmac.new(key, header + body, hashlib.sha1).digest()
    return header + body + _attribute(MESSAGE_INTEGRITY, digest)


def _decode(data: bytes) -> StunMessage:
    kind, length, cookie = struct.unpack("!HHI", data[:8])
    assert cookie == MAGIC_COOKIE, data
    attributes, offset = [], 20
    while offset < 20 + length:
        key, size = struct.unpack("!HH", data[offset : offset + 4])
        attributes.append((key, data[offset + 4 : offset + 4 + size]))
        offset += 4 + size + (-size % 4)
    return StunMessage(kind, attributes)


def _exchange(sock: socket.socket, request: bytes, transaction: bytes) -> StunMessage:
    for _ in range(5):  # UDP: resend on a loss (RFC 5389 7.2.1), though loopback should lose nothing
        sock.send(request)
        try:
            while True:
                answer = sock.recv(2048)
                if answer[8:20] == transaction:
                    return _decode(answer)
        except TimeoutError:
            continue
    raise AssertionError("coturn did not answer the Allocate")


def allocate(turn: Coturn, user: str, password: str) -> tuple[StunMessage, StunMessage]:
    """A TURN Allocate over UDP: the unauthenticated first try (its 401 brings realm and nonce), then the
    one with the long-term credential of `user` and `password`. Both of coturn's answers."""
    transport = [(REQUESTED_TRANSPORT, bytes([UDP_PROTOCOL, 0, 0, 0]))]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(1.0)
        sock.connect((turn.host, turn.port))
        transaction = os.urandom(12)
        challenge = _exchange(sock, _encode(ALLOCATE_REQUEST, transaction, transport), transaction)
        realm, nonce = challenge.attribute(REALM), challenge.attribute(NONCE)
        assert realm is not None and nonce is not None, challenge
        key = hashlib.md5(f"{user}:{realm.decode()}:{password}".encode()).digest()
        attributes = [(USERNAME, user.encode()), (REALM, realm), (NONCE, nonce), *transport]
        transaction = os.urandom(12)
        answer = _exchange(sock, _encode(ALLOCATE_REQUEST, transaction, attributes, key), transaction)
    return challenge, answer


def relayed_address(message: StunMessage) -> tuple[str, int]:
    value = message.attribute(XOR_RELAYED_ADDRESS)
    assert value is not None and value[1] == 0x01, message  # IPv4
    port = struct.unpack("!H", value[2:4])[0] ^ (MAGIC_COOKIE >> 16)
    address = struct.unpack("!I", value[4:8])[0] ^ MAGIC_COOKIE
    return socket.inet_ntoa(struct.pack("!I", address)), port


# --- turnutils_uclient ----------------------------------------------------------------------


def _relay_through(turn: Coturn, user: str, password: str) -> subprocess.CompletedProcess[str]:
    # -e/-X: the peer echoes through a loopback address; -n 5 messages, one client, UDP.
    return subprocess.run(
        [
            "turnutils_uclient",
            "-u",
            user,
            "-w",
            password,
            "-r",
            turn.realm,
            "-p",
            str(turn.port),
            "-e",
            turn.host,
            "-n",
            "5",
            "-m",
            "1",
            "-y",
            "-X",
            turn.host,
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )


def _messages(result: subprocess.CompletedProcess[str]) -> tuple[int, int]:
    """(sent, received) by turnutils_uclient through the relay, from its final totals line."""
    totals = re.findall(r"start_mclient: tot_send_msgs=(\d+), tot_recv_msgs=(\d+)", result.stdout + result.stderr)
    return (int(totals[-1][0]), int(totals[-1][1])) if totals else (0, 0)


# --- the tests ------------------------------------------------------------------------------


def test_relays_for_a_user_with_the_right_password(tmp_path: Path) -> None:
    with Coturn(tmp_path, users={"alice": "secret"}) as turn:
        result = _relay_through(turn, "alice", "secret")
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
        sent, received = _messages(result)
        assert sent > 0 and received == sent, result.stdout[-2000:]
        assert turn.allocations_seen() >= 1


def test_refuses_a_wrong_password_and_allocates_for_the_right_one(tmp_path: Path) -> None:
    with Coturn(tmp_path, users={"alice": "secret"}) as turn:
        challenge, refused = allocate(turn, "alice", "wrong")
        assert (challenge.type, challenge.error_code) == (ALLOCATE_ERROR, 401)
        assert challenge.attribute(REALM) == turn.realm.encode()
        assert (refused.type, refused.error_code) == (ALLOCATE_ERROR, 401), refused
        assert refused.attribute(XOR_RELAYED_ADDRESS) is None
        assert "user alice credentials are incorrect" in turn.log()
        assert turn.allocations_seen() == 0

        # The same exchange with the right password: a relay on the server's address, from its relay range.
        _, granted = allocate(turn, "alice", "secret")
        assert granted.type == ALLOCATE_SUCCESS, granted
        host, port = relayed_address(granted)
        assert host == turn.host and turn.relay_ports[0] <= port <= turn.relay_ports[1]
        assert turn.allocations_seen() == 1


def test_turnutils_uclient_with_a_wrong_password_gets_no_allocation(tmp_path: Path) -> None:
    with Coturn(tmp_path, users={"alice": "secret"}) as turn:
        result = _relay_through(turn, "alice", "wrong")
        assert result.returncode != 0
        assert "Cannot complete Allocation" in result.stdout + result.stderr
        assert _messages(result)[1] == 0
        assert "user alice credentials are incorrect" in turn.log()
        assert turn.allocations_seen() == 0
