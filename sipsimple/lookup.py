"""DNS lookups for SIP proxies (RFC 3263), STUN servers and MSRP relays (SRV), and XCAP servers (TXT).

Each lookup method of :class:`DNSLookup` returns at once with a
:class:`~sipsimple.threading.Future` while the lookup runs in a green thread
of the middleware thread. The outcome is reported twice:

* as notifications from the DNSLookup object: ``DNSLookupDidSucceed``
  (``result``) or ``DNSLookupDidFail`` (``error``, a str), preceded by one
  ``DNSLookupTrace`` per DNS query;
* by the Future: ``wait()`` returns the result or raises
  :class:`DNSLookupError` (the synchronous way, from a green thread).

Which nameservers are asked is described in ``sipsimple._dnsquery``:
the authoritative ones first, then the local ones. The full reference is
docs/api/lookup.md.
"""

from __future__ import annotations

import datetime
import ipaddress
import random
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

import dns.exception
import dns.name

from sipsimple._dnsquery import QuerySession, ResolverSettings, order_srv_records
from sipsimple.core import SIPURI
from sipsimple.notification import NotificationCenter, NotificationData
from sipsimple.threading import Future, spawn

__all__ = ["SERVICES", "SIP_TRANSPORTS", "DNSLookup", "DNSLookupError", "Route"]

T = TypeVar("T")

SIP_TRANSPORTS = ("udp", "tcp", "tls")
# NAPTR services of RFC 3263 and the transports they stand for; other services are ignored.
_NAPTR_SERVICES = {"SIP+D2U": "udp", "SIP+D2T": "tcp", "SIPS+D2T": "tls"}
_SRV_PREFIXES = {"udp": "_sip._udp", "tcp": "_sip._tcp", "tls": "_sips._tcp"}
_DEFAULT_PORTS = {"udp": 5060, "tcp": 5060, "tls": 5061}
# lookup_service: service name -> (SRV prefix, default port)
SERVICES: dict[str, tuple[str, int]] = {"msrprelay": ("_msrps._tcp", 2855), "stun": ("_stun._udp", 3478)}


class DNSLookupError(Exception):
    """A lookup found nothing usable; the message says why."""


class _URI(Protocol):
    host: Any
    port: Any
    parameters: Any
    secure: Any


class Route:
    """Where to send SIP requests: an IP address, a port (None: the transport's default) and a transport."""

    __slots__ = ("_address", "_port", "_transport")

    def __init__(self, address: str, port: int | None = None, transport: str = "udp") -> None:
        self.address = address
        self.port = port
        self.transport = transport

    @property
    def address(self) -> str:
        return self._address

    @address.setter
    def address(self, value: str) -> None:
        text = str(value).strip("[]")
        try:
            ipaddress.ip_address(text)
        except ValueError:
            raise ValueError(f"Route address must be an IPv4 or IPv6 address, not {value!r}") from None
        self._address = text

    @property
    def port(self) -> int | None:
        return self._port

    @port.setter
    def port(self, value: int | None) -> None:
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536):
            raise ValueError(f"Route port must be None or an int from 1 to 65535, not {value!r}")
        self._port = value

    @property
    def transport(self) -> str:
        return self._transport

    @transport.setter
    def transport(self, value: str) -> None:
        transport = str(value).lower()
        if transport not in SIP_TRANSPORTS:
            raise ValueError(f"Route transport must be one of {', '.join(SIP_TRANSPORTS)}, not {value!r}")
        self._transport = transport

    def get_uri(self) -> SIPURI:
        """A SIPURI with the address, the port and a transport parameter, e.g. for a RouteHeader."""
        return SIPURI(host=self._address, port=self._port, parameters={"transport": self._transport})

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Route):
            return NotImplemented
        return (self._address, self._port, self._transport) == (other._address, other._port, other._transport)

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"Route({self._address!r}, port={self._port!r}, transport={self._transport!r})"


