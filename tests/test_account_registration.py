"""Account registration against a real Kamailio (digest authentication), reached through DNS SRV records.

Every account here is alice@accounts.test (or bob@): its routes come from an
NSD serving accounts.test on a loopback address (tests/support/accounts.py),
whose SRV records point at Kamailio's port, or at a port where nothing
listens (a dead server). Kamailio's location table, read over its RPC
interface, tells what is really registered.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from devkit.ports import free_port
from sipsimple.account import Account, AccountManager
from sipsimple.account.registration import RegistrationState
from sipsimple.configuration.settings import SIPSimpleSettings
from sipsimple.core import Engine, Registration
from sipsimple.lookup import Route
from sipsimple.notification import Notification, NotificationCenter
from sipsimple.threading import spawn
from tests.peers.kamailio import TEST_USERS, Kamailio
from tests.support.accounts import DOMAIN, ZoneServer, fresh_configuration, tear_down
from tests.support.notifications import NotificationRecorder, observe

pytestmark = pytest.mark.timeout(120)

MakeKamailio = Callable[..., Kamailio]
ACCOUNT_NOTIFICATIONS = (
    "SIPAccountRegistrationDidSucceed",
    "SIPAccountRegistrationDidFail",
    "SIPAccountRegistrationDidEnd",
    "SIPAccountDidActivate",
    "SIPAccountDidDeactivate",
    "SIPAccountManagerDidAddAccount",
    "SIPAccountManagerDidRemoveAccount",
)


@pytest.fixture
def engine() -> Iterator[Engine]:
    fresh_configuration()
    engine = Engine()
    engine.start(ip_address="127.0.0.1", udp_port=0, tcp_port=0)
    yield engine
    tear_down()
    engine.stop()


@pytest.fixture
def dns(tmp_path: Path) -> Iterator[ZoneServer]:
    server = ZoneServer(tmp_path / "nsd")
    yield server
    server.stop()


@pytest.fixture
def recorder() -> Iterator[NotificationRecorder]:
    recorder = observe(*ACCOUNT_NOTIFICATIONS)
    yield recorder
    NotificationCenter().purge_observer(recorder)


def dead_port() -> int:
    """A UDP and TCP port on 127.0.0.1 where nothing listens (free now, and nothing here binds it)."""
    return free_port(socket.SOCK_STREAM)


def make_account(
    user: str = "alice", *, password: str | None = None, expires: int = 600, transports: list[str] | None = None
) -> Account:
    account = Account(f"{user}@{DOMAIN}")
    account.enabled = True
    account.display_name = user.capitalize()
    account.auth.password = TEST_USERS[user] if password is None else password
    account.registration.expires = expires
    account.registration.retry_delay = 0.2
    account.registration.max_retry_delay = 3.0
    account.sip.transport_list = transports or ["udp"]
    account.save()
    return account


def of(account: Account, name: str) -> Callable[[Notification], bool]:
    return lambda notification: notification.name == name and notification.sender is account


def succeeded(recorder: NotificationRecorder, account: Account, timeout: float = 15.0) -> Notification:
    return recorder.wait_for(of(account, "SIPAccountRegistrationDidSucceed"), timeout)


def kamailio_for_domain(make_kamailio: MakeKamailio, dns: ZoneServer, transport: str = "udp") -> Kamailio:
    """Kamailio serving DOMAIN, which the domain's SRV record for `transport` names."""
    server = make_kamailio(domain=DOMAIN)
    dns.serve([(f"_sip._{transport}", 10, server.port, "sip")])
    return server


def started_manager() -> AccountManager:
    manager = AccountManager()
    manager.start()
    return manager


def activated_and_registered_again(recorder: NotificationRecorder, account: Account) -> None:
    """Wait for the account's second SIPAccountDidActivate and second SIPAccountRegistrationDidSucceed."""
    for name in ("SIPAccountDidActivate", "SIPAccountRegistrationDidSucceed"):
        recorder.wait_for(lambda n, name=name: len([m for m in recorder.named(name) if m.sender is account]) == 2)


