"""Tests for sipsimple.configuration: the ConfigurationManager, settings objects and SIPSimpleSettings."""

from __future__ import annotations

import copy
import logging
import pickle
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from sipsimple.configuration import (
    ConfigurationBackendError,
    ConfigurationError,
    ConfigurationManager,
    DefaultValue,
    DuplicateIDError,
    ModifiedValue,
    ObjectNotFoundError,
    Setting,
    SettingsGroup,
    SettingsObject,
    SettingsObjectID,
)
from sipsimple.configuration.backend import FileBackend, MemoryBackend
from sipsimple.configuration.datatypes import (
    AudioCodecList,
    ContentTypeList,
    IPAddress,
    NonNegativeInteger,
    Path,
    Port,
    PortRange,
    SampleRate,
    SIPAddress,
    SIPTransportList,
    Timeout,
)
from sipsimple.configuration.settings import SIPSimpleSettings
from tests.support.configuration import CountingBackend
from tests.support.notifications import NotificationRecorder, observe

CHANGE_NOTIFICATIONS = (
    "CFGSettingsObjectWasCreated",
    "CFGSettingsObjectDidChange",
    "CFGSettingsObjectDidChangeID",
    "CFGSettingsObjectWasDeleted",
    "CFGManagerSaveFailed",
)


class Details(SettingsGroup):
    note = Setting(type=str, default="")
    priority = Setting(type=int, default=0)


class Presence(SettingsGroup):
    enabled = Setting(type=bool, default=False)
    details = Details


class Contact(SettingsObject):
    """An object with an id, like an account: one instance per SIP address, stored under Contacts/<id>."""

    __group__ = "Contacts"
    __id__ = SettingsObjectID(type=SIPAddress)

    display_name = Setting(type=str, default="")
    weight = Setting(type=float, default=1.0)
    presence = Presence


@pytest.fixture
def backend() -> CountingBackend:
    return CountingBackend()


@pytest.fixture
def manager(backend: CountingBackend) -> Iterator[ConfigurationManager]:
    manager = ConfigurationManager()
    manager.stop()
    manager.start(backend)
    yield manager
    manager.stop()


@pytest.fixture
def recorder() -> Iterator[NotificationRecorder]:
    recorder = observe(*CHANGE_NOTIFICATIONS)
    yield recorder
    recorder.close()


def restart(manager: ConfigurationManager, backend: Any) -> None:
    manager.stop()
    manager.start(backend)


# --------------------------------------------------------------------------
# ConfigurationManager


def test_manager_is_a_singleton_and_must_be_started() -> None:
    manager = ConfigurationManager()
    manager.stop()
    assert ConfigurationManager() is manager
    assert not manager.running and manager.backend is None
    with pytest.raises(ConfigurationError, match="not started"):
        manager.get("SIPSimpleSettings")
    with pytest.raises(ConfigurationError, match="not started"):
        manager.save()
    with pytest.raises(ConfigurationError, match="start it before using settings objects"):
        SIPSimpleSettings()


def test_manager_tree_operations(manager: ConfigurationManager) -> None:
    manager.update(("Contacts", "alice@example.com"), {"display_name": "Alice", "tags": ["a", "b"]})
    manager.update("Top", 5)
    assert manager.get(["Contacts", "alice@example.com"]) == {"display_name": "Alice", "tags": ["a", "b"]}
    assert manager.get("Top") == 5
    assert manager.get_names() == ["Contacts", "Top"]
    assert manager.get_names("Contacts") == ["alice@example.com"]
    assert manager.get_names("Top") == [] and manager.get_names("Nothing") == []
    assert manager.has_key(("Contacts", "alice@example.com")) and not manager.has_key(("Contacts", "bob"))

    # Copies in and out: the caller's objects are not the tree's.
    data = manager.get(("Contacts", "alice@example.com"))
    data["tags"].append("c")
    assert manager.get(("Contacts", "alice@example.com", "tags")) == ["a", "b"]
    given = {"x": [1]}
    manager.update("Given", given)
    given["x"].append(2)
    assert manager.get("Given") == {"x": [1]}

    manager.rename(("Contacts", "alice@example.com"), ("Contacts", "alice@example.org"))
    assert manager.get_names("Contacts") == ["alice@example.org"]
    manager.update(("Contacts", "bob@example.com"), {})
    with pytest.raises(DuplicateIDError, match="Contacts/bob@example.com"):
        manager.rename(("Contacts", "alice@example.org"), ("Contacts", "bob@example.com"))
    with pytest.raises(ObjectNotFoundError, match="nothing is stored under Contacts/carol"):
        manager.rename(("Contacts", "carol"), ("Contacts", "dave"))

    # Deleting the last child removes the parent left empty; deleting what is not there is no error.
    manager.delete(("Contacts", "alice@example.org"))
    manager.delete(("Contacts", "bob@example.com"))
    assert not manager.has_key("Contacts")
    manager.delete(("Contacts", "nobody"))
    manager.delete(("Top", "below-a-value"))
    with pytest.raises(ObjectNotFoundError) as missing:
        manager.get(("Contacts", "alice@example.org"))
    assert isinstance(missing.value, KeyError)
    assert str(missing.value) == "nothing is stored under Contacts"


