"""sipsimple against a real Kamailio: registration, MESSAGE between two Engines, presence.

Kamailio (tests/peers/kamailio.py) is configured and started by the tests:
registrar with digest authentication, proxy for MESSAGE, presence server.
The Engine in this process is alice; bob is a second Engine in a process of
its own (tests/peers/sipsimple_agent.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from sipsimple.core import (
    SIPURI,
    ContactHeader,
    Credentials,
    Engine,
    FromHeader,
    Message,
    Publication,
    Registration,
    RouteHeader,
    ToHeader,
)
from tests.peers.kamailio import TEST_USERS, Kamailio
from tests.peers.sipsimple_agent import SipsimpleAgent
from tests.support.notifications import observe

pytestmark = pytest.mark.timeout(120)

USERS = TEST_USERS
NON_ASCII = "Grüße aus Köln — 你好, мир ✓ 🎉"
PIDF = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.test">'
    '<tuple id="sipsimple-1"><status><basic>{basic}</basic></status><note>{note}</note></tuple></presence>'
)

MakeKamailio = Callable[..., Kamailio]


@pytest.fixture
def engine() -> Iterator[Engine]:
    engine = Engine()
    engine.start(ip_address="127.0.0.1", udp_port=0, tcp_port=0)
    yield engine
    engine.stop()


def _route(server: Kamailio, transport: str = "udp") -> RouteHeader:
    parameters: dict[str, str | None] = {"lr": None}
    if transport != "udp":
        parameters["transport"] = transport
    return RouteHeader(SIPURI(host=server.host, port=server.port, parameters=parameters))


def _contact(engine: Engine, user: str, transport: str = "udp") -> ContactHeader:
    port = engine.local_tcp_port if transport == "tcp" else engine.local_udp_port
    parameters = {"transport": transport} if transport != "udp" else None
    return ContactHeader(SIPURI(user=user, host="127.0.0.1", port=port, parameters=parameters))


def _from(server: Kamailio, user: str) -> FromHeader:
    return FromHeader(SIPURI(user=user, host=server.domain), display_name=user.capitalize())


def _alices_message_to_bob(server: Kamailio, content_type: str, body: str) -> Message:
    """alice's MESSAGE to bob at the server's domain, routed through the server, with alice's credentials."""
    return Message(
        _from(server, "alice"),
        ToHeader(SIPURI(user="bob", host=server.domain)),
        _route(server),
        content_type,
        body,
        credentials=Credentials("alice", USERS["alice"]),
    )


def _register_bob(bob: SipsimpleAgent, server: Kamailio, transport: str) -> None:
    """bob (the agent process) registers at the server over `transport`."""
    bob.command(
        "register",
        user="bob",
        password=USERS["bob"],
        domain=server.domain,
        proxy=f"{server.host}:{server.port}",
        transport=transport,
    )
    assert bob.wait_for("registration")["state"] == "succeeded"


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256"])
@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_register_refresh_unregister(
    engine: Engine, make_kamailio: MakeKamailio, algorithm: str, transport: str
) -> None:
    server = make_kamailio(auth_algorithm=algorithm, min_expires=1)
    recorder = observe(
        "SIPRegistrationDidSucceed", "SIPRegistrationDidFail", "SIPRegistrationWillExpire", "SIPRegistrationDidEnd"
    )
    registration = Registration(_from(server, "alice"), credentials=Credentials("alice", USERS["alice"]), duration=4)
    registration.register(_contact(engine, "alice", transport), _route(server, transport), timeout=10)
    first = recorder.wait_named("SIPRegistrationDidSucceed")
    assert first.sender is registration and first.data.code == 200
    assert first.data.expires_in == 4
    assert registration.is_registered
    contacts = server.contacts("alice")
    assert len(contacts) == 1 and f":{_contact(engine, 'alice', transport).uri.port}" in contacts[0].contact
    first_cseq = contacts[0].cseq

    # The refresh goes out before the binding expires, in the same Call-ID.
    recorder.wait_named("SIPRegistrationWillExpire", timeout=10)
    recorder.wait_for(lambda n: len(recorder.named("SIPRegistrationDidSucceed")) == 2, timeout=10)
    refreshed = server.contacts("alice")
    assert len(refreshed) == 1
    assert refreshed[0].cseq > first_cseq
    assert refreshed[0].call_id == contacts[0].call_id == registration.call_id
    assert not recorder.named("SIPRegistrationDidEnd")

    registration.end(timeout=10)
    ended = recorder.wait_named("SIPRegistrationDidEnd")
    assert ended.data.expired is False
    assert (ended.data.code, ended.data.reason) == (200, "OK")
    assert not registration.is_registered
    server.wait_for_contacts("alice", lambda found: not found, timeout=5)
    assert not recorder.named("SIPRegistrationDidFail")


@pytest.mark.parametrize("reply", [401, 403])
def test_wrong_password_fails(engine: Engine, make_kamailio: MakeKamailio, reply: int) -> None:
    server = make_kamailio(wrong_password_reply=reply)
    recorder = observe("SIPRegistrationDidFail", "SIPRegistrationDidSucceed")
    registration = Registration(_from(server, "alice"), credentials=Credentials("alice", "not-the-password"))
    registration.register(_contact(engine, "alice"), _route(server), timeout=10)
    failed = recorder.wait_named("SIPRegistrationDidFail")
    assert failed.data.code == reply
    assert any(header.name == "Via" for header in failed.data.headers)  # a response came
    assert not recorder.named("SIPRegistrationDidSucceed")
    assert not registration.is_registered
    assert server.contacts("alice") == []