def registered_account(
    make_kamailio: MakeKamailio, dns: ZoneServer, recorder: NotificationRecorder, **account_options: Any
) -> tuple[Kamailio, Account, Notification]:
    """Kamailio for DOMAIN, the AccountManager started, and a new account (make_account's) registered:
    the server, the account and its first SIPAccountRegistrationDidSucceed."""
    server = kamailio_for_domain(make_kamailio, dns)
    started_manager()
    account = make_account(**account_options)
    return server, account, succeeded(recorder, account)


# --- registering through DNS ----------------------------------------------------------------


def test_register_through_srv_with_digest(
    engine: Engine, make_kamailio: MakeKamailio, dns: ZoneServer, recorder: NotificationRecorder
) -> None:
    server = kamailio_for_domain(make_kamailio, dns)
    started_manager()
    account = make_account()

    activated = recorder.wait_for(of(account, "SIPAccountDidActivate"))
    success = succeeded(recorder, account)
    assert activated.datetime <= success.datetime
    data = success.data
    assert (data.code, data.reason) == (200, "OK")
    assert isinstance(data.registration, Registration)
    assert data.route == Route("127.0.0.1", server.port, "udp")
    contact = account.contact["udp"]
    assert str(data.contact_uri) == str(contact)
    assert data.contact_uri.user == account.contact.username
    assert data.contact_uri.port == engine.local_udp_port
    assert [uri.user for uri in data.contact_uri_list] == [account.contact.username]
    assert data.expires == 600
    assert account.registrar is not None and account.registrar.state is RegistrationState.REGISTERED

    # Kamailio has the binding, with the account's contact.
    bindings = server.contacts("alice")
    assert len(bindings) == 1
    assert bindings[0].contact.startswith(f"sip:{account.contact.username}@127.0.0.1:{engine.local_udp_port}")
    assert 500 < bindings[0].expires <= 600
    assert not recorder.named("SIPAccountRegistrationDidFail")


def test_register_over_ipv6(make_kamailio: MakeKamailio, dns: ZoneServer, recorder: NotificationRecorder) -> None:
    fresh_configuration()
    engine = Engine()
    engine.start(ip_address="::1", udp_port=0)
    try:
        server = make_kamailio(domain=DOMAIN, ipv6=True)
        dns.serve([("_sip._udp", 10, server.port, "sip")], address="::1")
        started_manager()
        account = make_account()
        assert account.contact.domain == "[::1]"
        data = succeeded(recorder, account).data
        assert data.route == Route("::1", server.port, "udp")
        assert (data.contact_uri.host, data.contact_uri.port) == ("::1", engine.local_udp_port)
        assert server.contacts("alice")[0].contact.startswith(f"sip:{account.contact.username}@[::1]:")
    finally:
        tear_down()
        engine.stop()


def test_engine_on_every_interface_registers_the_address_towards_the_route(
    make_kamailio: MakeKamailio, dns: ZoneServer, recorder: NotificationRecorder
) -> None:
    fresh_configuration()
    settings = SIPSimpleSettings()
    settings.local_ip = "127.0.0.9"  # what the account's contact says when no route is known
    settings.save()
    engine = Engine()
    engine.start(ip_address=None, udp_port=0)  # 0.0.0.0
    try:
        server = kamailio_for_domain(make_kamailio, dns)
        started_manager()
        account = make_account()
        assert account.contact.domain == "127.0.0.9"
        data = succeeded(recorder, account).data
        # The REGISTER's contact is the address the system sends from towards Kamailio.
        assert data.contact_uri.host == "127.0.0.1"
        assert data.contact_uri.user == account.contact.username
        assert server.contacts("alice")[0].contact.startswith(f"sip:{account.contact.username}@127.0.0.1:")
    finally:
        tear_down()
        engine.stop()