def test_manager_refuses_bad_keys_and_data(manager: ConfigurationManager) -> None:
    manager.update("Leaf", "value")
    with pytest.raises(ConfigurationError, match="Leaf holds a value"):
        manager.update(("Leaf", "child"), 1)
    with pytest.raises(ValueError, match="cannot be empty"):
        manager.get(())
    with pytest.raises(ValueError, match="cannot be empty"):
        manager.update(("Contacts", ""), {})
    with pytest.raises(TypeError, match="must be str, not int"):
        manager.get(("Contacts", 3))
    with pytest.raises(TypeError, match="set cannot be stored"):
        manager.update("Bad", {"x": {1, 2}})
    with pytest.raises(TypeError, match="keys must be str"):
        manager.update("Bad", {1: "x"})
    with pytest.raises(TypeError, match="tuple cannot be stored"):
        manager.update("Bad", (1, 2))
    assert not manager.has_key("Bad")


def test_manager_start_and_stop() -> None:
    manager = ConfigurationManager()
    manager.stop()
    manager.stop()  # stopping a stopped manager does nothing
    with pytest.raises(TypeError, match="needs load\\(\\) and save\\(\\)"):
        manager.start(object())
    bad = MemoryBackend()
    bad.load = lambda: ["not", "a", "dict"]
    with pytest.raises(ConfigurationBackendError, match="loaded a list"):
        manager.start(bad)
    assert not manager.running
    generation = manager.generation
    backend = MemoryBackend({"SIPSimpleSettings": {"user_agent": "stored"}})
    manager.start(backend)
    try:
        assert manager.running and manager.backend is backend and manager.generation == generation + 1
        with pytest.raises(ConfigurationError, match="already started"):
            manager.start(MemoryBackend())
        assert manager.get(("SIPSimpleSettings", "user_agent")) == "stored"
    finally:
        manager.stop()


def test_manager_save_writes_the_tree_and_wraps_backend_errors(
    manager: ConfigurationManager, backend: CountingBackend
) -> None:
    manager.update(("A", "b"), [1, 2.5, None, True, "x"])
    manager.save()
    assert backend.load() == {"A": {"b": [1, 2.5, None, True, "x"]}}
    backend.failure = OSError(28, "No space left on device")
    with pytest.raises(ConfigurationBackendError, match="No space left on device") as raised:
        manager.save()
    assert isinstance(raised.value.__cause__, OSError)


def test_manager_transaction_restores_the_tree_when_it_fails(manager: ConfigurationManager) -> None:
    manager.update("Kept", {"value": 1})
    with pytest.raises(RuntimeError), manager.transaction():
        manager.update("Kept", {"value": 2})
        manager.delete("Kept")
        manager.update("New", 1)
        raise RuntimeError("abandon")
    assert manager.get_names() == ["Kept"]
    assert manager.get("Kept") == {"value": 1}
    with manager.transaction():
        manager.update("New", 1)
    assert manager.get("New") == 1


# --------------------------------------------------------------------------
# SIPSimpleSettings: defaults and assignment


def test_sipsimple_settings_defaults(manager: ConfigurationManager) -> None:
    settings = SIPSimpleSettings()
    assert SIPSimpleSettings() is settings
    expected = {
        "user_agent": "sipsimple",
        "local_ip": None,
        "default_account": None,
        "audio.input_device": "system_default",
        "audio.output_device": "system_default",
        "audio.alert_device": "system_default",
        "audio.sample_rate": 48000,
        "audio.echo_canceller.enabled": True,
        "audio.echo_canceller.tail_length": 200,
        "audio.recordings_directory": "~/.sipsimple/recordings",
        "sip.udp_port": 0,
        "sip.tcp_port": 0,
        "sip.tls_port": 0,
        "sip.transport_list": ("tls", "tcp", "udp"),
        "sip.invite_timeout": 90.0,
        "sip.register_timeout": 30.0,
        "rtp.port_range": (50000, 50500),
        "rtp.audio_codec_list": ("opus", "G722", "speex", "GSM", "PCMU", "PCMA"),
        "rtp.timeout": 30.0,
        "tls.ca_list": None,
        "tls.certificate": None,
        "tls.verify_server": False,
        "tls.timeout": 3.0,
        "msrp.transport": "tls",
        "logs.directory": "~/.sipsimple/logs",
        "logs.trace_sip": False,
        "logs.trace_pjsip": False,
        "logs.pjsip_level": 5,
        "logs.trace_msrp": False,
        "logs.trace_notifications": False,
        "file_transfer.directory": "~/Downloads",
        "chat.directory": "~/.sipsimple/chat",
        "chat.accept_types": ("message/cpim", "text/*"),
    }
    actual = {}
    for dotted in expected:
        value: Any = settings
        for part in dotted.split("."):
            value = getattr(value, part)
        actual[dotted] = value
    assert actual == expected
    assert type(settings.sip.udp_port) is Port and type(settings.rtp.port_range) is PortRange
    assert type(settings.audio.sample_rate) is SampleRate and type(settings.tls.timeout) is Timeout
    assert settings.__getstate__() == {}  # nothing was set
    # The class shows the declarations: groups and their settings.
    assert SIPSimpleSettings.sip.udp_port.default == 0
    assert SIPSimpleSettings.local_ip.nullable


