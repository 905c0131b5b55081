"""The seed's example, for real: a SIPApplication subclass in a process of its own registers at Kamailio.

The application (tests/peers/example_application.py) starts on a file
storage holding its settings and one account with digest credentials. The
account's domain is resolved by NSD (SRV records for UDP and TCP, pointing
at Kamailio); Kamailio is stopped under it and started again (on another
port, which DNS then names), and the application must report the failures
with the route it tries next and the delay, register again, and stop within
5 seconds when asked.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from devkit.ports import free_port_on_all
from devkit.processes import stop_process
from sipsimple.account import Account
from sipsimple.configuration import ConfigurationManager
from sipsimple.configuration.backend import FileBackend
from sipsimple.configuration.settings import SIPSimpleSettings
from tests.peers.dns import NSD
from tests.peers.json_lines import next_event
from tests.peers.kamailio import TEST_USERS, Kamailio
from tests.support.accounts import DOMAIN, NAMESERVER, zone
from tests.support.peer_programs import start_peer

REPOSITORY = Path(__file__).resolve().parent.parent
Event = dict[str, Any]


class ApplicationProcess:
    """The example application, its JSON-line reports read in a thread of their own."""

    def __init__(self, config: Path) -> None:
        self.process = start_peer("example_application", config)
        self.events: list[Event] = []
        self._queue: queue.Queue[Event | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            try:
                self._queue.put(json.loads(line))
            except ValueError:
                continue
        self._queue.put(None)

    def wait_for(self, predicate: Callable[[Event], bool], timeout: float = 20.0) -> Event:
        deadline = time.monotonic() + timeout
        while True:
            try:
                event = next_event(self._queue, deadline)
            except TimeoutError:
                got = [e["event"] for e in self.events]
                raise AssertionError(f"no such report within {timeout} s; got {got}") from None
            if event is None:
                raise AssertionError(f"the application exited: {self.stderr()}")
            self.events.append(event)
            if predicate(event):
                return event

    def wait_named(self, name: str, timeout: float = 20.0) -> Event:
        return self.wait_for(lambda event: event["event"] == name, timeout)

    def named(self, name: str) -> list[Event]:
        return [event for event in self.events if event["event"] == name]

    def send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def stderr(self) -> str:
        if self.process.poll() is None:
            return "(still running)"
        assert self.process.stderr is not None
        return self.process.stderr.read()[-4000:]

    def close(self) -> None:
        stop_process(self.process)


@pytest.fixture
def kamailio(tmp_path: Path) -> Iterator[Kamailio]:
    server = Kamailio(tmp_path / "kamailio", TEST_USERS, domain=DOMAIN)
    server.start()
    yield server
    server.stop()


def write_configuration(path: Path, dns_port: int) -> None:
    """The application's storage, written through the configuration API like any settings editor would."""
    manager = ConfigurationManager()
    manager.stop()
    manager.start(FileBackend(str(path)))
    try:
        settings = SIPSimpleSettings()
        settings.local_ip = "127.0.0.1"
        settings.sip.transport_list = ["udp", "tcp"]
        settings.sip.register_timeout = 1.5
        settings.dns.nameservers = [NAMESERVER]
        settings.dns.port = dns_port
        settings.default_account = f"alice@{DOMAIN}"
        settings.save()
        account = Account(f"alice@{DOMAIN}")
        account.enabled = True
        account.display_name = "Alice"
        account.auth.password = TEST_USERS["alice"]
        account.registration.expires = 4  # refreshed every 2 s: the registrar's death is noticed fast
        account.registration.retry_delay = 0.3
        account.registration.max_retry_delay = 2.0
        account.save()
    finally:
        manager.stop()


def test_the_seeds_example_registers_survives_a_registrar_restart_and_stops_in_time(
    tmp_path: Path, kamailio: Kamailio
) -> None:
    dns_port = free_port_on_all([NAMESERVER])
    nsd = NSD(tmp_path / "nsd", NAMESERVER, dns_port, {DOMAIN: zone(srv_records(kamailio.port))})
    nsd.start()
    config = tmp_path / "sipsimple" / "config.json"
    write_configuration(config, dns_port)
    assert config.stat().st_mode & 0o777 == 0o600  # it holds a password

    application = ApplicationProcess(config)
    try:
        application.wait_named("SIPApplicationDidStart")
        assert application.named("SIPApplicationDidStart")[0]["default_account"] == f"alice@{DOMAIN}"
        first = application.wait_named("SIPAccountRegistrationDidSucceed")
        assert (first["code"], first["reason"], first["expires"]) == (200, "OK", 4)
        # Registered over UDP (first in the transport list) at the address DNS gave; Kamailio has the binding.
        bindings = kamailio.contacts("alice")
        assert [binding.contact.split(";")[0].rstrip(">") for binding in bindings] == [first["contact_uri"]]

        # The registrar goes away: the refresh fails over to the next route (TCP), then waits for a new lookup.
        kamailio.stop()
        to_next_route = application.wait_for(
            lambda e: e["event"] == "SIPAccountRegistrationDidFail" and e["next_route"] is not None
        )
        assert to_next_route["next_route"] == f"tcp:127.0.0.1:{kamailio.port}"
        backing_off = application.wait_for(
            lambda e: e["event"] == "SIPAccountRegistrationDidFail" and e["next_route"] is None
        )
        assert backing_off["delay"] > 0

        # It comes back (on another port; DNS tells where): the application registers again by itself.
        kamailio.start()
        nsd.stop()
        nsd = NSD(tmp_path / "nsd2", NAMESERVER, dns_port, {DOMAIN: zone(srv_records(kamailio.port))})
        nsd.start()
        again = application.wait_for(
            lambda e: e["event"] == "SIPAccountRegistrationDidSucceed" and e is not first, timeout=30
        )
        assert again["code"] == 200
        kamailio.wait_for_contacts("alice", lambda found: len(found) == 1)

        # Stop: the account unregisters and the application is down within 5 seconds.
        application.send("stop")
        stopped = application.wait_named("stopped", timeout=15)
        assert stopped["ended"] is True and stopped["seconds"] < 5
        assert application.named("SIPAccountRegistrationDidEnd")
        assert application.process.wait(10) == 0
        kamailio.wait_for_contacts("alice", lambda found: found == [])
        names = [event["event"] for event in application.events]
        assert names.index("SIPApplicationWillEnd") < names.index("SIPAccountRegistrationDidEnd")
        assert names.index("SIPAccountRegistrationDidEnd") < names.index("SIPApplicationDidEnd")
    finally:
        application.close()
        nsd.stop()


def srv_records(port: int) -> list[tuple[str, int, int, str]]:
    """UDP first, then TCP, both at Kamailio."""
    return [("_sip._udp", 10, port, "sip"), ("_sip._tcp", 20, port, "sip")]