def _is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _host_of(uri: _URI) -> str:
    host = str(uri.host or "").strip("[]").rstrip(".")
    if not host:
        raise ValueError(f"the URI has no host: {uri!r}")
    return host


class DNSLookup:
    """Finds SIP proxies, STUN servers, MSRP relays and XCAP servers in DNS.

    ``nameservers``: the local nameservers (IP addresses), asked when the
    authoritative ones are not usable; None (the default) reads the system's
    (/etc/resolv.conf) at each lookup. ``port``: the port every nameserver
    is asked on, local or authoritative (53 but in tests). ``rng``: the
    random source of the SRV weighted order (RFC 2782), for reproducible
    orders.

    One object may run several lookups at once; its notifications do not
    say which lookup they belong to, so an application that relies on the
    notifications uses one object per lookup.
    """

    def __init__(
        self, nameservers: Sequence[str] | None = None, port: int = 53, rng: random.Random | None = None
    ) -> None:
        if nameservers is not None:
            nameservers = tuple(str(nameserver) for nameserver in nameservers)
            for nameserver in nameservers:
                if not _is_ip_address(nameserver):
                    raise ValueError(f"nameservers must be IP addresses, not {nameserver!r}")
        self.nameservers: tuple[str, ...] | None = nameservers
        self.port = port
        self.rng = rng if rng is not None else random.Random()

    # -- the lookups -------------------------------------------------------

    def lookup_sip_proxy(
        self, uri: _URI, supported_transports: Sequence[str], timeout: float = 3.0, lifetime: float = 15.0
    ) -> Future[list[Route]]:
        """Routes to the SIP proxy for ``uri`` (RFC 3263), most preferred first.

        ``supported_transports``: a non-empty sublist of ``["udp", "tcp",
        "tls"]`` in the application's order of preference (ValueError
        otherwise, at once). The rules are in docs/api/lookup.md.
        """
        transports = [str(transport).lower() for transport in supported_transports]
        if not transports or any(transport not in SIP_TRANSPORTS for transport in transports):
            raise ValueError(f"supported_transports must be a non-empty sublist of {list(SIP_TRANSPORTS)}")
        transports = list(dict.fromkeys(transports))
        host = _host_of(uri)
        return self._start(
            "lookup_sip_proxy",
            uri,
            None,
            timeout,
            lifetime,
            lambda session: _SIPProxyLookup(session, self.rng, uri, host, transports).run(),
        )

    def lookup_service(
        self, uri: _URI, service: str, port: int | None = None, timeout: float = 3.0, lifetime: float = 15.0
    ) -> Future[list[tuple[str, int]]]:
        """(address, port) pairs of the servers of ``service`` (see SERVICES) for ``uri.host``, preferred first.

        SRV records first; if there are none, the addresses of ``uri.host``
        with ``port`` (default: the service's port). Only ``uri.host`` is used.
        """
        if service not in SERVICES:
            raise ValueError(f"service must be one of {', '.join(SERVICES)}, not {service!r}")
        host = _host_of(uri)
        return self._start(
            "lookup_service",
            uri,
            service,
            timeout,
            lifetime,
            lambda session: _lookup_service(session, self.rng, host, service, port),
        )

    def lookup_xcap_server(self, uri: _URI, timeout: float = 3.0, lifetime: float = 15.0) -> Future[list[str]]:
        """The XCAP root URLs published for ``uri.host``: the http(s) URLs in the TXT records of ``xcap.<host>``."""
        host = _host_of(uri)
        return self._start(
            "lookup_xcap_server", uri, None, timeout, lifetime, lambda session: _lookup_xcap_server(session, host)
        )

    # -- running a lookup --------------------------------------------------

    def _start(
        self,
        context: str,
        uri: _URI,
        service: str | None,
        timeout: float,
        lifetime: float,
        procedure: Callable[[QuerySession], T],
    ) -> Future[T]:
        settings = ResolverSettings(self.nameservers, self.port, timeout, lifetime)

        def trace(query_type: str, query_name: str, nameservers: list[str], answer: Any, error: Any) -> None:
            data = dict(
                query_type=query_type,
                query_name=query_name,
                nameservers=nameservers,
                answer=answer,
                error=error,
                context=context,
                uri=uri,
            )
            if service is not None:
                data["service"] = service
            self._post("DNSLookupTrace", **data)

        def run() -> T:
            try:
                result = procedure(QuerySession(settings, trace))
            except DNSLookupError as error:
                self._post("DNSLookupDidFail", error=str(error))
                raise
            except Exception as error:
                message = f"unexpected error: {type(error).__name__}: {error}"
                self._post("DNSLookupDidFail", error=message)
                raise DNSLookupError(message) from error
            self._post("DNSLookupDidSucceed", result=result)
            return result

        return spawn(run)

    def _post(self, name: str, **data: Any) -> None:
        NotificationCenter().post_notification(
            name, sender=self, data=NotificationData(timestamp=datetime.datetime.now(), **data)
        )


