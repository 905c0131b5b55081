"""BonjourAccount: accounts in separate processes find each other over mDNS and talk SIP.

mDNS is multicast (224.0.0.251:5353), so the processes run inside a user and
network namespace made for the test (``unshare -rn``): its loopback interface
is given the MULTICAST flag and a route for 224.0.0.0/4, nothing leaves it.
One ``sleep`` process holds the namespace; each account is a
``tests/peers/bonjour_node.py`` process entered into it with ``nsenter`` and
driven by JSON lines. The tests skip only when the machine cannot make such a
namespace (the kernel refuses unprivileged user namespaces; the reason says
why); unshare, nsenter or ip missing is a failure: scripts/bootstrap installs
them (util-linux, iproute2).

The tests at the end run in this process with no mDNS at all: the account's
attributes and settings, and start() with the Engine stopped.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from devkit.processes import stop_process
from sipsimple.account.bonjour import SERVICE_TYPES, BonjourAccount, BonjourServiceDescription
from sipsimple.configuration import ConfigurationManager
from sipsimple.configuration.backend import MemoryBackend
from sipsimple.core import Engine
from sipsimple.notification import NotificationCenter
from tests.peers.json_lines import send_command
from tests.support.notifications import observe

REPO = Path(__file__).resolve().parents[1]
MULTICAST_LOOPBACK = "ip link set lo up && ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo"
# ip lives in /usr/sbin, which a user's PATH may lack.
TOOLS_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
NAMESPACE_TOOLS = {"unshare": "util-linux", "nsenter": "util-linux", "ip": "iproute2"}

Event = dict[str, Any]


def _missing_tools() -> list[str]:
    return [
        f"{tool} (Debian package {package})"
        for tool, package in NAMESPACE_TOOLS.items()
        if shutil.which(tool, path=TOOLS_PATH) is None
    ]


def _namespace_refused() -> str | None:
    """Why the kernel will not make a user+network namespace with a multicast loopback here, None when it will."""
    if _missing_tools():
        return None  # a failure, not a skip (namespace_support)
    probe = subprocess.run(
        ["unshare", "-rn", "sh", "-c", MULTICAST_LOOPBACK],
        capture_output=True,
        text=True,
        env=dict(os.environ, PATH=TOOLS_PATH),
    )
    if probe.returncode != 0:
        return f"cannot create a user+network namespace with a multicast loopback (unshare -rn): {probe.stderr.strip()}"
    return None


_REFUSED = _namespace_refused()


@pytest.fixture
def namespace_support() -> None:
    """Fails when a tool scripts/bootstrap installs is missing; skips only when the kernel refuses."""
    missing = _missing_tools()
    if missing:
        pytest.fail(f"not installed: {', '.join(missing)}; scripts/bootstrap installs them", pytrace=False)
    if _REFUSED is not None:
        pytest.skip(_REFUSED)


needs_namespace = pytest.mark.usefixtures("namespace_support")


class Namespace:
    """A user+network namespace held by a sleeping process; ``setup`` runs in it first."""

    def __init__(self, setup: str = MULTICAST_LOOPBACK) -> None:
        self.process = subprocess.Popen(
            ["unshare", "-rn", "sh", "-c", f"{setup} && echo ready && exec sleep 600"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(os.environ, PATH=TOOLS_PATH),
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if line.strip() != "ready":
            stop_process(self.process)
            error = self.process.stderr.read() if self.process.stderr else ""
            raise RuntimeError(f"the namespace did not come up: {error}")
        self.pid = self.process.pid

    def close(self) -> None:
        stop_process(self.process)


class Node:
    """One BonjourAccount process inside a namespace (tests/peers/bonjour_node.py)."""

    def __init__(self, namespace: Namespace, display_name: str | None, *arguments: str) -> None:
        command = [
            "nsenter",
            "-t",
            str(namespace.pid),
            "-U",
            "-n",
            "--preserve-credentials",
            sys.executable,
            "-m",
            "tests.peers.bonjour_node",
            *arguments,
        ]
        if display_name is not None:
            command += ["--display-name", display_name]
        self.process = subprocess.Popen(
            command,
            cwd=REPO,
            env=dict(os.environ, PYTHONPATH=str(REPO)),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.events: list[Event] = []
        self._condition = threading.Condition()
        self._stderr: list[str] = []
        self._next_id = 0
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=lambda: self._stderr.extend(self.process.stderr or []), daemon=True).start()
        ready = self.wait_for(lambda e: e["event"] == "ready", timeout=20)
        self.udp_port: int = ready["udp_port"]
        self.tcp_port: int = ready["tcp_port"]
        self.contact_user: str = ready["contact_user"]
        self.contact_host: str = ready["contact_host"]
        self.service_name: str = ready["service_name"]
        self.instance_id: str = ready["instance_id"]

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith("{"):
                with self._condition:
                    self.events.append(json.loads(line))
                    self._condition.notify_all()
        with self._condition:
            self._condition.notify_all()

    def wait_for(self, predicate: Callable[[Event], bool], timeout: float = 15.0, after: int = 0) -> Event:
        """The first event (from index ``after`` on) matching ``predicate``, waiting up to ``timeout`` s."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while True:
                for event in self.events[after:]:
                    if predicate(event):
                        return event
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self.process.poll() is not None and not self._condition.wait(0.2)):
                    raise AssertionError(
                        f"no matching event within {timeout} s; events: {self.events}; stderr: {''.join(self._stderr)}"
                    )
                self._condition.wait(min(remaining, 0.5))

    def mark(self) -> int:
        with self._condition:
            return len(self.events)

    def named(self, name: str) -> list[Event]:
        with self._condition:
            return [e for e in self.events if e["event"] == name]

    def command(self, cmd: str, timeout: float = 20.0, **arguments: Any) -> Event:
        self._next_id += 1
        ident = self._next_id
        send_command(self.process, ident, cmd, **arguments)
        result = self.wait_for(lambda e: e["event"] == "result" and e["id"] == ident, timeout=timeout)
        assert result["ok"], result
        return result

    def neighbour_event(
        self,
        name: str,
        other: Node,
        transport: str,
        after: int = 0,
        timeout: float = 15.0,
        predicate: Callable[[Event], bool] = lambda e: True,
    ) -> Event:
        wanted = f"{other.service_name}.{SERVICE_TYPES[transport]}"
        return self.wait_for(
            lambda e: e["event"] == name and e["neighbour"] == wanted and predicate(e), timeout=timeout, after=after
        )

    def neighbour_names(self) -> set[str]:
        return {e["name"] for e in self.events if e["event"].startswith("BonjourAccountDid") and "name" in e}

    def assert_never_reported_itself(self) -> None:
        for event in self.events:
            if event["event"].endswith("Neighbour"):
                assert not event["neighbour"].startswith(self.service_name + "."), event
                assert event.get("instance_id") != self.instance_id, event

    def quit(self) -> None:
        if self.process.poll() is None:
            try:
                self.command("quit", timeout=10)
                self.process.wait(timeout=10)
            except (AssertionError, OSError, subprocess.TimeoutExpired):
                pass
        stop_process(self.process)


