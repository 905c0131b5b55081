"""The call scenarios in tests/scenarios/calls/ are right, proven against stand-ins.

The Engine's Invitation will play the other side of these SIPp scenarios;
until it can, each is run against a peer known to behave: pjsua2 (PJSIP
2.15, one Endpoint per subprocess: tests/scenarios/calls/pjsua2_call_peer.py)
and, for the basic call and the hang-up, baresip (tests/peers/baresip.py).

UAC scenarios (SIPp calls) run with tests.support.run_sipp against a
listening stand-in ("callee"); UAS scenarios (SIPp answers) with SippServer
while the stand-in calls it ("caller").
"""

from __future__ import annotations

import importlib.util
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.peers.baresip import Baresip, check_installation
from tests.support import SCENARIOS, ListeningStandin, SippServer, free_port, run_sipp

pytestmark = pytest.mark.timeout(120)

CALLS = SCENARIOS / "calls"
PEER = CALLS / "pjsua2_call_peer.py"
needs_pjsua2 = pytest.mark.skipif(importlib.util.find_spec("pjsua2") is None, reason="pjsua2 is not installed")
needs_baresip = pytest.mark.skipif(check_installation() is not None, reason=str(check_installation()))


def sipp_ports(transport: str) -> list[str]:
    """A free signalling port is given by the caller; a free media port here (SIPp binds -mp)."""
    return ["-mp", str(free_port())]


def local_port(transport: str) -> int:
    return free_port(socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM)


def Callee(*args: str | int) -> ListeningStandin:  # noqa: N802 - reads like the class it returns
    """pjsua2_call_peer.py callee: listens (READY <port>) while SIPp calls it."""
    return ListeningStandin(PEER, "callee", *args)


def caller(sipp: SippServer, *args: str | int, timeout: float = 60.0) -> dict:
    command = [sys.executable, str(PEER), "caller", "--peer-port", str(sipp.port), "--transport", sipp.transport,
               *map(str, args)]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    for line in completed.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    raise AssertionError(f"no result from the caller (rc={completed.returncode}):\n{completed.stderr[-3000:]}")


# --- UAC scenarios: SIPp calls pjsua2 ------------------------------------------

UAC_CASES = [
    # scenario, callee options, SIPp options, log lines expected, requests the callee received
    ("call_bye_uac.xml", [], ["-set", "talk_ms", "500"], ["CALL-ANSWERED to-tag="], ["INVITE", "ACK", "BYE"]),
    ("call_wait_bye_uac.xml", ["--hangup-ms", 500], [], ["CALL-ANSWERED", "PEER-BYE"], ["INVITE", "ACK"]),
    ("call_cancel_uac.xml", ["--answer", "ring"], ["-set", "ring_ms", "300"], ["CANCELLED"],
     ["INVITE", "CANCEL", "ACK"]),
    ("call_late_offer_uac.xml", [], ["-set", "talk_ms", "300"], ["LATE-OFFER m=audio", "CALL-ANSWERED"],
     ["INVITE", "ACK", "BYE"]),
    ("call_hold_uac.xml", [], ["-set", "step_ms", "200"],
     ["HOLD-ANSWER offer=sendonly answer=recvonly", "HOLD-ANSWER offer=inactive answer=inactive",
      "HOLD-ANSWER offer=sendrecv answer=sendrecv"], ["INVITE", "ACK"] * 4 + ["BYE"]),
    ("call_100rel_uac.xml", ["--answer", "prack"], [], ["RELIABLE-18X status=180 rseq=", "PRACK-OK"],
     ["INVITE", "PRACK", "ACK", "BYE"]),
    ("call_100rel_uac.xml", ["--answer", "prack"], ["-set", "rel_header", "Supported"],
     ["RELIABLE-18X status=180 rseq=", "PRACK-OK"], ["INVITE", "PRACK", "ACK", "BYE"]),
    ("call_timer_uac.xml", [], ["-set", "refresh_ms", "1500"],
     ["SESSION-EXPIRES initial= 90;refresher=uac reinvite= 90;refresher=uac update= 90;refresher=uac require=timer"],
     ["INVITE", "ACK", "INVITE", "ACK", "UPDATE", "BYE"]),
    ("bye_unknown_dialog_uac.xml", ["--seconds", 3], [], ["BYE-481"], ["BYE"]),
]


