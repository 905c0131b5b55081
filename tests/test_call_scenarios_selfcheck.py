"""The call scenarios in tests/scenarios/calls/ are right, proven against stand-ins.

The Engine's Invitation will play the other side of these SIPp scenarios;
until it can, each is run against a peer known to behave: pjsua2 (PJSIP
2.15, one Endpoint per subprocess: tests/peers/pjsua2_call_peer.py)
and, for the basic call, the hang-up and hold by SIPp and the unusable SDP
answer (which pjsua2 does not play: it sends its BYE before the ACK),
baresip (tests/peers/baresip.py). Where a peer can be had that does not do what a
scenario checks (a stand-in told to misbehave, or baresip 1.0, which has no
100rel, no session timer and ignores a forked 2xx), the scenario is run
against it too, to show that it fails there.

UAC scenarios (SIPp calls) run with devkit.sipp.run_sipp against a
listening stand-in ("callee"); UAS scenarios (SIPp answers) with SippServer
while the stand-in calls it ("caller"). Every scenario file must be proven by a
test that ran and passed in the same session (test_every_call_scenario_is_proven_here).
"""

from __future__ import annotations

import re
import socket
import time
from pathlib import Path

import pytest

from devkit.audio import dominant_frequency, read_wav, rms_dbfs
from devkit.g711 import tone_samples, write_pcmu_wav
from devkit.ports import free_port
from devkit.sipp import BackgroundSipp, SippResult, SippServer, run_sipp
from tests.peers.baresip import Baresip
from tests.support.peer_programs import ListeningPeer, run_peer
from tests.support.proofs import Prove, unproven
from tests.support.scenarios import CALLS

pytestmark = pytest.mark.timeout(120)

SCENARIO_FOLDER = CALLS  # where the proven fixture takes a bare scenario name

# pjsua2 or baresip missing fails these (scripts/bootstrap installs both), it does not skip them: Baresip()
# raises naming the missing package.
needs_pjsua2 = pytest.mark.usefixtures("pjsua2_installed")


def sipp_ports(transport: str) -> list[str]:
    """A free signalling port is given by the caller; a free media port here (SIPp binds -mp)."""
    return ["-mp", str(free_port())]


def local_port(transport: str) -> int:
    return free_port(socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM)


def Callee(*args: str | int) -> ListeningPeer:  # reads like the class it returns
    """pjsua2_call_peer.py callee: listens (READY <port>) while SIPp calls it."""
    return ListeningPeer("pjsua2_call_peer", "callee", *args)


# In SIPp options: the callee's own port (for a Refer-To that points back at it).
CALLEE_PORT = "<callee port>"


def with_callee_port(options: list, callee: ListeningPeer | Baresip) -> list[str]:
    return [str(callee.port) if option == CALLEE_PORT else str(option) for option in options]


def sipp_plays(
    callee: ListeningPeer | Baresip,
    scenario: str,
    *options: str | int,
    transport: str = "udp",
    timeout: float = 20,
    background: bool = False,
) -> SippResult | BackgroundSipp:
    """SIPp (as bob) plays CALLS/`scenario` against the callee, `options` added (CALLEE_PORT filled in)."""
    return run_sipp(
        CALLS / scenario,
        callee.target,
        transport=transport,
        local_port=local_port(transport),
        timeout=timeout,
        extra=["-s", "bob", *sipp_ports(transport), *with_callee_port(list(options), callee)],
        background=background,
    )


def sipp_calls(
    callee: ListeningPeer, scenario: str, *options: str | int, transport: str = "udp", timeout: float = 20
) -> tuple[SippResult, dict]:
    """sipp_plays against a pjsua2 callee: SIPp's run and the callee's RESULT."""
    result = sipp_plays(callee, scenario, *options, transport=transport, timeout=timeout)
    assert isinstance(result, SippResult)
    return result, callee.result()


def sipp_says(result: SippResult) -> str:
    """What SIPp said of a run, for an assertion's message: its stderr, log and message trace (their ends)."""
    return result.stderr[-3000:] + result.log + result.messages[-4000:]


def received(*methods: str, **more: object) -> dict:
    """What a stand-in must report: the requests it received, in order, and any other RESULT keys."""
    return {"requests_received": list(methods), **more}


def hold_log(tag: str) -> list[str]:
    """The log lines of the three hold steps (a=sendonly, a=inactive, a=sendrecv offered)."""
    return [
        f"{tag} offer=sendonly answer=recvonly",
        f"{tag} offer=inactive answer=inactive",
        f"{tag} offer=sendrecv answer=sendrecv",
    ]