@pytest.fixture
def namespace() -> Iterator[Namespace]:
    space = Namespace()
    yield space
    space.close()


@pytest.fixture
def nodes(namespace: Namespace) -> Iterator[Callable[..., Node]]:
    started: list[Node] = []

    def make(display_name: str | None, *arguments: str) -> Node:
        node = Node(namespace, display_name, *arguments)
        started.append(node)
        return node

    yield make
    for node in started:
        node.quit()
    for node in started:
        node.assert_never_reported_itself()


def _discover_each_other(alice: Node, bob: Node, transports: tuple[str, ...] = ("udp", "tcp")) -> None:
    for transport in transports:
        alice.neighbour_event("BonjourAccountDidAddNeighbour", bob, transport)
        bob.neighbour_event("BonjourAccountDidAddNeighbour", alice, transport)


# --------------------------------------------------------------------------
# Two processes on a multicast loopback


@needs_namespace
def test_two_accounts_discover_each_other_and_exchange_a_message(nodes: Callable[..., Node]) -> None:
    alice = nodes("Alice")
    bob = nodes("Bob")
    alice.wait_for(lambda e: e["event"] == "SIPAccountDidActivate")
    bob.wait_for(lambda e: e["event"] == "SIPAccountDidActivate")

    for transport, port in (("udp", bob.udp_port), ("tcp", bob.tcp_port)):
        found = alice.neighbour_event("BonjourAccountDidAddNeighbour", bob, transport)
        assert found["display_name"] == "Bob"
        assert found["host"] == "127.0.0.1"
        assert found["transport"] == transport
        assert found["instance_id"] == bob.instance_id
        expected = f"sip:{bob.contact_user}@127.0.0.1:{port}" + ("" if transport == "udp" else ";transport=tcp")
        assert found["uri"] == expected
    for transport in ("udp", "tcp"):
        found = bob.neighbour_event("BonjourAccountDidAddNeighbour", alice, transport)
        assert found["display_name"] == "Alice"

    # UDP one way, TCP the other: each reaches the address it discovered.
    alice.command("message", to=f"{bob.service_name}.{SERVICE_TYPES['udp']}", body="Hello Bob, grüße ✓")
    got = bob.wait_for(lambda e: e["event"] == "message")
    assert got["body"] == "Hello Bob, grüße ✓"
    assert got["from_user"] == alice.contact_user
    assert got["from_display_name"] == "Alice"
    assert got["request_uri"].startswith(f"sip:{bob.contact_user}@127.0.0.1:{bob.udp_port}")
    assert alice.wait_for(lambda e: e["event"] == "message_status")["code"] == 200

    bob.command("message", to=f"{alice.service_name}.{SERVICE_TYPES['tcp']}", body="Hi Alice")
    got = alice.wait_for(lambda e: e["event"] == "message")
    assert (got["body"], got["from_user"], got["from_display_name"]) == ("Hi Alice", bob.contact_user, "Bob")
    assert "transport=tcp" in got["request_uri"]
    assert bob.wait_for(lambda e: e["event"] == "message_status")["code"] == 200

    listed = alice.command("neighbours")["neighbours"]
    assert listed == sorted(f"{bob.service_name}.{SERVICE_TYPES[t]}" for t in ("udp", "tcp"))


