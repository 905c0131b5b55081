"""Typed values of settings: each validates on construction and converts to and from the backend's form.

Every datatype is an immutable subclass of ``str``, ``int``, ``float`` or
``tuple``, so a value can be used where the plain type is expected and an
unchanged value compares equal to itself after a save and a load. Each one
raises ``TypeError`` for an input of the wrong kind and ``ValueError`` for an
input of the right kind that is not valid, with a message saying what was
expected.

The backend form (``to_config()`` / ``from_config()``) is what JSON holds: a
string, a number or a list, as listed in ``docs/api/configuration.md``.
``from_config(value.to_config()) == value`` for every valid value.
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
from collections.abc import Iterable
from typing import Any, ClassVar, Self
from urllib.parse import urlsplit

__all__ = [
    "AudioCodecList",
    "ContentTypeList",
    "Datatype",
    "Duration",
    "Hostname",
    "IPAddress",
    "IPAddressList",
    "MSRPTransport",
    "NonNegativeInteger",
    "PJSIPLogLevel",
    "Path",
    "Port",
    "PortRange",
    "PositiveInteger",
    "SIPAddress",
    "SIPProxyAddress",
    "SIPTransportList",
    "SRTPEncryption",
    "STUNServerAddress",
    "STUNServerAddressList",
    "SampleRate",
    "Timeout",
    "XCAPRoot",
]


class Datatype:
    """Base of the datatypes: the conversions a ``Setting`` relies on."""

    __slots__ = ()

    @classmethod
    def coerce(cls, value: object) -> Self:
        """Turn what an application assigns to a setting into a value of this type (or raise)."""
        if isinstance(value, cls):
            return value
        return cls(value)  # type: ignore[call-arg]

    @classmethod
    def from_config(cls, data: Any) -> Self:
        """Build a value from its backend form (or raise ``TypeError`` / ``ValueError``)."""
        return cls(data)  # type: ignore[call-arg]

    def to_config(self) -> Any:
        """The backend form: a str, a number or a list of them."""
        raise NotImplementedError


def _type_name(value: object) -> str:
    return type(value).__name__


def _require_int(cls: type, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{cls.__name__} must be an int, not {_type_name(value)}")
    return value


def _require_str(cls: type, value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{cls.__name__} must be a str, not {_type_name(value)}")
    return value


def _require_sequence(cls: type, value: object) -> list[object]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise TypeError(f"{cls.__name__} must be a list or tuple, not {_type_name(value)}")
    return list(value)


# --------------------------------------------------------------------------
# Numbers


class _BoundedInteger(Datatype, int):
    minimum: ClassVar[int | None] = None
    maximum: ClassVar[int | None] = None
    description: ClassVar[str] = ""

    def __new__(cls, value: object) -> Self:
        number = _require_int(cls, value)
        if (cls.minimum is not None and number < cls.minimum) or (cls.maximum is not None and number > cls.maximum):
            raise ValueError(f"{cls.__name__} must be {cls.description}, got {number}")
        return super().__new__(cls, number)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({int(self)})"

    def to_config(self) -> int:
        return int(self)


class NonNegativeInteger(_BoundedInteger):
    minimum = 0
    description = "an integer >= 0"


class PositiveInteger(_BoundedInteger):
    minimum = 1
    description = "an integer >= 1"


class Port(_BoundedInteger):
    """A TCP/UDP port, 0–65535 (0: any free port, for a listening port)."""

    minimum = 0
    maximum = 65535
    description = "between 0 and 65535"


class PJSIPLogLevel(_BoundedInteger):
    """PJSIP's log level, 0 (nothing) to 5 (everything), as the Engine's ``log_level``."""

    minimum = 0
    maximum = 5
    description = "between 0 and 5"


class SampleRate(_BoundedInteger):
    """An audio sample rate in Hz: 8000, 16000, 32000, 44100 or 48000."""

    allowed: ClassVar[tuple[int, ...]] = (8000, 16000, 32000, 44100, 48000)

    def __new__(cls, value: object) -> Self:
        number = _require_int(cls, value)
        if number not in cls.allowed:
            raise ValueError(f"SampleRate must be one of {', '.join(map(str, cls.allowed))}, got {number}")
        return int.__new__(cls, number)


class _Seconds(Datatype, float):
    allow_zero: ClassVar[bool] = True

    def __new__(cls, value: object) -> Self:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"{cls.__name__} must be a number of seconds (int or float), not {_type_name(value)}")
        seconds = float(value)
        if not math.isfinite(seconds) or seconds < 0 or (seconds == 0 and not cls.allow_zero):
            bound = ">= 0" if cls.allow_zero else "> 0"
            raise ValueError(f"{cls.__name__} must be a finite number of seconds {bound}, got {value!r}")
        return super().__new__(cls, seconds)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({float(self)!r})"

    def to_config(self) -> float | int:
        # Whole seconds are written as integers, which reads better in the file.
        return int(self) if self.is_integer() else float(self)


class Duration(_Seconds):
    """A length of time in seconds, >= 0 (a float; ints are accepted)."""


class Timeout(_Seconds):
    """How long to wait, in seconds, > 0 (a float; ints are accepted)."""

    allow_zero = False


# --------------------------------------------------------------------------
# Hosts and addresses

_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)\Z")


def _check_hostname(text: str) -> str | None:
    """Return the lower-case hostname, or None if ``text`` is not a valid one (RFC 1123)."""
    name = text.lower()
    if name.endswith("."):
        name = name[:-1]
    if not name or len(name) > 253:
        return None
    if not all(_LABEL.match(label) for label in name.split(".")):
        return None
    if name.rsplit(".", 1)[-1].isdigit():
        return None  # a dotted-quad-like name is an IP address, checked separately
    return name


def _parse_host(text: str) -> tuple[str, bool]:
    """Return ``(host, is_ipv6)`` for a hostname, an IPv4 address or a bracketed IPv6 address."""
    if text.startswith("["):
        if not text.endswith("]"):
            raise ValueError(f"unterminated IPv6 address {text!r}")
        try:
            return str(ipaddress.IPv6Address(text[1:-1])), True
        except ValueError:
            raise ValueError(f"{text!r} is not an IPv6 address") from None
    try:
        return str(ipaddress.IPv4Address(text)), False
    except ValueError:
        pass
    hostname = _check_hostname(text)
    if hostname is None:
        raise ValueError(f"{text!r} is not a hostname or an IP address")
    return hostname, False


def _split_host_port(cls: type, text: str) -> tuple[str, int | None]:
    """Split ``host``, ``host:port``, ``[v6]`` or ``[v6]:port``; the host is validated and normalised."""
    if text.startswith("["):
        end = text.find("]")
        host_text, rest = (text[: end + 1], text[end + 1 :]) if end != -1 else (text, "")
    else:
        host_text, colon, port_text = text.partition(":")
        rest = colon + port_text
    port: int | None = None
    if rest:
        if not rest.startswith(":") or not rest[1:].isdigit() or not rest[1:].isascii():
            raise ValueError(f"{cls.__name__}: {text!r} has an invalid port")
        port = int(rest[1:])
        if not 1 <= port <= 65535:
            raise ValueError(f"{cls.__name__}: the port must be between 1 and 65535, got {port}")
    try:
        host, is_ipv6 = _parse_host(host_text)
    except ValueError as error:
        raise ValueError(f"{cls.__name__}: {error}") from None
    return (f"[{host}]" if is_ipv6 else host), port


class Hostname(Datatype, str):
    """A DNS hostname (RFC 1123), stored in lower case without a trailing dot."""

    def __new__(cls, value: object) -> Self:
        hostname = _check_hostname(_require_str(cls, value))
        if hostname is None:
            raise ValueError(f"Hostname: {value!r} is not a valid hostname")
        return super().__new__(cls, hostname)

    def to_config(self) -> str:
        return str(self)


class IPAddress(Datatype, str):
    """An IPv4 or IPv6 address (no brackets), stored in its canonical form (``::1``, not ``0:0::1``)."""

    def __new__(cls, value: object) -> Self:
        text = _require_str(cls, value)
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            raise ValueError(f"IPAddress: {text!r} is not an IPv4 or IPv6 address") from None
        return super().__new__(cls, str(address))

    @property
    def version(self) -> int:
        return ipaddress.ip_address(str(self)).version

    def to_config(self) -> str:
        return str(self)


_SIP_USER = re.compile(r"(?:[A-Za-z0-9\-_.!~*'()&=+$,;?/]|%[0-9A-Fa-f]{2})+\Z")


class SIPAddress(Datatype, str):
    """A SIP address of record, ``user@domain``; ``.username`` and ``.domain`` give its parts.

    A leading ``sip:`` is accepted and dropped. The user part may use the
    characters RFC 3261 allows there (others %-escaped); the domain is a
    hostname, an IPv4 address or a bracketed IPv6 address, lower-cased.
    """

    def __new__(cls, value: object) -> Self:
        text = _require_str(cls, value)
        if text[:4].lower() == "sip:":
            text = text[4:]
        username, at, domain = text.partition("@")
        if not at or "@" in domain:
            raise ValueError(f"SIPAddress must be user@domain, got {value!r}")
        if not _SIP_USER.match(username):
            raise ValueError(f"SIPAddress: invalid user part {username!r} in {value!r}")
        try:
            host, is_ipv6 = _parse_host(domain)
        except ValueError as error:
            raise ValueError(f"SIPAddress: invalid domain in {value!r}: {error}") from None
        if is_ipv6:
            host = f"[{host}]"
        return super().__new__(cls, f"{username}@{host}")

    @property
    def username(self) -> str:
        return self.partition("@")[0]

    @property
    def domain(self) -> str:
        return self.partition("@")[2]

    def to_config(self) -> str:
        return str(self)


_SIP_TRANSPORTS = ("udp", "tcp", "tls")


class SIPProxyAddress(Datatype, str):
    """An outbound proxy, ``host[:port][;transport=udp|tcp|tls]``; ``.host``, ``.port``, ``.transport``.

    ``port`` and ``transport`` are ``None`` when not given (DNS lookup
    decides, RFC 3263). The host is a hostname, an IPv4 address or a
    bracketed IPv6 address; host and transport are lower-cased.
    """

    def __new__(cls, value: object) -> Self:
        text = _require_str(cls, value)
        address, semicolon, parameter = text.partition(";")
        transport: str | None = None
        if semicolon:
            name, equals, transport_text = parameter.partition("=")
            if name.strip().lower() != "transport" or not equals:
                raise ValueError(f"SIPProxyAddress: only a transport parameter is allowed, got {value!r}")
            transport = transport_text.strip().lower()
            if transport not in _SIP_TRANSPORTS:
                raise ValueError(f"SIPProxyAddress: the transport must be udp, tcp or tls, got {transport_text!r}")
        if not address:
            raise ValueError(f"SIPProxyAddress: no host in {value!r}")
        host, port = _split_host_port(cls, address)
        normalized = host + (f":{port}" if port is not None else "") + (f";transport={transport}" if transport else "")
        return super().__new__(cls, normalized)

    @property
    def host(self) -> str:
        return _split_host_port(type(self), self.partition(";")[0])[0]

    @property
    def port(self) -> int | None:
        return _split_host_port(type(self), self.partition(";")[0])[1]

    @property
    def transport(self) -> str | None:
        parameter = self.partition(";")[2]
        return parameter.partition("=")[2] or None

    def to_config(self) -> str:
        return str(self)


class STUNServerAddress(Datatype, str):
    """A STUN server, ``host[:port]``; ``.host``, and ``.port`` (3478 when not given)."""

    default_port: ClassVar[int] = 3478

    def __new__(cls, value: object) -> Self:
        host, port = _split_host_port(cls, _require_str(cls, value))
        return super().__new__(cls, host + (f":{port}" if port is not None else ""))

    @property
    def host(self) -> str:
        return _split_host_port(type(self), self)[0]

    @property
    def port(self) -> int:
        port = _split_host_port(type(self), self)[1]
        return self.default_port if port is None else port

    def to_config(self) -> str:
        return str(self)


class XCAPRoot(Datatype, str):
    """An XCAP root URL: ``http`` or ``https``, a host, an optional port and path; no query or fragment."""

    def __new__(cls, value: object) -> Self:
        text = _require_str(cls, value)
        try:
            url = urlsplit(text)
            url.port  # noqa: B018 (raises ValueError for an invalid port)
        except ValueError as error:
            raise ValueError(f"XCAPRoot: {text!r} is not a valid URL: {error}") from None
        if url.scheme.lower() not in ("http", "https"):
            raise ValueError(f"XCAPRoot must be an http or https URL, got {text!r}")
        if url.query or url.fragment or url.username is not None or any(c.isspace() for c in text):
            raise ValueError(f"XCAPRoot cannot have credentials, a query, a fragment or spaces: {text!r}")
        if not url.hostname:
            raise ValueError(f"XCAPRoot has no host: {text!r}")
        host = url.hostname
        try:
            _parse_host(f"[{host}]" if ":" in host else host)
        except ValueError as error:
            raise ValueError(f"XCAPRoot: invalid host in {text!r}: {error}") from None
        return super().__new__(cls, text)

    def to_config(self) -> str:
        return str(self)


# --------------------------------------------------------------------------
# Words from a fixed set


class _Choice(Datatype, str):
    choices: ClassVar[tuple[str, ...]] = ()

    def __new__(cls, value: object) -> Self:
        text = _require_str(cls, value)
        if text.lower() not in cls.choices:
            raise ValueError(f"{cls.__name__} must be one of {', '.join(cls.choices)}, got {text!r}")
        return super().__new__(cls, text.lower())

    def to_config(self) -> str:
        return str(self)


class MSRPTransport(_Choice):
    """How MSRP connects: ``tcp`` or ``tls``."""

    choices = ("tcp", "tls")


class SRTPEncryption(_Choice):
    """Whether RTP is encrypted: ``disabled``, ``optional`` (offered, plain RTP accepted) or ``mandatory``."""

    choices = ("disabled", "optional", "mandatory")


class Path(Datatype, str):
    """A filesystem path, kept as written (``~/Downloads`` stays portable in the file).

    ``.normalized`` is the path to use: ``~`` expanded, made absolute and
    normalised. Empty paths and NUL characters are refused.
    """

    def __new__(cls, value: object) -> Self:
        if isinstance(value, os.PathLike):
            value = os.fspath(value)
        text = _require_str(cls, value)
        if not text:
            raise ValueError("Path cannot be empty")
        if "\0" in text:
            raise ValueError(f"Path cannot contain a NUL character: {text!r}")
        return super().__new__(cls, text)

    @property
    def normalized(self) -> str:
        return os.path.normpath(os.path.abspath(os.path.expanduser(str(self))))

    def to_config(self) -> str:
        return str(self)


# --------------------------------------------------------------------------
# Ranges and lists


class PortRange(Datatype, tuple[int, int]):
    """The ports RTP/RTCP take from, ``PortRange(start, end)``, as the Engine's ``rtp_port_range``.

    ``1024 <= start < end <= 65535``, ``start`` even (RTP takes even ports,
    RTCP the odd port above) and room for at least one pair. Assigning a
    ``(start, end)`` pair to a setting works too. Stored as ``[start, end]``.
    """

    def __new__(cls, start: object, end: object) -> Self:
        first, last = _require_int(cls, start), _require_int(cls, end)
        if not (1024 <= first and last <= 65535):
            raise ValueError(f"PortRange must lie within 1024-65535, got ({first}, {last})")
        if first % 2:
            raise ValueError(f"PortRange must start on an even port (RTP), got {first}")
        if last - first < 2:
            raise ValueError(f"PortRange must have start < end with room for an RTP/RTCP pair, got ({first}, {last})")
        return super().__new__(cls, (first, last))

    def __getnewargs__(self) -> tuple[int, int]:
        return self.start, self.end

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.start}, {self.end})"

    @property
    def start(self) -> int:
        return self[0]

    @property
    def end(self) -> int:
        return self[1]

    @classmethod
    def coerce(cls, value: object) -> Self:
        if isinstance(value, cls):
            return value
        return cls.from_config(value)

    @classmethod
    def from_config(cls, data: Any) -> Self:
        items = _require_sequence(cls, data)
        if len(items) != 2:
            raise ValueError(f"PortRange needs exactly two ports (start, end), got {len(items)}")
        return cls(*items)

    def to_config(self) -> list[int]:
        return [self.start, self.end]


class _NameList(Datatype, tuple[str, ...]):
    """An ordered list of distinct names, each canonicalised by ``_canonical``."""

    allow_empty: ClassVar[bool] = False
    item_description: ClassVar[str] = ""

    def __new__(cls, value: object = ()) -> Self:
        items = _require_sequence(cls, value)
        names: list[str] = []
        for item in items:
            if not isinstance(item, str):
                raise TypeError(f"{cls.__name__} items must be str, not {_type_name(item)} ({item!r})")
            name = cls._canonical(item)
            if name in names:
                raise ValueError(f"{cls.__name__} lists {name!r} twice")
            names.append(name)
        if not names and not cls.allow_empty:
            raise ValueError(f"{cls.__name__} cannot be empty")
        return super().__new__(cls, names)

    @classmethod
    def _canonical(cls, item: str) -> str:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({list(self)!r})"

    def to_config(self) -> list[str]:
        return list(self)


class AudioCodecList(_NameList):
    """Audio codecs in order of preference, among opus, G722, speex, GSM, PCMU and PCMA (any case)."""

    codecs: ClassVar[tuple[str, ...]] = ("opus", "G722", "speex", "GSM", "PCMU", "PCMA")

    @classmethod
    def _canonical(cls, item: str) -> str:
        for codec in cls.codecs:
            if item.lower() == codec.lower():
                return codec
        raise ValueError(f"AudioCodecList: unknown codec {item!r} (known: {', '.join(cls.codecs)})")


class SIPTransportList(_NameList):
    """SIP transports in order of preference, among udp, tcp and tls."""

    @classmethod
    def _canonical(cls, item: str) -> str:
        if item.lower() not in _SIP_TRANSPORTS:
            raise ValueError(f"SIPTransportList: unknown transport {item!r} (known: udp, tcp, tls)")
        return item.lower()


_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_CONTENT_TYPE = re.compile(rf"(?:\*/\*|(?!\*/){_TOKEN}/(?:\*|{_TOKEN}))\Z")  # "*" as a type only in */*


class ContentTypeList(_NameList):
    """MIME types such as ``text/plain``, ``message/*`` or ``*/*``, lower-cased; may be empty."""

    allow_empty = True

    @classmethod
    def _canonical(cls, item: str) -> str:
        if not _CONTENT_TYPE.match(item):
            raise ValueError(f"ContentTypeList: {item!r} is not a content type (type/subtype, type/* or */*)")
        return item.lower()


class IPAddressList(_NameList):
    """IP addresses (IPv4 or IPv6, canonical form) in order of preference, e.g. nameservers."""

    @classmethod
    def _canonical(cls, item: str) -> str:
        return str(IPAddress(item))


class STUNServerAddressList(Datatype, tuple[STUNServerAddress, ...]):
    """STUN servers in order of preference; may be empty."""

    def __new__(cls, value: object = ()) -> Self:
        servers: list[STUNServerAddress] = []
        for item in _require_sequence(cls, value):
            server = STUNServerAddress.coerce(item)
            if server in servers:
                raise ValueError(f"STUNServerAddressList lists {str(server)!r} twice")
            servers.append(server)
        return super().__new__(cls, servers)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({[str(server) for server in self]!r})"

    def to_config(self) -> list[str]:
        return [server.to_config() for server in self]
