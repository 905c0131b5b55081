"""The Engine against SIPp, for what Kamailio cannot be made to do.

Each SIPp scenario (tests/scenarios/, proven against stand-ins by
test_scenarios_selfcheck.py) checks the Engine's side of the exchange
itself and fails (non-zero exit) when the Engine gets it wrong; the tests
also check what the Engine reported.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from devkit.ports import free_port
from devkit.sipp import SippServer, run_sipp, sip_target
from sipsimple.core import (
    SIPURI,
    ContactHeader,
    Credentials,
    Engine,
    FromHeader,
    Message,
    Publication,
    Referral,
    ReferToHeader,
    Registration,
    RouteHeader,
    Subscription,
    ToHeader,
)
from sipsimple.notification import NotificationCenter
from tests.support.notifications import observe
from tests.support.scenarios import MALFORMED_REQUESTS, SCENARIOS, malformed_request_scenario

pytestmark = pytest.mark.timeout(120)

PIDF = (
    '<?xml version="1.0"?><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@127.0.0.1">'
    '<tuple id="t"><status><basic>{}</basic></status></tuple></presence>'
)


@pytest.fixture
def engine() -> Iterator[Engine]:
    engine = Engine()
    engine.start(ip_address="127.0.0.1", udp_port=0, tcp_port=0)
    yield engine
    engine.stop()


def _route(server: SippServer) -> RouteHeader:
    parameters: dict[str, str | None] = {"lr": None}
    if server.transport != "udp":
        parameters["transport"] = server.transport
    return RouteHeader(SIPURI(host=server.host, port=server.port, parameters=parameters))


def _contact(engine: Engine, user: str, transport: str) -> ContactHeader:
    port = engine.local_tcp_port if transport == "tcp" else engine.local_udp_port
    return ContactHeader(
        SIPURI(
            user=user, host="127.0.0.1", port=port, parameters={"transport": transport} if transport != "udp" else None
        )
    )


def _alice() -> FromHeader:
    return FromHeader(SIPURI(user="alice", host="127.0.0.1"))


def _bob(server: SippServer) -> SIPURI:
    return SIPURI(
        user="bob",
        host=server.host,
        port=server.port,
        parameters={"transport": server.transport} if server.transport != "udp" else None,
    )


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_register_423_then_min_expires(engine: Engine, transport: str) -> None:
    server = SippServer(SCENARIOS / "register_423_uas.xml", transport=transport)
    recorder = observe("SIPRegistrationDidSucceed", "SIPRegistrationDidFail", "SIPRegistrationDidEnd")
    registration = Registration(_alice(), duration=60)
    registration.register(_contact(engine, "alice", transport), _route(server), timeout=10)
    succeeded = recorder.wait_named("SIPRegistrationDidSucceed")
    assert succeeded.data.expires_in == 300
    assert registration.duration == 300
    assert not recorder.named("SIPRegistrationDidFail")
    registration.end(timeout=10)
    assert recorder.wait_named("SIPRegistrationDidEnd").data.expired is False
    run = server.finish()
    assert run.succeeded, run.explain()


@pytest.mark.parametrize(
    ("scenario", "transport"),
    [("message_407_uas.xml", "udp"), ("message_401_uas.xml", "udp"), ("message_401_uas.xml", "tcp")],
)
@pytest.mark.parametrize(("password", "code"), [("secret", 200), ("wrong", 403)])
def test_message_digest_challenge(engine: Engine, scenario: str, transport: str, password: str, code: int) -> None:
    server = SippServer(
        SCENARIOS / scenario,
        transport=transport,
        extra=["-key", "auth_user", "alice", "-key", "auth_password", "secret"],
    )
    recorder = observe("SIPMessageDidSucceed", "SIPMessageDidFail")
    message = Message(
        _alice(),
        ToHeader(_bob(server)),
        None,
        "text/plain",
        "authenticated hello",
        credentials=Credentials("alice", password),
    )
    message.send(timeout=10)
    final = recorder.wait_for(lambda n: n.sender is message)
    assert final.data.code == code
    run = server.finish()
    assert run.succeeded, run.explain()
    assert ("AUTH-RESULT accepted user=alice" in run.log) == (code == 200), run.log


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_notify_terminated_deactivated_makes_us_subscribe_again(engine: Engine, transport: str) -> None:
    server = SippServer(SCENARIOS / "subscribe_deactivated_uas.xml", transport=transport)
    recorder = observe(
        "SIPSubscriptionGotNotify", "SIPSubscriptionChangedState", "SIPSubscriptionDidEnd", "SIPSubscriptionDidFail"
    )
    subscription = Subscription(
        _bob(server),
        _alice(),
        ToHeader(_bob(server)),
        _contact(engine, "alice", transport),
        "presence",
        None,
        refresh=300,
    )
    subscription.subscribe(timeout=10)
    active = recorder.wait_for(lambda n: n.name == "SIPSubscriptionGotNotify" and n.data.subscription_state == "active")
    assert b"Ready for the test" in active.data.body
    assert active.data.content_type == "application/pidf+xml"
    ended = recorder.wait_for(lambda n: n.name == "SIPSubscriptionGotNotify" and n.data.reason == "deactivated")
    assert ended.data.subscription_state == "terminated"
    run = server.finish()
    assert run.succeeded, run.explain()
    # RFC 6665 4.1.3: a new SUBSCRIBE goes out at once (SIPp, done, does not answer it).
    recorder.wait_for(
        lambda n: (
            len(
                [
                    x
                    for x in recorder.named("SIPSubscriptionChangedState")
                    if x.data.prev_state == "NULL" and x.data.state == "SENT"
                ]
            )
            == 2
        )
    )
    subscription.end()


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_refer_answered_202_then_sipfrag_notifies(engine: Engine, transport: str) -> None:
    server = SippServer(SCENARIOS / "refer_uas.xml", transport=transport)
    recorder = observe("SIPReferralGotNotify", "SIPReferralDidEnd", "SIPReferralDidFail", "SIPReferralChangedState")
    referral = Referral(
        _bob(server),
        _alice(),
        ToHeader(_bob(server)),
        ReferToHeader(SIPURI(user="carol", host="127.0.0.1")),
        _contact(engine, "alice", transport),
        None,
    )
    referral.send_refer(timeout=10)
    trying = recorder.wait_named("SIPReferralGotNotify")
    assert trying.data.body.startswith(b"SIP/2.0 100 Trying")
    assert trying.data.event == "refer"
    final = recorder.wait_for(lambda n: n.name == "SIPReferralGotNotify" and n.data.body.startswith(b"SIP/2.0 200"))
    assert final.data.subscription_state == "terminated"
    recorder.wait_named("SIPReferralDidEnd")
    assert not recorder.named("SIPReferralDidFail")
    run = server.finish()
    assert run.succeeded, run.explain()


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_incoming_refer(engine: Engine, transport: str) -> None:
    recorder = observe("SIPIncomingReferralGotRefer", "SIPIncomingReferralDidEnd")

    class Referee:
        def handle_notification(self, notification) -> None:
            referral = notification.sender
            referral.accept()
            referral.send_notify(200, "OK")

    referee = Referee()
    NotificationCenter().add_observer(referee, name="SIPIncomingReferralGotRefer")
    port = engine.local_tcp_port if transport == "tcp" else engine.local_udp_port
    result = run_sipp(
        SCENARIOS / "refer_uac.xml", sip_target("127.0.0.1", port), transport=transport, extra=["-s", "bob"]
    )
    assert result.succeeded, result.stderr + result.log
    got = recorder.wait_named("SIPIncomingReferralGotRefer")
    assert got.data.refer_to_header.uri.user == "carol"
    recorder.wait_named("SIPIncomingReferralDidEnd")
    assert "REFER-DONE notifies=2" in result.log


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_publish_refresh_modify_remove(engine: Engine, transport: str) -> None:
    server = SippServer(SCENARIOS / "publish_uas.xml", transport=transport, extra=["-set", "publish_expires", "6"])
    recorder = observe(
        "SIPPublicationDidSucceed", "SIPPublicationDidFail", "SIPPublicationWillExpire", "SIPPublicationDidEnd"
    )
    publication = Publication(FromHeader(_bob(server)), "presence", "application/pidf+xml", duration=60)
    publication.publish(PIDF.format("open"), None, timeout=10)
    assert recorder.wait_named("SIPPublicationDidSucceed").data.expires_in == 6
    first_etag = publication.etag
    # The refresh comes by itself before the 6 s are over.
    recorder.wait_named("SIPPublicationWillExpire", timeout=10)
    recorder.wait_for(lambda n: len(recorder.named("SIPPublicationDidSucceed")) == 2, timeout=10)
    assert publication.etag != first_etag
    publication.publish(PIDF.format("closed"), None, timeout=10)
    recorder.wait_for(lambda n: len(recorder.named("SIPPublicationDidSucceed")) == 3)
    publication.end(timeout=10)
    assert recorder.wait_named("SIPPublicationDidEnd").data.expired is False
    assert not recorder.named("SIPPublicationDidFail")
    run = server.finish()
    assert run.succeeded, run.explain()


def test_publish_412_publishes_afresh(engine: Engine) -> None:
    server = SippServer(SCENARIOS / "publish_412_uas.xml", calls=2)
    recorder = observe("SIPPublicationDidSucceed", "SIPPublicationDidFail")
    publication = Publication(FromHeader(_bob(server)), "presence", "application/pidf+xml", duration=60)
    publication.publish(PIDF.format("open"), None, timeout=10)
    recorder.wait_named("SIPPublicationDidSucceed")
    publication.publish(None, None, timeout=10)  # refresh: 412, then a fresh PUBLISH with the body
    recorder.wait_for(lambda n: len(recorder.named("SIPPublicationDidSucceed")) == 2)
    assert not recorder.named("SIPPublicationDidFail")
    assert publication.etag
    run = server.finish()
    assert run.succeeded, run.explain()


@pytest.mark.parametrize(
    ("name", "transport"),
    [
        (name, transport)
        for name in sorted(MALFORMED_REQUESTS)
        for transport in ("udp", "tcp")
        if (name, transport) != ("content-length-negative", "tcp")
    ],
)
def test_malformed_request_gets_400_and_the_engine_keeps_serving(
    engine: Engine, tmp_path: Path, name: str, transport: str
) -> None:
    port = engine.local_tcp_port if transport == "tcp" else engine.local_udp_port
    result = run_sipp(malformed_request_scenario(tmp_path, name), sip_target("127.0.0.1", port), transport=transport)
    assert result.succeeded, result.stderr + result.log
    answered = [line for line in result.log.splitlines() if line.startswith("BAD-REQUEST-ANSWERED")]
    assert answered and answered[0].split(None, 1)[1] == '399 sipsimple "Malformed request"', result.log


def test_unframeable_tcp_request_does_not_stop_the_engine(engine: Engine, tmp_path: Path) -> None:
    # Over TCP a negative Content-Length leaves no way to find where the
    # message ends, so nothing can be answered on that connection; PJSIP
    # waits for more data (and closes the idle connection later). The Engine
    # keeps serving everyone else.
    hanging = run_sipp(
        malformed_request_scenario(tmp_path, "content-length-negative"),
        sip_target("127.0.0.1", engine.local_tcp_port),
        transport="tcp",
        timeout=2,
        background=True,
    )
    try:
        result = run_sipp(
            SCENARIOS / "options_uac.xml",
            sip_target("127.0.0.1", engine.local_tcp_port),
            transport="tcp",
            local_port=free_port(socket.SOCK_STREAM),
        )
        assert result.succeeded, result.stderr + result.log
    finally:
        hanging.kill()


@pytest.mark.parametrize(
    "scenario", sorted((SCENARIOS / "malformed").glob("subscribe_*.xml")), ids=lambda path: path.stem
)
def test_malformed_subscribe_gets_400(scenario: Path) -> None:
    # The Engine serves presence, so these reach the subscription code.
    engine = Engine()
    engine.start(ip_address="127.0.0.1", udp_port=0, incoming_events={"presence"})
    result = run_sipp(scenario, sip_target("127.0.0.1", engine.local_udp_port))
    assert result.succeeded, result.stderr + result.log
