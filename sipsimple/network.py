"""The host's addresses, and the NetworkMonitor that notices when they change.

Addresses. Which local address the system would send from is asked the way
that sends nothing: a UDP socket is *connected* to the destination (which
only makes the kernel choose a route and a source address) and its name is
read. ``default_ip_address()`` asks that for a documentation address
(TEST-NET-1, 2001:db8::) that is never reached, so it answers "the source
address of the default route", and None when there is no default route.
``interface_addresses()`` lists the addresses configured on the interfaces.

NetworkMonitor. A green thread of the middleware thread that asks both every
``interval`` seconds (the probes run in a pool thread: a green thread never
blocks) and posts, with the monitor as sender:

* ``SystemIPAddressDidChange`` (``old_ip_address``, ``new_ip_address``,
  ``family`` 4 or 6): the default address of a family changed from one
  address to another, including when the network comes back with another
  address than it had before it went;
* ``SystemDidLoseNetwork`` (``old_ip_address``, ``old_ipv6_address``): there
  is no default route any more (neither IPv4 nor IPv6);
* ``SystemDidGainNetwork`` (``ip_address``, ``ipv6_address``): there is a
  default route again (or one appeared for the first time);
* ``SystemInterfaceAddressesDidChange`` (``old_addresses``, ``addresses``,
  ``added``, ``removed``): the set of interface addresses changed.

SIPApplication runs one while it runs (docs/api/application.md).
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from dataclasses import dataclass

import ifaddr

from sipsimple.notification import NotificationCenter, NotificationData
from sipsimple.threading import Channel, Future, call_in_thread_pool, spawn

__all__ = [
    "CHECK_INTERVAL",
    "NetworkMonitor",
    "NetworkState",
    "default_ip_address",
    "interface_addresses",
    "interface_ipv4_addresses",
    "is_unspecified",
    "local_address_towards",
    "network_state",
    "primary_ipv4_address",
]

log = logging.getLogger("sipsimple.network")

# Seconds between two looks at the addresses (NetworkMonitor's default interval).
CHECK_INTERVAL = 3.0
# Destinations nobody answers (RFC 5737 TEST-NET-1, RFC 3849): connecting to them only picks the default route.
_DEFAULT_ROUTE_PROBE = {4: "192.0.2.1", 6: "2001:db8::1"}
_MDNS_GROUP = "224.0.0.251"


def is_unspecified(address: str | None) -> bool:
    """True for None, "", 0.0.0.0 and ::; False for other addresses and for what is not an address."""
    if not address:
        return True
    try:
        return ipaddress.ip_address(address).is_unspecified
    except ValueError:
        return False


def local_address_towards(address: str, port: int = 9) -> str | None:
    """The local address the system would send from to reach ``address`` (nothing is sent), or None."""
    try:
        version = ipaddress.ip_address(address).version
    except ValueError:
        return None
    family = socket.AF_INET6 if version == 6 else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.connect((address, port))  # a UDP connect only chooses the route
            local = str(probe.getsockname()[0])
    except OSError:  # no route (ENETUNREACH), or no such family on this host
        return None
    local = local.split("%", 1)[0]  # an IPv6 scope
    return None if is_unspecified(local) else local


def default_ip_address(family: int = 4) -> str | None:
    """The source address of the default route of IPv``family`` (4 or 6), None when there is none."""
    if family not in _DEFAULT_ROUTE_PROBE:
        raise ValueError(f"family must be 4 or 6, not {family!r}")
    return local_address_towards(_DEFAULT_ROUTE_PROBE[family])


def interface_addresses() -> frozenset[str]:
    """Every address configured on the host's interfaces (IPv4 and IPv6, scopes left out)."""
    addresses: set[str] = set()
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            if ip.is_IPv4 and isinstance(ip.ip, str):
                addresses.add(ip.ip)
            elif isinstance(ip.ip, tuple):
                addresses.add(ip.ip[0].split("%", 1)[0])
    return frozenset(addresses)


def interface_ipv4_addresses() -> list[str]:
    """The IPv4 addresses of the host's interfaces, loopback last; ["127.0.0.1"] when there is none."""
    addresses = [address for address in interface_addresses() if ipaddress.ip_address(address).version == 4]
    ordered = sorted(set(addresses), key=lambda a: (ipaddress.ip_address(a).is_loopback, a))
    non_loopback = [a for a in ordered if not ipaddress.ip_address(a).is_loopback]
    return non_loopback or ordered or ["127.0.0.1"]


