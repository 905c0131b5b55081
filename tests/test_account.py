"""Account and AccountManager without a registrar: settings, identity, contact, credentials, bookkeeping.

The registration itself is tested against Kamailio in test_account_registration.py;
here the accounts have registration.enabled = False where an Engine runs.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator

import pytest

from sipsimple.account import Account, AccountManager, ContactURI
from sipsimple.account.registration import backoff_delay
from sipsimple.configuration import ConfigurationError, ConfigurationManager
from sipsimple.configuration.backend import MemoryBackend
from sipsimple.configuration.datatypes import SIPAddress, SIPProxyAddress
from sipsimple.configuration.settings import SIPSimpleSettings
from sipsimple.core import SIPURI, Credentials, Engine
from sipsimple.notification import NotificationCenter
from tests.support.accounts import disable_bonjour, fresh_configuration, sip_accounts, tear_down
from tests.support.notifications import NotificationRecorder, observe

pytestmark = pytest.mark.timeout(60)

MANAGER_NOTIFICATIONS = (
    "SIPAccountManagerDidAddAccount",
    "SIPAccountManagerDidRemoveAccount",
    "SIPAccountManagerDidChangeDefaultAccount",
    "SIPAccountDidActivate",
    "SIPAccountDidDeactivate",
    "SIPAccountRegistrationDidSucceed",
    "SIPAccountRegistrationDidFail",
)


@pytest.fixture
def configuration() -> Iterator[ConfigurationManager]:
    manager = fresh_configuration()
    yield manager
    tear_down()


@pytest.fixture
def recorder() -> Iterator[NotificationRecorder]:
    recorder = observe(*MANAGER_NOTIFICATIONS)
    yield recorder
    NotificationCenter().purge_observer(recorder)


@pytest.fixture
def engine(configuration: ConfigurationManager) -> Iterator[Engine]:
    engine = Engine()
    engine.start(ip_address="127.0.0.1", udp_port=0, tcp_port=0)
    yield engine
    AccountManager().stop()
    engine.stop()


def new_account(identifier: str, *, enabled: bool = True, registration: bool = False) -> Account:
    account = Account(identifier)
    account.enabled = enabled
    account.registration.enabled = registration
    account.save()
    return account


def of(account: object, name: str) -> object:
    return lambda notification: notification.name == name and notification.sender is account


# --- settings ---------------------------------------------------------------------------------


def test_settings_defaults(configuration: ConfigurationManager) -> None:
    account = Account("alice@example.test")
    assert account.enabled is False
    assert account.display_name is None
    assert (account.auth.username, account.auth.password) == (None, "")
    assert account.sip.outbound_proxy is None and account.sip.transport_list is None
    assert account.registration.enabled is True
    assert account.registration.expires == 600
    assert 0 < account.registration.retry_delay < account.registration.max_retry_delay
    assert account.rtp.audio_codec_list is None and account.rtp.srtp_encryption == "optional"
    assert account.nat_traversal.use_ice is False and account.nat_traversal.stun_server_list is None
    assert account.msrp.transport is None
    assert not (
        account.presence.enabled
        or account.dialog_event.enabled
        or account.message_summary.enabled
        or account.xcap.enabled
    )
    assert account.tls.verify_server is False


def test_settings_are_validated_and_stored(configuration: ConfigurationManager) -> None:
    account = Account("alice@example.test")
    with pytest.raises(ValueError, match="registration.expires"):
        account.registration.expires = 0
    with pytest.raises(ValueError, match="outbound_proxy"):
        account.sip.outbound_proxy = "proxy.example.test;transport=sctp"
    with pytest.raises(TypeError, match="password"):
        account.auth.password = None
    with pytest.raises(ValueError, match="retry_delay"):
        account.registration.retry_delay = 0
    with pytest.raises(AttributeError):
        account.sip.outbound_porxy = "proxy.example.test"
    account.sip.outbound_proxy = "Proxy.Example.Test:5070;transport=TCP"
    account.auth.password = "secret"
    account.sip.transport_list = ["tcp", "udp"]
    account.save()
    assert configuration.get(("Accounts", "alice@example.test")) == {
        "auth": {"password": "secret"},
        "sip": {"outbound_proxy": "proxy.example.test:5070;transport=tcp", "transport_list": ["tcp", "udp"]},
    }
    backend_data = {"Accounts": configuration.get("Accounts")}
    configuration.stop()
    configuration.start(MemoryBackend(backend_data))
    loaded = Account("alice@example.test")
    assert loaded is not account
    assert loaded.sip.outbound_proxy == SIPProxyAddress("proxy.example.test:5070;transport=tcp")
    assert loaded.sip.outbound_proxy.port == 5070
    assert loaded.auth.password == "secret"


# --- identity, contact, credentials ------------------------------------------------------------------


def test_one_object_per_id(configuration: ConfigurationManager) -> None:
    account = Account("alice@Example.Test")
    assert Account("sip:alice@example.test") is account
    assert Account("bob@example.test") is not account
    assert isinstance(account.id, SIPAddress)
    assert account.id == "alice@example.test"
    assert (account.id.username, account.id.domain) == ("alice", "example.test")
    with pytest.raises(ValueError):
        Account("no-at-sign")
    with pytest.raises(TypeError):
        Account(42)


def test_contact(engine: Engine) -> None:
    alice, bob = Account("alice@example.test"), Account("bob@example.test")
    contact = alice.contact
    assert isinstance(contact, ContactURI)
    assert re.fullmatch(r"[a-z]{8}", contact.username)
    assert contact.domain == "127.0.0.1"
    assert alice.contact.username == contact.username  # fixed for the account
    assert bob.contact.username != contact.username
    udp = contact["udp"]
    assert isinstance(udp, SIPURI)
    assert (udp.user, udp.host, udp.port) == (contact.username, "127.0.0.1", engine.local_udp_port)
    assert "transport" not in udp.parameters
    assert contact["tcp"].parameters["transport"] == "tcp"
    assert contact["tcp"].port == engine.local_tcp_port
    with pytest.raises(KeyError):
        contact["tls"]  # the Engine has no TLS transport


def test_contact_without_an_engine_uses_local_ip(configuration: ConfigurationManager) -> None:
    settings = SIPSimpleSettings()
    settings.local_ip = "127.0.0.7"
    settings.save()
    assert Account("alice@example.test").contact.domain == "127.0.0.7"
    settings.local_ip = "::1"
    settings.save()
    assert Account("alice@example.test").contact.domain == "[::1]"


def test_credentials_follow_the_settings(configuration: ConfigurationManager) -> None:
    account = Account("alice@example.test")
    account.auth.password = "secret"
    credentials = account.credentials
    assert isinstance(credentials, Credentials)
    assert (credentials.username, credentials.password) == ("alice", "secret")
    account.auth.username = "alice-auth"
    account.auth.password = "other"
    assert (account.credentials.username, account.credentials.password) == ("alice-auth", "other")


# --- the AccountManager ---------------------------------------------------------------------------


def test_manager_is_a_singleton_that_needs_the_configuration() -> None:
    ConfigurationManager().stop()
    manager = AccountManager()
    assert AccountManager() is manager
    with pytest.raises(ConfigurationError):
        manager.start()
    assert not manager.started


def test_manager_loads_the_stored_accounts(recorder: NotificationRecorder) -> None:
    AccountManager().stop()
    stored = {
        "Accounts": {
            "alice@example.test": {"enabled": True},
            "bob@example.test": {"enabled": False},
            "not an address": {"enabled": True},
        }
    }
    configuration = ConfigurationManager()
    configuration.stop()
    configuration.start(MemoryBackend(stored))
    disable_bonjour()
    try:
        manager = AccountManager()
        manager.start()
        with pytest.raises(RuntimeError):
            manager.start()
        added = [n for n in recorder.named("SIPAccountManagerDidAddAccount") if isinstance(n.data.account, Account)]
        assert sorted(str(n.data.account.id) for n in added) == ["alice@example.test", "bob@example.test"]
        assert all(n.sender is manager for n in added)
        alice = manager.get_account("alice@example.test")
        assert alice is Account("alice@example.test") and alice.enabled
        assert manager.has_account("sip:bob@example.test")
        assert not manager.has_account("carol@example.test")
        with pytest.raises(KeyError):
            manager.get_account("carol@example.test")
        assert set(manager.get_accounts()) == set(manager.iter_accounts())
        assert set(sip_accounts(manager)) == {alice, Account("bob@example.test")}
        # No Engine runs: nothing activates.
        assert not recorder.named("SIPAccountDidActivate")
        # The only enabled account became the default.
        assert manager.default_account is alice
        assert SIPSimpleSettings().default_account == "alice@example.test"
    finally:
        tear_down()


def test_accounts_created_later_are_added(configuration: ConfigurationManager, recorder: NotificationRecorder) -> None:
    manager = AccountManager()
    manager.start()
    assert sip_accounts(manager) == []
    account = Account("alice@example.test")
    assert not manager.has_account("alice@example.test")  # not saved yet: not an account yet
    account.save()
    added = recorder.wait_for(
        lambda n: n.name == "SIPAccountManagerDidAddAccount" and n.data.account is account, timeout=5
    )
    assert added.sender is manager
    assert manager.get_account("alice@example.test") is account
    # Saving again adds nothing.
    account.display_name = "Alice"
    account.save()
    assert [
        n.data.account for n in recorder.named("SIPAccountManagerDidAddAccount") if isinstance(n.data.account, Account)
    ] == [account]


def test_delete_removes_the_account(configuration: ConfigurationManager, recorder: NotificationRecorder) -> None:
    manager = AccountManager()
    manager.start()
    account = new_account("alice@example.test", enabled=False)
    account.delete()
    removed = recorder.wait_named("SIPAccountManagerDidRemoveAccount", timeout=5)
    assert removed.data.account is account and removed.sender is manager
    assert not manager.has_account("alice@example.test")
    assert not configuration.has_key(("Accounts", "alice@example.test"))
    # An account never saved: deleting it posts nothing.
    Account("bob@example.test").delete()
    assert len(recorder.named("SIPAccountManagerDidRemoveAccount")) == 1


def test_rename_keeps_the_account_managed(configuration: ConfigurationManager) -> None:
    manager = AccountManager()
    manager.start()
    account = new_account("alice@example.test")
    assert manager.default_account is account
    account.__id__ = "alice@example.org"
    account.save()
    assert manager.get_account("alice@example.org") is account
    assert not manager.has_account("alice@example.test")
    assert SIPSimpleSettings().default_account == "alice@example.org"
    assert manager.default_account is account


def test_find_account(engine: Engine) -> None:
    manager = AccountManager()
    manager.start()
    alice = new_account("alice@example.test")
    bob = new_account("bob@example.test")
    carol = new_account("carol@example.test", enabled=False)
    assert manager.find_account(alice.contact["udp"]) is alice
    assert manager.find_account(SIPURI(user=bob.contact.username, host="192.0.2.1")) is bob
    assert manager.find_account(SIPURI(user="bob", host="example.test")) is bob
    assert manager.find_account(SIPURI(user="bob", host="example.org")) is None
    assert manager.find_account(carol.contact["udp"]) is None  # disabled
    assert manager.find_account(SIPURI(user="carol", host="example.test")) is None
    with pytest.raises(TypeError):
        manager.find_account("sip:bob@example.test")  # type: ignore[arg-type]


def test_default_account(configuration: ConfigurationManager, recorder: NotificationRecorder) -> None:
    manager = AccountManager()
    manager.start()
    assert manager.default_account is None
    alice = new_account("alice@example.test")
    bob = new_account("bob@example.test")
    carol = new_account("carol@example.test", enabled=False)
    changes = recorder.named("SIPAccountManagerDidChangeDefaultAccount")
    assert [(n.data.old_account, n.data.account) for n in changes] == [(None, alice)]  # the first enabled one

    manager.default_account = bob
    assert manager.default_account is bob
    assert SIPSimpleSettings().default_account == "bob@example.test"
    last = recorder.named("SIPAccountManagerDidChangeDefaultAccount")[-1]
    assert (last.sender, last.data.old_account, last.data.account) == (manager, alice, bob)
    with pytest.raises(ValueError, match="not enabled"):
        manager.default_account = carol
    ConfigurationManager().stop()  # objects of another run are not the manager's
    ConfigurationManager().start(MemoryBackend())
    with pytest.raises(ValueError):
        manager.default_account = Account("dave@example.test")
    tear_down()


def test_default_account_is_replaced_when_deleted_or_disabled(
    configuration: ConfigurationManager, recorder: NotificationRecorder
) -> None:
    manager = AccountManager()
    manager.start()
    alice = new_account("alice@example.test")
    bob = new_account("bob@example.test")
    assert manager.default_account is alice
    alice.delete()
    last = recorder.named("SIPAccountManagerDidChangeDefaultAccount")[-1]
    assert (last.data.old_account, last.data.account) == (alice, bob)
    assert manager.default_account is bob

    bob.enabled = False
    bob.save()
    last = recorder.named("SIPAccountManagerDidChangeDefaultAccount")[-1]
    assert (last.data.old_account, last.data.account) == (bob, None)
    assert manager.default_account is None and SIPSimpleSettings().default_account is None

    manager.default_account = None  # already None: nothing posted
    assert len(recorder.named("SIPAccountManagerDidChangeDefaultAccount")) == 3


# --- activation ------------------------------------------------------------------------------------


def test_activation_follows_enabled_and_the_engine(engine: Engine, recorder: NotificationRecorder) -> None:
    manager = AccountManager()
    manager.start()
    alice = new_account("alice@example.test")
    bob = new_account("bob@example.test", enabled=False)
    recorder.wait_for(of(alice, "SIPAccountDidActivate"), timeout=5)
    assert alice.is_active and alice.registrar is None  # registration.enabled is False here
    assert not bob.is_active

    bob.enabled = True
    bob.save()
    recorder.wait_for(of(bob, "SIPAccountDidActivate"), timeout=5)

    engine.stop()
    for account in (alice, bob):
        recorder.wait_for(of(account, "SIPAccountDidDeactivate"), timeout=5)
        assert not account.is_active
    engine.start(ip_address="127.0.0.1", udp_port=0)
    recorder.wait_for(
        lambda n: len([m for m in recorder.named("SIPAccountDidActivate") if m.sender is alice]) == 2, timeout=5
    )

    alice.enabled = False
    alice.save()
    recorder.wait_for(
        lambda n: len([m for m in recorder.named("SIPAccountDidDeactivate") if m.sender is alice]) == 2, timeout=5
    )
    assert not [n for n in recorder.notifications if n.name.startswith("SIPAccountRegistration")]


def test_accounts_activate_when_the_engine_starts(
    configuration: ConfigurationManager, recorder: NotificationRecorder
) -> None:
    account = new_account("alice@example.test")
    manager = AccountManager()
    manager.start()
    assert not account.is_active
    engine = Engine()
    engine.start(ip_address="127.0.0.1", udp_port=0)
    try:
        recorder.wait_for(of(account, "SIPAccountDidActivate"), timeout=5)
        manager.stop()  # from a plain thread: blocks until deactivated
        assert recorder.named("SIPAccountDidDeactivate")[-1].sender is account
        assert not account.is_active
        assert manager.get_accounts() == []
    finally:
        engine.stop()


# --- the back-off ---------------------------------------------------------------------------------


def test_backoff_grows_to_its_maximum_with_bounded_jitter() -> None:
    rng = random.Random(7)
    delays = [backoff_delay(failures, 1.0, 10.0, rng) for failures in range(1, 8)]
    for failures, delay in enumerate(delays, 1):
        nominal = min(10.0, 2.0 ** (failures - 1))
        assert 0.75 * nominal <= delay <= nominal
    assert delays[:4] == sorted(delays[:4])  # strictly growing until the maximum is reached
    assert all(7.5 <= delay <= 10.0 for delay in delays[4:])
    assert backoff_delay(1000, 1.0, 10.0, rng) <= 10.0
    with pytest.raises(ValueError):
        backoff_delay(0, 1.0, 10.0)
    with pytest.raises(ValueError):
        backoff_delay(1, 0.0, 10.0)