def test_contact_uri_list_lists_every_binding_of_the_address(
    engine: Engine, make_kamailio: MakeKamailio, dns: ZoneServer, recorder: NotificationRecorder
) -> None:
    server = kamailio_for_domain(make_kamailio, dns)
    # Another device of alice's registers first, by hand.
    other = server.request(
        "REGISTER",
        user="alice",
        password=TEST_USERS["alice"],
        headers={"Contact": "<sip:phone@127.0.0.1:5999>", "Expires": "600"},
    )
    assert other.status == 200
    started_manager()
    account = make_account()
    data = succeeded(recorder, account).data
    assert sorted(uri.user for uri in data.contact_uri_list) == sorted(["phone", account.contact.username])
    assert data.contact_uri.user == account.contact.username


def test_outbound_proxy_is_used_instead_of_the_domain(
    engine: Engine, make_kamailio: MakeKamailio, dns: ZoneServer, recorder: NotificationRecorder
) -> None:
    server = make_kamailio(domain=DOMAIN)
    dns.serve([("_sip._udp", 10, dead_port(), "nowhere")])  # the domain's SRV record leads nowhere
    started_manager()
    account = make_account(transports=["udp", "tcp"])
    account.sip.outbound_proxy = f"127.0.0.1:{server.port};transport=tcp"
    account.save()
    success = succeeded(recorder, account).data
    assert success.route == Route("127.0.0.1", server.port, "tcp")
    assert success.contact_uri.parameters["transport"] == "tcp"
    assert ";transport=tcp" in server.contacts("alice")[0].contact


def test_failed_dns_lookup_backs_off_and_retries(
    engine: Engine, make_kamailio: MakeKamailio, dns: ZoneServer, recorder: NotificationRecorder
) -> None:
    server = make_kamailio(domain=DOMAIN)
    dns.serve([("_sip._tcp", 10, server.port, "sip")])  # only TCP is offered, the account wants UDP
    started_manager()
    account = make_account(transports=["udp"])
    first = recorder.wait_for(of(account, "SIPAccountRegistrationDidFail")).data
    assert "DNS lookup failed" in first.reason
    assert first.next_route is None and not hasattr(first, "code")
    second = recorder.wait_for(
        lambda n: n.name == "SIPAccountRegistrationDidFail" and n.sender is account and n.data is not first
    ).data
    assert second.delay > first.delay
    # DNS now offers UDP: the next round registers.
    dns.serve([("_sip._udp", 10, server.port, "sip")])
    assert succeeded(recorder, account).data.route == Route("127.0.0.1", server.port, "udp")


@pytest.mark.parametrize("dead_transport", ["udp", "tcp"])
def test_a_dead_first_target_fails_over_to_the_second(
    engine: Engine, make_kamailio: MakeKamailio, dns: ZoneServer, recorder: NotificationRecorder, dead_transport: str
) -> None:
    server = make_kamailio(domain=DOMAIN)
    dead = dead_port()
    service = {"udp": "_sip._udp", "tcp": "_sip._tcp"}
    # The dead server comes first: by priority, and by transport preference.
    dns.serve([(service[dead_transport], 0, dead, "dead"), ("_sip._udp", 10, server.port, "live")])
    started_manager()
    account = make_account(transports=[dead_transport, "udp"] if dead_transport == "tcp" else ["udp"])

    failure = recorder.wait_for(of(account, "SIPAccountRegistrationDidFail"), 15).data
    assert not hasattr(failure, "code")  # no response came: a timeout (UDP) or a refused connection (TCP)
    assert failure.next_route == Route("127.0.0.1", server.port, "udp")
    assert failure.delay < 0.5
    assert isinstance(failure.registration, Registration)
    success = succeeded(recorder, account).data
    assert success.route == Route("127.0.0.1", server.port, "udp")
    assert len(recorder.named("SIPAccountRegistrationDidFail")) == 1
    assert [binding.contact.split(";")[0] for binding in server.contacts("alice")] == [str(account.contact["udp"])]