def test_assignment_is_validated_and_errors_name_the_setting(manager: ConfigurationManager) -> None:
    settings = SIPSimpleSettings()
    cases: list[tuple[str, Any, type[Exception], str]] = [
        ("sip.udp_port", 70000, ValueError, "SIPSimpleSettings.sip.udp_port: Port must be between 0 and 65535"),
        ("sip.udp_port", "5060", TypeError, "SIPSimpleSettings.sip.udp_port: Port must be an int, not str"),
        ("sip.udp_port", None, TypeError, "SIPSimpleSettings.sip.udp_port: cannot be None"),
        ("sip.transport_list", ["udp", "sctp"], ValueError, "SIPSimpleSettings.sip.transport_list: SIPTransportList"),
        ("rtp.port_range", (50001, 50500), ValueError, "SIPSimpleSettings.rtp.port_range: PortRange must start on"),
        ("audio.echo_canceller.tail_length", -1, ValueError, "SIPSimpleSettings.audio.echo_canceller.tail_length"),
        ("audio.sample_rate", 22050, ValueError, "SIPSimpleSettings.audio.sample_rate: SampleRate must be one of"),
        ("local_ip", "example.com", ValueError, "SIPSimpleSettings.local_ip: IPAddress"),
        ("tls.verify_server", 1, TypeError, "SIPSimpleSettings.tls.verify_server: expected a bool, not int"),
        ("user_agent", b"agent", TypeError, "SIPSimpleSettings.user_agent: expected a str, not bytes"),
        ("default_account", "nobody", ValueError, "SIPSimpleSettings.default_account: SIPAddress must be user@domain"),
    ]
    for dotted, value, exception, message in cases:
        *groups, name = dotted.split(".")
        target: Any = settings
        for group in groups:
            target = getattr(target, group)
        before = getattr(target, name)
        with pytest.raises(exception) as raised:
            setattr(target, name, value)
        assert type(raised.value) is exception
        assert str(raised.value).startswith(message), str(raised.value)
        assert getattr(target, name) == before  # a refused value changes nothing

    with pytest.raises(AttributeError, match="SIPSimpleSettings.sip.udp_prot: no such setting"):
        settings.sip.udp_prot = 5060
    with pytest.raises(AttributeError, match="SIPSimpleSettings.user_agnet: no such setting"):
        settings.user_agnet = "x"
    with pytest.raises(AttributeError, match="SIPSimpleSettings.save: no such setting"):
        settings.save = None
    with pytest.raises(AttributeError, match="SIPSimpleSettings.sip is a group of settings"):
        settings.sip = None
    with pytest.raises(AttributeError, match="fixed id"):
        settings.__id__ = "Other"
    assert settings.__getstate__() == {}


def test_accepted_values_are_converted_to_the_setting_type(manager: ConfigurationManager) -> None:
    settings = SIPSimpleSettings()
    settings.sip.udp_port = 5060
    settings.rtp.port_range = [40000, 40100]
    settings.rtp.audio_codec_list = ["pcma", "OPUS"]
    settings.tls.timeout = 5
    settings.local_ip = "2001:DB8::1"
    settings.tls.ca_list = "~/ca.pem"
    settings.default_account = "sip:alice@example.com"
    assert type(settings.sip.udp_port) is Port and settings.sip.udp_port == 5060
    assert type(settings.rtp.port_range) is PortRange and settings.rtp.port_range == (40000, 40100)
    assert settings.rtp.audio_codec_list == AudioCodecList(["PCMA", "opus"])
    assert type(settings.tls.timeout) is Timeout and settings.tls.timeout == 5.0
    assert type(settings.local_ip) is IPAddress and settings.local_ip == "2001:db8::1"
    assert type(settings.tls.ca_list) is Path
    assert settings.default_account == "alice@example.com" and settings.default_account.domain == "example.com"
    settings.local_ip = None  # nullable
    assert settings.local_ip is None

    contact = Contact("alice@example.com")
    contact.weight = 2  # an int is accepted by a float setting
    assert type(contact.weight) is float and contact.weight == 2.0
    with pytest.raises(TypeError, match="Contact\\('alice@example.com'\\).weight: expected a float, not str"):
        contact.weight = "2"
    with pytest.raises(ValueError, match="finite"):
        contact.weight = float("nan")
    with pytest.raises(TypeError, match="Contact\\('alice@example.com'\\).presence.details.priority: expected an int"):
        contact.presence.details.priority = True


