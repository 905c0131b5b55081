"""Requests outside a dialog: Request, incoming MESSAGE and IncomingRequest.

The Engine sends to its own address here, so both sides of each transaction
are the real stack on the wire (UDP on 127.0.0.1); servers that challenge,
refuse or stay silent are covered with SIPp and Kamailio elsewhere.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

import sipsimple.core._core as core_module
from sipsimple.core import Engine, SIPCoreInvalidStateError
from sipsimple.core._core import IncomingRequest, Request
from sipsimple.notification import NotificationCenter
from tests.support.messages import message_to_bob
from tests.support.notifications import observe

BODY = "Grüße, 世界 ✓ — a non-ASCII MESSAGE"


@pytest.fixture
def looped_engine() -> Iterator[Engine]:
    engine = Engine()
    engine.start(ip_address="127.0.0.1", udp_port=0, tcp_port=0, incoming_requests={"INFO", "X-PING"})
    yield engine
    engine.stop()


def _uri(engine: Engine, user: str = "bob", transport: str | None = None) -> str:
    port = engine.local_tcp_port if transport == "tcp" else engine.local_udp_port
    return f"sip:{user}@127.0.0.1:{port}" + (f";transport={transport}" if transport else "")


@pytest.mark.parametrize("transport", [None, "tcp"])
def test_message_round_trip_through_the_stack(looped_engine: Engine, transport: str | None) -> None:
    recorder = observe("SIPEngineGotMessage", "SIPRequestDidSucceed", "SIPRequestDidFail", "SIPRequestDidEnd")
    request = Request(
        "MESSAGE",
        '"Alice" <sip:alice@127.0.0.1>',
        "<sip:bob@127.0.0.1>",
        _uri(looped_engine, "bob", transport),
        None,
        content_type="text/plain;charset=utf-8",
        body=BODY,
    )
    request.send(timeout=10)
    got = recorder.wait_named("SIPEngineGotMessage")
    assert got.sender is looped_engine
    assert got.data.body == BODY.encode("utf-8")
    assert got.data.content_type == "text/plain"
    assert "sip:alice@127.0.0.1" in got.data.from_header.body
    assert (got.data.request_uri.user, got.data.request_uri.host) == ("bob", "127.0.0.1")
    assert got.data.from_header.uri.user == "alice" and got.data.from_header.display_name == "Alice"
    assert any(h.name == "Content-Type" and "charset=utf-8" in h.body for h in got.data.headers)
    succeeded = recorder.wait_for(lambda n: n.name == "SIPRequestDidSucceed" and n.sender is request)
    assert (succeeded.data.code, succeeded.data.reason) == (200, "OK")
    recorder.wait_for(lambda n: n.name == "SIPRequestDidEnd" and n.sender is request)
    assert request.state == "TERMINATED"
    assert request.call_id and request.cseq > 0
    assert not recorder.named("SIPRequestDidFail")


@pytest.mark.parametrize("size", [7_000, 9_000, 60_000])
def test_messages_of_every_size_up_to_the_limit_go_out_whole(looped_engine: Engine, size: int) -> None:
    # Outgoing messages are printed into an 8 KiB buffer first and into one
    # of PJSIP_MAX_PKT_LEN (64 KiB) only when they do not fit (patch 0003):
    # both sides of that line, and the largest body that fits, arrive whole.
    recorder = observe("SIPEngineGotMessage", "SIPRequestDidSucceed", "SIPRequestDidFail")
    body = ("0123456789abcdef" * (size // 16 + 1))[:size]
    request = message_to_bob(_uri(looped_engine, "bob", "tcp"), body)
    request.send(timeout=10)
    got = recorder.wait_named("SIPEngineGotMessage")
    assert got.data.body == body.encode()
    assert recorder.wait_for(lambda n: n.sender is request).name == "SIPRequestDidSucceed"


def test_a_message_over_the_size_limit_is_refused_clearly(looped_engine: Engine) -> None:
    request = message_to_bob(_uri(looped_engine, "bob", "tcp"), "x" * 70_000)
    with pytest.raises(core_module.PJSIPError, match="too long|EMSGTOOLONG"):
        request.send(timeout=10)


def test_retransmitted_message_is_delivered_once(looped_engine: Engine) -> None:
    # The same MESSAGE (same branch) sent twice over UDP reaches the application once.
    recorder = observe("SIPEngineGotMessage")
    port = looped_engine.local_udp_port
    message = (
        f"MESSAGE sip:bob@127.0.0.1:{port} SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-once-only\r\n"
        "From: <sip:carol@127.0.0.1>;tag=1\r\nTo: <sip:bob@127.0.0.1>\r\n"
        "Call-ID: once-only@127.0.0.1\r\nCSeq: 1 MESSAGE\r\nMax-Forwards: 70\r\n"
        "Content-Type: text/plain\r\nContent-Length: 4\r\n\r\nonce"
    ).encode()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.sendto(message, ("127.0.0.1", port))
        sock.sendto(message, ("127.0.0.1", port))
        recorder.wait_named("SIPEngineGotMessage")
        sentinel = observe("SIPEngineGotMessage")
        message_to_bob(_uri(looped_engine), "after").send(timeout=5)
        sentinel.wait_for(lambda n: n.data.body == b"after")
    assert [n.data.body for n in recorder.named("SIPEngineGotMessage")] == [b"once", b"after"]


@contextmanager
def message_to_a_silent_peer(body: str) -> Iterator[tuple[Request, socket.socket]]:
    """A MESSAGE Request, not sent yet, to bob at a UDP socket on 127.0.0.1 that receives and never
    answers (open for the with block), and that socket."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        request = message_to_bob(f"sip:bob@127.0.0.1:{silent.getsockname()[1]}", body)
        yield request, silent