def test_registrar_down_then_back(
    engine: Engine, make_kamailio: MakeKamailio, dns: ZoneServer, recorder: NotificationRecorder
) -> None:
    server, account, first = registered_account(make_kamailio, dns, recorder, expires=4)  # refreshed after 2 s
    assert first.data.expires == 4

    server.stop()
    # The refresh fails, then each new round (DNS lookup, REGISTER) fails too, waiting longer each time.
    failures = []
    for _ in range(3):
        failures.append(
            recorder.wait_for(
                lambda n: n.name == "SIPAccountRegistrationDidFail" and n.sender is account and n not in failures,
                timeout=20,
            )
        )
    for failure in failures:
        assert failure.data.next_route is None
        assert not hasattr(failure.data, "code")
    delays = [failure.data.delay for failure in failures]
    assert 0.15 <= delays[0] <= 0.2
    assert delays[0] < delays[1] < delays[2] <= 3.0
    assert len([n for n in recorder.named("SIPAccountRegistrationDidSucceed") if n.sender is account]) == 1

    # Back, on another port: DNS says where, and the account registers again.
    server.start()
    dns.serve([("_sip._udp", 10, server.port, "sip")])
    again = recorder.wait_for(
        lambda n: n.name == "SIPAccountRegistrationDidSucceed" and n.sender is account and n is not first, timeout=30
    )
    assert again.data.route == Route("127.0.0.1", server.port, "udp")
    assert server.contacts("alice")[0].contact.startswith(str(account.contact["udp"]))


@pytest.mark.parametrize("reply", [401, 403])
def test_wrong_password_fails_with_back_off(
    engine: Engine, make_kamailio: MakeKamailio, dns: ZoneServer, recorder: NotificationRecorder, reply: int
) -> None:
    server = make_kamailio(domain=DOMAIN, wrong_password_reply=reply)
    # Two routes to the same registrar: a refused password is not worth trying elsewhere.
    dns.serve([("_sip._udp", 10, server.port, "sip"), ("_sip._tcp", 20, server.port, "sip")])
    started_manager()
    account = make_account(password="not-the-password", transports=["udp", "tcp"])
    first = recorder.wait_for(of(account, "SIPAccountRegistrationDidFail")).data
    assert first.code == reply
    assert first.next_route is None
    second = recorder.wait_for(
        lambda n: n.name == "SIPAccountRegistrationDidFail" and n.sender is account and n.data is not first
    ).data
    assert second.code == reply
    assert second.delay > first.delay
    assert server.contacts("alice") == []
    assert not recorder.named("SIPAccountRegistrationDidSucceed")

    # The right password, saved: the account registers at once.
    account.auth.password = TEST_USERS["alice"]
    account.save()
    assert succeeded(recorder, account).data.code == 200
    assert len(server.contacts("alice")) == 1


# --- settings changed at run time --------------------------------------------------------------


def test_disabling_the_account_unregisters_it(
    engine: Engine, make_kamailio: MakeKamailio, dns: ZoneServer, recorder: NotificationRecorder
) -> None:
    server, account, _ = registered_account(make_kamailio, dns, recorder)
    assert len(server.contacts("alice")) == 1

    account.enabled = False
    account.save()
    ended = recorder.wait_for(of(account, "SIPAccountRegistrationDidEnd")).data
    assert (ended.code, ended.reason) == (200, "OK")
    assert isinstance(ended.registration, Registration)
    deactivated = recorder.wait_for(of(account, "SIPAccountDidDeactivate"))
    assert recorder.notifications.index(deactivated) > recorder.notifications.index(
        recorder.named("SIPAccountRegistrationDidEnd")[0]
    )
    assert server.contacts("alice") == []
    assert not account.is_active

    account.enabled = True
    account.save()
    activated_and_registered_again(recorder, account)
    assert len(server.contacts("alice")) == 1


