"""The SIPp scenarios in tests/scenarios/ are right, proven against stand-ins.

The Engine will play the other side of these scenarios; until it can, each is
run against a peer that is known to behave: pjsua2 (PJSIP 2.15, one Endpoint
per subprocess: tests/peers/pjsua2_peer.py) or a scripted raw
socket peer (tests/peers/raw_peer.py) where pjsua2 cannot play the part, and
where a peer must misbehave on purpose to show that a scenario notices.

UAS scenarios (SIPp listens) are started with devkit.sipp.SippServer, the UAC
ones (SIPp sends) with devkit.sipp.run_sipp. Every scenario file must be proven by
a test that ran and passed in the same session (test_every_scenario_is_proven_here).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from devkit.ports import free_port
from devkit.sipp import SippServer, run_sipp, sip_target, sipp_binary
from tests.support.peer_programs import ListeningPeer, run_peer
from tests.support.proofs import Prove, unproven
from tests.support.scenarios import (
    MALFORMED,
    SCENARIOS,
    malformed_request_scenario,
    request_scenario,
)

pytestmark = pytest.mark.timeout(120)

SCENARIO_FOLDER = SCENARIOS  # where the proven fixture takes a bare scenario name

MALFORMED_SCENARIOS = sorted(MALFORMED.glob("*.xml"))
# pjsua2 missing fails these (scripts/bootstrap installs it), it does not skip them.
needs_pjsua2 = pytest.mark.usefixtures("pjsua2_installed")
CREDENTIALS = ["-key", "auth_user", "alice", "-key", "auth_password", "secret"]


def pjsua2(action: str, sipp: SippServer, *args: str | int) -> dict:
    return run_peer(
        "pjsua2_peer", action, "--host", sipp.host, "--peer-port", sipp.port, "--transport", sipp.transport, *args
    )


def raw(action: str, sipp: SippServer, *args: str | int) -> dict:
    return run_peer(
        "raw_peer", action, "--host", sipp.host, "--peer-port", sipp.port, "--transport", sipp.transport, *args
    )


# --- register_423_uas.xml ------------------------------------------------------


@needs_pjsua2
@pytest.mark.parametrize(("host", "transport"), [("127.0.0.1", "udp"), ("127.0.0.1", "tcp"), ("::1", "udp")])
def test_register_423_pjsua_retries_with_min_expires(host: str, transport: str, proven: Prove) -> None:
    sipp = SippServer(SCENARIOS / "register_423_uas.xml", host=host, transport=transport)
    outcome = pjsua2("register", sipp, "--expires", 60)
    run = sipp.finish()

    assert run.succeeded, run.explain()
    assert outcome["registered"] and outcome["unregistered"], outcome
    # pjsua retried the 423 by itself and was granted the 300 s of the 200's Contact.
    assert outcome["states"][0]["code"] == 200 and outcome["states"][0]["expiration"] == 300, outcome
    assert outcome["registers_sent"] == 3
    assert re.search(r"REGISTER-EXPIRIES first=\|60 second=\|300 removal=\|0 ", run.log), run.log
    assert "SIP/2.0 423 Interval Too Brief" in run.messages and "Min-Expires: 300" in run.messages
    assert re.search(r"^Contact: <sip:alice@[^>]+>;expires=300\r?$", run.messages, re.MULTILINE)
    proven(SCENARIOS / "register_423_uas.xml")


def test_register_423_expiry_as_contact_parameter() -> None:
    sipp = SippServer(SCENARIOS / "register_423_uas.xml")
    outcome = raw("register", sipp, "--expires", "60,300,0", "--contact-param")
    run = sipp.finish()
    assert run.succeeded, run.explain()
    assert outcome["codes"] == [423, 200, 200]
    assert "REGISTER-EXPIRIES first=60| second=300| removal=0| cseq=1,2,3" in run.log


@pytest.mark.parametrize(
    ("expires", "cseq", "codes", "complaint"),
    [
        ("600,300,0", "", [None], "the first REGISTER must ask for 1..299 s"),
        ("0", "", [None], "the first REGISTER must ask for 1..299 s"),
        ("60,200,0", "", [423, None], "must ask for at least 300 s"),
        ("60,300,0", "4,4,5", [423, None], "must have a higher CSeq: 4 after 4"),
        ("60,300,30", "", [423, 200, None], "expected the un-REGISTER"),
        ("60,300,0", "1,2,2", [423, 200, None], "the un-REGISTER must have a higher CSeq"),
    ],
)
def test_register_423_refuses_a_wrong_client(expires: str, cseq: str, codes: list, complaint: str) -> None:
    sipp = SippServer(SCENARIOS / "register_423_uas.xml", timeout=10)
    outcome = raw("register", sipp, "--expires", expires, "--cseq", cseq, "--seconds", 2)
    run = sipp.finish()
    assert not run.succeeded
    assert complaint in run.stderr + run.errors, run.explain()
    assert outcome["codes"] == codes


# --- message_401_uas.xml / message_407_uas.xml ---------------------------------


@needs_pjsua2
@pytest.mark.parametrize(
    ("scenario", "host", "transport"),
    [
        ("message_401_uas.xml", "127.0.0.1", "udp"),
        ("message_401_uas.xml", "127.0.0.1", "tcp"),
        ("message_407_uas.xml", "127.0.0.1", "udp"),
        ("message_407_uas.xml", "::1", "udp"),
    ],
)
@pytest.mark.parametrize(
    ("password", "code", "verdict"), [("secret", 200, "accepted"), ("wrong", 403, "rejected: wrong digest response")]
)
def test_message_digest_is_verified(
    scenario: str, host: str, transport: str, password: str, code: int, verdict: str, proven: Prove
) -> None:
    sipp = SippServer(SCENARIOS / scenario, host=host, transport=transport, extra=CREDENTIALS)
    outcome = pjsua2("message", sipp, "--user", "alice", "--password", password)
    run = sipp.finish()

    assert run.succeeded, run.explain()
    assert outcome["status"] == [{"code": code, "reason": "OK" if code == 200 else "Forbidden"}], outcome
    assert outcome["messages_sent"] == 2
    assert f"AUTH-RESULT {verdict} user=alice" in run.log, run.log
    challenge = "Proxy-Authenticate" if "407" in scenario else "WWW-Authenticate"
    assert re.search(
        challenge + r': Digest realm="sipsimple.test", nonce="[^"]+", qop="auth", algorithm=MD5', run.messages
    )
    proven(SCENARIOS / scenario)


@needs_pjsua2
def test_message_other_username_is_rejected() -> None:
    sipp = SippServer(SCENARIOS / "message_401_uas.xml", extra=CREDENTIALS)
    outcome = pjsua2("message", sipp, "--user", "mallory", "--password", "secret")
    run = sipp.finish()
    assert run.succeeded, run.explain()
    assert outcome["status"][0]["code"] == 403
    assert "AUTH-RESULT rejected: wrong digest response user=mallory" in run.log


@pytest.mark.parametrize("scenario", ["message_401_uas.xml", "message_407_uas.xml"])
@pytest.mark.parametrize(
    ("fault", "code", "verdict"),
    [
        ("none", 200, "accepted"),  # the raw client's own digest agrees with <verifyauth>
        ("other-realm", 403, "rejected: realm is not sipsimple.test"),
        ("other-nonce", 403, "rejected: not the nonce SIPp sent"),
        ("no-qop", 403, "rejected: qop=auth missing"),
    ],
)
def test_message_checks_realm_nonce_and_qop(scenario: str, fault: str, code: int, verdict: str) -> None:
    sipp = SippServer(SCENARIOS / scenario, extra=CREDENTIALS)
    outcome = raw("message", sipp, "--fault", fault)
    run = sipp.finish()
    assert run.succeeded, run.explain()
    assert outcome == {"challenge": 407 if "407" in scenario else 401, "final": code}
    assert f"AUTH-RESULT {verdict}" in run.log, run.log


def test_message_auth_needs_the_credentials_keys() -> None:
    completed = subprocess.run(
        [
            sipp_binary(),
            "-sf",
            str(SCENARIOS / "message_401_uas.xml"),
            "-i",
            "127.0.0.1",
            "-p",
            str(free_port()),
            "-m",
            "1",
            "-timeout",
            "5s",
            "-timeout_error",
            "-nostdin",
            "-key",
            "via_transport",
            "UDP",
        ],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert completed.returncode != 0
    assert "auth_user" in completed.stdout + completed.stderr


# --- subscribe_deactivated_uas.xml ---------------------------------------------


@needs_pjsua2
@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_subscribe_notified_then_deactivated(transport: str, proven: Prove) -> None:
    sipp = SippServer(SCENARIOS / "subscribe_deactivated_uas.xml", transport=transport)
    outcome = pjsua2("subscribe", sipp)
    run = sipp.finish()

    assert run.succeeded, run.explain()
    assert outcome["terminated"], outcome
    states = outcome["states"]
    # The PIDF of the first NOTIFY reached pjsua: online, with the note.
    assert any(
        s.get("status") == 1 and s.get("note") == "Ready for the test" and s["subState"] == "ACTIVE" for s in states
    ), states
    assert any(s["subState"] == "TERMINATED" and s["termReason"] == "deactivated" for s in states), states
    # Both NOTIFYs belonged to pjsua's dialog: it answered each with 200 ...
    assert outcome["notify_answers"] == ["SIP/2.0 200 OK", "SIP/2.0 200 OK"]
    # ... and, as RFC 6665 asks after "deactivated", subscribed again.
    assert outcome["resubscribed"]
    assert "Subscription-State: active;expires=600" in run.messages
    assert "Content-Type: application/pidf+xml" in run.messages
    proven(SCENARIOS / "subscribe_deactivated_uas.xml")


# --- refer_uas.xml ---------------------------------------------------------------


@pytest.mark.parametrize(("host", "transport"), [("127.0.0.1", "udp"), ("127.0.0.1", "tcp"), ("::1", "udp")])
def test_refer_uas_reports_progress_in_the_dialog(host: str, transport: str, proven: Prove) -> None:
    sipp = SippServer(SCENARIOS / "refer_uas.xml", host=host, transport=transport)
    outcome = raw("refer-client", sipp)
    run = sipp.finish()

    assert run.succeeded, run.explain()
    assert outcome["final"] == 202
    assert outcome["problems"] == []
    assert outcome["notifies"] == [
        {"state": "active;expires=60", "body": "SIP/2.0 100 Trying\r\n", "content_type": "message/sipfrag;version=2.0"},
        {
            "state": "terminated;reason=noresource",
            "body": "SIP/2.0 200 OK\r\n",
            "content_type": "message/sipfrag;version=2.0",
        },
    ]
    proven(SCENARIOS / "refer_uas.xml")


def test_refer_uas_and_refer_uac_agree() -> None:
    sipp = SippServer(SCENARIOS / "refer_uas.xml")
    client = run_sipp(SCENARIOS / "refer_uac.xml", sipp.target, local_port=free_port())
    run = sipp.finish()
    assert run.succeeded, run.explain()
    assert client.succeeded, client.stderr + client.log
    assert "REFER-DONE notifies=2" in client.log


# The raw peer is the only peer of the positive REFER scenarios (no stack here takes a REFER outside a
# dialog: pjsua2 drops it, baresip 1.0 answers 501): its two REFER sides are checked against pjsua2 in a
# call instead, with the very code that plays them outside one (follow_notifies, send_notifies). Over UDP:
# the raw peer reads only the TCP connection it made, and pjsua would connect to its Contact anew.


@needs_pjsua2
def test_raw_refer_client_accepts_the_notifies_of_a_real_stack() -> None:
    """pjsua2 accepts the raw peer's REFER, calls the Refer-To target (itself, ringing 300 ms) and reports that
    call in NOTIFYs which pass every check the raw peer makes of refer_uas.xml's."""
    callee = ListeningPeer("pjsua2_call_peer", "callee", "--seconds", 20, "--ring-ms", 300)
    try:
        target = f"sip:carol@127.0.0.1:{callee.port}"
        outcome = run_peer("raw_peer", "call", "--peer-port", callee.port, "--refer", "client", "--refer-to", target)
        pjsua = callee.result()
    finally:
        callee.stop()
    assert outcome["answered"] == 200 and outcome["final"] == 202, outcome
    assert outcome["problems"] == [], outcome
    assert [notify["body"] for notify in outcome["notifies"]] == [
        "SIP/2.0 100 Trying\r\n",
        "SIP/2.0 180 Ringing\r\n",
        "SIP/2.0 200 OK\r\n",
    ], outcome
    assert outcome["notifies"][-1]["state"].startswith("terminated"), outcome
    assert pjsua["calls"][0]["transfer"] == [["refer", f"<{target}>"]], pjsua
    assert pjsua["requests_sent"].count("NOTIFY") == 3, pjsua