@needs_namespace
def test_an_account_alone_reports_no_neighbour(nodes: Callable[..., Node]) -> None:
    alone = nodes("Alone")
    alone.wait_for(lambda e: e["event"] == "SIPAccountDidActivate")
    time.sleep(4)  # its own announcements (probes, three broadcasts) have gone round the loopback by now
    assert alone.command("neighbours")["neighbours"] == []
    assert not [e for e in alone.events if e["event"].endswith("Neighbour")]


@needs_namespace
def test_display_name_change_updates_the_neighbour(nodes: Callable[..., Node]) -> None:
    alice = nodes("Alice")
    bob = nodes("Bob")
    _discover_each_other(alice, bob)
    before = {t: alice.neighbour_event("BonjourAccountDidAddNeighbour", bob, t) for t in ("udp", "tcp")}
    mark = alice.mark()
    bob.command("display_name", value="Robert ✓ Ünïcode")
    for transport in ("udp", "tcp"):
        updated = alice.neighbour_event("BonjourAccountDidUpdateNeighbour", bob, transport, after=mark)
        assert updated["display_name"] == "Robert ✓ Ünïcode"
        assert updated["uri"] == before[transport]["uri"]
    assert not [
        e
        for e in alice.events[mark:]
        if e["event"] in ("BonjourAccountDidAddNeighbour", "BonjourAccountDidRemoveNeighbour")
    ]


@needs_namespace
def test_a_new_engine_port_is_announced_again(nodes: Callable[..., Node]) -> None:
    alice = nodes("Alice")
    bob = nodes("Bob")
    _discover_each_other(alice, bob)
    mark = alice.mark()
    ports = bob.command("udp_port")
    assert ports["new"] != ports["old"]
    updated = alice.neighbour_event(
        "BonjourAccountDidUpdateNeighbour",
        bob,
        "udp",
        after=mark,
        predicate=lambda e: e["uri"].endswith(f":{ports['new']}"),
    )
    assert updated["uri"] == f"sip:{bob.contact_user}@127.0.0.1:{ports['new']}"
    alice.command("message", to=f"{bob.service_name}.{SERVICE_TYPES['udp']}", body="to the new port")
    assert bob.wait_for(lambda e: e["event"] == "message")["body"] == "to the new port"
    assert alice.wait_for(lambda e: e["event"] == "message_status")["code"] == 200