@needs_pjsua2
@pytest.mark.parametrize(("scenario", "options", "extra", "logged", "requests"), UAC_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(UAC_CASES)])
def test_uac_scenario_against_pjsua2(scenario: str, options: list, extra: list, logged: list,
                                     requests: list) -> None:
    callee = Callee("--seconds", 20, *options)
    result = run_sipp(CALLS / scenario, callee.target, local_port=free_port(), timeout=20,
                      extra=["-s", "bob", *sipp_ports("udp"), *extra])
    outcome = callee.result()
    assert result.succeeded, result.stderr[-3000:] + result.log + result.messages[-4000:]
    for line in logged:
        assert line in result.log, result.log
    assert outcome["requests_received"] == requests, outcome


@needs_pjsua2
@pytest.mark.parametrize(("scenario", "variable"), [("call_bye_uac.xml", "talk_ms"), ("call_hold_uac.xml", "step_ms")])
def test_uac_scenario_over_tcp(scenario: str, variable: str) -> None:
    callee = Callee("--seconds", 20)
    result = run_sipp(CALLS / scenario, callee.target, transport="tcp", local_port=local_port("tcp"), timeout=20,
                      extra=["-s", "bob", *sipp_ports("tcp"), "-set", variable, "200"])
    outcome = callee.result()
    assert result.succeeded, result.stderr[-3000:] + result.log
    assert outcome["calls"][0]["confirmed"] and outcome["calls"][0]["disconnected"], outcome
    assert "Via: SIP/2.0/TCP" in result.messages


@needs_pjsua2
def test_cancel_uac_fails_when_the_peer_answers() -> None:
    """A peer that answers at once instead of ringing: call_cancel_uac.xml notices."""
    callee = Callee("--seconds", 10)
    result = run_sipp(CALLS / "call_cancel_uac.xml", callee.target, local_port=free_port(), timeout=8,
                      extra=["-s", "bob", *sipp_ports("udp")])
    callee.result()
    assert not result.succeeded


@needs_pjsua2
def test_100rel_uac_fails_without_reliable_provisional() -> None:
    """A callee that does not do 100rel (plain 180, then 200): no RSeq, SIPp fails."""
    callee = Callee("--seconds", 10, "--ring-ms", 300)
    result = run_sipp(CALLS / "call_100rel_uac.xml", callee.target, local_port=free_port(), timeout=8,
                      extra=["-s", "bob", *sipp_ports("udp"), "-set", "rel_header", "Supported"])
    callee.result()
    assert not result.succeeded


# --- UAS scenarios: pjsua2 calls SIPp --------------------------------------------

UAS_CASES = [
    # scenario, caller options, SIPp options, log lines expected, expected caller outcome
    ("call_answer_bye_uas.xml", [], ["-set", "talk_ms", "500"], ["INVITE-RECEIVED", "ACK-RECEIVED", "BYE-ANSWERED"],
     {"confirmed": True, "disconnected": True, "requests_received": ["BYE"], "requests_sent": ["INVITE", "ACK"]}),
    ("call_answer_wait_bye_uas.xml", ["--hangup-ms", 500], [], ["ACK-RECEIVED", "PEER-BYE"],
     {"confirmed": True, "requests_sent": ["INVITE", "ACK", "BYE"]}),
    ("call_ring_cancel_uas.xml", ["--cancel-ms", 300], [], ["CANCEL-RECEIVED", "ACK-RECEIVED"],
     {"last_code": 487, "requests_sent": ["INVITE", "CANCEL", "ACK"]}),
    ("call_busy_486_uas.xml", [], [], ["ACK-RECEIVED"], {"last_code": 486, "requests_sent": ["INVITE", "ACK"]}),
    ("call_decline_603_uas.xml", [], [], ["ACK-RECEIVED"], {"last_code": 603, "requests_sent": ["INVITE", "ACK"]}),
    ("call_early_media_uas.xml", [], ["-set", "early_ms", "500", "-set", "talk_ms", "300"],
     ["ACK-RECEIVED", "BYE-ANSWERED"],
     {"confirmed": True, "invite_responses_received": ["SIP/2.0 100 Trying", "SIP/2.0 183 Session Progress",
                                                       "SIP/2.0 200 OK"]}),
]


