"""A SIPApplication living through real network changes, inside network namespaces of its own.

Run as root of a fresh user and network namespace (``unshare -rn python -m
tests.peers.network_change_driver WORKDIR [PORT]``); tests/test_network_change.py
does so. PORT (default 0, any) is the configured ``sip.udp_port`` and
``sip.tcp_port``: with a fixed one, the transports must stay on it. Nothing leaves the namespaces. The topology::

    namespace "host" (this process)                  namespace "network" (one thread of it)
    lo: 127.0.66.1 NSD (accounts.test)               lo: 127.0.0.1 Kamailio's RPC
    v0: 10.99.0.1/32, 10.99.0.2/32  <── veth ──>     v1: 10.99.0.254/32, Kamailio (SIP, UDP and TCP)
    default dev v0 src 10.99.0.1                     10.99.0.0/24 dev v1

The registrar is reached through the default route, so the address the
account registers is the default route's source address; changing that
source (``ip route replace default dev v0 src 10.99.0.2``) is a network
change as a laptop moving to another network sees it. A thread enters a
network namespace of its own (unshare(CLONE_NEWNET) applies to the calling
thread only) and starts Kamailio from there; its RPC is asked from there too.

Each check is printed as a JSON line ``{"check": name, "ok": bool, ...}``;
``{"done": true}`` ends the run.
"""

from __future__ import annotations

import concurrent.futures
import ctypes
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from zeroconf import InterfaceChoice, IPVersion, Zeroconf

from devkit.ports import free_port_on_all
from sipsimple.account import Account, AccountManager, BonjourAccount
from sipsimple.application import SIPApplication
from sipsimple.configuration import ConfigurationManager
from sipsimple.configuration.backend import FileBackend
from sipsimple.configuration.settings import SIPSimpleSettings
from sipsimple.notification import Notification, NotificationCenter
from tests.peers.dns import NSD
from tests.peers.kamailio import TEST_USERS, Kamailio
from tests.support.accounts import DOMAIN, NAMESERVER, zone
from tests.support.notifications import NotificationRecorder

CLONE_NEWNET = 0x40000000
OLD_ADDRESS = "10.99.0.1"
NEW_ADDRESS = "10.99.0.2"
REGISTRAR_ADDRESS = "10.99.0.254"
MONITOR_INTERVAL = 0.5
# The account's back-off after a failure is at least 0.75 * RETRY_DELAY: registering again sooner than that
# after the network comes back can only be the reaction to the network's return.
RETRY_DELAY = 60.0
EXPIRES = 600  # no refresh during the run: a new REGISTER is the reaction to the change


def report(check: str, ok: bool, **data: Any) -> None:
    sys.stdout.write(json.dumps({"check": check, "ok": bool(ok), **data}, default=str) + "\n")
    sys.stdout.flush()


def run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True, text=True)


def _enter_network_namespace() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNET) failed")
    run("ip", "link", "set", "lo", "up")


class NamespacedKamailio(Kamailio):
    """Kamailio listening for SIP on the network side of the veth pair."""

    def __init__(self, directory: Path, host: str) -> None:
        super().__init__(directory, TEST_USERS, domain=DOMAIN, default_expires=EXPIRES)
        self.host = host


class Recorder(NotificationRecorder):
    """Every notification the checks look at (posted from the middleware and Engine threads), logged to stderr,
    and the REGISTERs sent, from the SIP trace. The checks wait with next_matching(): one match a step."""

    NAMES = (
        "SystemIPAddressDidChange",
        "SystemDidLoseNetwork",
        "SystemDidGainNetwork",
        "SIPAccountRegistrationDidSucceed",
        "SIPAccountRegistrationDidFail",
        "SIPEngineTransportsDidChange",
        "SIPApplicationDidStart",
        "SIPApplicationDidEnd",
        "SIPApplicationDidFail",
    )

    def __init__(self) -> None:
        super().__init__(*self.NAMES)
        self.registers: list[dict[str, str]] = []  # REGISTERs sent, from the SIP trace
        center = NotificationCenter()
        for name in self.NAMES:
            center.add_observer(self, name=name)
        center.add_observer(self, name="SIPEngineSIPTrace")

    def handle_notification(self, notification: Notification) -> None:
        if notification.name == "SIPEngineSIPTrace":
            data = notification.data
            text = data.data if isinstance(data.data, str) else data.data.decode(errors="replace")
            if not data.received and text.startswith("REGISTER "):
                headers = {}
                for line in text.split("\r\n")[1:]:
                    if not line:
                        break
                    name, _, value = line.partition(":")
                    headers.setdefault(name.strip().lower(), value.strip())
                sys.stderr.write(f"{time.monotonic():.3f} trace REGISTER {text[:600]!r}\n")
                self.registers.append(
                    {
                        "via": headers.get("via", headers.get("v", "")),
                        "contact": headers.get("contact", headers.get("m", "")),
                        "expires": headers.get("expires", ""),
                    }
                )
            return
        data = notification.data
        summary = {key: str(value) for key, value in vars(data).items()} if data is not None else {}
        sys.stderr.write(f"{time.monotonic():.3f} {notification.name} {summary}\n")
        super().handle_notification(notification)


