"""sipsimple.lookup against real DNS servers on loopback (tests/support/dns_zones.py describes the world).

Two NSD instances serve the zones: LOCAL, the nameserver the lookups are
configured with, and AUTHORITATIVE, the one the zones' NS records name. They
serve the same names with different addresses (127.0.20.x and 127.0.10.x),
so each result shows which server it came from. Routers relaying to LOCAL
play the broken home routers; a silent server and an address where nothing
listens play the unreachable nameservers.
"""

from __future__ import annotations

import datetime
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dns.flags
import dns.message
import dns.query
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import pytest

from devkit.ports import free_port_on_all
from sipsimple._dnsquery import order_srv_records
from sipsimple.core import SIPURI, FrozenSIPURI, RouteHeader
from sipsimple.lookup import DNSLookup, DNSLookupError, Route
from sipsimple.threading import NotificationQueue, in_green_thread, spawn
from tests.peers.dns import NSD, DNSPeerError, Router, SilentServer
from tests.support import dns_zones as zones
from tests.support.notifications import NotificationRecorder, observe

A = zones.AUTHORITATIVE_PREFIX  # addresses served by AUTHORITATIVE
L = zones.LOCAL_PREFIX  # addresses served by LOCAL
ALL = ["udp", "tcp", "tls"]
FAST = {"timeout": 0.3, "lifetime": 0.6}  # for lookups that must wait out silent nameservers


@dataclass
class World:
    port: int
    dropping: Router
    servfailing: Router
    gated: Router

    def lookup(self, nameserver: str = zones.LOCAL, **options: object) -> DNSLookup:
        return DNSLookup(nameservers=[nameserver], port=self.port, **options)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    directory: Path = tmp_path_factory.mktemp("dns")
    port = free_port_on_all(zones.ALL_ADDRESSES)
    authoritative = NSD(directory / "authoritative", zones.AUTHORITATIVE, port, zones.authoritative_zones())
    local = NSD(directory / "local", zones.LOCAL, port, zones.local_zones())
    silent = SilentServer(zones.SILENT, port)
    dropping = Router(zones.DROPPING, port, zones.LOCAL, drop=["NAPTR", "SRV"])
    servfailing = Router(zones.SERVFAILING, port, zones.LOCAL, servfail=["NAPTR", "SRV"])
    gated = Router(zones.GATED, port, zones.LOCAL)
    started: list[NSD | SilentServer | Router] = []
    try:
        for peer in (authoritative, local, silent, dropping, servfailing, gated):
            peer.start()
            started.append(peer)
        yield World(port, dropping, servfailing, gated)
    except DNSPeerError as error:
        pytest.fail(str(error), pytrace=False)
    finally:
        for peer in reversed(started):
            peer.stop()


def traced_queries(recorder: NotificationRecorder) -> list[tuple[str, str, list[str]]]:
    """The DNS queries a lookup reported (DNSLookupTrace): (type, name, nameservers)."""
    return [(n.data.query_type, n.data.query_name, n.data.nameservers) for n in recorder.named("DNSLookupTrace")]


def proxy(world: World, uri: str, transports: list[str], nameserver: str = zones.LOCAL, **options: object) -> list:
    lookup = world.lookup(nameserver)
    return lookup.lookup_sip_proxy(SIPURI.parse(uri), transports, **options).wait(30)  # type: ignore[arg-type]


def proxy_error(world: World, uri: str, transports: list[str], nameserver: str = zones.LOCAL, **options: object) -> str:
    with pytest.raises(DNSLookupError) as raised:
        proxy(world, uri, transports, nameserver, **options)
    return str(raised.value)


# --- Route ----------------------------------------------------------------------------


