"""The DNS queries of one lookup (sipsimple.lookup): which nameservers are asked, and in which order.

For each name queried, the authoritative nameservers of its zone are asked
first: found by NS queries to the local nameservers, walking up from the name
to the first name that has NS records, and resolved to addresses (A, then
AAAA) through the local nameservers too. If that finds none, or the
authoritative nameservers do not answer the query positively (no answer,
no such name, an error, a timeout), the local nameservers are asked the same
question. Authoritative nameservers that failed (an error or a timeout, as
opposed to a negative answer) are not asked again during the lookup.

A session belongs to one lookup and runs in its green thread; each query is
sent from a pool thread (dnspython blocks) while the green thread waits.
Answers, and errors, are remembered for the rest of the lookup, so a name
that the NAPTR and the SRV steps both need is queried once.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import dns.exception
import dns.name
import dns.rdtypes.IN.SRV
import dns.resolver

from sipsimple.threading import call_in_thread_pool

__all__ = ["QuerySession", "ResolverSettings", "TraceCallback", "order_srv_records"]

# (query_type, query_name, nameservers, answer, error): called after each query sent.
TraceCallback = Callable[[str, str, list[str], "dns.resolver.Answer | None", "Exception | None"], None]


@dataclass(frozen=True)
class ResolverSettings:
    nameservers: tuple[str, ...] | None  # the local nameservers; None: the system's (/etc/resolv.conf)
    port: int  # the port every nameserver is asked on, local or authoritative
    timeout: float  # seconds to wait for one nameserver
    lifetime: float  # seconds to wait for one query, all nameservers together


class _NotCached:
    pass


_NOT_CACHED = _NotCached()


class QuerySession:
    def __init__(self, settings: ResolverSettings, trace: TraceCallback) -> None:
        self._settings = settings
        self._trace = trace
        self._answers: dict[tuple[str, str], dns.resolver.Answer | Exception] = {}
        self._zone_servers: dict[str, tuple[str, ...] | None] = {}
        self._failed_servers: set[tuple[str, ...]] = set()

    def query(self, name: str, rdtype: str) -> dns.resolver.Answer:
        """The answer for ``name`` (absolute, without the final dot) and ``rdtype``; raises what dnspython raised."""
        cached = self._answers.get((name, rdtype), _NOT_CACHED)
        if isinstance(cached, Exception):
            raise cached
        if not isinstance(cached, _NotCached):
            return cached
        try:
            answer = self._query(name, rdtype)
        except Exception as error:
            self._answers[(name, rdtype)] = error
            raise
        self._answers[(name, rdtype)] = answer
        return answer

    def addresses(self, name: str) -> tuple[list[str], Exception | None]:
        """The IPv4 then IPv6 addresses of ``name``, and the last error if there are none."""
        addresses: list[str] = []
        error: Exception | None = None
        for rdtype in ("A", "AAAA"):
            try:
                answer = self.query(name, rdtype)
            except Exception as exception:
                error = exception
                continue
            addresses.extend(rdata.to_text() for rdata in answer)
        return _unique(addresses), (None if addresses else error)

    # -- internals ---------------------------------------------------------

    def _query(self, name: str, rdtype: str) -> dns.resolver.Answer:
        servers = self._authoritative_servers(name)
        if servers is not None and servers not in self._failed_servers:
            try:
                return self._ask(servers, name, rdtype)
            except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
                pass  # a negative answer: the local nameservers are asked too
            except Exception:
                self._failed_servers.add(servers)
        return self._ask(None, name, rdtype)

    def _authoritative_servers(self, name: str) -> tuple[str, ...] | None:
        visited: list[str] = []
        servers: tuple[str, ...] | None = None
        for candidate in _zone_candidates(name):
            if candidate in self._zone_servers:
                servers = self._zone_servers[candidate]
                break
            visited.append(candidate)
            try:
                answer = self._ask(None, candidate, "NS")
            except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
                continue  # not a zone apex (or no such name): try the parent
            except Exception:
                break  # the local nameservers cannot tell: use them for everything
            servers = self._nameserver_addresses(rdata.target.to_text(omit_final_dot=True) for rdata in answer)
            break
        for candidate in visited:
            self._zone_servers[candidate] = servers
        return servers

    def _nameserver_addresses(self, names: Iterable[str]) -> tuple[str, ...] | None:
        addresses: list[str] = []
        for name in names:
            for rdtype in ("A", "AAAA"):
                try:
                    answer = self._ask(None, name, rdtype)
                except Exception:
                    continue
                addresses.extend(rdata.to_text() for rdata in answer)
        return tuple(_unique(addresses)) or None

    def _ask(self, servers: tuple[str, ...] | None, name: str, rdtype: str) -> dns.resolver.Answer:
        """One query to ``servers`` (None: the local nameservers), traced."""
        nameservers: list[str] = list(servers or self._settings.nameservers or ())
        try:
            resolver = self._resolver(servers)
            nameservers = [str(nameserver) for nameserver in resolver.nameservers]
            answer = call_in_thread_pool(resolver.resolve, dns.name.from_text(name), rdtype, search=False).wait()
        except Exception as error:
            self._trace(rdtype, name, nameservers, None, error)
            raise
        self._trace(rdtype, name, nameservers, answer, None)
        return answer

    def _resolver(self, servers: tuple[str, ...] | None) -> dns.resolver.Resolver:
        settings = self._settings
        if servers is None and settings.nameservers is None:
            resolver = dns.resolver.Resolver(configure=True)  # reads /etc/resolv.conf now: it may have changed
        else:
            resolver = dns.resolver.Resolver(configure=False)
            resolver.nameservers = list(servers or settings.nameservers or ())
        resolver.port = settings.port
        resolver.nameserver_ports = {}
        resolver.timeout = settings.timeout
        resolver.lifetime = settings.lifetime
        resolver.cache = None
        return resolver


def _zone_candidates(name: str) -> list[str]:
    """``name`` and its ancestors of two labels or more, without leading service labels (``_sip._udp``)."""
    labels = name.rstrip(".").split(".")
    while labels and labels[0].startswith("_"):
        labels.pop(0)
    return [".".join(labels[index:]) for index in range(len(labels) - 1)]


def _unique(items: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(items))


def order_srv_records(records: Iterable[dns.rdtypes.IN.SRV.SRV], rng: random.Random) -> list[dns.rdtypes.IN.SRV.SRV]:
    """The order in which to try SRV records (RFC 2782): by priority, then a weighted random draw.

    Within a priority, records are drawn one by one, each with a chance
    proportional to its weight among those left; records of weight 0 are
    placed first in the list the draw walks, so they have a small chance to
    come first when others weigh more, and are drawn in order among
    themselves when all weigh 0.
    """
    by_priority: dict[int, list[dns.rdtypes.IN.SRV.SRV]] = {}
    for record in records:
        by_priority.setdefault(record.priority, []).append(record)
    ordered: list[dns.rdtypes.IN.SRV.SRV] = []
    for priority in sorted(by_priority):
        # A fixed starting order (the answer's order is up to the server), weight 0 first.
        left = sorted(by_priority[priority], key=lambda record: (record.weight != 0, record.target, record.port))
        while left:
            draw = rng.randint(0, sum(record.weight for record in left))
            running = 0
            for index, record in enumerate(left):
                running += record.weight
                if running >= draw:
                    ordered.append(left.pop(index))
                    break
    return ordered