def registered_with(host: str) -> Any:
    def predicate(notification: Notification) -> bool:
        return notification.name == "SIPAccountRegistrationDidSucceed" and notification.data.contact_uri.host == host

    return predicate


def write_configuration(path: Path, dns_port: int, sip_port: int) -> None:
    manager = ConfigurationManager()
    manager.start(FileBackend(str(path)))
    try:
        settings = SIPSimpleSettings()
        settings.local_ip = None  # the Engine on every interface
        settings.sip.transport_list = ["udp", "tcp"]
        settings.sip.udp_port = sip_port
        settings.sip.tcp_port = sip_port
        settings.sip.register_timeout = 1.5
        settings.dns.nameservers = [NAMESERVER]
        settings.dns.port = dns_port
        settings.logs.trace_sip = True
        settings.save()
        BonjourAccount().enabled = True  # it announces the host's address on the LAN (over v0) too
        BonjourAccount().save()
        account = Account(f"alice@{DOMAIN}")
        account.enabled = True
        account.auth.password = TEST_USERS["alice"]
        account.registration.expires = EXPIRES
        account.registration.retry_delay = RETRY_DELAY
        account.registration.max_retry_delay = RETRY_DELAY * 2
        account.save()
    finally:
        manager.stop()


def announced_contact(timeout: float) -> str | None:
    """The contact the BonjourAccount announces over UDP, as a fresh mDNS browser on v0 resolves it."""
    service_type = "_sip._udp.local."
    name = f"{BonjourAccount().service_name}.{service_type}"
    zeroconf = Zeroconf(interfaces=InterfaceChoice.All, ip_version=IPVersion.V4Only)
    try:
        info = zeroconf.get_service_info(service_type, name, timeout=int(timeout * 1000))
    finally:
        zeroconf.close()
    if info is None:
        return None
    value = info.properties.get(b"contact")
    return None if value is None else value.decode()


def wait_for_announced_host(host: str, timeout: float = 10.0) -> str | None:
    deadline = time.monotonic() + timeout
    contact = None
    while time.monotonic() < deadline:
        contact = announced_contact(2.0)
        if contact is not None and f"@{host}:" in contact:
            break
        time.sleep(0.2)
    return contact


def contact_hosts(kamailio: Kamailio, network: concurrent.futures.Executor) -> list[str]:
    registrations = network.submit(kamailio.contacts, "alice").result(10)
    return sorted(
        registration.contact.split("@", 1)[1].split(":", 1)[0].split(";", 1)[0] for registration in registrations
    )


def wait_for_contact_hosts(
    kamailio: Kamailio, network: concurrent.futures.Executor, wanted: list[str], timeout: float = 5.0
) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        hosts = contact_hosts(kamailio, network)
        if hosts == wanted or time.monotonic() > deadline:
            return hosts
        time.sleep(0.1)