def test_route_attributes_and_uri() -> None:
    route = Route("127.0.0.1", port=5061, transport="TLS")
    assert (route.address, route.port, route.transport) == ("127.0.0.1", 5061, "tls")
    uri = route.get_uri()
    assert isinstance(uri, SIPURI)
    assert str(uri) == "sip:127.0.0.1:5061;transport=tls"
    assert RouteHeader(uri).body == "<sip:127.0.0.1:5061;transport=tls>"
    assert Route("127.0.0.1") == Route("127.0.0.1", None, "udp") != Route("127.0.0.1", 5060)
    route.port, route.transport, route.address = None, "tcp", "::1"
    assert str(route.get_uri()) == "sip:[::1];transport=tcp"
    assert Route("[::1]", 5060).address == "::1"


@pytest.mark.parametrize(
    "args", [("example.test",), ("127.0.0.1", 0), ("127.0.0.1", 70000), ("127.0.0.1", 5060, "sctp"), ("1.2.3", 1)]
)
def test_route_refuses_bad_values(args: tuple) -> None:
    with pytest.raises(ValueError):
        Route(*args)


# --- URIs that need no DNS -------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "transports", "expected"),
    [
        ("sip:127.0.0.5", ["udp", "tcp"], [("127.0.0.5", 5060, "udp"), ("127.0.0.5", 5060, "tcp")]),
        ("sip:127.0.0.5", ["tls", "udp"], [("127.0.0.5", 5061, "tls"), ("127.0.0.5", 5060, "udp")]),
        ("sip:127.0.0.5:5080", ["udp", "tls"], [("127.0.0.5", 5080, "udp"), ("127.0.0.5", 5080, "tls")]),
        ("sip:127.0.0.5:5080;transport=TCP", ALL, [("127.0.0.5", 5080, "tcp")]),
        ("sips:127.0.0.5", ALL, [("127.0.0.5", 5061, "tls")]),
        ("sips:127.0.0.5;transport=tcp", ALL, [("127.0.0.5", 5061, "tls")]),
        ("sip:[::1]", ["udp"], [("::1", 5060, "udp")]),
    ],
)
def test_ip_address_uris_give_routes_without_queries(world: World, uri: str, transports: list, expected: list) -> None:
    lookup = world.lookup()
    recorder = observe(sender=lookup)
    try:
        routes = lookup.lookup_sip_proxy(SIPURI.parse(uri), transports).wait(10)
        assert [(r.address, r.port, r.transport) for r in routes] == expected
        assert recorder.named("DNSLookupTrace") == []
        assert recorder.named("DNSLookupDidSucceed")[0].data.result == routes
    finally:
        recorder.close()


@pytest.mark.parametrize(
    ("uri", "transports", "reason"),
    [
        ("sips:127.0.0.5", ["udp", "tcp"], "needs TLS"),
        ("sips:127.0.0.5;transport=udp", ALL, "cannot use transport=udp"),
        ("sip:127.0.0.5;transport=tls", ["udp", "tcp"], "transport=tls is not among the supported"),
        ("sips:example.test", ["udp"], "needs TLS"),
    ],
)
def test_transport_conflicts_fail(world: World, uri: str, transports: list, reason: str) -> None:
    lookup = world.lookup()
    recorder = observe(sender=lookup)
    try:
        with pytest.raises(DNSLookupError, match=reason):
            lookup.lookup_sip_proxy(SIPURI.parse(uri), transports).wait(10)
        [failed] = recorder.named("DNSLookupDidFail")
        assert reason in failed.data.error
        assert recorder.named("DNSLookupDidSucceed") == []
    finally:
        recorder.close()


@pytest.mark.parametrize("transports", [[], ["udp", "sctp"], ["ws"]])
def test_bad_supported_transports_raise_at_once(transports: list) -> None:
    with pytest.raises(ValueError):
        DNSLookup(nameservers=[zones.LOCAL]).lookup_sip_proxy(SIPURI.parse("sip:example.test"), transports)


def test_nameservers_must_be_addresses() -> None:
    with pytest.raises(ValueError):
        DNSLookup(nameservers=["ns.example.test"])