def test_default_value_and_del_go_back_to_the_default(manager: ConfigurationManager) -> None:
    settings = SIPSimpleSettings()
    settings.sip.udp_port = 5060
    settings.audio.echo_canceller.enabled = False
    assert settings.__getstate__() == {"sip": {"udp_port": 5060}, "audio": {"echo_canceller": {"enabled": False}}}
    settings.sip.udp_port = DefaultValue
    del settings.audio.echo_canceller.enabled
    assert settings.sip.udp_port == 0 and settings.audio.echo_canceller.enabled is True
    assert settings.__getstate__() == {}
    assert repr(DefaultValue) == "DefaultValue"


def test_getstate_holds_what_was_set_even_when_equal_to_the_default(manager: ConfigurationManager) -> None:
    settings = SIPSimpleSettings()
    settings.user_agent = "sipsimple"  # equal to the default, but chosen: it is kept if the default changes
    settings.rtp.port_range = PortRange(40000, 40100)
    settings.chat.accept_types = ContentTypeList([])
    settings.local_ip = None  # explicitly None, which is also the default
    assert settings.__getstate__() == {
        "user_agent": "sipsimple",
        "local_ip": None,
        "rtp": {"port_range": [40000, 40100]},
        "chat": {"accept_types": []},
    }


def test_setstate_replaces_all_values(manager: ConfigurationManager) -> None:
    settings = SIPSimpleSettings()
    settings.user_agent = "before"
    settings.__setstate__({"sip": {"tcp_port": 5070}, "logs": {"trace_sip": True}})
    assert settings.user_agent == "sipsimple"
    assert settings.sip.tcp_port == 5070 and settings.logs.trace_sip is True
    with pytest.raises(TypeError, match="must be a dict"):
        settings.__setstate__([])
    with pytest.raises(TypeError, match="set cannot be stored"):
        settings.__setstate__({"x": {1}})


# --------------------------------------------------------------------------
# save(): notifications and writes


def test_first_save_creates_then_changes_are_reported_with_old_and_new_values(
    manager: ConfigurationManager, backend: CountingBackend, recorder: NotificationRecorder
) -> None:
    settings = SIPSimpleSettings()
    settings.save()
    assert recorder.names == ["CFGSettingsObjectWasCreated"]
    created = recorder.notifications[0]
    assert created.sender is settings and created.data.__dict__ == {}
    assert backend.load() == {"SIPSimpleSettings": {}}  # stored, with nothing but defaults

    recorder.clear()
    settings.sip.udp_port = 5060
    settings.sip.transport_list = ["udp"]
    settings.audio.echo_canceller.tail_length = 100
    settings.user_agent = "test agent"
    settings.save()
    assert recorder.names == ["CFGSettingsObjectDidChange"]
    notification = recorder.notifications[0]
    assert notification.sender is settings
    assert notification.data.modified == {
        "user_agent": ModifiedValue("sipsimple", "test agent"),
        "sip.udp_port": ModifiedValue(0, 5060),
        "sip.transport_list": ModifiedValue(("tls", "tcp", "udp"), ("udp",)),
        "audio.echo_canceller.tail_length": ModifiedValue(200, 100),
    }
    assert type(notification.data.modified["sip.udp_port"].new) is Port
    assert backend.load() == {
        "SIPSimpleSettings": {
            "user_agent": "test agent",
            "sip": {"udp_port": 5060, "transport_list": ["udp"]},
            "audio": {"echo_canceller": {"tail_length": 100}},
        }
    }

    # The next save reports against the values of this one.
    recorder.clear()
    settings.sip.udp_port = 5062
    settings.save()
    assert recorder.named("CFGSettingsObjectDidChange")[0].data.modified == {"sip.udp_port": ModifiedValue(5060, 5062)}

    # Going back to a default is a change too.
    recorder.clear()
    settings.user_agent = DefaultValue
    settings.save()
    assert recorder.named("CFGSettingsObjectDidChange")[0].data.modified == {
        "user_agent": ModifiedValue("test agent", "sipsimple")
    }
    assert "user_agent" not in backend.load()["SIPSimpleSettings"]


def test_save_with_nothing_changed_posts_nothing_and_writes_nothing(
    manager: ConfigurationManager, backend: CountingBackend, recorder: NotificationRecorder
) -> None:
    settings = SIPSimpleSettings()
    settings.sip.udp_port = 5060
    settings.save()
    saves = backend.saves
    recorder.clear()

    settings.save()
    assert recorder.notifications == [] and backend.saves == saves

    # Changed and changed back before saving: nothing to report or write.
    settings.sip.udp_port = 5070
    settings.sip.udp_port = 5060
    settings.save()
    assert recorder.notifications == [] and backend.saves == saves

    # Setting a value equal to the default changes what is stored, not any value: written, not reported.
    settings.sip.tcp_port = 0
    settings.save()
    assert backend.saves == saves + 1
    assert backend.load()["SIPSimpleSettings"]["sip"] == {"udp_port": 5060, "tcp_port": 0}
    assert recorder.notifications == []