def main() -> None:
    workdir = Path(sys.argv[1])
    sip_port = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    import sipsimple.network

    sipsimple.network.CHECK_INTERVAL = MONITOR_INTERVAL

    run("ip", "link", "set", "lo", "up")
    network = concurrent.futures.ThreadPoolExecutor(max_workers=1, initializer=_enter_network_namespace)
    # The veth pair: v1 stays in the network namespace (the thread's), v0 comes to this one (the process's).
    network.submit(
        run, "ip", "link", "add", "v1", "type", "veth", "peer", "name", "v0", "netns", str(os.getpid())
    ).result(10)
    for command in (
        ("ip", "addr", "add", f"{REGISTRAR_ADDRESS}/32", "dev", "v1"),
        ("ip", "link", "set", "v1", "up"),
        ("ip", "route", "add", "10.99.0.0/24", "dev", "v1"),
    ):
        network.submit(run, *command).result(10)
    run("ip", "link", "set", "v0", "up")
    run("ip", "addr", "add", f"{OLD_ADDRESS}/32", "dev", "v0")
    run("ip", "addr", "add", f"{NEW_ADDRESS}/32", "dev", "v0")
    run("ip", "route", "add", "default", "dev", "v0", "src", OLD_ADDRESS)

    kamailio = NamespacedKamailio(workdir / "kamailio", REGISTRAR_ADDRESS)
    network.submit(kamailio.start).result(60)
    dns_port = free_port_on_all([NAMESERVER])
    srv = [("_sip._udp", 10, kamailio.port, "sip"), ("_sip._tcp", 20, kamailio.port, "sip")]
    nsd = NSD(workdir / "nsd", NAMESERVER, dns_port, {DOMAIN: zone(srv, REGISTRAR_ADDRESS)})
    nsd.start()
    config = workdir / "config.json"
    write_configuration(config, dns_port, sip_port)

    recorder = Recorder()
    application = SIPApplication()
    try:
        application.start(FileBackend(str(config)))
        started = recorder.next_matching(lambda n: n.name in ("SIPApplicationDidStart", "SIPApplicationDidFail"), 20)
        report(
            "started",
            started is not None and started[1].name == "SIPApplicationDidStart",
            engine_address=application.engine.ip_address if application.engine else None,
            monitor_running=application.network_monitor is not None and application.network_monitor.is_running,
        )

        # 1. Registered with the default route's source address.
        first = recorder.next_matching(lambda n: n.name == "SIPAccountRegistrationDidSucceed", 20)
        report(
            "registered",
            first is not None and first[1].data.contact_uri.host == OLD_ADDRESS,
            contact=str(first[1].data.contact_uri) if first else None,
            kamailio=contact_hosts(kamailio, network),
            registers=recorder.registers[-1:],
        )

        contact = wait_for_announced_host(OLD_ADDRESS)
        report("bonjour_announced", contact is not None and f"@{OLD_ADDRESS}:" in contact, contact=contact)

        # 2. The default route's source changes: the monitor tells, the account registers its new contact.
        registers_before = len(recorder.registers)
        changed_at = time.monotonic()
        run("ip", "route", "replace", "default", "dev", "v0", "src", NEW_ADDRESS)
        changed = recorder.next_matching(lambda n: n.name == "SystemIPAddressDidChange", 10)
        report(
            "address_change_posted",
            changed is not None
            and (changed[1].data.old_ip_address, changed[1].data.new_ip_address) == (OLD_ADDRESS, NEW_ADDRESS),
            data=None if changed is None else dict(changed[1].data.__dict__),
            seconds=None if changed is None else changed[0] - changed_at,
        )
        again = recorder.next_matching(registered_with(NEW_ADDRESS), 15)
        report(
            "registered_new_contact",
            again is not None,
            contact=str(again[1].data.contact_uri) if again else None,
            seconds=None if again is None else again[0] - changed_at,
            expires_left=None if again is None else again[1].data.expires,
        )
        after = recorder.registers[registers_before:]
        transports = application.engine.transports
        report(
            "register_via_and_contact",
            bool(after)
            and any(
                NEW_ADDRESS in register["via"] and NEW_ADDRESS in register["contact"] and register["expires"] != "0"
                for register in after
            ),
            registers=after,
            transports=transports,
        )
        report(
            "transports_renamed",
            sorted(name for name, _, _ in transports) == ["tcp", "udp"]
            and all(host == NEW_ADDRESS for _, host, _ in transports)
            and (sip_port == 0 or all(port == sip_port for _, _, port in transports)),
            transports=transports,
            configured_port=sip_port,
        )
        hosts = wait_for_contact_hosts(kamailio, network, [NEW_ADDRESS])
        report("kamailio_has_new_contact_only", hosts == [NEW_ADDRESS], hosts=hosts)
        contact = wait_for_announced_host(NEW_ADDRESS)
        report("bonjour_reannounced", contact is not None and f"@{NEW_ADDRESS}:" in contact, contact=contact)

        # 3. The network goes away. Asked to register meanwhile, the account fails and backs off for long.
        run("ip", "route", "del", "default")
        lost = recorder.next_matching(lambda n: n.name == "SystemDidLoseNetwork", 10)
        report("network_lost_posted", lost is not None, data=None if lost is None else dict(lost[1].data.__dict__))
        account = AccountManager().get_account(f"alice@{DOMAIN}")
        account.reregister()
        failed = recorder.next_matching(
            lambda n: n.name == "SIPAccountRegistrationDidFail" and n.data.next_route is None, 20
        )
        delay = None if failed is None else failed[1].data.delay
        report(
            "registration_fails_without_network",
            failed is not None and delay is not None and delay >= 0.75 * RETRY_DELAY,
            reason=None if failed is None else failed[1].data.reason,
            delay=delay,
        )

        # 4. The network comes back: the account registers again at once, not after its back-off.
        restored_at = time.monotonic()
        run("ip", "route", "add", "default", "dev", "v0", "src", NEW_ADDRESS)
        gained = recorder.next_matching(lambda n: n.name == "SystemDidGainNetwork", 10)
        report(
            "network_gained_posted", gained is not None, data=None if gained is None else dict(gained[1].data.__dict__)
        )
        back = recorder.next_matching(registered_with(NEW_ADDRESS), 15)
        seconds = None if back is None else back[0] - restored_at
        report(
            "registered_after_network_returned",
            back is not None and seconds is not None and seconds < 10 and (delay is None or seconds < delay),
            seconds=seconds,
            backoff=delay,
        )
        hosts = wait_for_contact_hosts(kamailio, network, [NEW_ADDRESS])
        report("kamailio_has_contact_after_return", NEW_ADDRESS in hosts, hosts=hosts)
    finally:
        began = time.monotonic()
        application.stop()
        application.wait_stopped(15)
        seconds = time.monotonic() - began
        report(
            "stopped_in_time",
            application.state == "stopped" and seconds < 5,
            seconds=seconds,
            monitor=application.network_monitor,
        )
        nsd.stop()
        network.submit(kamailio.stop).result(20)
        network.shutdown()
        sys.stdout.write(json.dumps({"done": True}) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