# --- RFC 3263 through NAPTR, SRV and A/AAAA ------------------------------------------------


def test_naptr_srv_and_addresses_in_preference_order(world: World) -> None:
    routes = proxy(world, "sip:example.test", ALL)
    # Order 10 only (Order 20 is never reached), by the application's transport preference; the
    # unsupported services (SCTP, ENUM, flag "a") are ignored; SRV priority orders UDP's two targets;
    # each target gives its IPv4 then its IPv6 addresses.
    assert routes == [
        Route(f"{A}.1", 5060, "udp"),
        Route("::1", 5060, "udp"),
        Route(f"{A}.2", 5062, "udp"),
        Route(f"{A}.3", 5060, "tcp"),
        Route(f"{A}.4", 5061, "tls"),
    ]


def test_the_applications_transport_preference_orders_naptr_records_of_one_order(world: World) -> None:
    assert proxy(world, "sip:example.test", ["tls", "tcp"]) == [
        Route(f"{A}.4", 5061, "tls"),
        Route(f"{A}.3", 5060, "tcp"),
    ]


def test_naptr_preference_orders_records_of_one_order_and_transport(world: World) -> None:
    assert proxy(world, "sip:naptr-pref.example.test", ["udp"]) == [
        Route(f"{A}.11", 5060, "udp"),
        Route(f"{A}.12", 5060, "udp"),
    ]


def test_the_lowest_naptr_order_with_a_usable_record_wins(world: World) -> None:
    # Order 10 has TCP only: the UDP record of Order 20 is not considered even though UDP is preferred.
    assert proxy(world, "sip:naptr-order.example.test", ["udp", "tcp"]) == [Route(f"{A}.20", 5066, "tcp")]
    # Without TCP, Order 10 has nothing usable and Order 20 is the lowest with a usable record.
    assert proxy(world, "sip:naptr-order.example.test", ["udp"]) == [Route(f"{A}.20", 5067, "udp")]


def test_sips_uses_only_sips_naptr_records(world: World) -> None:
    lookup = world.lookup()
    recorder = observe(sender=lookup)
    try:
        routes = lookup.lookup_sip_proxy(SIPURI.parse("sips:example.test"), ALL).wait(10)
        assert routes == [Route(f"{A}.4", 5061, "tls")]
        assert ("NAPTR", "example.test") in [q[:2] for q in traced_queries(recorder)]
    finally:
        recorder.close()


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("sip:example.test;transport=tcp", [Route(f"{A}.3", 5060, "tcp")]),
        ("sip:example.test;transport=tls", [Route(f"{A}.4", 5061, "tls")]),
        ("sips:example.test;transport=tcp", [Route(f"{A}.4", 5061, "tls")]),
    ],
)
def test_a_transport_parameter_skips_naptr(world: World, uri: str, expected: list[Route]) -> None:
    lookup = world.lookup()
    recorder = observe(sender=lookup)
    try:
        assert lookup.lookup_sip_proxy(SIPURI.parse(uri), ALL).wait(10) == expected
        assert "NAPTR" not in [q[0] for q in traced_queries(recorder)]
    finally:
        recorder.close()


def test_an_explicit_port_skips_naptr_and_srv(world: World) -> None:
    lookup = world.lookup()
    recorder = observe(sender=lookup)
    try:
        routes = lookup.lookup_sip_proxy(SIPURI.parse("sip:udp-a.example.test:5080"), ["udp", "tcp"]).wait(10)
        assert routes == [
            Route(f"{A}.1", 5080, "udp"),
            Route("::1", 5080, "udp"),
            Route(f"{A}.1", 5080, "tcp"),
            Route("::1", 5080, "tcp"),
        ]
        assert {q[0] for q in traced_queries(recorder)} <= {"NS", "A", "AAAA"}
    finally:
        recorder.close()