def primary_ipv4_address() -> str:
    """The address this host would send from to the mDNS group, else its first interface address."""
    address = local_address_towards(_MDNS_GROUP, 5353)
    if address is None:  # no route to the group, or one through an interface without an address
        return interface_ipv4_addresses()[0]
    return address


@dataclass(frozen=True)
class NetworkState:
    """What the NetworkMonitor looks at: the default addresses and the interface addresses."""

    ipv4_address: str | None
    ipv6_address: str | None
    addresses: frozenset[str]

    @property
    def connected(self) -> bool:
        """Whether there is a default route (of either family)."""
        return self.ipv4_address is not None or self.ipv6_address is not None

    def default_address(self, family: int) -> str | None:
        return self.ipv6_address if family == 6 else self.ipv4_address


def network_state() -> NetworkState:
    """The host's addresses now (a few system calls; nothing is sent)."""
    return NetworkState(default_ip_address(4), default_ip_address(6), interface_addresses())


class NetworkMonitor:
    """Watches the host's addresses in a green thread and posts what changed (see the module docstring).

    ``start()`` and ``stop()`` may be called from any thread; ``stop()``
    waits (at most ``timeout`` seconds) for the green thread to end, and
    nothing is posted after it returned.
    """

    def __init__(self, interval: float | None = None) -> None:
        self.interval = float(CHECK_INTERVAL if interval is None else interval)
        if self.interval <= 0:
            raise ValueError("the interval must be positive")
        self._state: NetworkState | None = None
        self._last_ipv4: str | None = None  # the last default addresses seen, kept while the network is gone
        self._last_ipv6: str | None = None
        self._wakeup: Channel[str] = Channel()
        self._done: Future[None] | None = None
        self._running = False

    @property
    def state(self) -> NetworkState | None:
        """The addresses seen at the last look (None before the first)."""
        return self._state

    @property
    def is_running(self) -> bool:
        return self._running

    def start(self) -> None:
        """Take a first look now (nothing is posted for it) and keep looking every ``interval`` seconds."""
        if self._running:
            return
        self._running = True
        self._wakeup = Channel()
        self._done = spawn(self._run, self._wakeup)

    def check(self) -> None:
        """Look now rather than at the end of the interval (e.g. when the application suspects a change)."""
        if self._running:
            self._wakeup.put("check")

    def stop(self, timeout: float = 2.0) -> None:
        if not self._running:
            return
        self._running = False
        self._wakeup.put("stop")
        done, self._done = self._done, None
        if done is not None:
            try:
                done.wait(timeout)
            except TimeoutError:
                log.warning("the network monitor did not stop within %.1f s", timeout)
            except Exception:
                log.exception("the network monitor failed")

    # --- the green thread ------------------------------------------------------------

    def _run(self, wakeup: Channel[str]) -> None:
        while True:
            try:
                state = call_in_thread_pool(network_state).wait()
            except Exception:
                log.exception("looking at the network addresses failed")
            else:
                if wakeup is not self._wakeup or not self._running:
                    return
                self._update(state)
            try:
                if wakeup.get(self.interval) == "stop":
                    return
            except TimeoutError:
                pass

    def _update(self, state: NetworkState) -> None:
        previous, self._state = self._state, state
        if previous is None:  # the first look
            self._last_ipv4, self._last_ipv6 = state.ipv4_address, state.ipv6_address
            return
        if previous.connected and not state.connected:
            self._post(
                "SystemDidLoseNetwork", old_ip_address=previous.ipv4_address, old_ipv6_address=previous.ipv6_address
            )
        for family in (4, 6):
            new = state.default_address(family)
            last = self._last_ipv6 if family == 6 else self._last_ipv4
            if new is not None and last is not None and new != last:
                self._post("SystemIPAddressDidChange", old_ip_address=last, new_ip_address=new, family=family)
            if new is not None:
                if family == 6:
                    self._last_ipv6 = new
                else:
                    self._last_ipv4 = new
        if state.addresses != previous.addresses:
            self._post(
                "SystemInterfaceAddressesDidChange",
                old_addresses=previous.addresses,
                addresses=state.addresses,
                added=state.addresses - previous.addresses,
                removed=previous.addresses - state.addresses,
            )
        if state.connected and not previous.connected:
            self._post("SystemDidGainNetwork", ip_address=state.ipv4_address, ipv6_address=state.ipv6_address)

    def _post(self, name: str, **data: object) -> None:
        if self._running:
            NotificationCenter().post_notification(name, sender=self, data=NotificationData(**data))
