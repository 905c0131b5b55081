"""The DNS world of the lookup tests: which server listens where, and the zones they serve.

Addresses (one port for all, chosen at run time):

    127.0.53.1  LOCAL        NSD: the "local nameserver" the lookups are configured with
    127.0.53.2  AUTHORITATIVE NSD: the nameserver the NS records of example.test and provider.test name
    127.0.53.3  SILENT       never answers (the NS of silent.test)
    127.0.53.4  NOTHING      nothing listens (the NS of lame.test)
    127.0.53.5  DROPPING     a router relaying to LOCAL that drops NAPTR and SRV queries
    127.0.53.6  SERVFAILING  a router relaying to LOCAL that answers SERVFAIL to NAPTR and SRV
    127.0.53.7  GATED        a router relaying to LOCAL that a test can pause

example.test and provider.test are served by both NSDs with the same names
but different host addresses: 127.0.10.x from AUTHORITATIVE, 127.0.20.x
from LOCAL, so a result tells which server it came from. IPv6 addresses
are ::1 on both. The other zones exist on LOCAL only.
"""

from __future__ import annotations

LOCAL = "127.0.53.1"
AUTHORITATIVE = "127.0.53.2"
SILENT = "127.0.53.3"
NOTHING = "127.0.53.4"
DROPPING = "127.0.53.5"
SERVFAILING = "127.0.53.6"
GATED = "127.0.53.7"
ALL_ADDRESSES = (LOCAL, AUTHORITATIVE, SILENT, NOTHING, DROPPING, SERVFAILING, GATED)

AUTHORITATIVE_PREFIX = "127.0.10"
LOCAL_PREFIX = "127.0.20"

_HEADER = """\
$ORIGIN {origin}.
$TTL 60
@ IN SOA ns hostmaster 1 3600 600 86400 60
@ IN NS ns
ns IN A {ns}
"""