def test_without_naptr_srv_is_queried_for_each_supported_transport(world: World) -> None:
    # No TLS SRV: TLS gives nothing, and since SRV found routes the addresses of the domain are not used.
    assert proxy(world, "sip:srvonly.example.test", ALL) == [
        Route(f"{A}.20", 5070, "udp"),
        Route(f"{A}.20", 5071, "tcp"),
    ]


def test_without_naptr_and_srv_the_addresses_are_used_with_default_ports(world: World) -> None:
    assert proxy(world, "sip:aonly.example.test", ["tls", "udp"]) == [
        Route(f"{A}.30", 5061, "tls"),
        Route("::1", 5061, "tls"),
        Route(f"{A}.30", 5060, "udp"),
        Route("::1", 5060, "udp"),
    ]


def test_naptr_with_only_unsupported_services_falls_back_to_srv(world: World) -> None:
    assert proxy(world, "sip:unsupported.example.test", ALL) == [Route(f"{A}.20", 5080, "udp")]


def test_naptr_to_a_missing_srv_falls_back_to_srv_then_addresses(world: World) -> None:
    lookup = world.lookup()
    recorder = observe(sender=lookup)
    try:
        routes = lookup.lookup_sip_proxy(SIPURI.parse("sip:naptr-dangling.example.test"), ["udp"]).wait(10)
        assert routes == [Route(f"{A}.40", 5060, "udp")]
        names = [q[1] for q in traced_queries(recorder) if q[0] == "SRV"]
        assert "_sip._udp.nowhere.example.test" in names and "_sip._udp.naptr-dangling.example.test" in names
    finally:
        recorder.close()


def test_an_srv_target_without_address_is_skipped(world: World) -> None:
    assert proxy(world, "sip:srv-ghost.example.test", ["udp"]) == [Route(f"{A}.20", 5064, "udp")]


def test_srv_targets_all_without_address_fall_back_to_the_domains_addresses(world: World) -> None:
    assert proxy(world, "sip:srv-allghost.example.test", ["udp"]) == [Route(f"{A}.41", 5060, "udp")]


def test_srv_target_dot_means_not_available_for_that_transport(world: World) -> None:
    assert "decidedly not available" in proxy_error(world, "sip:srv-dot.example.test", ["udp"])
    assert proxy(world, "sip:srv-dot.example.test", ["udp", "tcp"]) == [Route(f"{A}.42", 5060, "tcp")]


def test_srv_target_in_another_zone_is_asked_of_that_zones_nameservers(world: World) -> None:
    lookup = world.lookup()
    recorder = observe(sender=lookup)
    try:
        routes = lookup.lookup_sip_proxy(SIPURI.parse("sip:otherzone.example.test"), ["udp"]).wait(10)
        assert routes == [Route(f"{A}.60", 5060, "udp")]
        assert ("NS", "provider.test", [zones.LOCAL]) in traced_queries(recorder)
        assert ("A", "sip.provider.test", [zones.AUTHORITATIVE]) in traced_queries(recorder)
    finally:
        recorder.close()


def test_an_srv_answer_too_big_for_udp_arrives_over_tcp(world: World) -> None:
    query = dns.message.make_query("_sip._udp.big.example.test", "SRV")
    over_udp = dns.query.udp(query, zones.AUTHORITATIVE, timeout=2, port=world.port)
    assert over_udp.flags & dns.flags.TC  # the precondition: UDP alone cannot carry it
    routes = proxy(world, "sip:big.example.test", ["udp"])
    assert routes == [Route(f"{A}.80", port, "udp") for port in range(6000, 6040)]


def test_srv_priority_and_weight_order(world: World) -> None:
    first_targets = []
    for seed in range(40):
        lookup = DNSLookup(nameservers=[zones.LOCAL], port=world.port, rng=random.Random(seed))
        routes = lookup.lookup_sip_proxy(SIPURI.parse("sip:weighted.example.test"), ["udp"]).wait(10)
        assert routes[0] == Route(f"{A}.51", 5060, "udp")  # priority 5 comes first, always
        assert sorted(r.address for r in routes[1:]) == [f"{A}.52", f"{A}.53"]
        first_targets.append(routes[1].address)
    # Weight 90 against 10: the heavy one is drawn first most of the time, but not always.
    assert 28 <= first_targets.count(f"{A}.52") < 40