def test_interval_too_brief_is_retried_with_min_expires(engine: Engine, make_kamailio: MakeKamailio) -> None:
    server = make_kamailio(min_expires=120)
    recorder = observe("SIPRegistrationDidSucceed", "SIPRegistrationDidFail", "SIPRegistrationDidEnd")
    registration = Registration(_from(server, "alice"), credentials=Credentials("alice", USERS["alice"]), duration=30)
    registration.register(_contact(engine, "alice"), _route(server), timeout=10)
    succeeded = recorder.wait_named("SIPRegistrationDidSucceed")
    assert succeeded.data.expires_in >= 120
    assert registration.duration == 120
    assert not recorder.named("SIPRegistrationDidFail")
    assert server.contacts("alice")[0].expires > 100
    registration.end(timeout=10)
    recorder.wait_named("SIPRegistrationDidEnd")


def test_message_between_two_engines_through_kamailio(engine: Engine, make_kamailio: MakeKamailio) -> None:
    server = make_kamailio()
    recorder = observe("SIPRegistrationDidSucceed", "SIPEngineGotMessage", "SIPMessageDidSucceed", "SIPMessageDidFail")
    registration = Registration(_from(server, "alice"), credentials=Credentials("alice", USERS["alice"]))
    registration.register(_contact(engine, "alice"), _route(server), timeout=10)
    recorder.wait_named("SIPRegistrationDidSucceed")
    with SipsimpleAgent() as bob:
        _register_bob(bob, server, "tcp")

        # alice -> bob: through Kamailio (407 answered with alice's credentials) over TCP to bob.
        message = _alices_message_to_bob(server, "text/plain;charset=utf-8", NON_ASCII)
        message.send(timeout=10)
        assert recorder.wait_named("SIPMessageDidSucceed").data.code == 200
        received = bob.wait_for("message")
        assert bytes.fromhex(received["body_hex"]) == NON_ASCII.encode("utf-8")
        assert received["content_type"] == "text/plain"
        assert "alice@example.test" in received["from_"]

        # bob -> alice.
        reply = NON_ASCII[::-1]
        bob.command("message", to=f"sip:alice@{server.domain}", body=reply, content_type="text/plain;charset=utf-8")
        got = recorder.wait_named("SIPEngineGotMessage")
        assert got.data.body == reply.encode("utf-8")
        assert "bob@example.test" in got.data.from_header.body
        assert bob.wait_for("message_status")["code"] == 200
    assert not recorder.named("SIPMessageDidFail")
    registration.end(timeout=5)


def test_message_to_an_unregistered_user_fails(engine: Engine, make_kamailio: MakeKamailio) -> None:
    server = make_kamailio()
    recorder = observe("SIPMessageDidFail")
    message = _alices_message_to_bob(server, "text/plain", "anyone?")
    message.send(timeout=10)
    assert recorder.wait_named("SIPMessageDidFail").data.code == 404


def test_presence_publish_and_subscribe(engine: Engine, make_kamailio: MakeKamailio) -> None:
    server = make_kamailio(presence_max_expires=3600)
    recorder = observe("SIPPublicationDidSucceed", "SIPPublicationDidFail", "SIPPublicationDidEnd")
    credentials = Credentials("alice", USERS["alice"])
    publication = Publication(
        _from(server, "alice"), "presence", "application/pidf+xml", credentials=credentials, duration=600
    )
    publication.publish(PIDF.format(basic="open", note="at work"), _route(server), timeout=10)
    assert recorder.wait_named("SIPPublicationDidSucceed").data.code == 200
    first_etag = publication.etag
    assert first_etag
    assert "at work" in server.presentities("alice")[0]["body"]

    with SipsimpleAgent() as bob:
        _register_bob(bob, server, "udp")
        bob.command("subscribe", to=f"sip:alice@{server.domain}", event="presence")
        first = bob.wait_for("notify", where=lambda e: "at work" in e["body"])
        assert first["subscription_state"] == "active"
        assert first["content_type"] == "application/pidf+xml"

        # Refresh (no body, same state) then modify with the ETag: bob sees the change.
        publication.publish(None, _route(server), timeout=10)
        recorder.wait_for(lambda n: len(recorder.named("SIPPublicationDidSucceed")) == 2)
        publication.publish(PIDF.format(basic="open", note="in a meeting"), _route(server), timeout=10)
        recorder.wait_for(lambda n: len(recorder.named("SIPPublicationDidSucceed")) == 3)
        bob.wait_for("notify", where=lambda e: "in a meeting" in e["body"])
        assert len(server.presentities("alice")) == 1

        bob.command("unsubscribe")
        ended = bob.wait_for("subscription", where=lambda e: e["state"] in ("ended", "failed"))
        assert ended["state"] == "ended"

    publication.end(timeout=10)
    assert recorder.wait_named("SIPPublicationDidEnd").data.expired is False
    assert not recorder.named("SIPPublicationDidFail")