@needs_pjsua2
@pytest.mark.parametrize("notifies", [2, 3])
def test_raw_refer_server_notifies_are_taken_by_a_real_stack(notifies: int) -> None:
    """pjsua2 REFERs the raw peer in a call: it takes the raw peer's 202 and NOTIFYs (as refer_uac.xml is
    proven against) and reports each step of the transfer, the last one final; then it hangs up."""
    callee = ListeningPeer(
        "pjsua2_call_peer", "callee", "--seconds", 20, "--transfer", "sip:carol@127.0.0.1:5099", "--hangup-ms", 200
    )
    try:
        outcome = run_peer("raw_peer", "call", "--peer-port", callee.port, "--refer", "server", "--notifies", notifies)
        pjsua = callee.result()
    finally:
        callee.stop()
    assert outcome["refer"].startswith("REFER sip:alice@127.0.0.1:"), outcome
    assert outcome["answers"] == [200] * notifies and outcome["bye"], outcome
    trying = [[100, "Trying", False]] * (notifies - 1)
    assert pjsua["calls"][0]["transfer"] == [[100, "Accepted", False], *trying, [200, "OK", True]], pjsua
    assert pjsua["requests_sent"] == ["REFER", "BYE"], pjsua


@needs_pjsua2
def test_raw_refer_server_fault_is_refused_by_a_real_stack() -> None:
    """A NOTIFY outside the REFER's dialog (a wrong From tag) gets no 200 from pjsua2: acceptance means something."""
    callee = ListeningPeer(
        "pjsua2_call_peer", "callee", "--seconds", 15, "--transfer", "sip:carol@127.0.0.1:5099", "--hangup-ms", 200
    )
    try:
        outcome = run_peer(
            "raw_peer", "call", "--peer-port", callee.port, "--refer", "server", "--fault", "from-tag", "--seconds", 3
        )
        pjsua = callee.result()
    finally:
        callee.stop()
    assert outcome["answers"] and 200 not in outcome["answers"], outcome
    assert [200, "OK", True] not in pjsua["calls"][0]["transfer"], pjsua