# The stand-in's "sdp_sent"/"sdp_received" for the hold steps: the offers
# (in re-INVITEs) and their mirrored answers (in the 200s).
HOLD_OFFERS = [["INVITE", "sendonly"], ["INVITE", "inactive"], ["INVITE", "sendrecv"]]
HOLD_ANSWERS = [["200", "recvonly"], ["200", "inactive"], ["200", "sendrecv"]]


def check(log: str, logged: list[str], outcome: dict, expected: dict) -> None:
    """SIPp logged each of `logged`; the stand-in's RESULT has each key of `expected` with that value."""
    for line in logged:
        assert line in log, log
    for key, value in expected.items():
        assert outcome[key] == value, (key, outcome)


def caller(sipp: SippServer, *args: str | int, timeout: float = 60.0) -> dict:
    """pjsua2_call_peer.py caller: calls the SIPp UAS and returns its RESULT."""
    return run_peer(
        "pjsua2_call_peer", "caller", "--peer-port", sipp.port, "--transport", sipp.transport, *args, timeout=timeout
    )


# --- UAC scenarios: SIPp calls pjsua2 ------------------------------------------

UAC_CASES = [
    # scenario, callee options, SIPp options, log lines expected, what the callee reports
    ("call_bye_uac.xml", [], ["-set", "talk_ms", "500"], ["CALL-ANSWERED to-tag="], received("INVITE", "ACK", "BYE")),
    ("call_wait_bye_uac.xml", ["--hangup-ms", 500], [], ["CALL-ANSWERED", "PEER-BYE"], received("INVITE", "ACK")),
    (
        "call_cancel_uac.xml",
        ["--answer", "ring"],
        ["-set", "ring_ms", "300"],
        ["CANCELLED"],
        received("INVITE", "CANCEL", "ACK"),
    ),
    (
        "call_refused_uac.xml",
        ["--answer", "486"],
        [],
        ["REFUSED code=486 reason=Busy Here"],
        received("INVITE", "ACK", invite_responses_sent=["SIP/2.0 100 Trying", "SIP/2.0 486 Busy Here"]),
    ),
    (
        "call_refused_uac.xml",
        ["--answer", "603"],
        [],
        ["REFUSED code=603 reason=Decline"],
        received("INVITE", "ACK", invite_responses_sent=["SIP/2.0 100 Trying", "SIP/2.0 603 Decline"]),
    ),
    (
        "call_early_media_uac.xml",
        ["--answer", "early", "--ring-ms", 300],
        ["-set", "talk_ms", "200"],
        ["EARLY-MEDIA 183 m=audio", "CALL-ANSWERED same-sdp o=", "BYE-ANSWERED"],
        received(
            "INVITE",
            "ACK",
            "BYE",
            invite_responses_sent=["SIP/2.0 100 Trying", "SIP/2.0 183 Session Progress", "SIP/2.0 200 OK"],
        ),
    ),
    (
        "call_late_offer_uac.xml",
        [],
        ["-set", "talk_ms", "300"],
        ["LATE-OFFER m=audio", "CALL-ANSWERED"],
        received("INVITE", "ACK", "BYE"),
    ),
    (
        "call_hold_uac.xml",
        [],
        ["-set", "step_ms", "200"],
        hold_log("HOLD-ANSWER"),
        received(*["INVITE", "ACK"] * 4, "BYE", sdp_sent=[["200", "sendrecv"], *HOLD_ANSWERS]),
    ),
    (
        "call_held_uac.xml",
        ["--hold"],
        [],
        [*hold_log("HOLD-OFFER"), "BYE-ANSWERED"],
        received(
            "INVITE",
            "ACK",
            "BYE",
            requests_sent=["INVITE", "ACK"] * 3,
            sdp_sent=[["200", "sendrecv"], *HOLD_OFFERS],
            sdp_received=[["INVITE", "sendrecv"], *HOLD_ANSWERS],
        ),
    ),
    (
        "call_100rel_uac.xml",
        ["--answer", "prack"],
        [],
        ["RELIABLE-18X status=180 rseq=", "PRACK-OK"],
        received("INVITE", "PRACK", "ACK", "BYE"),
    ),
    (
        "call_100rel_uac.xml",
        ["--answer", "prack"],
        ["-set", "rel_header", "Supported"],
        ["RELIABLE-18X status=180 rseq=", "PRACK-OK"],
        received("INVITE", "PRACK", "ACK", "BYE"),
    ),
    (
        "call_timer_uac.xml",
        [],
        ["-set", "refresh_ms", "1500"],
        ["SESSION-EXPIRES initial= 90;refresher=uac reinvite= 90;refresher=uac update= 90;refresher=uac require=timer"],
        received("INVITE", "ACK", "INVITE", "ACK", "UPDATE", "BYE"),
    ),
    ("bye_unknown_dialog_uac.xml", ["--seconds", 3], [], ["BYE-481"], received("BYE")),
    # The callee leaves the re-INVITE unanswered (100 only); SIPp's CANCEL
    # gets 200 and the re-INVITE 487; the session keeps the first answer.
    (
        "reinvite_cancelled_by_uac.xml",
        ["--defer-reinvite"],
        ["-set", "cancel_ms", "300"],
        ["REINVITE-TRYING", "CANCEL-OK", "REINVITE-487"],
        received(
            "INVITE",
            "ACK",
            "INVITE",
            "CANCEL",
            "ACK",
            "BYE",
            sdp_sent=[["200", "sendrecv"]],
            invite_responses_sent=[
                "SIP/2.0 100 Trying",
                "SIP/2.0 200 OK",
                "SIP/2.0 100 Trying",
                "SIP/2.0 487 Request Terminated",
            ],
        ),
    ),
    # A re-INVITE without SDP: pjsua offers its current SDP in the 200 and
    # takes SIPp's answer from the ACK.
    (
        "reinvite_without_sdp_uac.xml",
        [],
        [],
        ["REINVITE-OFFER m=audio"],
        received("INVITE", "ACK", "INVITE", "ACK", "BYE", sdp_sent=[["200", "sendrecv"], ["200", "sendrecv"]]),
    ),
]


