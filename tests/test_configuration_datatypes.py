"""Tests for sipsimple.configuration.datatypes: validation on construction and the backend round trip."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from sipsimple.configuration.datatypes import (
    AudioCodecList,
    ContentTypeList,
    Datatype,
    Duration,
    Hostname,
    IPAddress,
    IPAddressList,
    MSRPTransport,
    NonNegativeInteger,
    Path,
    PJSIPLogLevel,
    Port,
    PortRange,
    PositiveInteger,
    SampleRate,
    SIPAddress,
    SIPProxyAddress,
    SIPTransportList,
    SRTPEncryption,
    STUNServerAddress,
    STUNServerAddressList,
    Timeout,
    XCAPRoot,
)

# (datatype, input, the expected value) -- the expected value is compared with ==
GOOD: list[tuple[type[Datatype], Any, Any]] = [
    (SIPAddress, "alice@example.com", "alice@example.com"),
    (SIPAddress, "sip:Alice@Example.COM", "Alice@example.com"),
    (SIPAddress, "bob.smith+tag@10.0.0.1", "bob.smith+tag@10.0.0.1"),
    (SIPAddress, "a%40b@[2001:DB8::1]", "a%40b@[2001:db8::1]"),
    (SIPAddress, "bonjour@local", "bonjour@local"),
    (SIPProxyAddress, "proxy.example.com", "proxy.example.com"),
    (SIPProxyAddress, "Proxy.Example.com:5061;transport=TLS", "proxy.example.com:5061;transport=tls"),
    (SIPProxyAddress, "10.0.0.1;transport=udp", "10.0.0.1;transport=udp"),
    (SIPProxyAddress, "[::1]:5060", "[::1]:5060"),
    (Port, 0, 0),
    (Port, 5060, 5060),
    (Port, 65535, 65535),
    (NonNegativeInteger, 0, 0),
    (NonNegativeInteger, 10**12, 10**12),
    (PositiveInteger, 1, 1),
    (PJSIPLogLevel, 0, 0),
    (PJSIPLogLevel, 5, 5),
    (Hostname, "Example.COM.", "example.com"),
    (Hostname, "a-b.c1", "a-b.c1"),
    (Hostname, "localhost", "localhost"),
    (IPAddress, "10.0.0.1", "10.0.0.1"),
    (IPAddress, "2001:DB8:0:0::1", "2001:db8::1"),
    (Path, "~/Downloads", "~/Downloads"),
    (Path, "/var/tmp/x", "/var/tmp/x"),
    (SampleRate, 8000, 8000),
    (SampleRate, 44100, 44100),
    (SampleRate, 48000, 48000),
    (
        AudioCodecList,
        ["OPUS", "g722", "Speex", "gsm", "pcmu", "PCMA"],
        ("opus", "G722", "speex", "GSM", "PCMU", "PCMA"),
    ),
    (AudioCodecList, ("PCMA",), ("PCMA",)),
    (SIPTransportList, ["TLS", "udp"], ("tls", "udp")),
    (MSRPTransport, "TLS", "tls"),
    (MSRPTransport, "tcp", "tcp"),
    (SRTPEncryption, "Optional", "optional"),
    (SRTPEncryption, "disabled", "disabled"),
    (SRTPEncryption, "mandatory", "mandatory"),
    (
        ContentTypeList,
        ["Text/Plain", "message/*", "*/*", "application/im-iscomposing+xml"],
        ("text/plain", "message/*", "*/*", "application/im-iscomposing+xml"),
    ),
    (ContentTypeList, [], ()),
    (Duration, 0, 0.0),
    (Duration, 1.5, 1.5),
    (Timeout, 30, 30.0),
    (Timeout, 0.25, 0.25),
    (STUNServerAddress, "stun.example.com", "stun.example.com"),
    (STUNServerAddress, "STUN.example.com:19302", "stun.example.com:19302"),
    (STUNServerAddress, "[2001:db8::2]:3479", "[2001:db8::2]:3479"),
    (STUNServerAddressList, ["stun1.example.com", "192.0.2.1:3479"], ("stun1.example.com", "192.0.2.1:3479")),
    (STUNServerAddressList, [], ()),
    (IPAddressList, ["127.0.0.1", "0:0::1"], ("127.0.0.1", "::1")),
    (XCAPRoot, "https://xcap.example.com/xcap-root", "https://xcap.example.com/xcap-root"),
    (XCAPRoot, "http://192.0.2.1:8080/", "http://192.0.2.1:8080/"),
    (XCAPRoot, "https://[2001:db8::1]/xcap", "https://[2001:db8::1]/xcap"),
]

# (datatype, input, exception, a fragment of its message)
BAD: list[tuple[type[Datatype], Any, type[Exception], str]] = [
    (SIPAddress, 42, TypeError, "SIPAddress must be a str, not int"),
    (SIPAddress, "alice", ValueError, "user@domain"),
    (SIPAddress, "alice@b@example.com", ValueError, "user@domain"),
    (SIPAddress, "@example.com", ValueError, "invalid user part"),
    (SIPAddress, "al ice@example.com", ValueError, "invalid user part"),
    (SIPAddress, "alice@exa_mple.com", ValueError, "invalid domain"),
    (SIPAddress, "alice@", ValueError, "invalid domain"),
    (SIPAddress, "alice@::1", ValueError, "invalid domain"),
    (SIPAddress, "alice@example.com:5060", ValueError, "invalid domain"),
    (SIPProxyAddress, None, TypeError, "must be a str"),
    (SIPProxyAddress, "", ValueError, "no host"),
    (SIPProxyAddress, "proxy.example.com:0", ValueError, "between 1 and 65535"),
    (SIPProxyAddress, "proxy.example.com:70000", ValueError, "between 1 and 65535"),
    (SIPProxyAddress, "proxy.example.com:50a", ValueError, "invalid port"),
    (SIPProxyAddress, "proxy.example.com;transport=sctp", ValueError, "udp, tcp or tls"),
    (SIPProxyAddress, "proxy.example.com;lr", ValueError, "only a transport parameter"),
    (SIPProxyAddress, "bad_host:5060", ValueError, "not a hostname"),
    (SIPProxyAddress, "[::1:5060", ValueError, "IPv6"),
    (Port, -1, ValueError, "between 0 and 65535, got -1"),
    (Port, 65536, ValueError, "between 0 and 65535, got 65536"),
    (Port, "5060", TypeError, "Port must be an int, not str"),
    (Port, True, TypeError, "Port must be an int, not bool"),
    (Port, 5060.0, TypeError, "Port must be an int, not float"),
    (NonNegativeInteger, -1, ValueError, ">= 0"),
    (PositiveInteger, 0, ValueError, ">= 1"),
    (PJSIPLogLevel, 6, ValueError, "between 0 and 5"),
    (Hostname, "", ValueError, "not a valid hostname"),
    (Hostname, "-bad.example.com", ValueError, "not a valid hostname"),
    (Hostname, "bad-.example.com", ValueError, "not a valid hostname"),
    (Hostname, "under_score.com", ValueError, "not a valid hostname"),
    (Hostname, "a" * 64 + ".com", ValueError, "not a valid hostname"),
    (Hostname, ".".join(["a" * 60] * 5), ValueError, "not a valid hostname"),
    (Hostname, "10.0.0.1", ValueError, "not a valid hostname"),
    (Hostname, b"example.com", TypeError, "must be a str"),
    (IPAddress, "10.0.0.256", ValueError, "not an IPv4 or IPv6 address"),
    (IPAddress, "[::1]", ValueError, "not an IPv4 or IPv6 address"),
    (IPAddress, "example.com", ValueError, "not an IPv4 or IPv6 address"),
    (IPAddress, 167772161, TypeError, "must be a str"),
    (Path, "", ValueError, "cannot be empty"),
    (Path, "a\0b", ValueError, "NUL"),
    (Path, 3, TypeError, "must be a str"),
    (SampleRate, 22050, ValueError, "8000, 16000, 32000, 44100, 48000"),
    (SampleRate, "48000", TypeError, "must be an int"),
    (AudioCodecList, "opus", TypeError, "must be a list or tuple, not str"),
    (AudioCodecList, ["opus", "iLBC"], ValueError, "unknown codec 'iLBC'"),
    (AudioCodecList, ["opus", "OPUS"], ValueError, "lists 'opus' twice"),
    (AudioCodecList, [], ValueError, "cannot be empty"),
    (AudioCodecList, ["opus", 7], TypeError, "items must be str, not int"),
    (SIPTransportList, ["udp", "sctp"], ValueError, "unknown transport 'sctp'"),
    (SIPTransportList, [], ValueError, "cannot be empty"),
    (SIPTransportList, ["udp", "UDP"], ValueError, "twice"),
    (MSRPTransport, "udp", ValueError, "tcp, tls"),
    (SRTPEncryption, "sometimes", ValueError, "disabled, optional, mandatory"),
    (SRTPEncryption, None, TypeError, "must be a str"),
    (ContentTypeList, ["text"], ValueError, "not a content type"),
    (ContentTypeList, ["text/plain; charset=utf-8"], ValueError, "not a content type"),
    (ContentTypeList, ["*/plain"], ValueError, "not a content type"),
    (ContentTypeList, ["text/plain", "TEXT/plain"], ValueError, "twice"),
    (ContentTypeList, "text/plain", TypeError, "must be a list or tuple"),
    (Duration, -0.5, ValueError, ">= 0"),
    (Duration, float("nan"), ValueError, "finite"),
    (Duration, "5", TypeError, "number of seconds"),
    (Timeout, 0, ValueError, "> 0"),
    (Timeout, float("inf"), ValueError, "finite"),
    (Timeout, False, TypeError, "not bool"),
    (STUNServerAddress, "stun.example.com:0", ValueError, "between 1 and 65535"),
    (STUNServerAddress, "stun.example.com:x", ValueError, "invalid port"),
    (STUNServerAddress, "stun.example.com;transport=tcp", ValueError, "not a hostname"),
    (STUNServerAddressList, ["stun.example.com", "STUN.example.com"], ValueError, "twice"),
    (STUNServerAddressList, ["bad host"], ValueError, "not a hostname"),
    (IPAddressList, ["127.0.0.1", "127.0.0.1"], ValueError, "twice"),
    (IPAddressList, ["ns.example.com"], ValueError, "not an IPv4 or IPv6 address"),
    (IPAddressList, [], ValueError, "empty"),
    (STUNServerAddressList, "stun.example.com", TypeError, "must be a list or tuple"),
    (XCAPRoot, "ftp://xcap.example.com/", ValueError, "http or https"),
    (XCAPRoot, "xcap.example.com/root", ValueError, "http or https"),
    (XCAPRoot, "https:///root", ValueError, "no host"),
    (XCAPRoot, "https://xcap.example.com/root?x=1", ValueError, "query"),
    (XCAPRoot, "https://xcap.example.com/root#top", ValueError, "fragment"),
    (XCAPRoot, "https://user:pw@xcap.example.com/", ValueError, "credentials"),
    (XCAPRoot, "https://xcap.example.com:99999/", ValueError, "Port out of range"),
    (XCAPRoot, "https://exa mple.com/", ValueError, "spaces"),
    (XCAPRoot, "https://bad_host.example.com/", ValueError, "not a hostname"),
]


def _id(case: tuple[Any, ...]) -> str:
    return f"{case[0].__name__}-{case[1]!r}"[:60]


@pytest.mark.parametrize("case", GOOD, ids=_id)
def test_valid_input_is_accepted_and_normalised(case: tuple[type[Datatype], Any, Any]) -> None:
    datatype, given, expected = case
    value = datatype(given)
    assert type(value) is datatype
    assert value == expected
    assert datatype.coerce(value) is value  # already of the type: kept as is


@pytest.mark.parametrize("case", GOOD, ids=_id)
def test_backend_form_is_json_and_round_trips(case: tuple[type[Datatype], Any, Any]) -> None:
    datatype, given, _ = case
    value = datatype(given)
    stored = value.to_config()
    assert type(stored) in (str, int, float, list)
    through_json = json.loads(json.dumps(stored))
    restored = datatype.from_config(through_json)
    assert type(restored) is datatype
    assert restored == value
    assert restored.to_config() == stored


@pytest.mark.parametrize("case", BAD, ids=_id)
def test_invalid_input_raises_a_clear_error(case: tuple[type[Datatype], Any, type[Exception], str]) -> None:
    datatype, given, exception, fragment = case
    with pytest.raises(exception) as raised:
        datatype(given)
    assert type(raised.value) is exception
    assert fragment in str(raised.value)


def test_invalid_backend_forms_are_refused() -> None:
    with pytest.raises(TypeError):
        Port.from_config("5060")
    with pytest.raises(TypeError):
        AudioCodecList.from_config("opus")
    with pytest.raises(ValueError, match="exactly two ports"):
        PortRange.from_config([50000, 50500, 50600])
    with pytest.raises(TypeError, match="must be a list or tuple"):
        PortRange.from_config("50000-50500")
    with pytest.raises(ValueError, match="even port"):
        PortRange.from_config([50001, 50500])


def test_port_range() -> None:
    ports = PortRange(50000, 50500)
    assert (ports.start, ports.end) == (50000, 50500)
    assert ports == (50000, 50500)
    assert PortRange.coerce((40000, 40002)) == PortRange(40000, 40002)
    assert PortRange.coerce([40000, 40002]) == (40000, 40002)
    assert ports.to_config() == [50000, 50500]
    assert repr(ports) == "PortRange(50000, 50500)"
    for start, end, fragment in [
        (50001, 50500, "even port"),
        (50000, 50000, "start < end"),
        (50000, 50001, "room for an RTP/RTCP pair"),
        (50500, 50000, "start < end"),
        (1000, 2000, "within 1024-65535"),
        (60000, 65536, "within 1024-65535"),
    ]:
        with pytest.raises(ValueError, match=fragment):
            PortRange(start, end)
    with pytest.raises(TypeError, match="must be an int"):
        PortRange(50000, "50500")
    with pytest.raises(ValueError, match="exactly two ports"):
        PortRange.coerce((50000,))


def test_sip_address_parts() -> None:
    address = SIPAddress("alice@example.com")
    assert isinstance(address, str)
    assert (address.username, address.domain) == ("alice", "example.com")
    assert SIPAddress("bob@[2001:db8::1]").domain == "[2001:db8::1]"


def test_sip_proxy_address_parts() -> None:
    proxy = SIPProxyAddress("Proxy.example.com:5061;transport=TLS")
    assert (proxy.host, proxy.port, proxy.transport) == ("proxy.example.com", 5061, "tls")
    bare = SIPProxyAddress("proxy.example.com")
    assert (bare.host, bare.port, bare.transport) == ("proxy.example.com", None, None)
    assert SIPProxyAddress("[2001:db8::1]").host == "[2001:db8::1]"


def test_stun_server_address_default_port() -> None:
    assert STUNServerAddress("stun.example.com").port == 3478
    assert STUNServerAddress("stun.example.com:19302").port == 19302
    assert STUNServerAddress("[::1]").host == "[::1]"
    servers = STUNServerAddressList(["a.example.com", STUNServerAddress("b.example.com:1")])
    assert all(type(server) is STUNServerAddress for server in servers)


def test_path_is_kept_as_written_and_normalized_on_demand(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    path = Path("~/Downloads/../Files")
    assert path == "~/Downloads/../Files"
    assert path.normalized == os.path.join(str(tmp_path), "Files")
    assert Path(tmp_path / "x") == os.path.join(str(tmp_path), "x")  # os.PathLike is accepted
    monkeypatch.chdir(tmp_path)
    assert Path("relative").normalized == os.path.join(str(tmp_path), "relative")


def test_ip_address_version() -> None:
    assert IPAddress("10.0.0.1").version == 4
    assert IPAddress("::1").version == 6


def test_seconds_are_written_as_integers_when_whole() -> None:
    assert Timeout(3).to_config() == 3 and type(Timeout(3).to_config()) is int
    assert Timeout(2.5).to_config() == 2.5
    assert Duration.from_config(3) == 3.0 and type(Duration.from_config(3)) is Duration


def test_values_are_immutable_and_usable_as_plain_types() -> None:
    codecs = AudioCodecList(["opus", "PCMA"])
    with pytest.raises(TypeError):
        codecs[0] = "GSM"
    assert list(codecs) == ["opus", "PCMA"]
    assert Port(5060) + 1 == 5061
    assert repr(Port(5060)) == "Port(5060)"
    assert repr(codecs) == "AudioCodecList(['opus', 'PCMA'])"
    assert Timeout(30) * 1000 == 30000