@needs_namespace
def test_a_neighbour_going_away_is_removed(nodes: Callable[..., Node]) -> None:
    alice = nodes("Alice")
    bob = nodes("Bob")
    _discover_each_other(alice, bob)

    # stop() withdraws the announcements (goodbye packets) within its 2 seconds.
    mark, bob_mark = alice.mark(), bob.mark()
    stopped = bob.command("stop_account")
    assert stopped["seconds"] <= 2.2
    for transport in ("udp", "tcp"):
        alice.neighbour_event("BonjourAccountDidRemoveNeighbour", bob, transport, after=mark, timeout=10)
        bob.neighbour_event("BonjourAccountDidRemoveNeighbour", alice, transport, after=bob_mark, timeout=1)
    bob.wait_for(lambda e: e["event"] == "SIPAccountDidDeactivate", after=bob_mark, timeout=1)
    assert bob.command("neighbours")["neighbours"] == []

    # Started again, it comes back.
    mark = alice.mark()
    bob.command("start_account")
    alice.neighbour_event("BonjourAccountDidAddNeighbour", bob, "udp", after=mark)

    # The Engine stopping deactivates the account, which says goodbye first.
    mark, bob_mark = alice.mark(), bob.mark()
    bob.command("engine_stop")
    bob.wait_for(lambda e: e["event"] == "SIPAccountDidDeactivate", after=bob_mark, timeout=5)
    alice.neighbour_event("BonjourAccountDidRemoveNeighbour", bob, "udp", after=mark, timeout=10)

    # And the Engine starting again (on new ports) activates it again.
    mark, bob_mark = alice.mark(), bob.mark()
    ports = bob.command("engine_start")
    bob.wait_for(lambda e: e["event"] == "SIPAccountDidActivate", after=bob_mark, timeout=5)
    back = alice.neighbour_event("BonjourAccountDidAddNeighbour", bob, "udp", after=mark)
    assert back["uri"] == f"sip:{bob.contact_user}@127.0.0.1:{ports['udp_port']}"
    # (Both services known again before the last step expects both removed: Alice reports the removal of
    # only what she had resolved.)
    alice.neighbour_event("BonjourAccountDidAddNeighbour", bob, "tcp", after=mark)

    # A process that ends removes its services too.
    mark = alice.mark()
    bob.quit()
    for transport in ("udp", "tcp"):
        alice.neighbour_event("BonjourAccountDidRemoveNeighbour", bob, transport, after=mark, timeout=10)
    assert alice.command("neighbours")["neighbours"] == []


@needs_namespace
def test_an_account_disabled_enabled_and_disabled_at_once_is_not_left_behind(nodes: Callable[..., Node]) -> None:
    # Bob goes, comes back and goes again within a few hundred milliseconds. His second goodbye must remove
    # him again: python-zeroconf drops a packet identical to one received less than 0.8 s before, so were
    # his second goodbye the same packet as his first, Alice would drop it and list Bob for minutes.
    alice = nodes("Alice")
    bob = nodes("Bob")
    _discover_each_other(alice, bob)
    time.sleep(1)  # Bob's first announcements are out of that window: his comeback is not dropped either
    mark = alice.mark()
    # Each step waits for the account to take the previous one (it follows the setting's value when its
    # worker gets to it, so three quick changes would be one); SIPAccountDidActivate comes before the
    # announcements, so the last change withdraws them as soon as they are out.
    for enabled, event in (
        (False, "SIPAccountDidDeactivate"),
        (True, "SIPAccountDidActivate"),
        (False, "SIPAccountDidDeactivate"),
    ):
        bob_mark = bob.mark()
        bob.command("enabled", value=enabled)
        bob.wait_for(lambda e, event=event: e["event"] == event, after=bob_mark, timeout=10)

    # Alice may or may not have resolved Bob's comeback before it ended (resolving waits up to 2 s); either
    # way, after that he must be gone, and no event of his may follow his last removal.
    time.sleep(3)
    assert alice.command("neighbours")["neighbours"] == []
    for transport in ("udp", "tcp"):
        name = f"{bob.service_name}.{SERVICE_TYPES[transport]}"
        events = [e["event"] for e in alice.events[mark:] if e.get("neighbour") == name]
        assert events and events[-1] == "BonjourAccountDidRemoveNeighbour", (transport, events)