def test_failed_save_posts_save_failed_leaves_storage_and_can_be_retried(
    manager: ConfigurationManager, backend: CountingBackend, recorder: NotificationRecorder
) -> None:
    settings = SIPSimpleSettings()
    settings.save()
    recorder.clear()
    settings.sip.udp_port = 5060
    backend.failure = OSError(5, "Input/output error")

    with pytest.raises(ConfigurationBackendError, match="Input/output error"):
        settings.save()
    assert recorder.names == ["CFGManagerSaveFailed"]
    failed = recorder.notifications[0]
    assert failed.sender is manager
    assert failed.data.object is settings and failed.data.operation == "save"
    assert failed.data.modified == {"sip.udp_port": ModifiedValue(0, 5060)}
    assert isinstance(failed.data.exception, ConfigurationBackendError)
    assert manager.get("SIPSimpleSettings") == {}  # the in-memory tree was restored
    assert backend.load() == {"SIPSimpleSettings": {}}
    assert settings.sip.udp_port == 5060  # the object keeps its unsaved value

    backend.failure = None
    recorder.clear()
    settings.save()
    assert recorder.names == ["CFGSettingsObjectDidChange"]
    assert recorder.notifications[0].data.modified == {"sip.udp_port": ModifiedValue(0, 5060)}
    assert backend.load() == {"SIPSimpleSettings": {"sip": {"udp_port": 5060}}}


def test_failed_first_save_reports_no_creation(
    manager: ConfigurationManager, backend: CountingBackend, recorder: NotificationRecorder
) -> None:
    backend.failure = OSError(5, "Input/output error")
    contact = Contact("alice@example.com")
    with pytest.raises(ConfigurationBackendError):
        contact.save()
    assert recorder.names == ["CFGManagerSaveFailed"]
    assert recorder.notifications[0].data.modified == {}
    assert not manager.has_key(("Contacts", "alice@example.com"))
    backend.failure = None
    contact.save()
    assert recorder.names[-1] == "CFGSettingsObjectWasCreated"


def test_values_reload_identically_from_a_file_in_a_fresh_manager(tmp_path: Any) -> None:
    filename = tmp_path / "config" / "settings.json"
    manager = ConfigurationManager()
    manager.stop()
    manager.start(FileBackend(filename))
    try:
        settings = SIPSimpleSettings()
        settings.user_agent = "Ünïcode agent"
        settings.local_ip = "10.0.0.1"
        settings.default_account = "alice@example.com"
        settings.audio.sample_rate = 16000
        settings.audio.input_device = None
        settings.audio.echo_canceller.tail_length = NonNegativeInteger(0)
        settings.sip.tls_port = 5061
        settings.sip.transport_list = SIPTransportList(["tcp", "tls"])
        settings.sip.invite_timeout = 12.5
        settings.rtp.port_range = (40000, 40100)
        settings.rtp.audio_codec_list = ["PCMA", "opus"]
        settings.tls.ca_list = "~/ca.pem"
        settings.tls.verify_server = True
        settings.logs.pjsip_level = 3
        settings.chat.accept_types = ["text/plain"]
        settings.save()
        contact = Contact("bob@example.com")
        contact.display_name = "Bob"
        contact.presence.details.note = "away"
        contact.save()
        state = settings.__getstate__()
        values = settings._effective()

        manager.stop()
        manager.start(FileBackend(filename))
        reloaded = SIPSimpleSettings()
        assert reloaded is not settings  # objects belong to one run of the manager
        assert reloaded.__getstate__() == state
        assert reloaded._effective() == values
        for name, value in values.items():
            assert type(reloaded._effective()[name]) is type(value), name
        assert reloaded.user_agent == "Ünïcode agent" and reloaded.audio.input_device is None
        assert reloaded.rtp.port_range == PortRange(40000, 40100)
        assert Contact("bob@example.com").presence.details.note == "away"
        assert ConfigurationManager().get_names("Contacts") == ["bob@example.com"]

        # The object of the earlier run is stale: it cannot overwrite what was loaded since.
        settings.user_agent = "stale"
        with pytest.raises(ConfigurationError, match="run that ended"):
            settings.save()
        with pytest.raises(ConfigurationError, match="run that ended"):
            contact.delete()
        assert reloaded.user_agent == "Ünïcode agent"
    finally:
        manager.stop()


# --------------------------------------------------------------------------
# Objects with ids: one per id, delete, rename