@needs_pjsua2
@pytest.mark.parametrize(
    ("scenario", "options", "extra", "logged", "expected"),
    UAC_CASES,
    ids=[f"{c[0]}-{i}" for i, c in enumerate(UAC_CASES)],
)
def test_uac_scenario_against_pjsua2(
    scenario: str, options: list, extra: list, logged: list, expected: dict, proven: Prove
) -> None:
    callee = Callee("--seconds", 20, *options)
    result, outcome = sipp_calls(callee, scenario, *extra)
    assert result.succeeded, sipp_says(result)
    check(result.log, logged, outcome, expected)
    proven(scenario)


@needs_pjsua2
def test_dtmf_from_sipp_reaches_pjsua2(proven: Prove) -> None:
    """SIPp plays RFC 4733 events from Debian's pcaps; pjsua2 reports each digit (onDtmfDigit), in order."""
    callee = Callee("--seconds", 20)
    result, outcome = sipp_calls(callee, "call_dtmf_pcap_uac.xml")
    assert result.succeeded, sipp_says(result)
    check(result.log, ["CALL-ANSWERED to-tag=", "DTMF-SENT 1479*#"], outcome, received("INVITE", "ACK", "BYE"))
    assert outcome["calls"][0]["dtmf"] == "1479*#", outcome
    proven("call_dtmf_pcap_uac.xml")


@needs_pjsua2
@pytest.mark.parametrize(
    ("scenario", "options", "extra"),
    [
        ("call_bye_uac.xml", [], ["-set", "talk_ms", "200"]),
        ("call_hold_uac.xml", [], ["-set", "step_ms", "200"]),
        ("call_held_uac.xml", ["--hold"], []),
    ],
    ids=["bye", "hold", "held"],
)
def test_uac_scenario_over_tcp(scenario: str, options: list, extra: list, proven: Prove) -> None:
    callee = Callee("--seconds", 20, *options)
    result, outcome = sipp_calls(callee, scenario, *extra, transport="tcp")
    assert result.succeeded, result.stderr[-3000:] + result.log
    assert outcome["calls"][0]["confirmed"] and outcome["calls"][0]["disconnected"], outcome
    assert "Via: SIP/2.0/TCP" in result.messages
    proven(scenario)