# --- publish_uas.xml / publish_412_uas.xml ---------------------------------------


@needs_pjsua2
@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_publish_lifecycle_with_pjsua(transport: str, proven: Prove) -> None:
    sipp = SippServer(SCENARIOS / "publish_uas.xml", transport=transport, extra=["-set", "publish_expires", "6"])
    outcome = pjsua2("publish", sipp, "--seconds", 15)
    run = sipp.finish()

    assert run.succeeded, run.explain()
    assert outcome["initial"] and outcome["refreshed"] and outcome["modified"] and outcome["removed"], outcome
    etags = re.search(r"PUBLICATION etags=([^,]+),([^,]+),(\S+) expires=6 ", run.log)
    assert etags, run.log
    initial, refresh, modify, remove = outcome["publishes"]
    assert "SIP-If-Match" not in initial and "Content-Type: application/pidf+xml" in initial
    assert f"SIP-If-Match: {etags.group(1)}" in refresh and "Content-Type" not in refresh
    assert f"SIP-If-Match: {etags.group(2)}" in modify and "Content-Type: application/pidf+xml" in modify
    assert f"SIP-If-Match: {etags.group(3)}" in remove and "Expires: 0" in remove
    assert len({etags.group(1), etags.group(2), etags.group(3)}) == 3
    proven(SCENARIOS / "publish_uas.xml")