@needs_namespace
def test_a_disabled_account_announces_nothing_until_enabled(nodes: Callable[..., Node]) -> None:
    alice = nodes("Alice")
    carol = nodes("Carol", "--disabled")
    alice.wait_for(lambda e: e["event"] == "SIPAccountDidActivate")
    time.sleep(4)
    assert carol.service_name not in alice.neighbour_names()
    assert alice.command("neighbours")["neighbours"] == []
    assert not [e for e in carol.events if e["event"].endswith("Neighbour") or e["event"] == "SIPAccountDidActivate"]

    carol.command("enabled", value=True)
    carol.wait_for(lambda e: e["event"] == "SIPAccountDidActivate")
    _discover_each_other(alice, carol)

    mark = alice.mark()
    carol.command("enabled", value=False)
    carol.wait_for(lambda e: e["event"] == "SIPAccountDidDeactivate")
    for transport in ("udp", "tcp"):
        alice.neighbour_event("BonjourAccountDidRemoveNeighbour", carol, transport, after=mark, timeout=10)


@needs_namespace
def test_transport_list_limits_what_is_announced_and_browsed(nodes: Callable[..., Node]) -> None:
    alice = nodes("Alice", "--transports", "tcp")
    bob = nodes("Bob")
    bob.neighbour_event("BonjourAccountDidAddNeighbour", alice, "tcp")
    alice.neighbour_event("BonjourAccountDidAddNeighbour", bob, "tcp")
    time.sleep(2)
    assert alice.command("neighbours")["neighbours"] == [f"{bob.service_name}.{SERVICE_TYPES['tcp']}"]
    assert bob.command("neighbours")["neighbours"] == [f"{alice.service_name}.{SERVICE_TYPES['tcp']}"]

    # Narrowed at run time: Bob withdraws his UDP service and stops browsing for UDP ones.
    bob.command("transports", value=["udp", "tcp"])
    alice.command("transports", value=["udp", "tcp"])
    _discover_each_other(alice, bob)
    mark, bob_mark = alice.mark(), bob.mark()
    bob.command("transports", value=["tcp"])
    alice.neighbour_event("BonjourAccountDidRemoveNeighbour", bob, "udp", after=mark, timeout=10)
    bob.neighbour_event("BonjourAccountDidRemoveNeighbour", alice, "udp", after=bob_mark, timeout=5)
    assert alice.command("neighbours")["neighbours"] == [f"{bob.service_name}.{SERVICE_TYPES['tcp']}"]
    assert not [
        e
        for e in alice.events[mark:]
        if e["event"] == "BonjourAccountDidRemoveNeighbour" and e["neighbour"].endswith("_tcp.local.")
    ]


@needs_namespace
def test_an_engine_on_every_interface_announces_the_interface_addresses(nodes: Callable[..., Node]) -> None:
    # Bound to 0.0.0.0, the account runs mDNS on every interface and announces their addresses: in the
    # namespace, only the loopback, so the contact and the neighbour's host are 127.0.0.1.
    alice = nodes("Alice", "--ip-address", "0.0.0.0")
    bob = nodes("Bob", "--ip-address", "0.0.0.0")
    assert alice.contact_host == "127.0.0.1"
    found = alice.neighbour_event("BonjourAccountDidAddNeighbour", bob, "udp")
    assert found["uri"] == f"sip:{bob.contact_user}@127.0.0.1:{bob.udp_port}"
    bob.neighbour_event("BonjourAccountDidAddNeighbour", alice, "udp")
    alice.command("message", to=found["neighbour"], body="over every interface")
    assert bob.wait_for(lambda e: e["event"] == "message")["body"] == "over every interface"


@needs_namespace
def test_discovery_failure_is_reported() -> None:
    # Loopback left down: the Engine binds 127.0.0.1 all the same, but no multicast socket can join the group.
    space = Namespace(setup="true")
    try:
        node = Node(space, "Lonely")
        try:
            node.wait_for(lambda e: e["event"] == "SIPAccountDidActivate")
            failed = node.wait_for(lambda e: e["event"] == "BonjourAccountDiscoveryDidFail")
            assert "mDNS could not start" in failed["reason"]
            assert node.command("neighbours")["neighbours"] == []
        finally:
            node.quit()
        assert node.process.returncode == 0
        assert node.named("SIPAccountDidDeactivate")
    finally:
        space.close()


# --------------------------------------------------------------------------
# In this process, without mDNS


@pytest.fixture
def configuration() -> Iterator[ConfigurationManager]:
    manager = ConfigurationManager()
    manager.start(MemoryBackend())
    yield manager
    manager.stop()