@needs_pjsua2
def test_transferred_by_sipp(proven: Prove) -> None:
    """pjsua2 accepts SIPp's REFER and calls the target: itself (refer_to_port), which rings, then answers.

    The NOTIFYs report that call: 100 Trying (active), 180 Ringing, 200 OK
    (terminated), the sipfrags an Engine's application reports too.
    """
    callee = Callee("--seconds", 20, "--ring-ms", 300)
    result, outcome = sipp_calls(callee, "call_transferred_by_peer_uac.xml", "-set", "refer_to_port", CALLEE_PORT)
    assert result.succeeded, sipp_says(result)
    notified = [line.split("NOTIFY sipfrag=", 1)[1] for line in result.log.splitlines() if "NOTIFY sipfrag=" in line]
    assert [n.split(" event=")[0] for n in notified] == [
        "SIP/2.0 100 Trying state=active",
        "SIP/2.0 180 Ringing state=active",
        "SIP/2.0 200 OK state=terminated",
    ]
    assert "REFER-ACCEPTED" in result.log and "TRANSFER-DONE" in result.log, result.log
    transferee, target = outcome["calls"]
    assert transferee["transfer"] == [["refer", f"<sip:carol@127.0.0.1:{callee.port}>"]], outcome
    assert transferee["referred_call"]["confirmed"] and target["confirmed"], outcome
    assert outcome["requests_received"] == ["INVITE", "ACK", "REFER", "INVITE", "ACK", "BYE"], outcome
    assert outcome["requests_sent"] == ["NOTIFY", "INVITE", "NOTIFY", "NOTIFY", "ACK"], outcome
    proven("call_transferred_by_peer_uac.xml")


@needs_pjsua2
def test_transfer_received_by_sipp(proven: Prove) -> None:
    """pjsua2 transfers SIPp (pj.Call.xfer), takes SIPp's NOTIFYs, then hangs up."""
    callee = Callee("--seconds", 20, "--transfer", "sip:carol@127.0.0.1:5099", "--hangup-ms", 200)
    result, outcome = sipp_calls(callee, "call_transfer_received_uac.xml")
    assert result.succeeded, sipp_says(result)
    assert "REFER-RECEIVED refer-to= sip:carol@127.0.0.1:5099" in result.log, result.log
    assert "NOTIFIES-ANSWERED" in result.log, result.log
    # pjsua reports the 202 as 100 "Accepted", then each NOTIFY's sipfrag.
    assert outcome["calls"][0]["transfer"] == [[100, "Accepted", False], [100, "Trying", False], [200, "OK", True]]
    assert outcome["requests_sent"] == ["REFER", "BYE"], outcome
    assert outcome["requests_received"] == ["INVITE", "ACK", "NOTIFY", "NOTIFY"], outcome
    proven("call_transfer_received_uac.xml")


def cseqs(messages: str, start: str) -> list[str]:
    """The CSeq of each message in SIPp's message trace whose first line starts with `start`."""
    return re.findall(rf"^{re.escape(start)}[^\n]*\n(?:[^\n]+\n)*?CSeq:\s*([^\r\n]+)", messages, re.MULTILINE)


@needs_pjsua2
def test_reinvite_cancel_received_by_sipp(proven: Prove) -> None:
    """pjsua2's re-INVITE, cancelled by PJSIP's own pjsip_inv_cancel_reinvite (pjsua2 wraps no call for it).

    The CANCEL repeats the re-INVITE's CSeq number and the 487 SIPp builds
    from it carries that number (PJSIP would ACK one that did not: it
    matches responses on the branch).
    """
    callee = Callee("--seconds", 20, "--take-back", "cancel")
    result, outcome = sipp_calls(callee, "reinvite_cancel_received_uac.xml")
    assert result.succeeded, sipp_says(result)
    check(
        result.log,
        ["REINVITE-RECEIVED direction=sendonly", "CANCEL-RECEIVED", "ACK-487-RECEIVED"],
        outcome,
        received(
            "INVITE",
            "ACK",
            "BYE",
            requests_sent=["INVITE", "CANCEL", "ACK"],
            sdp_sent=[["200", "sendrecv"], ["INVITE", "sendonly"]],
            invite_responses_received=["SIP/2.0 100 Trying", "SIP/2.0 487 Request Terminated"],
        ),
    )
    reinvite = cseqs(result.messages, "INVITE sip:sipp@")[0]
    number = reinvite.split()[0]
    assert reinvite == f"{number} INVITE"
    assert cseqs(result.messages, "CANCEL ") == [f"{number} CANCEL"]
    assert cseqs(result.messages, "SIP/2.0 487 ") == [reinvite]
    assert cseqs(result.messages, "ACK sip:sipp@") == [f"{number} ACK"]
    proven("reinvite_cancel_received_uac.xml")