def test_publish_default_expires_is_60() -> None:
    sipp = SippServer(SCENARIOS / "publish_uas.xml")
    outcome = raw("publish", sipp, "--steps", "initial,refresh,modify,remove")
    run = sipp.finish()
    assert run.succeeded, run.explain()
    assert outcome["codes"] == [200, 200, 200, 200]
    assert run.messages.count("Expires: 60\n") == 3


@pytest.mark.parametrize(
    ("steps", "codes", "complaint"),
    [
        ("initial-nobody", [None], "the initial PUBLISH has no body"),
        ("initial,refresh-stale", [200, None], "the refresh must carry SIP-If-Match"),
        ("initial,refresh-body", [200, None], "the refresh (second PUBLISH) must have no body"),
        ("initial,refresh,modify-nobody", [200, 200, None], "the modification (third PUBLISH) has no body"),
        ("initial,refresh,modify-stale", [200, 200, None], "the modification must carry SIP-If-Match"),
        ("initial,refresh,modify,fresh", [200, 200, 200, None], "the removal must carry SIP-If-Match"),
    ],
)
def test_publish_refuses_a_wrong_client(steps: str, codes: list, complaint: str) -> None:
    sipp = SippServer(SCENARIOS / "publish_uas.xml", timeout=10)
    outcome = raw("publish", sipp, "--steps", steps, "--seconds", 2)
    run = sipp.finish()
    assert not run.succeeded
    assert complaint in run.stderr + run.errors, run.explain()
    assert outcome["codes"] == codes