def test_request_times_out_with_408() -> None:
    engine = Engine()
    engine.start(ip_address="127.0.0.1", udp_port=0)
    recorder = observe("SIPRequestDidFail", "SIPRequestDidEnd")
    with message_to_a_silent_peer("anyone?") as (request, silent):
        request.send(timeout=0.5)
        failed = recorder.wait_named("SIPRequestDidFail")
        assert silent.recv(4096).startswith(b"MESSAGE ")
    assert failed.data.code == 408
    recorder.wait_named("SIPRequestDidEnd")
    assert request.state == "TERMINATED"


def test_request_ended_while_pending() -> None:
    engine = Engine()
    engine.start(ip_address="127.0.0.1", udp_port=0)
    recorder = observe("SIPRequestDidFail", "SIPRequestDidEnd")
    with message_to_a_silent_peer("x") as (request, _):
        request.send()
        request.end()
        assert recorder.wait_named("SIPRequestDidFail").data.code == 487
        recorder.wait_named("SIPRequestDidEnd")
    with pytest.raises(SIPCoreInvalidStateError):
        request.send()


def test_incoming_request_answered_by_the_application(looped_engine: Engine) -> None:
    assert {"INFO", "X-PING"} <= set(looped_engine.allowed_methods)
    recorder = observe("SIPIncomingRequestGotRequest", "SIPRequestDidSucceed")

    class Answerer:
        def handle_notification(self, notification) -> None:
            reply = "pong: " + notification.data.body.decode()
            notification.sender.answer(202, "Taken", content_type="text/plain", body=reply)

    answerer = Answerer()
    NotificationCenter().add_observer(answerer, name="SIPIncomingRequestGotRequest")
    request = Request(
        "X-PING",
        "<sip:alice@127.0.0.1>",
        "<sip:bob@127.0.0.1>",
        _uri(looped_engine),
        None,
        content_type="text/plain",
        body="ping",
    )
    request.send(timeout=5)
    got = recorder.wait_named("SIPIncomingRequestGotRequest")
    assert isinstance(got.sender, IncomingRequest)
    assert got.data.method == "X-PING"
    assert got.data.body == b"ping"
    answer = recorder.wait_for(lambda n: n.name == "SIPRequestDidSucceed" and n.sender is request)
    assert (answer.data.code, answer.data.reason, answer.data.body) == (202, "Taken", b"pong: ping")
    assert got.sender.state == "answered"
    with pytest.raises(SIPCoreInvalidStateError):
        got.sender.answer(200)


def test_unanswered_incoming_request_gets_480(looped_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(core_module, "_UNANSWERED_TIMEOUT", 0.3)
    recorder = observe("SIPIncomingRequestGotRequest", "SIPRequestDidFail")
    request = Request("INFO", "<sip:alice@127.0.0.1>", "<sip:bob@127.0.0.1>", _uri(looped_engine), None)
    request.send(timeout=10)
    recorder.wait_named("SIPIncomingRequestGotRequest")
    failed = recorder.wait_for(lambda n: n.name == "SIPRequestDidFail" and n.sender is request)
    assert failed.data.code == 480


@pytest.mark.parametrize(
    ("args", "kwargs", "error"),
    [
        (("INVITE",), {}, ValueError),
        (("MES SAGE",), {}, ValueError),
        ((42,), {}, ValueError),
        (("MESSAGE",), {"content_type": "text/plain"}, TypeError),
        (("MESSAGE",), {"content_type": "plain", "body": "x"}, ValueError),
        (("MESSAGE",), {"content_type": "text/plain", "body": 12}, TypeError),
        (("MESSAGE",), {"cseq": 0}, ValueError),
        (("MESSAGE",), {"extra_headers": [object()]}, TypeError),
    ],
)
def test_invalid_requests_are_refused(args: tuple, kwargs: dict, error: type[Exception]) -> None:
    with pytest.raises(error):
        Request(*args, "<sip:alice@127.0.0.1>", "<sip:bob@127.0.0.1>", "sip:bob@127.0.0.1", None, **kwargs)


def test_sending_without_engine_is_an_invalid_state() -> None:
    request = Request("MESSAGE", "<sip:a@127.0.0.1>", "<sip:b@127.0.0.1>", "sip:b@127.0.0.1", None)
    with pytest.raises(SIPCoreInvalidStateError):
        request.send()


def test_engine_stop_ends_pending_requests() -> None:
    engine = Engine()
    engine.start(ip_address="127.0.0.1", udp_port=0)
    recorder = observe("SIPRequestDidFail", "SIPRequestDidEnd")
    with message_to_a_silent_peer("x") as (request, _):
        request.send()
        engine.stop()
    assert request.state == "TERMINATED"
    assert recorder.named("SIPRequestDidEnd")


def test_finished_requests_leave_nothing_behind(looped_engine: Engine) -> None:
    # Over TCP a transaction ends with its answer: once every answer is in,
    # the core holds no Request, and none survives a garbage collection.
    import gc

    recorder = observe("SIPRequestDidEnd")
    requests = [message_to_bob(_uri(looped_engine, "bob", "tcp"), f"n{index}") for index in range(50)]
    for request in requests:
        request.send(timeout=10)
    recorder.wait_for(lambda n, seen=recorder: len(seen.named("SIPRequestDidEnd")) == 50)
    assert all(request.state == "TERMINATED" for request in requests)
    live = looped_engine._ua._live_objects
    deadline = time.monotonic() + 5
    while live and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not live
    del requests, request, recorder
    gc.collect()
    assert not [obj for obj in gc.get_objects() if type(obj) is Request]