UAC_FAILING = [
    # scenario, callee options, SIPp options, seen in SIPp's stderr or log, what the callee does instead
    ("call_cancel_uac.xml", [], [], "received 'SIP/2.0 200 OK", "answers at once instead of ringing"),
    (
        "call_100rel_uac.xml",
        ["--ring-ms", 300],
        ["-set", "rel_header", "Supported"],
        "rseq= require=",
        "does not do 100rel: a plain 180 without RSeq, then 200",
    ),
    ("call_early_media_uac.xml", [], [], "received 'SIP/2.0 200 OK", "answers 200 at once, without a 183"),
    # SIPp takes the 200 for a retransmission of the call's first one, ACKs
    # it and waits for the 100 it wants until its timeout.
    (
        "reinvite_cancelled_by_uac.xml",
        [],
        ["-set", "cancel_ms", "300"],
        "reinvite_cancelled_by_uac timed out",
        "answers the re-INVITE at once",
    ),
    (
        "reinvite_cancel_received_uac.xml",
        ["--take-back", "bye"],
        [],
        "unexpected BYE",
        "hangs up instead of cancelling its re-INVITE",
    ),
    ("call_transfer_received_uac.xml", ["--hangup-ms", 200], [], "unexpected BYE", "hangs up without transferring"),
    (
        "call_transferred_by_peer_uac.xml",
        ["--refer-answer", 603],
        ["-set", "refer_to_port", CALLEE_PORT],
        "while expecting '202'",
        "refuses the REFER",
    ),
]


@needs_pjsua2
@pytest.mark.parametrize(
    ("scenario", "options", "extra", "seen", "instead"), UAC_FAILING, ids=[c[4] for c in UAC_FAILING]
)
def test_uac_scenario_fails_against_a_callee_that_does_not_play_it(
    scenario: str, options: list, extra: list, seen: str, instead: str
) -> None:
    callee = Callee("--seconds", 10, *options)
    result, _ = sipp_calls(callee, scenario, *extra, timeout=4)
    assert not result.succeeded, result.log
    assert seen in result.stderr + result.log, result.stderr[-3000:] + result.log


# --- UAS scenarios: pjsua2 calls SIPp --------------------------------------------