@needs_pjsua2
def test_publish_412_pjsua_publishes_anew_on_a_new_call_id(proven: Prove) -> None:
    sipp = SippServer(SCENARIOS / "publish_412_uas.xml", calls=2, extra=["-set", "publish_expires", "6"])
    outcome = pjsua2("publish", sipp, "--steps", "412", "--seconds", 15)
    run = sipp.finish()

    assert run.succeeded, run.explain()
    assert outcome["initial"] and outcome["fresh"], outcome
    assert outcome["responses"] == ["SIP/2.0 200 OK", "SIP/2.0 412 Conditional Request Failed", "SIP/2.0 200 OK"]
    first, refresh, fresh = outcome["publishes"]
    call_id = re.compile(r"^Call-ID: (\S+)", re.MULTILINE)
    assert call_id.search(first).group(1) == call_id.search(refresh).group(1) != call_id.search(fresh).group(1)
    assert "SIP-If-Match" in refresh
    assert "SIP-If-Match" not in fresh and "Content-Type: application/pidf+xml" in fresh
    assert "PUBLICATION-412 fresh" in run.log and "call=2" in run.log
    proven(SCENARIOS / "publish_412_uas.xml")


@pytest.mark.parametrize(("transport", "second"), [("udp", "refresh"), ("tcp", "modify")])
def test_publish_412_client_keeping_its_call_id(transport: str, second: str) -> None:
    sipp = SippServer(SCENARIOS / "publish_412_uas.xml", transport=transport, calls=2)
    outcome = raw("publish", sipp, "--steps", f"initial,{second},fresh")
    run = sipp.finish()
    assert run.succeeded, run.explain()
    assert outcome["codes"] == [200, 412, 200]
    assert "PUBLICATION-412 fresh" in run.log and "call=1" in run.log


def test_publish_412_fresh_publish_must_not_carry_if_match() -> None:
    sipp = SippServer(SCENARIOS / "publish_412_uas.xml", calls=2, timeout=10)
    outcome = raw("publish", sipp, "--steps", "initial,refresh,refresh", "--seconds", 2)
    run = sipp.finish()
    assert not run.succeeded
    assert "the PUBLISH after 412 carries SIP-If-Match" in run.stderr + run.errors, run.explain()
    assert outcome["codes"] == [200, 412, None]