def test_one_object_per_id_loaded_from_storage() -> None:
    manager = ConfigurationManager()
    manager.stop()
    manager.start(MemoryBackend({"Contacts": {"alice@example.com": {"display_name": "Alice", "weight": 3}}}))
    try:
        alice = Contact("alice@example.com")
        assert Contact("sip:alice@example.com") is alice  # the id is normalised before the lookup
        assert alice.__id__ == "alice@example.com" and type(alice.__id__) is SIPAddress
        assert repr(alice) == "Contact('alice@example.com')"
        assert alice.display_name == "Alice" and alice.weight == 3.0 and type(alice.weight) is float
        bob = Contact("bob@example.com")
        assert bob is not alice and bob.display_name == ""
        assert not manager.has_key(("Contacts", "bob@example.com"))  # stored by its first save only
        with pytest.raises(ValueError, match="Contact.__id__: SIPAddress must be user@domain"):
            Contact("bob")
        with pytest.raises(TypeError, match="Contact\\(\\) needs the id"):
            Contact()
        assert Contact.__id__.type is SIPAddress
    finally:
        manager.stop()


def test_concurrent_lookups_of_one_id_give_one_object(manager: ConfigurationManager) -> None:
    results: list[Contact] = []
    barrier = threading.Barrier(8)

    def lookup() -> None:
        barrier.wait()
        results.append(Contact("carol@example.com"))

    threads = [threading.Thread(target=lookup) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8 and all(result is results[0] for result in results)


def test_delete(manager: ConfigurationManager, backend: CountingBackend, recorder: NotificationRecorder) -> None:
    alice = Contact("alice@example.com")
    alice.display_name = "Alice"
    alice.save()
    bob = Contact("bob@example.com")
    bob.save()
    recorder.clear()

    alice.delete()
    assert recorder.names == ["CFGSettingsObjectWasDeleted"] and recorder.notifications[0].sender is alice
    assert backend.load() == {"Contacts": {"bob@example.com": {}}}
    with pytest.raises(ConfigurationError, match="Contact\\('alice@example.com'\\) was deleted"):
        alice.save()
    alice.delete()  # a second delete does nothing
    assert recorder.names == ["CFGSettingsObjectWasDeleted"]
    again = Contact("alice@example.com")
    assert again is not alice and again.display_name == ""

    # Deleting an object that was never saved only forgets it.
    recorder.clear()
    saves = backend.saves
    again.delete()
    assert recorder.notifications == [] and backend.saves == saves
    assert Contact("alice@example.com") is not again

    # A singleton deleted comes back with its defaults.
    settings = SIPSimpleSettings()
    settings.user_agent = "x"
    settings.save()
    settings.delete()
    assert "SIPSimpleSettings" not in backend.load()
    assert SIPSimpleSettings() is not settings and SIPSimpleSettings().user_agent == "sipsimple"


def test_failed_delete_keeps_the_object(
    manager: ConfigurationManager, backend: CountingBackend, recorder: NotificationRecorder
) -> None:
    alice = Contact("alice@example.com")
    alice.save()
    recorder.clear()
    backend.failure = OSError(5, "Input/output error")
    with pytest.raises(ConfigurationBackendError):
        alice.delete()
    assert recorder.names == ["CFGManagerSaveFailed"]
    assert recorder.notifications[0].data.operation == "delete" and recorder.notifications[0].data.object is alice
    assert manager.has_key(("Contacts", "alice@example.com")) and Contact("alice@example.com") is alice
    backend.failure = None
    alice.delete()
    assert recorder.names[-1] == "CFGSettingsObjectWasDeleted" and backend.load() == {}


def test_rename(manager: ConfigurationManager, backend: CountingBackend, recorder: NotificationRecorder) -> None:
    alice = Contact("alice@example.com")
    alice.display_name = "Alice"
    alice.save()
    Contact("bob@example.com")  # live, not stored
    manager.update(("Contacts", "carol@example.com"), {})  # stored, not live
    recorder.clear()

    with pytest.raises(DuplicateIDError, match="bob@example.com"):
        alice.__id__ = "bob@example.com"
    with pytest.raises(DuplicateIDError, match="carol@example.com"):
        alice.__id__ = "carol@example.com"
    with pytest.raises(ValueError, match="Contact.__id__"):
        alice.__id__ = "not an address"
    assert alice.__id__ == "alice@example.com"

    alice.__id__ = "sip:alice@example.org"
    alice.display_name = "Alice B."
    assert alice.__id__ == "alice@example.org"
    assert Contact("alice@example.org") is alice  # the new id is taken at once
    assert manager.has_key(("Contacts", "alice@example.com"))  # storage moves at the next save

    alice.save()
    assert recorder.names == ["CFGSettingsObjectDidChangeID", "CFGSettingsObjectDidChange"]
    changed_id, changed = recorder.notifications
    assert changed_id.data.__dict__ == {"old_id": "alice@example.com", "new_id": "alice@example.org"}
    assert changed.data.modified == {
        "display_name": ModifiedValue("Alice", "Alice B."),
        "__id__": ModifiedValue("alice@example.com", "alice@example.org"),
    }
    assert backend.load()["Contacts"] == {"alice@example.org": {"display_name": "Alice B."}, "carol@example.com": {}}
    fresh = Contact("alice@example.com")
    assert fresh is not alice and fresh.display_name == ""

    # Renamed back and forth before a save: nothing moved, nothing to report.
    recorder.clear()
    fresh.delete()
    alice.__id__ = "alice@example.net"
    alice.__id__ = "alice@example.org"
    alice.save()
    assert recorder.notifications == []

    # An object never saved is simply stored under its latest id.
    dave = Contact("dave@example.com")
    dave.__id__ = "david@example.com"
    dave.save()
    assert recorder.names == ["CFGSettingsObjectWasCreated"]
    assert manager.has_key(("Contacts", "david@example.com")) and not manager.has_key(("Contacts", "dave@example.com"))


def test_rename_to_an_id_stored_meanwhile_fails_at_save(
    manager: ConfigurationManager, recorder: NotificationRecorder
) -> None:
    alice = Contact("alice@example.com")
    alice.save()
    alice.__id__ = "alice@example.org"
    manager.update(("Contacts", "alice@example.org"), {"display_name": "someone else"})
    with pytest.raises(DuplicateIDError):
        alice.save()
    assert recorder.names[-1] == "CFGManagerSaveFailed"
    assert manager.get(("Contacts", "alice@example.org")) == {"display_name": "someone else"}
    assert manager.has_key(("Contacts", "alice@example.com"))


# --------------------------------------------------------------------------
# Stored data that does not fit


def test_invalid_and_unknown_stored_values_are_logged_and_kept(caplog: pytest.LogCaptureFixture) -> None:
    stored = {
        "SIPSimpleSettings": {
            "user_agent": "stored agent",
            "sip": {"udp_port": 70000, "tcp_port": 5070, "future_setting": [1, 2]},
            "audio": "not a group",
            "future_group": {"x": 1},
        }
    }
    backend = MemoryBackend(stored)
    manager = ConfigurationManager()
    manager.stop()
    manager.start(backend)
    try:
        with caplog.at_level(logging.WARNING, logger="sipsimple.configuration"):
            settings = SIPSimpleSettings()
        assert settings.user_agent == "stored agent" and settings.sip.tcp_port == 5070
        assert settings.sip.udp_port == 0  # the invalid value is not used
        assert settings.audio.sample_rate == 48000
        messages = " | ".join(record.getMessage() for record in caplog.records)
        assert "SIPSimpleSettings.sip.udp_port: Port must be between 0 and 65535, got 70000" in messages
        assert "SIPSimpleSettings.audio: 'not a group' is not a group of settings" in messages

        # What could not be used is kept in storage until the setting is given a value.
        settings.user_agent = "new agent"
        settings.save()
        expected = copy.deepcopy(stored["SIPSimpleSettings"])
        expected["user_agent"] = "new agent"
        assert backend.load()["SIPSimpleSettings"] == expected
        settings.sip.udp_port = 5060
        settings.save()
        assert backend.load()["SIPSimpleSettings"]["sip"] == {
            "udp_port": 5060,
            "tcp_port": 5070,
            "future_setting": [1, 2],
        }
    finally:
        manager.stop()


def test_an_object_key_holding_a_value_is_an_error() -> None:
    manager = ConfigurationManager()
    manager.stop()
    manager.start(MemoryBackend({"SIPSimpleSettings": "garbage"}))
    try:
        with pytest.raises(ConfigurationError, match="SIPSimpleSettings holds a str"):
            SIPSimpleSettings()
    finally:
        manager.stop()


# --------------------------------------------------------------------------
# Declarations


def test_declaration_errors() -> None:
    with pytest.raises(TypeError, match="must be bool, int, float, str or a Datatype"):
        Setting(type=list)
    with pytest.raises(TypeError, match="without a default must be nullable"):
        Setting(type=Port)
    with pytest.raises(ValueError, match="the default of a Port Setting: Port must be between"):
        Setting(type=Port, default=-1)
    assert Setting(type=Port, default=5060).default == Port(5060)
    assert Setting(type=str, nullable=True).default is None
    with pytest.raises(TypeError, match="cannot start with '_'"):

        class Hidden(SettingsGroup):
            _secret = Setting(type=str, default="")

    with pytest.raises(TypeError, match="Bad.save: this name is a method"):

        class Bad(SettingsObject):
            __id__ = "Bad"
            save = Setting(type=bool, default=False)

    with pytest.raises(TypeError, match="__id__ must be a non-empty str or a SettingsObjectID"):

        class BadID(SettingsObject):
            __id__ = 5

    with pytest.raises(TypeError, match="__group__ must be a non-empty str"):

        class BadGroup(SettingsObject):
            __id__ = "x"
            __group__ = ""

    with pytest.raises(TypeError, match="SettingsObjectID's type must be str"):
        SettingsObjectID(type=Port)

    class Abstract(SettingsObject):
        name = Setting(type=str, default="")

    with pytest.raises(TypeError, match="Abstract has no __id__"):
        Abstract()
    with pytest.raises(TypeError, match="reach it through its settings object"):
        Details()


def test_subclasses_inherit_and_override_settings(manager: ConfigurationManager) -> None:
    class Base(SettingsObject):
        __id__ = "Base"
        kept = Setting(type=int, default=1)
        replaced = Setting(type=int, default=2)
        group = Details

    class Derived(Base):
        __id__ = "Derived"
        replaced = Setting(type=str, default="two")
        extra = Setting(type=bool, default=True)

    derived = Derived()
    assert (derived.kept, derived.replaced, derived.extra, derived.group.priority) == (1, "two", True, 0)
    assert list(Derived.__settings__) == ["kept", "replaced", "extra"]
    assert Base() is not derived and Base().replaced == 2


def test_two_classes_cannot_share_a_key(manager: ConfigurationManager) -> None:
    class Other(SettingsObject):
        __id__ = "SIPSimpleSettings"

    SIPSimpleSettings()
    with pytest.raises(DuplicateIDError, match="SIPSimpleSettings is used by a SIPSimpleSettings"):
        Other()


def test_objects_cannot_be_copied_or_pickled(manager: ConfigurationManager) -> None:
    settings = SIPSimpleSettings()
    for operation in (copy.copy, copy.deepcopy, pickle.dumps):
        with pytest.raises(TypeError, match="cannot be copied or pickled"):
            operation(settings)


# --------------------------------------------------------------------------
# Threads


THREADS = 6
ROUNDS = 40

# A group with one setting per thread: t0, t1, ...
Tally = type(SettingsGroup)(
    "Tally", (SettingsGroup,), {f"t{index}": Setting(type=int, default=0) for index in range(THREADS)}
)


class Board(SettingsObject):
    __id__ = "Board"
    tally = Tally


class HistoryFileBackend(FileBackend):
    """A FileBackend that remembers, in the order of the calls, the counters of each tree it is asked to write."""

    def __init__(self, filename: Any) -> None:
        super().__init__(filename)
        self.history: list[list[int]] = []
        self._history_lock = threading.Lock()

    def save(self, data: dict[str, Any]) -> None:
        tally = data.get("Board", {}).get("tally", {})
        contacts = data.get("Contacts", {})
        row = [tally.get(f"t{index}", 0) for index in range(THREADS)] + [
            contacts.get(f"user{index}@example.com", {}).get("presence", {}).get("details", {}).get("priority", 0)
            for index in range(THREADS)
        ]
        with self._history_lock:
            self.history.append(row)
        super().save(data)


def test_concurrent_saves_lose_no_update(tmp_path: Any) -> None:
    """Threads change their own setting of one shared object and their own objects, saving after each change."""
    filename = tmp_path / "settings.json"
    backend = HistoryFileBackend(filename)
    manager = ConfigurationManager()
    manager.stop()
    manager.start(backend)
    recorder = observe("CFGSettingsObjectDidChange")
    errors: list[BaseException] = []
    barrier = threading.Barrier(THREADS)
    Board().save()  # created first, so that every change below is a change, not part of the creation

    def work(index: int) -> None:
        try:
            board = Board()
            own = Contact(f"user{index}@example.com")
            barrier.wait()
            for round_ in range(1, ROUNDS + 1):
                setattr(board.tally, f"t{index}", round_)
                board.save()
                own.presence.details.priority = round_
                own.save()
        except BaseException as error:  # reported below
            errors.append(error)

    try:
        threads = [threading.Thread(target=work, args=(index,)) for index in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []

        # What was written never went backwards: no write of an older tree came after a newer one.
        for column in zip(*backend.history, strict=True):
            assert list(column) == sorted(column)
        assert backend.history[-1] == [ROUNDS] * (2 * THREADS)

        # Each change was reported exactly once, whichever thread's save wrote it.
        board = Board()
        for index in range(THREADS):
            reported = [
                (n.data.modified[f"tally.t{index}"].old, n.data.modified[f"tally.t{index}"].new)
                for n in recorder.named("CFGSettingsObjectDidChange")
                if n.sender is board and f"tally.t{index}" in n.data.modified
            ]
            assert sorted(reported) == [(round_ - 1, round_) for round_ in range(1, ROUNDS + 1)]

        manager.stop()
        manager.start(FileBackend(filename))
        board = Board()
        assert [getattr(board.tally, f"t{index}") for index in range(THREADS)] == [ROUNDS] * THREADS
        assert [Contact(f"user{index}@example.com").presence.details.priority for index in range(THREADS)] == [
            ROUNDS
        ] * THREADS
    finally:
        recorder.close()
        manager.stop()