UAS_CASES = [
    # scenario, caller options, SIPp options, log lines expected, expected caller outcome
    (
        "call_answer_bye_uas.xml",
        [],
        ["-set", "talk_ms", "500"],
        ["INVITE-RECEIVED", "ACK-RECEIVED", "BYE-ANSWERED"],
        {"confirmed": True, "disconnected": True, "requests_received": ["BYE"], "requests_sent": ["INVITE", "ACK"]},
    ),
    (
        "call_answer_wait_bye_uas.xml",
        ["--hangup-ms", 500],
        [],
        ["ACK-RECEIVED", "PEER-BYE"],
        {"confirmed": True, "requests_sent": ["INVITE", "ACK", "BYE"]},
    ),
    (
        "call_ring_cancel_uas.xml",
        ["--cancel-ms", 300],
        [],
        ["CANCEL-RECEIVED", "ACK-RECEIVED"],
        {"last_code": 487, "requests_sent": ["INVITE", "CANCEL", "ACK"]},
    ),
    ("call_busy_486_uas.xml", [], [], ["ACK-RECEIVED"], {"last_code": 486, "requests_sent": ["INVITE", "ACK"]}),
    ("call_decline_603_uas.xml", [], [], ["ACK-RECEIVED"], {"last_code": 603, "requests_sent": ["INVITE", "ACK"]}),
    (
        "call_early_media_uas.xml",
        [],
        ["-set", "early_ms", "500", "-set", "talk_ms", "300"],
        ["ACK-RECEIVED", "BYE-ANSWERED"],
        {
            "confirmed": True,
            "invite_responses_received": ["SIP/2.0 100 Trying", "SIP/2.0 183 Session Progress", "SIP/2.0 200 OK"],
        },
    ),
    (
        "call_late_offer_uas.xml",
        ["--late-offer"],
        ["-set", "talk_ms", "300"],
        ["INVITE-RECEIVED without SDP", "LATE-ANSWER m=audio", "BYE-ANSWERED"],
        received("BYE", confirmed=True, requests_sent=["INVITE", "ACK"], sdp_sent=[["ACK", "sendrecv"]]),
    ),
    (
        "call_hold_uas.xml",
        [],
        ["-set", "step_ms", "200"],
        [*hold_log("HOLD-ANSWER"), "BYE-ANSWERED"],
        received(
            *["INVITE", "ACK"] * 3,
            "BYE",
            sdp_received=[["200", "sendrecv"], *HOLD_OFFERS],
            sdp_sent=[["INVITE", "sendrecv"], *HOLD_ANSWERS],
        ),
    ),
    (
        "call_held_uas.xml",
        ["--hold", "--hangup-ms", 200],
        [],
        [*hold_log("HOLD-OFFER"), "PEER-BYE"],
        received(
            requests_sent=[*["INVITE", "ACK"] * 4, "BYE"],
            sdp_sent=[["INVITE", "sendrecv"], *HOLD_OFFERS],
            sdp_received=[["200", "sendrecv"], *HOLD_ANSWERS],
        ),
    ),
    (
        "call_100rel_uas.xml",
        ["--prack", "optional"],
        ["-set", "talk_ms", "200"],
        ["100rel in Supported", "PRACK-RECEIVED rack=4711 ", "ACK-RECEIVED", "BYE-ANSWERED"],
        received(
            "BYE",
            requests_sent=["INVITE", "PRACK", "ACK"],
            invite_responses_received=["SIP/2.0 100 Trying", "SIP/2.0 180 Ringing", "SIP/2.0 200 OK"],
        ),
    ),
    (
        "call_100rel_uas.xml",
        ["--prack", "mandatory"],
        ["-set", "provisional", "183", "-set", "talk_ms", "200"],
        ["100rel in", "PRACK-RECEIVED rack=4711 ", "ACK-RECEIVED", "BYE-ANSWERED"],
        received(
            "BYE",
            requests_sent=["INVITE", "PRACK", "ACK"],
            sdp_received=[["183", "sendrecv"], ["200", "sendrecv"]],
            invite_responses_received=["SIP/2.0 100 Trying", "SIP/2.0 183 Session Progress", "SIP/2.0 200 OK"],
        ),
    ),
    # The caller takes refresher=uas and so does not refresh itself: it only answers SIPp's refreshes.
    (
        "call_timer_uas.xml",
        ["--timer"],
        ["-set", "refresh_ms", "500"],
        [
            "session-expires=90",
            "SESSION-EXPIRES answered=90;refresher=uas reinvite= 90;refresher=uac update= 90;refresher=uac",
            "BYE-ANSWERED",
        ],
        received("INVITE", "ACK", "UPDATE", "BYE", requests_sent=["INVITE", "ACK"]),
    ),
    # pjsua2 (PJSIP 2.15) keeps the first 2xx's dialog and ACKs, then BYEs, the other one.
    (
        "call_forked_uas.xml",
        [],
        [],
        [
            "ACK dialog=forkB uri=sip:bob-b@",
            "ACK dialog=forkA uri=sip:bob-a@",
            "BYE dialog=forkA uri=sip:bob-a@",
            "BYE-ANSWERED dialog=forkB",
        ],
        received("BYE", confirmed=True, requests_sent=["INVITE", "ACK", "ACK", "BYE"]),
    ),
]


@needs_pjsua2
@pytest.mark.parametrize("transport", ["udp", "tcp"])
@pytest.mark.parametrize(
    ("scenario", "options", "extra", "logged", "expected"), UAS_CASES, ids=[c[0] for c in UAS_CASES]
)
def test_uas_scenario_against_pjsua2(
    scenario: str, options: list, extra: list, logged: list, expected: dict, transport: str, proven: Prove
) -> None:
    sipp = SippServer(CALLS / scenario, transport=transport, timeout=20, extra=[*sipp_ports(transport), *extra])
    outcome = caller(sipp, *options)
    run = sipp.finish()
    assert run.succeeded, run.explain()
    check(run.log, logged, outcome, expected)
    assert "m=audio" in run.messages and "a=rtpmap:0 PCMU/8000" in run.messages
    proven(scenario)


UAS_FAILING = [
    # scenario, caller options, what SIPp reports, what the caller does instead
    (
        "call_late_offer_uas.xml",
        [],
        "call_late_offer_uas: the INVITE must come without SDP",
        "offers SDP in its INVITE",
    ),
    ("call_held_uas.xml", ["--hangup-ms", 200], "unexpected BYE", "hangs up without holding the call"),
    # pjsua2 (PJSIP 2.15) sends its BYE for the unusable answer before the ACK.
    ("call_bad_answer_uas.xml", [], "unexpected BYE", "sends its BYE before the ACK for the 2xx"),
]


@needs_pjsua2
@pytest.mark.parametrize(("scenario", "options", "error", "instead"), UAS_FAILING, ids=[c[3] for c in UAS_FAILING])
def test_uas_scenario_fails_against_a_caller_that_does_not_play_it(
    scenario: str, options: list, error: str, instead: str
) -> None:
    sipp = SippServer(CALLS / scenario, timeout=10, extra=sipp_ports("udp"))
    caller(sipp, "--seconds", 3, *options)
    run = sipp.finish()
    assert not run.succeeded, run.log
    assert error in run.errors, run.explain()