def _describe(error: Exception | None) -> str:
    if error is None:
        return "no records"
    if isinstance(error, dns.exception.Timeout):
        return f"timeout ({error})"
    return str(error) or type(error).__name__


def _unique(items: list[T]) -> list[T]:
    unique: list[T] = []
    for item in items:
        if item not in unique:
            unique.append(item)
    return unique


class _SRVResult:
    """What one SRV query gave: targets in the order to try them, or 'not available here' (target '.')."""

    def __init__(self, records: list[tuple[str, int]], unavailable: bool) -> None:
        self.records = records
        self.unavailable = unavailable


def _srv(session: QuerySession, rng: random.Random, name: str) -> _SRVResult:
    try:
        answer = session.query(name, "SRV")
    except Exception:
        return _SRVResult([], False)
    records = list(answer)
    if len(records) == 1 and records[0].target == dns.name.root:
        return _SRVResult([], True)  # RFC 2782: the service is decidedly not available at this domain
    ordered = order_srv_records((record for record in records if record.target != dns.name.root), rng)
    return _SRVResult([(record.target.to_text(omit_final_dot=True), record.port) for record in ordered], False)


def _srv_addresses(session: QuerySession, result: _SRVResult) -> list[tuple[str, int]]:
    """(address, port) for each SRV target in order, each target's IPv4 then IPv6 addresses."""
    pairs: list[tuple[str, int]] = []
    for target, port in result.records:
        addresses, _ = session.addresses(target)
        pairs.extend((address, port) for address in addresses)
    return pairs