def test_registration_enabled_flag(
    engine: Engine, make_kamailio: MakeKamailio, dns: ZoneServer, recorder: NotificationRecorder
) -> None:
    server, account, _ = registered_account(make_kamailio, dns, recorder)
    account.registration.enabled = False
    account.save()
    assert recorder.wait_for(of(account, "SIPAccountRegistrationDidEnd")).data.code == 200
    assert server.contacts("alice") == []
    assert account.is_active  # only the registration stopped
    assert not [n for n in recorder.named("SIPAccountDidDeactivate") if n.sender is account]


def test_new_password_and_expiry_reregister_in_the_same_call(
    engine: Engine, make_kamailio: MakeKamailio, dns: ZoneServer, recorder: NotificationRecorder
) -> None:
    server, account, first = registered_account(make_kamailio, dns, recorder)
    call_id = server.contacts("alice")[0].call_id

    server.add_user("alice", "a-new-secret")
    account.auth.password = "a-new-secret"
    account.registration.expires = 300
    account.save()
    second = recorder.wait_for(
        lambda n: n.name == "SIPAccountRegistrationDidSucceed" and n.sender is account and n is not first
    )
    assert second.data.expires == 300
    bindings = server.contacts("alice")
    assert len(bindings) == 1 and bindings[0].call_id == call_id  # the same binding, refreshed
    assert bindings[0].expires <= 300


def test_rename_moves_the_registration_to_the_new_address(
    engine: Engine, make_kamailio: MakeKamailio, dns: ZoneServer, recorder: NotificationRecorder
) -> None:
    server = kamailio_for_domain(make_kamailio, dns)
    manager = started_manager()
    account = make_account("alice")
    first = succeeded(recorder, account)
    assert len(server.contacts("alice")) == 1

    account.__id__ = f"bob@{DOMAIN}"
    account.auth.password = TEST_USERS["bob"]
    account.save()
    second = recorder.wait_for(
        lambda n: n.name == "SIPAccountRegistrationDidSucceed" and n.sender is account and n is not first
    )
    assert second.data.registration is not first.data.registration
    assert str(second.data.registration.from_header.uri) == f"sip:bob@{DOMAIN}"
    assert len(server.contacts("bob")) == 1
    server.wait_for_contacts("alice", lambda found: not found)  # the old address of record was unregistered
    assert manager.get_account(f"bob@{DOMAIN}") is account


@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_new_port_registers_the_new_contact(
    engine: Engine, make_kamailio: MakeKamailio, dns: ZoneServer, recorder: NotificationRecorder, transport: str
) -> None:
    server = kamailio_for_domain(make_kamailio, dns, transport)
    started_manager()
    account = make_account(transports=[transport])
    first = succeeded(recorder, account)
    old_port = first.data.contact_uri.port

    # The Engine's transport moves (as when SIPApplication applies a changed port setting): the account follows.
    new_port = free_port(socket.SOCK_STREAM if transport == "tcp" else socket.SOCK_DGRAM)
    getattr(engine, f"set_{transport}_port")(new_port)
    second = recorder.wait_for(
        lambda n: n.name == "SIPAccountRegistrationDidSucceed" and n.sender is account and n is not first
    )
    assert second.data.contact_uri.port == new_port != old_port
    assert second.data.registration is not first.data.registration
    # The old binding is removed, the new one is there.
    server.wait_for_contacts("alice", lambda found: len(found) == 1 and f":{new_port}" in found[0].contact)
    assert not [n for n in recorder.named("SIPAccountRegistrationDidFail") if n.sender is account]

    # The application may also ask for it (e.g. the system's addresses changed): the same contact, registered again.
    account.reregister()
    third = recorder.wait_for(
        lambda n: n.name == "SIPAccountRegistrationDidSucceed" and n.sender is account and n not in (first, second)
    )
    assert third.data.contact_uri.port == new_port
    assert third.data.registration is second.data.registration
    assert len(server.contacts("alice")) == 1