def _srv(text: str) -> dns.rdata.Rdata:
    return dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.SRV, text)


def test_srv_weighted_draw_follows_rfc_2782() -> None:
    heavy, light, zero = _srv("10 90 5060 heavy.test."), _srv("10 10 5060 light.test."), _srv("10 0 5060 zero.test.")
    firsts = [order_srv_records([light, heavy], random.Random(seed))[0] for seed in range(1000)]
    assert 850 <= firsts.count(heavy) <= 950  # 91 chances in 101
    firsts = [order_srv_records([heavy, zero], random.Random(seed))[0] for seed in range(1000)]
    assert 0 < firsts.count(zero) < 40  # weight 0: 1 chance in 91
    all_zero = [_srv(f"10 0 {port} z{port}.test.") for port in (5003, 5001, 5002)]
    assert [r.port for r in order_srv_records(all_zero, random.Random(1))] == [5001, 5002, 5003]
    by_priority = order_srv_records(
        [_srv("30 5 1 c.test."), _srv("10 5 1 a.test."), _srv("20 5 1 b.test.")], random.Random()
    )
    assert [r.priority for r in by_priority] == [10, 20, 30]


def test_nxdomain_fails(world: World) -> None:
    lookup = world.lookup()
    recorder = observe(sender=lookup)
    try:
        with pytest.raises(DNSLookupError) as raised:
            lookup.lookup_sip_proxy(SIPURI.parse("sip:missing.example.test"), ["udp"]).wait(10)
        assert "does not exist" in str(raised.value)
        [failed] = recorder.named("DNSLookupDidFail")
        assert failed.data.error == str(raised.value)
        assert isinstance(failed.data.timestamp, datetime.datetime)
    finally:
        recorder.close()


# --- which nameservers are asked ------------------------------------------------------------


def test_authoritative_nameservers_are_found_with_ns_queries_and_asked_first(world: World) -> None:
    lookup = world.lookup()
    recorder = observe(sender=lookup)
    try:
        lookup.lookup_sip_proxy(SIPURI.parse("sip:example.test"), ["udp"]).wait(10)
        queries = traced_queries(recorder)
        assert queries[:2] == [("NS", "example.test", [zones.LOCAL]), ("A", "ns.example.test", [zones.LOCAL])]
        assert ("NAPTR", "example.test", [zones.AUTHORITATIVE]) in queries
        assert ("NAPTR", "example.test", [zones.LOCAL]) not in queries  # answered: never asked again
        assert ("SRV", "_sip._udp.example.test", [zones.AUTHORITATIVE]) in queries
    finally:
        recorder.close()


def test_a_router_that_drops_naptr_and_srv_does_not_matter(world: World) -> None:
    before = len(world.dropping.received("NAPTR")) + len(world.dropping.received("SRV"))
    routes = proxy(world, "sip:example.test", ["udp", "tcp"], nameserver=zones.DROPPING)
    assert routes == [
        Route(f"{A}.1", 5060, "udp"),
        Route("::1", 5060, "udp"),
        Route(f"{A}.2", 5062, "udp"),
        Route(f"{A}.3", 5060, "tcp"),
    ]
    assert len(world.dropping.received("NAPTR")) + len(world.dropping.received("SRV")) == before
    assert "example.test" in world.dropping.received("NS")


def test_a_name_the_authoritative_servers_deny_is_asked_of_the_local_ones(world: World) -> None:
    # local-only.example.test exists on LOCAL only: AUTHORITATIVE says NXDOMAIN, LOCAL has the address.
    assert proxy(world, "sip:local-only.example.test", ["udp"]) == [Route(f"{L}.70", 5060, "udp")]