def test_identity_contact_and_credentials(configuration: ConfigurationManager) -> None:
    account = BonjourAccount()
    assert account is BonjourAccount()
    assert account.id == "bonjour@local"
    assert (account.id.username, account.id.domain) == ("bonjour", "local")
    assert re.fullmatch(r"[a-z]{8}", account.contact.username)
    assert account.contact.username == BonjourAccount().contact.username
    credentials = account.credentials
    assert (credentials.username, credentials.password) == (account.contact.username, "")
    assert account.credentials is credentials
    account.display_name = "Alice"
    account.save()
    assert account.credentials is not credentials
    assert account.credentials.username == account.contact.username
    assert account.instance_id.startswith("urn:uuid:")
    assert len(account.service_name) <= 63


def test_contact_follows_the_engine(configuration: ConfigurationManager) -> None:
    engine = Engine()
    engine.start(ip_address="127.0.0.1", udp_port=0, tcp_port=0)
    account = BonjourAccount()
    assert account.contact.domain == "127.0.0.1"
    assert account.contact["udp"].port == engine.local_udp_port
    assert account.contact["tcp"].parameters["transport"] == "tcp"
    with pytest.raises(KeyError):
        account.contact["tls"]
    assert (account.uri.user, account.uri.host, account.uri.port) == (account.contact.username, "127.0.0.1", None)
    engine.stop()


def test_settings_are_stored_under_their_own_key(configuration: ConfigurationManager) -> None:
    account = BonjourAccount()
    assert account.enabled is True
    assert account.sip.transport_list == ("udp", "tcp", "tls")
    assert account.rtp.audio_codec_list is None
    account.display_name = "Alice"
    account.sip.transport_list = ["tcp"]
    account.save()
    assert configuration.get("bonjour@local") == {"display_name": "Alice", "sip": {"transport_list": ["tcp"]}}


def test_start_without_a_running_engine_does_not_activate(configuration: ConfigurationManager) -> None:
    assert not Engine().is_running
    recorder = observe("SIPAccountDidActivate", "SIPAccountDidDeactivate", "BonjourAccountDiscoveryDidFail")
    account = BonjourAccount()
    account.start()
    time.sleep(1)
    assert not account.is_active
    started = time.monotonic()
    account.stop()
    assert time.monotonic() - started < 2.0
    assert [n for n in recorder.notifications if n.sender is account] == []
    assert account.neighbours == {}


def test_service_description_from_a_service_name() -> None:
    description = BonjourServiceDescription.from_service("_sips._tcp.local.", "Bob's phone._sips._tcp.local.")
    assert (description.name, description.type, description.domain) == ("Bob's phone", "_sips._tcp", "local.")
    assert description.transport == "tls"
    assert str(description) == "Bob's phone._sips._tcp.local."
    assert description == BonjourServiceDescription("Bob's phone", "_sips._tcp")


def test_stop_from_an_observer_of_the_activation(configuration: ConfigurationManager) -> None:
    # stop() from the worker thread (where SIPAccountDidActivate is posted) deactivates at once, before any
    # mDNS socket is opened, instead of waiting for the worker it runs in.
    account = BonjourAccount()
    timings: list[float] = []

    class StopOnActivate:
        def handle_notification(self, notification: Any) -> None:
            started = time.monotonic()
            account.stop()
            timings.append(time.monotonic() - started)

    stopper = StopOnActivate()
    recorder = observe("SIPAccountDidActivate", "SIPAccountDidDeactivate", "BonjourAccountDiscoveryDidFail")
    NotificationCenter().add_observer(stopper, name="SIPAccountDidActivate", sender=account)
    try:
        Engine().start(ip_address="127.0.0.1", udp_port=0)
        account.start()
        recorder.wait_for(lambda n: n.name == "SIPAccountDidDeactivate" and n.sender is account, timeout=5)
        assert [n.name for n in recorder.notifications if n.sender is account] == [
            "SIPAccountDidActivate",
            "SIPAccountDidDeactivate",
        ]
        assert timings and timings[0] < 0.5
        assert not account.is_active
        time.sleep(0.5)
        assert [n.name for n in recorder.notifications if n.sender is account][2:] == []
    finally:
        NotificationCenter().discard_observer(stopper)
        Engine().stop()
