"""The Kamailio test peer (tests/peers/kamailio.py) against independent clients.

These tests prove the harness: a real Kamailio 5.6 that registers users
with digest authentication, relays MESSAGE between registered users and
serves presence. The clients are the harness's own raw SIP requests and
pjsua2 (a second SIP stack, in a subprocess per user agent), so nothing
here depends on sipsimple. Kamailio missing is a failure, not a skip:
scripts/bootstrap installs it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.peers.kamailio import TEST_USERS, Kamailio, KamailioError, check_installation, digest_response
from tests.peers.pjsua2_agent import Pjsua2Agent

pytestmark = pytest.mark.timeout(120)

USERS = TEST_USERS

MakeKamailio = Callable[..., Kamailio]
MakeAgent = Callable[[str], Pjsua2Agent]


@pytest.fixture
def kamailio(make_kamailio: MakeKamailio) -> Kamailio:
    return make_kamailio()


@pytest.fixture
def make_agent(tmp_path: Path) -> Iterator[MakeAgent]:
    """pjsua2 user agents, each in a process of its own; all are closed afterwards."""
    agents: list[Pjsua2Agent] = []

    def make(name: str) -> Pjsua2Agent:
        agent = Pjsua2Agent(tmp_path / f"pjsua2-{name}.log")
        agents.append(agent)
        return agent

    yield make
    for agent in agents:  # in parallel: each takes a second to unregister and go
        agent.quit()
    for agent in agents:
        agent.close()


def add_account(
    agent: Pjsua2Agent,
    server: Kamailio,
    user: str,
    *,
    password: str | None = None,
    transport: str = "udp",
    **options: object,
) -> None:
    agent.command(
        "account",
        name=user,
        user=user,
        password=USERS[user] if password is None else password,
        domain=server.domain,
        proxy=server.uri(),
        transport=transport,
        **options,
    )


def registered(agent: Pjsua2Agent, server: Kamailio, user: str, transport: str = "udp", **options: object) -> None:
    """Add an account to agent and wait until Kamailio has its contact."""
    add_account(agent, server, user, transport=transport, **options)
    state = agent.wait_for("reg_state", name=user)
    assert state["code"] == 200, (state, server.log[-3000:])
    server.wait_for_contacts(user)


# -- the harness on its own -------------------------------------------------------


def test_kamailio_is_installed() -> None:
    try:
        check_installation()
    except KamailioError as error:
        pytest.fail(str(error), pytrace=False)


def test_missing_kamailio_is_reported_clearly(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import tests.peers.kamailio as module

    monkeypatch.setattr(module, "SCHEMA_DIRECTORY", tmp_path / "nowhere")
    with pytest.raises(KamailioError, match="scripts/bootstrap"):
        Kamailio(tmp_path).start()


def test_server_answers_options_and_logs(kamailio: Kamailio) -> None:
    for transport in ("udp", "tcp"):
        response = kamailio.request("OPTIONS", transport=transport)
        assert response.status == 200
        assert response.header("Server") == "sipsimple-test-kamailio"
    assert kamailio.udp_port == kamailio.tcp_port == kamailio.port
    assert "request OPTIONS" in kamailio.log
    assert kamailio.rpc("core.uptime")["uptime"] >= 0


@pytest.mark.parametrize("transport", ["udp", "tcp"])
@pytest.mark.parametrize("domain", ["example.test", "127.0.0.1"])
def test_register_challenge_and_unregister(make_kamailio: MakeKamailio, domain: str, transport: str) -> None:
    server = make_kamailio(domain=domain, default_expires=1800)
    unauthenticated = server.request("REGISTER", user="alice", transport=transport)
    assert unauthenticated.status == 401
    challenge = unauthenticated.header("WWW-Authenticate") or ""
    assert f'realm="{domain}"' in challenge
    assert "algorithm=MD5" in challenge
    assert server.contacts("alice") == []

    response = server.request("REGISTER", user="alice", password=USERS["alice"], transport=transport)
    assert response.status == 200, server.log[-3000:]
    (contact,) = server.contacts("alice")
    assert contact.socket == f"{transport}:127.0.0.1:{server.port}"
    assert 1790 <= contact.expires <= 1800  # default_expires: the REGISTER named no expiry
    assert "expires=1800" in (response.header("Contact") or "")

    response = server.request(
        "REGISTER", user="alice", password=USERS["alice"], transport=transport, headers={"Contact": "*", "Expires": "0"}
    )
    assert response.status == 200
    assert server.contacts("alice") == []


def test_wrong_password_and_unknown_user_are_challenged_again(kamailio: Kamailio) -> None:
    assert kamailio.request("REGISTER", user="alice", password="wrong").status == 401
    assert kamailio.request("REGISTER", user="mallory", password="anything").status == 401
    assert kamailio.request("MESSAGE", user="alice", password="wrong", uri=kamailio.aor("bob")).status == 407
    assert kamailio.contacts("alice") == []
    assert "failed: -2" in kamailio.log  # auth_db: wrong password


def test_wrong_password_forbidden(make_kamailio: MakeKamailio) -> None:
    server = make_kamailio(wrong_password_reply=403)
    assert server.request("REGISTER", user="alice", password="wrong").status == 403
    assert server.request("REGISTER", user="mallory", password="anything").status == 403
    assert server.request("REGISTER", user="alice", password=USERS["alice"]).status == 200


def test_min_expires_gets_423(make_kamailio: MakeKamailio) -> None:
    server = make_kamailio(min_expires=60)
    too_brief = server.request("REGISTER", user="alice", password=USERS["alice"], headers={"Expires": "10"})
    assert too_brief.status == 423
    assert too_brief.header("Min-Expires") == "60"
    assert server.contacts("alice") == []
    accepted = server.request("REGISTER", user="alice", password=USERS["alice"], headers={"Expires": "60"})
    assert accepted.status == 200
    assert 55 <= server.contacts("alice")[0].expires <= 60


def test_max_expires_caps_the_expiry(make_kamailio: MakeKamailio) -> None:
    server = make_kamailio(max_expires=120)
    response = server.request("REGISTER", user="alice", password=USERS["alice"], headers={"Expires": "3600"})
    assert response.status == 200
    assert 115 <= server.contacts("alice")[0].expires <= 120


def test_sha256_challenge(make_kamailio: MakeKamailio) -> None:
    server = make_kamailio(auth_algorithm="SHA-256")
    challenge = server.request("REGISTER", user="alice").header("WWW-Authenticate") or ""
    assert "algorithm=SHA-256" in challenge
    # The harness's client answers with the challenge's algorithm.
    assert server.request("REGISTER", user="alice", password=USERS["alice"]).status == 200
    assert server.request("REGISTER", user="bob", password="wrong").status == 401


def test_digest_response_matches_rfc_2617_example() -> None:
    # RFC 2617, section 3.5.
    response = digest_response(
        algorithm="MD5",
        username="Mufasa",
        realm="testrealm@host.com",
        password="Circle Of Life",
        method="GET",
        uri="/dir/index.html",
        nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
        qop="auth",
        nc="00000001",
        cnonce="0a4f113b",
    )
    assert response == "6629fae49393a05397450978507c4ef1"


def test_users_added_later_can_register(kamailio: Kamailio) -> None:
    assert kamailio.request("REGISTER", user="dave", password="dave-secret").status == 401
    kamailio.add_user("dave", "dave-secret")
    assert kamailio.request("REGISTER", user="dave", password="dave-secret").status == 200
    assert kamailio.contacts("dave")


def test_message_needs_authentication_and_a_registered_recipient(kamailio: Kamailio) -> None:
    unauthenticated = kamailio.request(
        "MESSAGE", user="alice", uri=kamailio.aor("bob"), body="hi", headers={"Content-Type": "text/plain"}
    )
    assert unauthenticated.status == 407
    assert "Digest" in (unauthenticated.header("Proxy-Authenticate") or "")
    not_registered = kamailio.request(
        "MESSAGE",
        user="alice",
        password=USERS["alice"],
        uri=kamailio.aor("bob"),
        body="hi",
        headers={"Content-Type": "text/plain"},
    )
    assert not_registered.status == 404


def test_foreign_domains_are_not_relayed(kamailio: Kamailio) -> None:
    response = kamailio.request("MESSAGE", user="alice", password=USERS["alice"], uri="sip:bob@elsewhere.test")
    assert response.status == 403


def test_ipv6(make_kamailio: MakeKamailio) -> None:
    server = make_kamailio(ipv6=True, transports=("udp",))
    assert server.host == "::1"
    assert server.uri() == f"sip:[::1]:{server.port}"
    assert server.tcp_port is None
    assert server.request("OPTIONS").status == 200
    assert server.request("REGISTER", user="alice", password=USERS["alice"]).status == 200
    assert server.contacts("alice")[0].socket == f"udp:[::1]:{server.port}"


def test_publish_is_stored(kamailio: Kamailio) -> None:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="{kamailio.aor("alice")}">'
        '<tuple id="t1"><status><basic>open</basic></status></tuple></presence>'
    )
    headers = {"Event": "presence", "Expires": "60", "Content-Type": "application/pidf+xml"}
    assert kamailio.request("PUBLISH", user="alice", headers=headers, body=body).status == 407
    response = kamailio.request("PUBLISH", user="alice", password=USERS["alice"], headers=headers, body=body)
    assert response.status == 200
    assert response.header("SIP-ETag")
    (published,) = kamailio.presentities("alice")
    assert published["etag"] == response.header("SIP-ETag")
    assert "<basic>open</basic>" in published["body"]


def test_stop_is_idempotent_and_frees_the_port(make_kamailio: MakeKamailio) -> None:
    server = make_kamailio()
    process = server.process
    assert process is not None
    server.stop()
    server.stop()
    assert process.returncode is not None
    assert not server.is_running
    with pytest.raises(OSError):
        server.request("OPTIONS", timeout=0.3, retries=0)


# -- with pjsua2 user agents ------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256"])
def test_pjsua2_registers_and_unregisters(make_kamailio: MakeKamailio, make_agent: MakeAgent, algorithm: str) -> None:
    server = make_kamailio(auth_algorithm=algorithm)
    alice = make_agent("alice")
    registered(alice, server, "alice", expires=600)
    (contact,) = server.contacts("alice")
    assert contact.user_agent == "sipsimple-tests-pjsua2-agent"
    assert 590 <= contact.expires <= 600

    alice.command("register", name="alice", active=False)
    alice.wait_for("reg_state", name="alice", active=False)
    server.wait_for_contacts("alice", lambda contacts: not contacts)
    alice.close()  # pjsua2 writes its log from its main loop: all of it is there once it quit
    assert f"algorithm={algorithm}" in alice.log_path.read_text(errors="replace")


@pytest.mark.parametrize("reply", [401, 403])
def test_pjsua2_wrong_password(make_kamailio: MakeKamailio, make_agent: MakeAgent, reply: int) -> None:
    server = make_kamailio(wrong_password_reply=reply)
    alice = make_agent("alice")
    add_account(alice, server, "alice", password="not-the-password")
    state = alice.wait_for("reg_state", name="alice")
    assert state["code"] == reply
    assert not state["active"]
    assert server.contacts("alice") == []


def test_pjsua2_message_between_registered_users(kamailio: Kamailio, make_agent: MakeAgent) -> None:
    alice, bob = make_agent("alice"), make_agent("bob")
    registered(alice, kamailio, "alice", transport="udp")
    registered(bob, kamailio, "bob", transport="tcp")

    alice.command("message", name="alice", to=kamailio.aor("bob"), body="Hello, Bob")
    received = bob.wait_for("im", name="bob")
    assert received["body"] == "Hello, Bob"
    assert kamailio.aor("alice") in received["from_uri"]
    status = alice.wait_for("im_status", name="alice")
    assert status["code"] == 200

    bob.command("message", name="bob", to=kamailio.aor("alice"), body="Hello, Alice")
    assert alice.wait_for("im", name="alice")["body"] == "Hello, Alice"
    assert bob.wait_for("im_status", name="bob")["code"] == 200
    # Both MESSAGEs were challenged (407) before they were relayed.
    assert len(re.findall(r"authentication of MESSAGE from .* failed: -5", kamailio.log)) >= 2


def test_pjsua2_message_to_unregistered_user_is_404(kamailio: Kamailio, make_agent: MakeAgent) -> None:
    alice = make_agent("alice")
    registered(alice, kamailio, "alice")
    alice.command("message", name="alice", to=kamailio.aor("carol"), body="anyone?")
    assert alice.wait_for("im_status", name="alice")["code"] == 404


def test_pjsua2_call_is_record_routed(kamailio: Kamailio, make_agent: MakeAgent) -> None:
    alice, bob = make_agent("alice"), make_agent("bob")
    registered(alice, kamailio, "alice", transport="tcp")
    registered(bob, kamailio, "bob", transport="udp")

    alice.command("call", name="alice", to=kamailio.aor("bob"))
    alice.wait_for("call_state", name="alice", state="CONFIRMED")
    bob.wait_for("call_state", name="bob", state="CONFIRMED")
    alice.command("hangup", name="alice")
    bob.wait_for("call_state", name="bob", state="DISCONNECTED")
    assert alice.wait_for("call_state", name="alice", state="DISCONNECTED")["code"] == 200

    # The ACK and the BYE took the recorded route, through Kamailio.
    assert re.search(r"request ACK sip:bob@", kamailio.log)
    assert re.search(r"request BYE sip:bob@", kamailio.log)
    bob.close()
    record_route = f"Record-Route: <sip:{kamailio.hostport};"
    assert record_route in bob.log_path.read_text(errors="replace")


def test_pjsua2_call_failures(kamailio: Kamailio, make_agent: MakeAgent) -> None:
    alice, bob = make_agent("alice"), make_agent("bob")
    registered(alice, kamailio, "alice")
    registered(bob, kamailio, "bob", answer_calls=False)
    alice.command("call", name="alice", to=kamailio.aor("carol"))
    assert alice.wait_for("call_state", name="alice", state="DISCONNECTED")["code"] == 404
    alice.command("call", name="alice", to=kamailio.aor("bob"))
    assert (
        alice.wait_for("call_state", name="alice", state="DISCONNECTED", where=lambda event: event["code"] != 404)[
            "code"
        ]
        == 486
    )


def test_pjsua2_presence(kamailio: Kamailio, make_agent: MakeAgent) -> None:
    alice, bob = make_agent("alice"), make_agent("bob")
    registered(alice, kamailio, "alice", publish=True)
    registered(bob, kamailio, "bob", transport="tcp")

    alice.command("presence", name="alice", online=True, note="Writing tests")
    published = wait_for_presentity(kamailio, "alice", "Writing tests")
    assert "<basic>open</basic>" in published["body"]

    bob.command("buddy", name="bob", uri=kamailio.aor("alice"), subscribe=True)
    state = bob.wait_for("buddy_state", name="bob", where=lambda event: event["note"] == "Writing tests")
    assert state["status"] == "online"
    assert state["sub_state"] == "ACTIVE"

    # A new publication reaches the watcher in a NOTIFY.
    alice.command("presence", name="alice", online=True, note="At lunch")
    assert bob.wait_for("buddy_state", name="bob", note="At lunch")["status"] == "online"
    alice.command("presence", name="alice", online=False, note="Gone")
    assert bob.wait_for("buddy_state", name="bob", note="Gone")["status"] == "offline"

    bob.command("unsubscribe", name="bob", uri=kamailio.aor("alice"))
    bob.wait_for("buddy_sub_state", name="bob", sub_state="TERMINATED")


def test_pjsua2_subscription_refresh(make_kamailio: MakeKamailio, make_agent: MakeAgent) -> None:
    # Kamailio grants subscriptions 10 s; pjsua2 refreshes 5 s before they
    # expire, inside the dialog, to the Contact of Kamailio's 200 OK.
    server = make_kamailio(presence_max_expires=10)
    alice, bob = make_agent("alice"), make_agent("bob")
    registered(bob, server, "bob", transport="tcp")
    bob.command("buddy", name="bob", uri=server.aor("alice"), subscribe=True)
    bob.wait_for("buddy_state", name="bob", sub_state="ACTIVE")

    in_dialog = re.compile(rf"request SUBSCRIBE sip:127\.0\.0\.1:{server.port};transport=tcp ")
    deadline = time.monotonic() + 15
    while not in_dialog.search(server.log):
        assert time.monotonic() < deadline, server.log[-4000:]
        time.sleep(0.1)

    # Still subscribed: alice's first publication reaches bob.
    registered(alice, server, "alice", publish=True)
    alice.command("presence", name="alice", online=True, note="Refreshed")
    state = bob.wait_for("buddy_state", name="bob", note="Refreshed")
    assert (state["status"], state["sub_state"]) == ("online", "ACTIVE")


def test_pjsua2_quitting_unregisters(kamailio: Kamailio, make_agent: MakeAgent) -> None:
    alice = make_agent("alice")
    registered(alice, kamailio, "alice", transport="tcp")
    alice.close()
    kamailio.wait_for_contacts("alice", lambda contacts: not contacts, timeout=5)


def wait_for_presentity(server: Kamailio, user: str, text: str, timeout: float = 10.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while True:
        for record in server.presentities(user):
            if text in str(record["body"]):
                return record
        if time.monotonic() > deadline:
            raise AssertionError(f"no publication of {user} with {text!r}: {server.presentities(user)}")
        time.sleep(0.05)