def example_zone(prefix: str, *, local: bool) -> str:
    """example.test: every RFC 3263 path, working and broken, and the SRV/TXT of the other lookups."""
    big_srv = "".join(f"_sip._udp.big IN SRV 10 0 {6000 + index} big-host\n" for index in range(40))
    local_only = f"local-only IN A {prefix}.70\n" if local else ""
    return (
        _HEADER.format(origin="example.test", ns=AUTHORITATIVE)
        + f"""
; The apex: NAPTR for the three SIP transports, plus records a SIP client must ignore
; (SCTP, an ENUM-style rule with a regexp, an "a" flag) and a higher Order it must not reach.
@ IN NAPTR 10 30 "s" "SIP+D2U" "" _sip._udp
@ IN NAPTR 10 20 "s" "SIP+D2T" "" _sip._tcp
@ IN NAPTR 10 10 "s" "SIPS+D2T" "" _sips._tcp
@ IN NAPTR 10 5 "s" "SIP+D2S" "" _sip._sctp
@ IN NAPTR 10 1 "u" "E2U+sip" "!^.*$!sip:info@example.test!" .
@ IN NAPTR 10 2 "a" "SIP+D2U" "" udp-a
@ IN NAPTR 20 1 "s" "SIP+D2U" "" _sip._udp.backup
_sip._udp IN SRV 10 0 5060 udp-a
_sip._udp IN SRV 20 0 5062 udp-b
_sip._tcp IN SRV 10 0 5060 tcp-a
_sips._tcp IN SRV 10 0 5061 tls-a
_sip._sctp IN SRV 10 0 5060 sctp-a
_sip._udp.backup IN SRV 10 0 5099 backup
udp-a IN A {prefix}.1
udp-a IN AAAA ::1
udp-b IN A {prefix}.2
tcp-a IN A {prefix}.3
tls-a IN A {prefix}.4
sctp-a IN A {prefix}.5
backup IN A {prefix}.9

; Two NAPTR of one Order and transport: Preference decides.
naptr-pref IN NAPTR 10 20 "s" "SIP+D2U" "" _sip._udp.second.naptr-pref
naptr-pref IN NAPTR 10 10 "s" "SIP+D2U" "" _sip._udp.first.naptr-pref
_sip._udp.first.naptr-pref IN SRV 10 0 5060 first-host
_sip._udp.second.naptr-pref IN SRV 10 0 5060 second-host
first-host IN A {prefix}.11
second-host IN A {prefix}.12

; Order beats the application's transport preference.
naptr-order IN NAPTR 10 10 "s" "SIP+D2T" "" _sip._tcp.naptr-order
naptr-order IN NAPTR 20 10 "s" "SIP+D2U" "" _sip._udp.naptr-order
_sip._tcp.naptr-order IN SRV 10 0 5066 srv-host
_sip._udp.naptr-order IN SRV 10 0 5067 srv-host

; SRV without NAPTR; the TLS one is missing.
_sip._udp.srvonly IN SRV 10 0 5070 srv-host
_sip._tcp.srvonly IN SRV 10 0 5071 srv-host
srv-host IN A {prefix}.20

; Neither NAPTR nor SRV: addresses only.
aonly IN A {prefix}.30
aonly IN AAAA ::1

; NAPTR with nothing a SIP client can use (SCTP, WebSocket, ENUM, an "a" flag): SRV is used instead.
unsupported IN NAPTR 10 10 "s" "SIP+D2S" "" _sip._sctp.unsupported
unsupported IN NAPTR 10 20 "s" "SIP+D2W" "" _sip._ws.unsupported
unsupported IN NAPTR 10 30 "u" "E2U+sip" "!^.*$!sip:info@example.test!" .
unsupported IN NAPTR 10 40 "a" "SIP+D2U" "" udp-a
_sip._udp.unsupported IN SRV 10 0 5080 srv-host

; NAPTR pointing at an SRV name that does not exist, no SRV of its own: addresses of the domain.
naptr-dangling IN NAPTR 10 10 "s" "SIP+D2U" "" _sip._udp.nowhere
naptr-dangling IN A {prefix}.40

; SRV whose first target has no address.
_sip._udp.srv-ghost IN SRV 10 0 5060 ghost
_sip._udp.srv-ghost IN SRV 20 0 5064 srv-host

; SRV whose only target has no address: addresses of the domain.
_sip._udp.srv-allghost IN SRV 10 0 5060 ghost
srv-allghost IN A {prefix}.41

; SRV target "." (RFC 2782: decidedly not available) for UDP.
_sip._udp.srv-dot IN SRV 0 0 0 .
srv-dot IN A {prefix}.42

; Weighted SRV: a lone lower priority, then two of one priority weighing 90 and 10.
_sip._udp.weighted IN SRV 5 0 5060 w-first
_sip._udp.weighted IN SRV 10 90 5060 w-heavy
_sip._udp.weighted IN SRV 10 10 5060 w-light
w-first IN A {prefix}.51
w-heavy IN A {prefix}.52
w-light IN A {prefix}.53

; An SRV target in another zone (provider.test).
_sip._udp.otherzone IN SRV 10 0 5060 sip.provider.test.

; An SRV answer too big for UDP (512 bytes without EDNS): the resolver retries over TCP.
{big_srv}big-host IN A {prefix}.80

; MSRP relay and STUN server.
_msrps._tcp IN SRV 10 0 2856 relay
_stun._udp IN SRV 10 0 3479 stun-host
relay IN A {prefix}.90
stun-host IN A {prefix}.91
_stun._udp.stun-dot IN SRV 0 0 0 .
stun-dot IN A {prefix}.92

; XCAP: the http(s) URLs among the TXT strings of xcap.<domain> (a record's strings are joined).
xcap IN TXT "https://xcap.example.test/xcap-root"
xcap IN TXT "v=spf1 -all"
xcap IN TXT "http://xcap2.example.test:8080/" "xcap-root"
xcap.noxcap IN TXT "not a url"
noxcap IN A {prefix}.99
{local_only}"""
    )


def provider_zone(prefix: str) -> str:
    return _HEADER.format(origin="provider.test", ns=AUTHORITATIVE) + f"sip IN A {prefix}.60\n"


def local_only_zone(origin: str, nameserver: str, address: str) -> str:
    """A zone on LOCAL only whose NS is ``nameserver`` (which does not serve it)."""
    return (
        _HEADER.format(origin=origin, ns=nameserver)
        + f"""
@ IN NAPTR 10 10 "s" "SIP+D2U" "" _sip._udp
_sip._udp IN SRV 10 0 5060 sip
sip IN A {address}
@ IN A {address}
"""
    )


def authoritative_zones() -> dict[str, str]:
    return {
        "example.test": example_zone(AUTHORITATIVE_PREFIX, local=False),
        "provider.test": provider_zone(AUTHORITATIVE_PREFIX),
    }


def local_zones() -> dict[str, str]:
    return {
        "example.test": example_zone(LOCAL_PREFIX, local=True),
        "provider.test": provider_zone(LOCAL_PREFIX),
        "lame.test": local_only_zone("lame.test", NOTHING, f"{LOCAL_PREFIX}.100"),
        "silent.test": local_only_zone("silent.test", SILENT, f"{LOCAL_PREFIX}.101"),
        "refused.test": local_only_zone("refused.test", AUTHORITATIVE, f"{LOCAL_PREFIX}.102"),
    }
