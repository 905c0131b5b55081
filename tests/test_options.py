"""The Engine answers requests outside a dialog, proven with SIPp as the peer.

SIPp sends OPTIONS over UDP, TCP and TLS, on IPv4 and IPv6; the Engine answers
200 with Allow, Accept and Supported, and the SIP trace notifications of both
directions carry the addresses and the text that were on the wire.
"""

from __future__ import annotations

import re

import pytest

from devkit.ports import free_port
from devkit.sipp import run_sipp, sip_target
from sipsimple.core import Engine
from tests.support.notifications import NotificationRecorder, observe
from tests.support.scenarios import SCENARIOS, request_scenario

OPTIONS = SCENARIOS / "options_uac.xml"


def _call_id(message: str) -> str:
    match = re.search(r"^Call-ID:\s*(\S+)", message, re.MULTILINE | re.IGNORECASE)
    assert match, message
    return match.group(1)


def _traces_for(recorder: NotificationRecorder, call_id: str) -> tuple[object, object]:
    """The received OPTIONS and the sent 200 of one transaction."""
    received = recorder.wait_for(
        lambda n: n.data.received and n.data.data.startswith("OPTIONS ") and _call_id(n.data.data) == call_id
    )
    sent = recorder.wait_for(
        lambda n: not n.data.received and n.data.data.startswith("SIP/2.0 200") and _call_id(n.data.data) == call_id
    )
    return received.data, sent.data


def _sipp_call_id(messages: str) -> str:
    return _call_id(messages[messages.index("OPTIONS sip:") :])


def _start(host: str, tls_files=None) -> Engine:
    engine = Engine()
    options = dict(ip_address=host, udp_port=0, tcp_port=0, trace_sip=True)
    if tls_files is not None:
        options.update(
            tls_port=0,
            tls_cert_file=str(tls_files.cert_file),
            tls_privkey_file=str(tls_files.key_file),
            tls_ca_file=str(tls_files.ca_file),
        )
    engine.start(**options)
    return engine


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
@pytest.mark.parametrize("transport", ["udp", "tcp", "tls"])
def test_options_answered_with_trace(transport: str, host: str, tls_files) -> None:
    recorder = observe("SIPEngineSIPTrace")
    engine = _start(host, tls_files)
    port = {"udp": engine.local_udp_port, "tcp": engine.local_tcp_port, "tls": engine.local_tls_port}[transport]
    sipp_port = free_port(host=host) if transport == "udp" else None

    result = run_sipp(
        OPTIONS,
        sip_target(host, port),
        transport=transport,
        local_ip=host,
        local_port=sipp_port,
        tls_cert=tls_files.cert_file,
        tls_key=tls_files.key_file,
        tls_ca=tls_files.ca_file,
    )

    assert result.succeeded, result.stderr + result.log
    # The response carried the capability headers, with what the Engine announces.
    match = re.search(r"RESPONSE-HEADERS Allow=(.*) Accept=(.*) Supported=(.*)", result.log)
    assert match, result.log
    allow = [method.strip() for method in match.group(1).split(",") if method.strip()]
    assert allow == engine.allowed_methods
    assert "OPTIONS" in allow
    assert [t.strip() for t in match.group(2).split(",") if t.strip()] == engine.accepted_types
    assert [t.strip() for t in match.group(3).split(",") if t.strip()] == engine.supported_extensions

    received, sent = _traces_for(recorder, _sipp_call_id(result.messages))
    for trace in (received, sent):
        assert trace.transport == transport
    # Received: from SIPp to the Engine's listening address.
    assert received.source_ip == host
    assert received.destination_ip == host
    assert received.destination_port == port
    request_line = re.match(r"OPTIONS sip:service@(.+):(\d+) SIP/2.0\r\n", received.data)
    assert request_line, received.data
    assert request_line.group(1).strip("[]") == host
    assert f"Via: SIP/2.0/{transport.upper()} " in received.data
    assert "User-Agent: SIPp options probe" in received.data
    # Sent: from the Engine back to where the request came from.
    assert sent.source_ip == host
    assert sent.destination_ip == host
    assert sent.destination_port == received.source_port
    assert sent.data.startswith("SIP/2.0 200 OK\r\n")
    assert "\r\nAllow: OPTIONS" in sent.data
    if transport == "udp":
        assert sent.source_port == port
        assert received.source_port == sipp_port
    # The text SIPp logged as received is the text the Engine traced as sent.
    assert "SIP/2.0 200 OK" in result.messages
    assert _call_id(sent.data) in result.messages


@pytest.mark.parametrize(
    ("method", "expected", "in_dialog"),
    [
        ("FOO", 501, False),  # a method nobody knows: Not Implemented
        ("INFO", 405, False),  # a SIP method the Engine does not handle: Method Not Allowed
        ("INFO", 481, True),  # a request for a dialog that does not exist
        ("CANCEL", 481, False),  # a CANCEL that matches no transaction
    ],
)
def test_other_requests_refused_correctly(engine: Engine, method: str, expected: int, in_dialog: bool) -> None:
    result = run_sipp(request_scenario(method, expected, in_dialog), sip_target("127.0.0.1", engine.local_udp_port))
    assert result.succeeded, result.stderr + result.log
    if expected in (405, 501):
        # RFC 3261 8.2.1: the refusal lists what is allowed.
        assert "RESPONSE-HEADERS Allow= " + ", ".join(engine.allowed_methods) + "\n" in result.log


def test_engine_keeps_serving_after_refusals(engine: Engine) -> None:
    target = sip_target("127.0.0.1", engine.local_udp_port)
    assert run_sipp(request_scenario("BAR", 501), target).succeeded
    result = run_sipp(OPTIONS, target, calls=20, rate=200)
    assert result.succeeded, result.stderr + result.log


def test_trace_can_be_switched_off(engine: Engine) -> None:
    recorder = observe("SIPEngineSIPTrace")
    engine.trace_sip = False
    result = run_sipp(OPTIONS, sip_target("127.0.0.1", engine.local_udp_port))
    assert result.succeeded
    call_id = _sipp_call_id(result.messages)
    engine.trace_sip = True
    result = run_sipp(OPTIONS, sip_target("127.0.0.1", engine.local_udp_port))
    assert result.succeeded
    _traces_for(recorder, _sipp_call_id(result.messages))
    assert not [n for n in recorder.notifications if call_id in n.data.data]