# --- removal and stop ----------------------------------------------------------------------------


def test_deleting_the_account_unregisters_and_removes_it(
    engine: Engine, make_kamailio: MakeKamailio, dns: ZoneServer, recorder: NotificationRecorder
) -> None:
    server, account, _ = registered_account(make_kamailio, dns, recorder)
    manager = AccountManager()
    account.delete()
    assert recorder.wait_for(of(account, "SIPAccountRegistrationDidEnd")).data.code == 200
    removed = recorder.wait_named("SIPAccountManagerDidRemoveAccount")
    assert removed.sender is manager and removed.data.account is account
    assert not manager.has_account(account.id)
    assert server.contacts("alice") == []
    names = recorder.names
    assert names.index("SIPAccountDidDeactivate") < names.index("SIPAccountManagerDidRemoveAccount")


def test_manager_stop_is_bounded_when_the_registrar_is_dead(
    engine: Engine, make_kamailio: MakeKamailio, dns: ZoneServer, recorder: NotificationRecorder
) -> None:
    server = kamailio_for_domain(make_kamailio, dns)
    SIPSimpleSettings().sip.register_timeout = 30  # a REGISTER could wait long: stop() must not
    SIPSimpleSettings().save()
    manager = started_manager()
    alice, bob = make_account("alice"), make_account("bob")
    succeeded(recorder, alice)
    succeeded(recorder, bob)
    server.stop()

    started = time.monotonic()
    spawn(manager.stop).wait(30)  # as the SIPApplication calls it, from a green thread
    elapsed = time.monotonic() - started
    assert elapsed < 4.5  # STOP_TIMEOUT (3 s) with margin: the application must stop within 5 s
    for account in (alice, bob):
        assert recorder.wait_for(of(account, "SIPAccountDidDeactivate"), timeout=1)
        assert not account.is_active
    # Nobody answered the removal: the registration ended without a response.
    ended = [n for n in recorder.named("SIPAccountRegistrationDidEnd") if n.sender in (alice, bob)]
    assert len(ended) == 2 and all(not hasattr(n.data, "code") for n in ended)


def test_engine_stop_deactivates_and_start_reactivates(
    engine: Engine, make_kamailio: MakeKamailio, dns: ZoneServer, recorder: NotificationRecorder
) -> None:
    server, account, _ = registered_account(make_kamailio, dns, recorder)
    engine.stop()
    recorder.wait_for(of(account, "SIPAccountDidDeactivate"))
    engine.start(ip_address="127.0.0.1", udp_port=0, tcp_port=0)
    activated_and_registered_again(recorder, account)
    server.wait_for_contacts("alice", lambda found: any(f":{engine.local_udp_port}" in b.contact for b in found))


def test_requests_for_the_address_reach_the_account(
    engine: Engine, make_kamailio: MakeKamailio, dns: ZoneServer, recorder: NotificationRecorder
) -> None:
    server, account, _ = registered_account(make_kamailio, dns, recorder)
    manager = AccountManager()
    messages = observe("SIPEngineGotMessage")
    try:
        # bob writes to alice's address; Kamailio relays it to the contact the account registered.
        answer = server.request(
            "MESSAGE",
            user="bob",
            password=TEST_USERS["bob"],
            uri=f"sip:alice@{DOMAIN}",
            headers={"Content-Type": "text/plain"},
            body="hello alice",
        )
        assert answer.status == 200
        got = messages.wait_named("SIPEngineGotMessage")
        assert got.data.body == b"hello alice"
        assert got.data.request_uri.user == account.contact.username
        # The request URI is how an application finds the account a request is for.
        assert manager.find_account(got.data.request_uri) is account
    finally:
        NotificationCenter().purge_observer(messages)