# --- refer_uac.xml ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("transport", "final", "notifies"),
    [("udp", 202, 2), ("udp", 200, 1), ("udp", 202, 3), ("tcp", 202, 2), ("tcp", 200, 3)],
)
def test_refer_uac_follows_the_notifies(transport: str, final: int, notifies: int, proven: Prove) -> None:
    peer = ListeningPeer("raw_peer", "refer-server", "--transport", transport, "--final", final, "--notifies", notifies)
    try:
        result = run_sipp(
            SCENARIOS / "refer_uac.xml",
            sip_target("127.0.0.1", peer.port),
            transport=transport,
            local_port=free_port() if transport == "udp" else None,
            extra=["-s", "bob"],
        )
        outcome = peer.result()
    finally:
        peer.stop()
    assert result.succeeded, result.stderr + result.log
    assert outcome["answers"] == [200] * notifies
    assert outcome["refer_to"].startswith("<sip:carol@127.0.0.1:")
    assert outcome["refer"].startswith(f"REFER sip:bob@127.0.0.1:{peer.port} SIP/2.0")
    assert f"REFER-DONE notifies={notifies}" in result.log
    assert result.log.count("REFER-NOTIFY state=active;expires=60 sipfrag=SIP/2.0 100 Trying") == notifies - 1
    assert "REFER-NOTIFY state=terminated;reason=noresource sipfrag=SIP/2.0 200 OK" in result.log
    proven(SCENARIOS / "refer_uac.xml")


@pytest.mark.parametrize(
    ("fault", "complaint"),
    [
        ("from-tag", "NOTIFY From tag 'not-the-dialog-tag' is not the 2xx To tag"),
        ("event", "Failed regexp match: looking in ' presence'"),
        ("content-type", "Failed regexp match: looking in ' text/plain'"),
    ],
)
def test_refer_uac_refuses_foreign_notifies(fault: str, complaint: str) -> None:
    peer = ListeningPeer("raw_peer", "refer-server", "--fault", fault, "--seconds", 3)
    try:
        result = run_sipp(
            SCENARIOS / "refer_uac.xml",
            sip_target("127.0.0.1", peer.port),
            local_port=free_port(),
            timeout=5,
            extra=["-trace_err"],
        )
    finally:
        peer.stop()
    assert not result.succeeded
    assert complaint in result.stderr, result.stderr + result.log


# --- malformed/ ------------------------------------------------------------------


@needs_pjsua2
@pytest.mark.parametrize("transport", ["udp", "tcp"])
@pytest.mark.parametrize("scenario", MALFORMED_SCENARIOS, ids=lambda path: path.stem)
def test_malformed_request_gets_400_from_pjsip(scenario: Path, transport: str, proven: Prove) -> None:
    peer = ListeningPeer("pjsua2_peer", "uas", "--seconds", 60)
    try:
        result = run_sipp(
            scenario,
            sip_target("127.0.0.1", peer.port),
            transport=transport,
            local_port=free_port() if transport == "udp" else None,
        )
    finally:
        peer.stop()
    assert result.succeeded, result.stderr + result.log
    assert re.search(rf"MALFORMED {scenario.stem} answered: 400 ", result.log), result.log
    assert "SIP/2.0 200 OK" in result.messages  # the OPTIONS after it
    proven(scenario)


# --- options_uac.xml, request_uac.xml.in, malformed_request.xml.in -------------------
# pjsua with no application logic answers what arrives (as in tests/peers/pjsua2_peer.py's uas).


@pytest.fixture
def pjsua2_uas(pjsua2_installed: None) -> Iterator[ListeningPeer]:
    peer = ListeningPeer("pjsua2_peer", "uas", "--seconds", 60)
    yield peer
    peer.stop()


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_options_uac_gets_200_with_allow_accept_supported(
    pjsua2_uas: ListeningPeer, transport: str, proven: Prove
) -> None:
    result = run_sipp(SCENARIOS / "options_uac.xml", pjsua2_uas.target, transport=transport)
    assert result.succeeded, result.explain()
    logged = re.search(r"RESPONSE-HEADERS Allow=(.*) Accept=(.*) Supported=(.*)", result.log)
    assert logged, result.log
    allow, accept, supported = (value.strip() for value in logged.groups())
    assert "OPTIONS" in allow and "INVITE" in allow, allow
    assert "application/sdp" in accept, accept
    assert "replaces" in supported, supported
    proven(SCENARIOS / "options_uac.xml")