class _SIPProxyLookup:
    """RFC 3263, section 4, for one URI."""

    def __init__(self, session: QuerySession, rng: random.Random, uri: _URI, host: str, supported: list[str]) -> None:
        self.session = session
        self.rng = rng
        self.host = host
        self.port: int | None = uri.port or None
        self.secure = bool(uri.secure)
        parameters = uri.parameters or {}
        transport = parameters.get("transport")
        self.transport_parameter = str(transport).lower() if transport else None
        self.supported = supported

    def run(self) -> list[Route]:
        transports = self._transports()
        if _is_ip_address(self.host):
            return [Route(self.host, self.port or _DEFAULT_PORTS[t], t) for t in transports]
        if self.port is not None:
            addresses = self._addresses_or_fail()
            return [Route(address, self.port, t) for t in transports for address in addresses]
        if self.transport_parameter is None:
            routes = self._naptr_routes(transports)
            if routes:
                return routes
        routes, unavailable = self._srv_routes(transports)
        if routes:
            return routes
        transports = [t for t in transports if t not in unavailable]
        if not transports:
            raise DNSLookupError(f"SIP is decidedly not available at {self.host} (its SRV records point to '.')")
        addresses = self._addresses_or_fail()
        return [Route(address, _DEFAULT_PORTS[t], t) for t in transports for address in addresses]

    def _transports(self) -> list[str]:
        """The transports usable for this URI, in the application's order (RFC 3263 4.1 and the sips rules)."""
        parameter = self.transport_parameter
        if self.secure:
            if parameter not in (None, "tcp", "tls"):
                raise DNSLookupError(f"a sips URI cannot use transport={parameter}")
            if "tls" not in self.supported:
                raise DNSLookupError("a sips URI needs TLS, which is not among the supported transports")
            return ["tls"]
        if parameter is not None:
            if parameter not in self.supported:
                raise DNSLookupError(f"transport={parameter} is not among the supported transports")
            return [parameter]
        return list(self.supported)

    def _naptr_routes(self, transports: list[str]) -> list[Route]:
        try:
            answer = self.session.query(self.host, "NAPTR")
        except Exception:
            return []
        usable = []
        for record in answer:
            transport = _NAPTR_SERVICES.get(record.service.decode("ascii", "replace").upper())
            if transport not in transports or record.flags.decode("ascii", "replace").lower() != "s" or record.regexp:
                continue
            usable.append((record.order, transports.index(transport), record.preference, transport, record.replacement))
        if not usable:
            return []
        # RFC 3403: only the lowest Order with a usable record counts; within it the application's transport
        # preference comes before the records' Preference (which a client may override for a good reason).
        lowest = min(entry[0] for entry in usable)
        routes: list[Route] = []
        chosen = sorted((entry for entry in usable if entry[0] == lowest), key=lambda entry: (entry[1], entry[2]))
        for _, _, _, transport, replacement in chosen:
            result = _srv(self.session, self.rng, replacement.to_text(omit_final_dot=True))
            routes.extend(Route(address, port, transport) for address, port in _srv_addresses(self.session, result))
        return _unique(routes)

    def _srv_routes(self, transports: list[str]) -> tuple[list[Route], set[str]]:
        routes: list[Route] = []
        unavailable: set[str] = set()
        for transport in transports:
            result = _srv(self.session, self.rng, f"{_SRV_PREFIXES[transport]}.{self.host}")
            if result.unavailable:
                unavailable.add(transport)
            routes.extend(Route(address, port, transport) for address, port in _srv_addresses(self.session, result))
        return _unique(routes), unavailable

    def _addresses_or_fail(self) -> list[str]:
        addresses, error = self.session.addresses(self.host)
        if not addresses:
            raise DNSLookupError(f"no SIP proxy found for {self.host}: {_describe(error)}")
        return addresses


def _lookup_service(
    session: QuerySession, rng: random.Random, host: str, service: str, port: int | None
) -> list[tuple[str, int]]:
    prefix, default_port = SERVICES[service]
    port = port or default_port
    if _is_ip_address(host):
        return [(host, port)]
    result = _srv(session, rng, f"{prefix}.{host}")
    pairs = _unique(_srv_addresses(session, result))
    if pairs:
        return pairs
    if result.unavailable:
        raise DNSLookupError(f"{service} is decidedly not available at {host} (its SRV record points to '.')")
    addresses, error = session.addresses(host)
    if not addresses:
        raise DNSLookupError(f"no {service} server found for {host}: {_describe(error)}")
    return [(address, port) for address in addresses]


def _lookup_xcap_server(session: QuerySession, host: str) -> list[str]:
    if _is_ip_address(host):
        raise DNSLookupError(f"an XCAP server is looked up for a domain, not an IP address ({host})")
    name = f"xcap.{host}"
    try:
        answer = session.query(name, "TXT")
    except Exception as error:
        raise DNSLookupError(f"no XCAP server found for {host}: {_describe(error)}") from None
    urls = []
    for record in answer:
        text = b"".join(record.strings).decode("utf-8", "replace").strip()
        parts = urlsplit(text)
        if parts.scheme.lower() in ("http", "https") and parts.netloc:
            urls.append(text)
    if not urls:
        raise DNSLookupError(f"no XCAP server found for {host}: no http(s) URL in the TXT records of {name}")
    return _unique(urls)