def auth_407_call(password: str) -> tuple[SippResult, dict]:
    """pjsua2 calls call_auth_407_uas.xml (password "s3cret") with `password` for realm sipsimple.test."""
    sipp = SippServer(
        CALLS / "call_auth_407_uas.xml", timeout=20, extra=[*sipp_ports("udp"), "-set", "password", "s3cret"]
    )
    outcome = caller(sipp, "--password", password, "--hangup-ms", 200, "--seconds", 5)
    run = sipp.finish()
    assert outcome["invite_responses_received"][0] == "SIP/2.0 407 Proxy Authentication Required", outcome
    assert outcome["requests_sent"][:3] == ["INVITE", "ACK", "INVITE"], outcome
    return run, outcome


@needs_pjsua2
def test_auth_407_uas_answers_the_right_credentials(proven: Prove) -> None:
    run, outcome = auth_407_call("s3cret")
    assert run.succeeded, run.explain()
    assert "AUTH-OK user=alice" in run.log and "PEER-BYE" in run.log, run.log
    assert outcome["confirmed"] and outcome["requests_sent"] == ["INVITE", "ACK", "INVITE", "ACK", "BYE"], outcome
    proven("call_auth_407_uas.xml")


@needs_pjsua2
def test_auth_407_uas_fails_on_a_wrong_password() -> None:
    """The digest is checked for real: a wrong password gets 403 and fails the scenario."""
    run, outcome = auth_407_call("not-s3cret")
    assert not run.succeeded
    assert "credentials rejected: wrong digest response (password) (user=alice)" in run.errors, run.explain()
    assert outcome["last_code"] == 403 and outcome["requests_sent"] == ["INVITE", "ACK", "INVITE", "ACK"], outcome


# --- media: SIPp plays RTP ---------------------------------------------------------


