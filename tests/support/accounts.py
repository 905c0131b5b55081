"""Helpers of the account tests: a fresh configuration, an NSD serving a test zone for the registrar."""

from __future__ import annotations

from pathlib import Path

from devkit.ports import free_port_on_all
from sipsimple.account import Account, AccountManager
from sipsimple.account.registration import AccountRegistrar, configured_lookup
from sipsimple.configuration import ConfigurationManager
from sipsimple.configuration.backend import MemoryBackend
from sipsimple.configuration.settings import SIPSimpleSettings
from sipsimple.lookup import DNSLookup
from tests.peers.dns import NSD

# The test zone's nameserver: an address no other test's DNS server uses.
NAMESERVER = "127.0.66.1"
DOMAIN = "accounts.test"


def fresh_configuration(register_timeout: float = 1.5) -> ConfigurationManager:
    """Stop the AccountManager and the ConfigurationManager if running, start the latter on an empty memory backend."""
    AccountManager().stop()
    manager = ConfigurationManager()
    manager.stop()
    manager.start(MemoryBackend())
    settings = SIPSimpleSettings()
    settings.local_ip = "127.0.0.1"
    settings.sip.register_timeout = register_timeout
    settings.save()
    disable_bonjour()
    return manager


def disable_bonjour() -> None:
    """Keep the BonjourAccount (when its module exists) out of the way: disabled, it neither announces nor
    becomes the default account."""
    try:
        from sipsimple.account.bonjour import BonjourAccount  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return
    bonjour = BonjourAccount()
    bonjour.enabled = False
    bonjour.save()


def sip_accounts(manager: AccountManager) -> list[Account]:
    """The manager's accounts that are Accounts (the BonjourAccount left out)."""
    return [account for account in manager.get_accounts() if isinstance(account, Account)]


def tear_down() -> None:
    AccountManager().stop()
    ConfigurationManager().stop()
    AccountRegistrar.lookup_factory = staticmethod(configured_lookup)


def zone(srv_records: list[tuple[str, int, int, str]], address: str = "127.0.0.1") -> str:
    """The accounts.test zone: SRV records (service name, priority, port, target label), targets at ``address``."""
    lines = [
        f"$ORIGIN {DOMAIN}.",
        "$TTL 1",
        "@ IN SOA ns hostmaster 1 3600 600 86400 1",
        "@ IN NS ns",
        f"ns IN A {NAMESERVER}",
    ]
    targets = set()
    for service, priority, port, target in srv_records:
        lines.append(f"{service} IN SRV {priority} 0 {port} {target}")
        targets.add(target)
    record = "AAAA" if ":" in address else "A"
    lines += [f"{target} IN {record} {address}" for target in sorted(targets)]
    return "\n".join(lines) + "\n"


class ZoneServer:
    """NSD serving accounts.test on NAMESERVER; the accounts' lookups are pointed at it. serve() replaces the zone."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port_on_all([NAMESERVER])
        self.nsd: NSD | None = None
        AccountRegistrar.lookup_factory = self.lookup

    def lookup(self) -> DNSLookup:
        return DNSLookup(nameservers=[NAMESERVER], port=self.port)

    def serve(self, srv_records: list[tuple[str, int, int, str]], address: str = "127.0.0.1") -> None:
        self.stop()
        self.nsd = NSD(self.directory, NAMESERVER, self.port, {DOMAIN: zone(srv_records, address)})
        self.nsd.start()

    def stop(self) -> None:
        if self.nsd is not None:
            self.nsd.stop()
            self.nsd = None
