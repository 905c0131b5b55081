"""The coturn peer (tests/peers/coturn.py) is right: it answers STUN, relays
for its users with the right password and refuses a wrong one. Checked with
coturn's own client, turnutils_uclient, which sends data through the relay
to a loopback peer and counts what comes back."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.peers.coturn import Coturn, check_installation

pytestmark = [pytest.mark.timeout(60),
              pytest.mark.skipif(check_installation() is not None, reason=str(check_installation()))]


def _relay_through(turn: Coturn, user: str, password: str) -> subprocess.CompletedProcess[str]:
    # -e/-X: the peer echoes through a loopback address; -n 5 messages, one client, UDP.
    return subprocess.run(["turnutils_uclient", "-u", user, "-w", password, "-r", turn.realm, "-p", str(turn.port),
                           "-e", turn.host, "-n", "5", "-m", "1", "-y", "-X", turn.host],
                          capture_output=True, text=True, timeout=30)


def _messages(result: subprocess.CompletedProcess[str]) -> tuple[int, int]:
    """(sent, received) by turnutils_uclient through the relay, from its final totals line."""
    totals = re.findall(r"start_mclient: tot_send_msgs=(\d+), tot_recv_msgs=(\d+)", result.stdout + result.stderr)
    return (int(totals[-1][0]), int(totals[-1][1])) if totals else (0, 0)


def test_relays_for_a_user_with_the_right_password(tmp_path: Path) -> None:
    with Coturn(tmp_path, users={"alice": "secret"}) as turn:
        result = _relay_through(turn, "alice", "secret")
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
        sent, received = _messages(result)
        assert sent > 0 and received == sent, result.stdout[-2000:]
        assert turn.allocations_seen() >= 1


def test_refuses_a_wrong_password(tmp_path: Path) -> None:
    with Coturn(tmp_path, users={"alice": "secret"}) as turn:
        result = _relay_through(turn, "alice", "wrong")
        assert _messages(result)[1] == 0
        assert turn.allocations_seen() == 0