@needs_pjsua2
@pytest.mark.parametrize("transport", ["udp", "tcp"])
@pytest.mark.parametrize(("scenario", "options", "extra", "logged", "expected"), UAS_CASES,
                         ids=[c[0] for c in UAS_CASES])
def test_uas_scenario_against_pjsua2(scenario: str, options: list, extra: list, logged: list, expected: dict,
                                     transport: str) -> None:
    sipp = SippServer(CALLS / scenario, transport=transport, timeout=20, extra=[*sipp_ports(transport), *extra])
    outcome = caller(sipp, *options)
    run = sipp.finish()
    assert run.succeeded, run.explain()
    for line in logged:
        assert line in run.log, run.log
    for key, value in expected.items():
        assert outcome[key] == value, outcome
    assert "m=audio" in run.messages and "a=rtpmap:0 PCMU/8000" in run.messages


# --- baresip -----------------------------------------------------------------------

@needs_baresip
def test_baresip_answers_and_sipp_hangs_up(tmp_path: Path) -> None:
    with Baresip(tmp_path / "bob") as bob:
        result = run_sipp(CALLS / "call_bye_uac.xml", bob.target, local_port=free_port(), timeout=15,
                          extra=["-s", "bob", *sipp_ports("udp"), "-set", "talk_ms", "1000"])
        assert result.succeeded, result.stderr[-3000:] + result.log
        assert bob.wait_established(5), bob.event_types()
        closed = bob.wait_closed(5)
        assert closed is not None and closed["param"] == "Connection reset by peer", bob.event_types()
        assert closed["peeruri"].startswith("sip:sipp@127.0.0.1")
        assert [f.name.rsplit("-", 1)[1] for f in bob.recorded_files()] == ["dec.wav", "enc.wav"]
    assert bob.process.returncode == 0
    assert "Call established" in bob.log()


@needs_baresip
def test_baresip_hangs_up(tmp_path: Path) -> None:
    with Baresip(tmp_path / "bob") as bob:
        sipp = run_sipp(CALLS / "call_wait_bye_uac.xml", bob.target, local_port=free_port(), timeout=15,
                        extra=["-s", "bob", *sipp_ports("udp")], background=True)
        try:
            assert bob.wait_established(10), bob.event_types()
            time.sleep(0.5)
            assert bob.hangup()["ok"]
            closed = bob.wait_closed(5)
            assert closed is not None and closed["param"] == "Connection reset by user", bob.event_types()
            stdout, stderr = sipp.communicate(timeout=20)
        finally:
            if sipp.poll() is None:
                sipp.kill()
                sipp.wait()
        assert sipp.returncode == 0, stdout[-2000:] + stderr[-2000:]


@needs_baresip
@pytest.mark.parametrize(("scenario", "extra"), [("call_hold_uac.xml", ["-set", "step_ms", "200"]),
                                              ("bye_unknown_dialog_uac.xml", [])])
def test_baresip_other_uac_scenarios(tmp_path: Path, scenario: str, extra: list) -> None:
    """SIPp's -set fails for a variable the scenario does not declare: only where it does."""
    with Baresip(tmp_path / "bob") as bob:
        result = run_sipp(CALLS / scenario, bob.target, local_port=free_port(), timeout=15,
                          extra=["-s", "bob", *sipp_ports("udp"), *extra])
        assert result.succeeded, result.stderr[-3000:] + result.log + bob.log()[-3000:]