def test_refusing_authoritative_servers_fall_back_to_the_local_ones(world: World) -> None:
    lookup = world.lookup()
    recorder = observe(sender=lookup)
    try:
        routes = lookup.lookup_sip_proxy(SIPURI.parse("sip:refused.test"), ["udp"]).wait(10)
        assert routes == [Route(f"{L}.102", 5060, "udp")]
        traces = recorder.named("DNSLookupTrace")
        naptr = [t for t in traces if t.data.query_type == "NAPTR"]
        assert [t.data.nameservers for t in naptr] == [[zones.AUTHORITATIVE], [zones.LOCAL]]
        assert naptr[0].data.answer is None and naptr[0].data.error is not None
        assert naptr[1].data.answer is not None and naptr[1].data.error is None
        # Having failed once, the authoritative servers are not asked again in this lookup.
        assert all(t.data.nameservers == [zones.LOCAL] for t in traces[traces.index(naptr[1]) :])
    finally:
        recorder.close()


@pytest.mark.parametrize(("domain", "address"), [("silent.test", f"{L}.101"), ("lame.test", f"{L}.100")])
def test_unreachable_authoritative_servers_time_out_and_fall_back(world: World, domain: str, address: str) -> None:
    assert proxy(world, f"sip:{domain}", ["udp"], **FAST) == [Route(address, 5060, "udp")]


def test_broken_router_and_unreachable_authoritative_servers_fall_back_to_addresses(world: World) -> None:
    # lame.test: its NS address has nothing listening; the router drops NAPTR and SRV, so both time
    # out; what is left is the A record of the domain, with the default port.
    assert proxy(world, "sip:lame.test", ["udp"], nameserver=zones.DROPPING, **FAST) == [Route(f"{L}.100", 5060, "udp")]


def test_servfail_for_naptr_and_srv_falls_back_to_addresses(world: World) -> None:
    routes = proxy(world, "sip:lame.test", ["udp", "tcp"], nameserver=zones.SERVFAILING, **FAST)
    assert routes == [Route(f"{L}.100", 5060, "udp"), Route(f"{L}.100", 5060, "tcp")]
    assert "lame.test" in world.servfailing.received("NAPTR")


@pytest.mark.parametrize("nameserver", [zones.SILENT, zones.NOTHING])
def test_no_nameserver_answering_fails_with_a_timeout(world: World, nameserver: str) -> None:
    assert "timeout" in proxy_error(world, "sip:example.test", ["udp"], nameserver=nameserver, **FAST)


# --- lookup_service ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("service", "host", "port", "expected"),
    [
        ("msrprelay", "example.test", None, [(f"{A}.90", 2856)]),
        ("stun", "example.test", None, [(f"{A}.91", 3479)]),
        ("stun", "example.test", 4000, [(f"{A}.91", 3479)]),  # SRV ports win over the given one
        ("msrprelay", "aonly.example.test", None, [(f"{A}.30", 2855), ("::1", 2855)]),
        ("stun", "aonly.example.test", None, [(f"{A}.30", 3478), ("::1", 3478)]),
        ("stun", "aonly.example.test", 3500, [(f"{A}.30", 3500), ("::1", 3500)]),
        ("stun", "127.0.0.7", None, [("127.0.0.7", 3478)]),
    ],
)
def test_lookup_service(world: World, service: str, host: str, port: int | None, expected: list) -> None:
    lookup = world.lookup()
    recorder = observe(sender=lookup)
    try:
        assert lookup.lookup_service(SIPURI(host=host), service, port=port).wait(10) == expected
        assert all(
            t.data.context == "lookup_service" and t.data.service == service for t in recorder.named("DNSLookupTrace")
        )
    finally:
        recorder.close()