@needs_pjsua2
def test_rtp_stream_uas_plays_the_tone(tmp_path: Path, proven: Prove) -> None:
    """call_rtp_stream_uas.xml: the 1 kHz tone SIPp streams is what pjsua2 records."""
    played = write_tone_file(tmp_path)
    sipp = SippServer(
        CALLS / "call_rtp_stream_uas.xml",
        timeout=20,
        files={"tone.pcmu.wav": played},
        extra=[*sipp_ports("udp"), "-set", "play_ms", "1500"],
    )
    recording = tmp_path / "received.wav"
    outcome = caller(sipp, "--record", recording)
    run = sipp.finish()
    assert run.succeeded, run.explain()
    assert outcome["confirmed"] and outcome["disconnected"], outcome
    samples, rate = read_wav(recording)
    middle = samples[len(samples) // 4 : len(samples) // 4 + rate // 2]
    assert abs(dominant_frequency(middle, rate) - 1000) <= 5
    assert -12 < rms_dbfs(middle) < -6  # a sine peaking at -6 dBFS has an RMS of -9 dBFS
    proven("call_rtp_stream_uas.xml")


@needs_pjsua2
def test_rtp_stream_uas_refuses_an_offer_without_pcmu(tmp_path: Path) -> None:
    """The scenario's own check: no PCMU in the offer, no call (pjsua2 offers PCMA only)."""
    played = write_tone_file(tmp_path)
    sipp = SippServer(
        CALLS / "call_rtp_stream_uas.xml", timeout=8, files={"tone.pcmu.wav": played}, extra=[*sipp_ports("udp")]
    )
    caller(sipp, "--codecs", "PCMA", "--seconds", 3, timeout=30)
    run = sipp.finish()
    assert not run.succeeded
    assert "the offer has no PCMU" in run.errors + run.stderr + run.log


def write_tone_file(directory: Path) -> Path:
    """1 s of 1 kHz peaking at half scale, mu-law encoded, as SIPp's rtp_stream sends it."""
    return write_pcmu_wav(directory / "tone.pcmu.wav", tone_samples(1000, 1.0, level=0.5))


# --- baresip -----------------------------------------------------------------------


def test_baresip_answers_and_sipp_hangs_up(tmp_path: Path, proven: Prove) -> None:
    with Baresip(tmp_path / "bob") as bob:
        result = sipp_plays(bob, "call_bye_uac.xml", "-set", "talk_ms", "1000", timeout=15)
        assert result.succeeded, result.stderr[-3000:] + result.log
        assert bob.wait_established(5), bob.event_types()
        closed = bob.wait_closed(5)
        assert closed is not None and closed["param"] == "Connection reset by peer", bob.event_types()
        assert closed["peeruri"].startswith("sip:sipp@127.0.0.1")
        assert [f.name.rsplit("-", 1)[1] for f in bob.recorded_files()] == ["dec.wav", "enc.wav"]
    assert bob.process.returncode == 0
    assert "Call established" in bob.log()
    proven("call_bye_uac.xml")


def test_baresip_hangs_up(tmp_path: Path, proven: Prove) -> None:
    with Baresip(tmp_path / "bob") as bob:
        sipp = sipp_plays(bob, "call_wait_bye_uac.xml", timeout=15, background=True)
        try:
            assert bob.wait_established(10), bob.event_types()
            time.sleep(0.5)
            assert bob.hangup()["ok"]
            closed = bob.wait_closed(5)
            assert closed is not None and closed["param"] == "Connection reset by user", bob.event_types()
            run = sipp.finish(timeout=20)
        finally:
            sipp.kill()
        assert run.succeeded, run.explain()
    proven("call_wait_bye_uac.xml")


@pytest.mark.parametrize(
    ("scenario", "extra"), [("call_hold_uac.xml", ["-set", "step_ms", "200"]), ("bye_unknown_dialog_uac.xml", [])]
)
def test_baresip_other_uac_scenarios(tmp_path: Path, scenario: str, extra: list, proven: Prove) -> None:
    """SIPp's -set fails for a variable the scenario does not declare: only where it does."""
    with Baresip(tmp_path / "bob") as bob:
        result = sipp_plays(bob, scenario, *extra, timeout=15)
        assert result.succeeded, result.stderr[-3000:] + result.log + bob.log()[-3000:]
    proven(scenario)


BARESIP_CALLS = [
    # scenario, SIPp options, SIPp timeout, succeeds, seen in SIPp's log or errors, not in its log
    ("call_hold_uas.xml", ["-set", "step_ms", "200"], 15, True, "HOLD-ANSWER offer=sendrecv answer=sendrecv", ""),
    # baresip 1.0 says neither 100rel nor timer in Supported (it has neither):
    ("call_100rel_uas.xml", [], 15, False, "call_100rel_uas: the INVITE does not offer 100rel", "PRACK"),
    (
        "call_timer_uas.xml",
        [],
        15,
        False,
        "call_timer_uas: the INVITE does not say Supported: timer",
        "SESSION-EXPIRES",
    ),
    # baresip 1.0 ignores a 2xx from a second dialog: it neither ACKs nor BYEs
    # it (RFC 3261 13.2.2.4 wants both), so the scenario stops at the ACK for
    # dialog A while SIPp retransmits that 200 until its timeout.
    ("call_forked_uas.xml", [], 5, False, "ACK dialog=forkB uri=sip:bob-b@", "dialog=forkA"),
    # baresip 1.0 acknowledges the 2xx whose SDP does not parse, then hangs up.
    ("call_bad_answer_uas.xml", [], 10, True, "ACK-RECEIVED\nBYE-RECEIVED", ""),
]


@pytest.mark.parametrize(
    ("scenario", "extra", "timeout", "succeeds", "seen", "unseen"), BARESIP_CALLS, ids=[c[0] for c in BARESIP_CALLS]
)
def test_baresip_calls_sipp(
    tmp_path: Path, scenario: str, extra: list, timeout: int, succeeds: bool, seen: str, unseen: str, proven: Prove
) -> None:
    sipp = SippServer(CALLS / scenario, timeout=timeout, extra=[*sipp_ports("udp"), *extra])
    with Baresip(tmp_path / "caller") as caller_ua:
        assert caller_ua.dial(f"sip:bob@{sipp.target}")["ok"]
        run = sipp.finish()
        # A call left half-open (SIPp gone) keeps baresip from quitting until its INVITE times out.
        caller_ua.stop(timeout=1)
    assert run.succeeded == succeeds, run.explain()
    assert seen in run.log + run.errors, run.explain()
    assert not unseen or unseen not in run.log, run.log
    if succeeds:  # a run meant to fail proves that the scenario notices, not that it passes
        proven(scenario)


def test_every_call_scenario_is_proven_here() -> None:
    """Every scenario in tests/scenarios/calls/ was proven by a test of this module that ran and passed in this
    session (they run before this one): a skipped proof proves nothing."""
    missing = unproven(CALLS)
    assert not missing, f"call scenarios that no test proved in this run: {missing}"