def test_options_uac_fails_without_an_answer() -> None:
    """Nobody listening: the scenario must fail (its timeout), not pass on silence."""
    result = run_sipp(SCENARIOS / "options_uac.xml", sip_target("127.0.0.1", free_port()), timeout=3)
    assert not result.succeeded
    assert "RESPONSE-HEADERS" not in result.log


@pytest.mark.parametrize(
    ("method", "expected", "in_dialog"),
    [
        ("OPTIONS", 200, False),  # answered by pjsua's OPTIONS handler
        ("INFO", 481, True),  # a request in a dialog pjsua does not know
    ],
)
def test_request_uac_template_gets_the_expected_answer(
    pjsua2_uas: ListeningPeer, method: str, expected: int, in_dialog: bool, proven: Prove
) -> None:
    result = run_sipp(request_scenario(method, expected, in_dialog), pjsua2_uas.target)
    assert result.succeeded, result.explain()
    assert f"SIP/2.0 {expected} " in result.messages, result.messages
    assert "RESPONSE-HEADERS Allow=" in result.log, result.log
    proven(SCENARIOS / "request_uac.xml.in")


def test_request_uac_template_fails_on_another_answer(pjsua2_uas: ListeningPeer) -> None:
    """The template really checks the code: OPTIONS expected to get 404 fails against pjsua's 200."""
    result = run_sipp(request_scenario("OPTIONS", 404), pjsua2_uas.target, timeout=3)
    assert not result.succeeded
    assert "SIP/2.0 200 " in result.messages, result.messages


# The template's own cases are faults PJSIP drops without an answer (the Engine answers them itself,
# tests/test_sipp_signalling.py); these are faults PJSIP answers with 400, as malformed/ shows.
PJSIP_REFUSES = {
    "subscribe-without-event": (
        "SUBSCRIBE",
        '"SIPp" <sip:sipp@[local_ip]>;tag=[call_number]',
        "1 SUBSCRIBE",
        "      Contact: <sip:sipp@[local_ip]:[local_port]>",
    ),
}


@pytest.mark.parametrize("transport", ["udp", "tcp"])
@pytest.mark.parametrize("name", sorted(PJSIP_REFUSES))
def test_malformed_request_template_gets_400_then_200_from_pjsip(
    pjsua2_uas: ListeningPeer, tmp_path: Path, name: str, transport: str, proven: Prove
) -> None:
    scenario = malformed_request_scenario(tmp_path, name, PJSIP_REFUSES[name])
    result = run_sipp(scenario, pjsua2_uas.target, transport=transport)
    assert result.succeeded, result.explain()
    assert "BAD-REQUEST-ANSWERED" in result.log, result.log
    assert re.search(r"^SIP/2\.0 200 OK\r?$", result.messages, re.MULTILINE), result.messages  # the OPTIONS after it
    proven(SCENARIOS / "malformed_request.xml.in")


@pytest.mark.parametrize("name", ["cseq-too-large", "header-without-colon"])
def test_malformed_request_template_fails_without_the_400(pjsua2_uas: ListeningPeer, tmp_path: Path, name: str) -> None:
    """PJSIP drops these without an answer: the scenario must fail, not pass on silence."""
    result = run_sipp(malformed_request_scenario(tmp_path, name), pjsua2_uas.target, timeout=3)
    assert not result.succeeded
    assert "BAD-REQUEST-ANSWERED" not in result.log


def test_every_scenario_is_proven_here() -> None:
    """Every scenario file of tests/scenarios/ and malformed/ (templates included) was proven by a test of this
    module that ran and passed in this session (they run before this one): a skipped proof proves nothing."""
    missing = unproven(SCENARIOS) + unproven(MALFORMED)
    assert not missing, f"scenarios that no test proved in this run: {missing}"