def test_lookup_service_failures(world: World) -> None:
    lookup = world.lookup()
    with pytest.raises(DNSLookupError, match="decidedly not available"):
        lookup.lookup_service(SIPURI(host="stun-dot.example.test"), "stun").wait(10)
    with pytest.raises(DNSLookupError, match="does not exist"):
        lookup.lookup_service(SIPURI(host="missing.example.test"), "msrprelay").wait(10)
    with pytest.raises(ValueError):
        lookup.lookup_service(SIPURI(host="example.test"), "ldap")


# --- lookup_xcap_server ---------------------------------------------------------------------


def test_lookup_xcap_server(world: World) -> None:
    urls = world.lookup().lookup_xcap_server(FrozenSIPURI(host="example.test", user="alice")).wait(10)
    assert sorted(urls) == ["http://xcap2.example.test:8080/xcap-root", "https://xcap.example.test/xcap-root"]


@pytest.mark.parametrize(
    ("host", "reason"), [("noxcap.example.test", "no http"), ("missing.example.test", "does not exist")]
)
def test_lookup_xcap_server_failures(world: World, host: str, reason: str) -> None:
    with pytest.raises(DNSLookupError, match=reason):
        world.lookup().lookup_xcap_server(SIPURI(host=host)).wait(10)


# --- asynchronous and synchronous use ---------------------------------------------------------


def test_notifications_trace_every_query_then_report_the_result(world: World) -> None:
    lookup = world.lookup()
    uri = SIPURI.parse("sip:example.test")
    with NotificationQueue(sender=lookup) as notifications:
        lookup.lookup_sip_proxy(uri, ["tcp"])
        seen = [notifications.wait(10)]
        while seen[-1].name == "DNSLookupTrace":
            seen.append(notifications.wait(10))
    done = seen[-1]
    assert done.name == "DNSLookupDidSucceed"
    assert done.data.result == [Route(f"{A}.3", 5060, "tcp")]
    traces = seen[:-1]
    assert traces and all(t.data.context == "lookup_sip_proxy" and t.data.uri is uri for t in traces)
    assert all(not hasattr(t.data, "service") for t in traces)
    assert all((t.data.answer is None) != (t.data.error is None) for t in traces)
    assert [t.data.query_type for t in traces][:2] == ["NS", "A"]


def test_synchronous_use_from_a_green_thread(world: World) -> None:
    lookup = world.lookup()

    def body() -> tuple[bool, bool, list[Route]]:
        future = lookup.lookup_sip_proxy(SIPURI.parse("sip:example.test"), ["tls"])
        # The lookup runs in another green thread, which cannot have run yet: this one has not yielded.
        pending = not future.done()
        return in_green_thread(), pending, future.wait()

    green, pending, routes = spawn(body).wait(10)
    assert green and pending
    assert routes == [Route(f"{A}.4", 5061, "tls")]


def test_synchronous_failure_from_a_green_thread(world: World) -> None:
    lookup = world.lookup()

    def body() -> str:
        try:
            lookup.lookup_sip_proxy(SIPURI.parse("sip:missing.example.test"), ["udp"]).wait()
        except DNSLookupError as error:
            return str(error)
        return "no error"

    assert "does not exist" in spawn(body).wait(10)


def test_concurrent_lookups_do_not_wait_for_each_other(world: World) -> None:
    # The first lookup's nameserver holds its queries; a second lookup, started later, completes meanwhile.
    slow = world.lookup(zones.GATED)
    world.gated.pause()
    try:
        held = slow.lookup_sip_proxy(SIPURI.parse("sip:example.test"), ["udp"], timeout=30, lifetime=60)
        assert world.lookup().lookup_sip_proxy(SIPURI.parse("sip:example.test"), ["tcp"]).wait(10) == [
            Route(f"{A}.3", 5060, "tcp")
        ]
        assert not held.done()  # its first query cannot be answered while the gate is closed
    finally:
        world.gated.resume()
    assert held.wait(30)[0] == Route(f"{A}.1", 5060, "udp")
