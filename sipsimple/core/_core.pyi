"""Type stub for the Cython extension sipsimple.core._core."""

import os
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple, SupportsIndex, TypeVar

from typing_extensions import disjoint_base

# The same list as _core.pyx's (stubtest and tests/test_core_names.py check it).
__all__ = [
    "AudioMixer",
    "AudioTransport",
    "available_srtp_suites",
    "ContactHeader",
    "ContentDispositionHeader",
    "ContentTypeHeader",
    "Credentials",
    "DEFAULT_EVENTS",
    "DialogID",
    "EventHeader",
    "FromHeader",
    "FrozenContactHeader",
    "FrozenContentDispositionHeader",
    "FrozenContentTypeHeader",
    "FrozenCredentials",
    "frozendict",
    "FrozenEventHeader",
    "FrozenFromHeader",
    "FrozenHeader",
    "FrozenPAssertedIdentityHeader",
    "FrozenPPreferredIdentityHeader",
    "FrozenReasonHeader",
    "FrozenRecordRouteHeader",
    "FrozenReferToHeader",
    "FrozenReplacesHeader",
    "FrozenRetryAfterHeader",
    "FrozenRouteHeader",
    "FrozenSDPAttribute",
    "FrozenSDPAttributeList",
    "FrozenSDPBandwidthInfo",
    "FrozenSDPConnection",
    "FrozenSDPMediaStream",
    "FrozenSDPSession",
    "FrozenSIPURI",
    "FrozenSubjectHeader",
    "FrozenSubscriptionStateHeader",
    "FrozenToHeader",
    "FrozenViaHeader",
    "FrozenWarningHeader",
    "Header",
    "ICECandidate",
    "IncomingReferral",
    "IncomingRequest",
    "IncomingSubscription",
    "Invitation",
    "MixerPort",
    "PAssertedIdentityHeader",
    "PJSIP_VERSION",
    "PJSIPError",
    "PPreferredIdentityHeader",
    "ReasonHeader",
    "RecordingWaveFile",
    "RecordRouteHeader",
    "Referral",
    "ReferToHeader",
    "RelayPort",
    "ReplacesHeader",
    "Request",
    "RetryAfterHeader",
    "RouteHeader",
    "RTPTransport",
    "SDPAttribute",
    "SDPAttributeList",
    "SDPBandwidthInfo",
    "SDPConnection",
    "SDPMediaStream",
    "SDPSession",
    "SIPCoreError",
    "SIPCoreInvalidStateError",
    "SIPURI",
    "SubjectHeader",
    "Subscription",
    "SubscriptionStateHeader",
    "SYSTEM_DEFAULT_DEVICE",
    "ToHeader",
    "ToneGenerator",
    "ViaHeader",
    "WarningHeader",
    "WaveFile",
]

PJSIP_VERSION: str
DEFAULT_EVENTS: dict[str, list[str]]

class SIPCoreError(Exception): ...

class PJSIPError(SIPCoreError):
    status: int
    errmsg: str
    def __init__(self, message: str, status: int) -> None: ...

class SIPCoreInvalidStateError(SIPCoreError): ...

@disjoint_base
class PJSIPUA:
    events: deque[tuple[str, object | None, dict[str, Any]]]
    ip_address: str
    user_agent: str
    incoming_requests: frozenset[str]
    event_packages: dict[str, list[str]]
    incoming_events: frozenset[str]
    def __init__(
        self,
        *,
        ip_address: str,
        udp_port: int | None,
        tcp_port: int | None,
        tls_port: int | None,
        tls_options: dict[str, Any],
        user_agent: str,
        log_level: int,
        trace_sip: bool,
        codecs: list[str],
        incoming_requests: Any = ...,
        events: dict[str, list[str]] | None = ...,
        incoming_events: Any = ...,
    ) -> None: ...
    def poll(self, timeout_ms: int = 10) -> int: ...
    def pop_events(self) -> list[tuple[str, object | None, dict[str, Any]]]: ...
    def destroy(self) -> None: ...
    @property
    def is_alive(self) -> bool: ...
    def set_udp_port(self, port: int | None) -> None: ...
    def set_tcp_port(self, port: int | None) -> None: ...
    def set_tls_port(self, port: int | None, tls_options: dict[str, Any] | None = None) -> None: ...
    @property
    def local_udp_port(self) -> int | None: ...
    @property
    def local_tcp_port(self) -> int | None: ...
    @property
    def local_tls_port(self) -> int | None: ...
    @property
    def transports(self) -> list[tuple[str, str, int]]: ...
    @property
    def tls_options(self) -> dict[str, Any]: ...
    def set_trace_sip(self, value: bool) -> None: ...
    @property
    def trace_sip(self) -> bool: ...
    def set_log_level(self, level: int) -> None: ...
    @property
    def log_level(self) -> int: ...
    @property
    def available_codecs(self) -> list[str]: ...
    @property
    def codec_ids(self) -> list[tuple[str, int, int, int]]: ...
    @property
    def codecs(self) -> list[str]: ...
    def set_codecs(self, codecs: list[str]) -> None: ...
    @property
    def allowed_methods(self) -> list[str]: ...
    @property
    def accepted_types(self) -> list[str]: ...
    @property
    def supported_extensions(self) -> list[str]: ...
    def add_capabilities(self, methods: Any = ..., accept: Any = ..., supported: Any = ...) -> None: ...
    def set_user_agent(self, user_agent: str) -> None: ...
    def wake(self) -> None: ...
    @property
    def pool_usage(self) -> tuple[int, int]: ...
    @property
    def input_devices(self) -> list[str]: ...
    @property
    def output_devices(self) -> list[str]: ...
    @property
    def default_input_device(self) -> str | None: ...
    @property
    def default_output_device(self) -> str | None: ...
    def refresh_sound_devices(self) -> None: ...

# --- headers.pxi: SIP URIs, credentials, headers ---------------------------------

_T = TypeVar("_T")
_Parameters = Mapping[str, str | None]

class frozendict(Mapping[str, Any]):
    def __init__(self, *args: Any, **kwargs: Any) -> None: ...
    def __getitem__(self, key: str) -> Any: ...
    def __iter__(self) -> Iterator[str]: ...
    def __len__(self) -> int: ...
    def __hash__(self) -> int: ...
    def __or__(self, other: Mapping[str, Any]) -> frozendict: ...
    def copy(self) -> frozendict: ...
    def get(self, key: str, default: Any = None) -> Any: ...

class _SIPURIBase:
    @property
    def host(self) -> str | None: ...
    @property
    def user(self) -> str | None: ...
    @property
    def password(self) -> str | None: ...
    @property
    def port(self) -> int | None: ...
    @property
    def parameters(self) -> Mapping[str, str | None]: ...
    @property
    def headers(self) -> Mapping[str, str]: ...
    @property
    def secure(self) -> bool: ...
    def __init__(
        self,
        host: str | None = None,
        user: str | None = None,
        password: str | None = None,
        port: int | None = None,
        parameters: _Parameters | None = None,
        headers: Mapping[str, str] | None = None,
        secure: bool = False,
    ) -> None: ...
    @classmethod
    def parse(cls: type[_T], text: str) -> _T: ...
    @classmethod
    def new(cls: type[_T], other: _SIPURIBase) -> _T: ...

class SIPURI(_SIPURIBase):
    host: str | None
    user: str | None
    password: str | None
    port: int | None
    parameters: dict[str, str | None]
    headers: dict[str, str]
    secure: bool

class FrozenSIPURI(_SIPURIBase):
    @property
    def host(self) -> str: ...
    @property
    def parameters(self) -> frozendict: ...
    @property
    def headers(self) -> frozendict: ...
    def __hash__(self) -> int: ...

_AnySIPURI = SIPURI | FrozenSIPURI

class _CredentialsBase:
    def __init__(self, username: str, password: str, realm: str = "*") -> None: ...
    @classmethod
    def new(cls: type[_T], other: _CredentialsBase) -> _T: ...
    @property
    def username(self) -> str: ...
    @property
    def password(self) -> str: ...
    @property
    def realm(self) -> str: ...

class Credentials(_CredentialsBase):
    username: str
    password: str
    realm: str

class FrozenCredentials(_CredentialsBase):
    def __hash__(self) -> int: ...

class _HeaderBase:
    name: str
    @property
    def body(self) -> str: ...
    @classmethod
    def new(cls: type[_T], other: Any) -> _T: ...

class _FrozenHeader(_HeaderBase):
    def __hash__(self) -> int: ...

class _GenericHeaderBase(_HeaderBase):
    def __init__(self, name: str, body: str) -> None: ...
    @classmethod
    def parse(cls: type[_T], text: str) -> _T: ...

class Header(_GenericHeaderBase):
    body: str

class FrozenHeader(_GenericHeaderBase, _FrozenHeader): ...

class _AddressHeaderBase(_HeaderBase):
    def __init__(
        self, uri: _AnySIPURI, display_name: str | None = None, parameters: _Parameters | None = None
    ) -> None: ...
    @property
    def uri(self) -> _AnySIPURI: ...
    @property
    def display_name(self) -> str | None: ...
    @property
    def parameters(self) -> Mapping[str, str | None]: ...
    @classmethod
    def parse(cls: type[_T], text: str) -> _T: ...

class _MutableAddressHeader(_AddressHeaderBase):
    uri: SIPURI
    display_name: str | None
    parameters: dict[str, str | None]

class _FrozenAddressHeader(_AddressHeaderBase, _FrozenHeader):
    @property
    def uri(self) -> FrozenSIPURI: ...
    @property
    def parameters(self) -> frozendict: ...

class FromHeader(_MutableAddressHeader):
    tag: str | None

class FrozenFromHeader(_FrozenAddressHeader):
    @property
    def tag(self) -> str | None: ...

class ToHeader(_MutableAddressHeader):
    tag: str | None

class FrozenToHeader(_FrozenAddressHeader):
    @property
    def tag(self) -> str | None: ...

class ContactHeader(_MutableAddressHeader):
    def __init__(
        self, uri: _AnySIPURI | None, display_name: str | None = None, parameters: _Parameters | None = None
    ) -> None: ...
    uri: SIPURI | None  # type: ignore[assignment]
    expires: int | None
    q: float | None

class FrozenContactHeader(_FrozenAddressHeader):
    def __init__(
        self, uri: _AnySIPURI | None, display_name: str | None = None, parameters: _Parameters | None = None
    ) -> None: ...
    @property
    def uri(self) -> FrozenSIPURI | None: ...  # type: ignore[override]
    @property
    def expires(self) -> int | None: ...
    @property
    def q(self) -> float | None: ...

class RouteHeader(_MutableAddressHeader): ...
class FrozenRouteHeader(_FrozenAddressHeader): ...
class RecordRouteHeader(_MutableAddressHeader): ...
class FrozenRecordRouteHeader(_FrozenAddressHeader): ...

class ReferToHeader(_MutableAddressHeader):
    def __init__(
        self, uri: _AnySIPURI, parameters: _Parameters | None = None, display_name: str | None = None
    ) -> None: ...

class FrozenReferToHeader(_FrozenAddressHeader):
    def __init__(
        self, uri: _AnySIPURI, parameters: _Parameters | None = None, display_name: str | None = None
    ) -> None: ...

class _IdentityHeaderBase(_HeaderBase):
    def __init__(self, uri: _AnySIPURI, display_name: str | None = None) -> None: ...
    @property
    def uri(self) -> _AnySIPURI: ...
    @property
    def display_name(self) -> str | None: ...
    @classmethod
    def parse(cls: type[_T], text: str) -> _T: ...

class PAssertedIdentityHeader(_IdentityHeaderBase):
    uri: SIPURI
    display_name: str | None

class FrozenPAssertedIdentityHeader(_IdentityHeaderBase, _FrozenHeader): ...

class PPreferredIdentityHeader(_IdentityHeaderBase):
    uri: SIPURI
    display_name: str | None

class FrozenPPreferredIdentityHeader(_IdentityHeaderBase, _FrozenHeader): ...

class _ViaHeaderBase(_HeaderBase):
    def __init__(
        self, transport: str, host: str, port: int | None = None, parameters: _Parameters | None = None
    ) -> None: ...
    @property
    def transport(self) -> str: ...
    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int | None: ...
    @property
    def parameters(self) -> Mapping[str, str | None]: ...
    @property
    def branch(self) -> str | None: ...
    @property
    def received(self) -> str | None: ...
    @property
    def rport(self) -> int | None: ...
    @classmethod
    def parse(cls: type[_T], text: str) -> _T: ...

class ViaHeader(_ViaHeaderBase):
    transport: str
    host: str
    port: int | None
    parameters: dict[str, str | None]
    branch: str | None
    received: str | None
    rport: int | None

class FrozenViaHeader(_ViaHeaderBase, _FrozenHeader): ...

class _ContentTypeHeaderBase(_HeaderBase):
    def __init__(self, content_type: str, parameters: _Parameters | None = None) -> None: ...
    @classmethod
    def parse(cls: type[_T], text: str) -> _T: ...  # before the property `type` hides the builtin
    @property
    def content_type(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def subtype(self) -> str: ...
    @property
    def parameters(self) -> Mapping[str, str | None]: ...

class ContentTypeHeader(_ContentTypeHeaderBase):
    content_type: str
    parameters: dict[str, str | None]

class FrozenContentTypeHeader(_ContentTypeHeaderBase, _FrozenHeader): ...

class _TokenHeaderBase(_HeaderBase):
    @property
    def parameters(self) -> Mapping[str, str | None]: ...
    @classmethod
    def parse(cls: type[_T], text: str) -> _T: ...

class _EventHeaderBase(_TokenHeaderBase):
    def __init__(self, event: str, parameters: _Parameters | None = None) -> None: ...
    @property
    def event(self) -> str: ...
    @property
    def id(self) -> str | None: ...

class EventHeader(_EventHeaderBase):
    event: str
    parameters: dict[str, str | None]
    id: str | None

class FrozenEventHeader(_EventHeaderBase, _FrozenHeader): ...

class _SubscriptionStateHeaderBase(_TokenHeaderBase):
    def __init__(self, state: str, parameters: _Parameters | None = None) -> None: ...
    @property
    def state(self) -> str: ...
    @property
    def reason(self) -> str | None: ...
    @property
    def expires(self) -> int | None: ...
    @property
    def retry_after(self) -> int | None: ...

class SubscriptionStateHeader(_SubscriptionStateHeaderBase):
    state: str
    parameters: dict[str, str | None]
    reason: str | None
    expires: int | None
    retry_after: int | None

class FrozenSubscriptionStateHeader(_SubscriptionStateHeaderBase, _FrozenHeader): ...

class _ReasonHeaderBase(_TokenHeaderBase):
    def __init__(self, protocol: str, parameters: _Parameters | None = None) -> None: ...
    @property
    def protocol(self) -> str: ...
    @property
    def cause(self) -> int | None: ...
    @property
    def text(self) -> str | None: ...

class ReasonHeader(_ReasonHeaderBase):
    protocol: str
    parameters: dict[str, str | None]
    cause: int | None
    text: str | None

class FrozenReasonHeader(_ReasonHeaderBase, _FrozenHeader): ...

class _ContentDispositionHeaderBase(_TokenHeaderBase):
    def __init__(self, disposition: str, parameters: _Parameters | None = None) -> None: ...
    @property
    def disposition(self) -> str: ...

class ContentDispositionHeader(_ContentDispositionHeaderBase):
    disposition: str
    parameters: dict[str, str | None]

class FrozenContentDispositionHeader(_ContentDispositionHeaderBase, _FrozenHeader): ...

class _WarningHeaderBase(_HeaderBase):
    def __init__(self, code: int, agent: str, text: str) -> None: ...
    @property
    def code(self) -> int: ...
    @property
    def agent(self) -> str: ...
    @property
    def text(self) -> str: ...
    @classmethod
    def parse(cls: type[_T], text: str) -> _T: ...

class WarningHeader(_WarningHeaderBase):
    code: int
    agent: str
    text: str

class FrozenWarningHeader(_WarningHeaderBase, _FrozenHeader): ...

class _ReplacesHeaderBase(_HeaderBase):
    def __init__(
        self, call_id: str, from_tag: str, to_tag: str, early_only: bool = False, parameters: _Parameters | None = None
    ) -> None: ...
    @property
    def call_id(self) -> str: ...
    @property
    def from_tag(self) -> str: ...
    @property
    def to_tag(self) -> str: ...
    @property
    def early_only(self) -> bool: ...
    @property
    def parameters(self) -> Mapping[str, str | None]: ...
    @classmethod
    def parse(cls: type[_T], text: str) -> _T: ...

class ReplacesHeader(_ReplacesHeaderBase):
    call_id: str
    from_tag: str
    to_tag: str
    early_only: bool
    parameters: dict[str, str | None]

class FrozenReplacesHeader(_ReplacesHeaderBase, _FrozenHeader): ...

class _RetryAfterHeaderBase(_HeaderBase):
    def __init__(self, seconds: int, comment: str | None = None, parameters: _Parameters | None = None) -> None: ...
    @property
    def seconds(self) -> int: ...
    @property
    def comment(self) -> str | None: ...
    @property
    def parameters(self) -> Mapping[str, str | None]: ...
    @classmethod
    def parse(cls: type[_T], text: str) -> _T: ...

class RetryAfterHeader(_RetryAfterHeaderBase):
    seconds: int
    comment: str | None
    parameters: dict[str, str | None]

class FrozenRetryAfterHeader(_RetryAfterHeaderBase, _FrozenHeader): ...

class _SubjectHeaderBase(_HeaderBase):
    def __init__(self, subject: str) -> None: ...
    @property
    def subject(self) -> str: ...
    @classmethod
    def parse(cls: type[_T], text: str) -> _T: ...

class SubjectHeader(_SubjectHeaderBase):
    subject: str

class FrozenSubjectHeader(_SubjectHeaderBase, _FrozenHeader): ...

# --- requests outside a dialog (request.pxi) ---------------------------------

class ReceivedHeaders(Sequence[Any]):
    def __init__(self, raw: bytes) -> None: ...
    def __getitem__(self, index: Any) -> Any: ...
    def __len__(self) -> int: ...

@disjoint_base
class Request:
    state: str
    method: str
    from_header: Any
    to_header: Any
    request_uri: Any
    route_header: Any
    credentials: Any
    contact_header: Any
    call_id: str | None
    cseq: int | None
    extra_headers: list[Any]
    content_type: str | None
    body: bytes | None
    default_expires: int
    def __init__(
        self,
        method: str,
        from_header: Any,
        to_header: Any,
        request_uri: Any,
        route_header: Any,
        credentials: Any = None,
        contact_header: Any = None,
        call_id: str | None = None,
        cseq: int | None = None,
        extra_headers: list[Any] | None = None,
        content_type: str | None = None,
        body: str | bytes | None = None,
    ) -> None: ...
    @property
    def expires_in(self) -> int: ...
    def send(self, timeout: float | None = None) -> None: ...
    def end(self) -> None: ...

@disjoint_base
class IncomingRequest:
    state: str
    method: str
    request_uri: Any
    from_header: Any
    to_header: Any
    headers: ReceivedHeaders
    body: bytes | None
    content_type: str | None
    source_ip: str
    source_port: int
    def answer(
        self,
        code: int,
        reason: str | None = None,
        extra_headers: list[Any] | None = None,
        content_type: str | None = None,
        body: str | bytes | None = None,
    ) -> None: ...

# --- subscriptions and referrals (subscription.pxi, referral.pxi) -----------

@disjoint_base
class _ClientSubscription:
    state: str
    request_uri: Any
    from_header: Any
    to_header: Any
    contact_header: Any
    route_header: Any
    credentials: Any
    call_id: str | None
    def end(self, timeout: float | None = None) -> None: ...

@disjoint_base
class Subscription(_ClientSubscription):
    event: str
    refresh: int
    def __init__(
        self,
        request_uri: Any,
        from_header: Any,
        to_header: Any,
        contact_header: Any,
        event: str,
        route_header: Any,
        credentials: Any = None,
        refresh: int = 300,
    ) -> None: ...
    def subscribe(
        self,
        extra_headers: list[Any] | None = None,
        content_type: str | None = None,
        body: str | bytes | None = None,
        timeout: float | None = None,
    ) -> None: ...

@disjoint_base
class Referral(_ClientSubscription):
    refer_to_header: Any
    def __init__(
        self,
        request_uri: Any,
        from_header: Any,
        to_header: Any,
        refer_to_header: Any,
        contact_header: Any,
        route_header: Any,
        credentials: Any = None,
    ) -> None: ...
    def send_refer(self, timeout: float | None = None) -> None: ...

@disjoint_base
class _ServerSubscription:
    state: str
    event: str | None
    request_uri: Any
    from_header: Any
    to_header: Any
    headers: list[Any]
    body: bytes | None
    content_type: str | None
    def reject(self, code: int) -> None: ...

@disjoint_base
class IncomingSubscription(_ServerSubscription):
    def accept_pending(self) -> None: ...
    def accept(self, content_type: str | None = None, content: str | bytes | None = None) -> None: ...
    def push_content(self, content_type: str, content: str | bytes) -> None: ...
    def end(self, reason: str | None = None) -> None: ...

@disjoint_base
class IncomingReferral(_ServerSubscription):
    refer_to_header: Any
    def accept(self, code: int = 202) -> None: ...
    def send_notify(self, code: int, reason: str | None = None) -> None: ...
    def end(self) -> None: ...

# --- SDP (sdp.pxi) ---

_S = TypeVar("_S")

class _SDPConnectionBase:
    def __init__(self, address: str, net_type: str = "IN", address_type: str = "IP4") -> None: ...
    @property
    def address(self) -> str: ...
    @property
    def net_type(self) -> str: ...
    @property
    def address_type(self) -> str: ...
    @classmethod
    def new(cls: type[_S], other: _SDPConnectionBase) -> _S: ...

class SDPConnection(_SDPConnectionBase):
    address: str
    net_type: str
    address_type: str

class FrozenSDPConnection(_SDPConnectionBase):
    def __hash__(self) -> int: ...

class _SDPAttributeBase:
    def __init__(self, name: str, value: str | None) -> None: ...
    @property
    def name(self) -> str: ...
    @property
    def value(self) -> str | None: ...
    @classmethod
    def new(cls: type[_S], other: _SDPAttributeBase) -> _S: ...

class SDPAttribute(_SDPAttributeBase):
    name: str
    value: str | None

class FrozenSDPAttribute(_SDPAttributeBase):
    def __hash__(self) -> int: ...

class _SDPAttributeListMixin:
    def getall(self, name: str) -> list[str | None]: ...
    def getfirst(self, name: str, default: Any = None) -> Any: ...
    def __contains__(self, item: object) -> bool: ...

class SDPAttributeList(_SDPAttributeListMixin, list[_SDPAttributeBase]):
    def __init__(self, iterable: Iterable[_SDPAttributeBase] = ...) -> None: ...
    def append(self, item: _SDPAttributeBase) -> None: ...
    def insert(self, index: SupportsIndex, item: _SDPAttributeBase) -> None: ...
    def extend(self, iterable: Iterable[_SDPAttributeBase]) -> None: ...

class FrozenSDPAttributeList(_SDPAttributeListMixin, tuple[FrozenSDPAttribute, ...]):
    def __new__(cls, iterable: Iterable[_SDPAttributeBase] = ...) -> FrozenSDPAttributeList: ...
    @classmethod
    def new(cls, other: Iterable[_SDPAttributeBase]) -> FrozenSDPAttributeList: ...

class _SDPBandwidthInfoBase:
    def __init__(self, modifier: str, value: int) -> None: ...
    @property
    def modifier(self) -> str: ...
    @property
    def value(self) -> int: ...
    @classmethod
    def new(cls: type[_S], other: _SDPBandwidthInfoBase) -> _S: ...

class SDPBandwidthInfo(_SDPBandwidthInfoBase):
    modifier: str
    value: int

class FrozenSDPBandwidthInfo(_SDPBandwidthInfoBase):
    def __hash__(self) -> int: ...

class _SDPMediaStreamBase:
    def __init__(
        self,
        media: str,
        port: int,
        transport: str,
        port_count: int = 1,
        formats: Iterable[str] | None = None,
        connection: _SDPConnectionBase | None = None,
        attributes: Iterable[_SDPAttributeBase] | None = None,
        bandwidth_info: Iterable[_SDPBandwidthInfoBase] | None = None,
        information: str | None = None,
        encryption_key: str | None = None,
    ) -> None: ...
    @property
    def media(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def transport(self) -> str: ...
    @property
    def port_count(self) -> int: ...
    @property
    def formats(self) -> Sequence[str]: ...
    @property
    def connection(self) -> _SDPConnectionBase | None: ...
    @property
    def attributes(self) -> _SDPAttributeListMixin: ...
    @property
    def bandwidth_info(self) -> Sequence[_SDPBandwidthInfoBase]: ...
    @property
    def information(self) -> str | None: ...
    @property
    def encryption_key(self) -> str | None: ...
    @property
    def direction(self) -> str: ...
    @property
    def has_srtp(self) -> bool: ...
    @property
    def has_ice(self) -> bool: ...
    @property
    def rtpmap(self) -> dict[str, tuple[str, int, int]]: ...
    @property
    def codecs(self) -> list[str]: ...
    @property
    def fmtp(self) -> dict[str, str]: ...
    @classmethod
    def new(cls: type[_S], other: _SDPMediaStreamBase) -> _S: ...

class SDPMediaStream(_SDPMediaStreamBase):
    media: str
    port: int
    transport: str
    port_count: int
    formats: list[str]
    connection: SDPConnection | None
    attributes: SDPAttributeList
    bandwidth_info: list[SDPBandwidthInfo]
    information: str | None
    encryption_key: str | None
    direction: str

class FrozenSDPMediaStream(_SDPMediaStreamBase):
    def __hash__(self) -> int: ...

class _SDPSessionBase:
    def __init__(
        self,
        address: str,
        id: int | None = None,
        version: int | None = None,
        user: str = "-",
        net_type: str = "IN",
        address_type: str = "IP4",
        name: str = " ",
        connection: _SDPConnectionBase | None = None,
        start_time: int = 0,
        stop_time: int = 0,
        attributes: Iterable[_SDPAttributeBase] | None = None,
        bandwidth_info: Iterable[_SDPBandwidthInfoBase] | None = None,
        media: Iterable[_SDPMediaStreamBase] | None = None,
        information: str | None = None,
        uri: str | None = None,
        emails: Iterable[str] | None = None,
        phones: Iterable[str] | None = None,
        encryption_key: str | None = None,
    ) -> None: ...
    @classmethod
    def parse(cls: type[_S], text: str | bytes) -> _S: ...
    @property
    def address(self) -> str: ...
    @property
    def id(self) -> int: ...
    @property
    def version(self) -> int: ...
    @property
    def user(self) -> str: ...
    @property
    def net_type(self) -> str: ...
    @property
    def address_type(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def connection(self) -> _SDPConnectionBase | None: ...
    @property
    def start_time(self) -> int: ...
    @property
    def stop_time(self) -> int: ...
    @property
    def attributes(self) -> _SDPAttributeListMixin: ...
    @property
    def bandwidth_info(self) -> Sequence[_SDPBandwidthInfoBase]: ...
    @property
    def media(self) -> Sequence[_SDPMediaStreamBase]: ...
    @property
    def information(self) -> str | None: ...
    @property
    def uri(self) -> str | None: ...
    @property
    def emails(self) -> Sequence[str]: ...
    @property
    def phones(self) -> Sequence[str]: ...
    @property
    def encryption_key(self) -> str | None: ...
    @classmethod
    def new(cls: type[_S], other: _SDPSessionBase) -> _S: ...

class SDPSession(_SDPSessionBase):
    address: str
    id: int
    version: int
    user: str
    net_type: str
    address_type: str
    name: str
    connection: SDPConnection | None
    start_time: int
    stop_time: int
    attributes: SDPAttributeList
    bandwidth_info: list[SDPBandwidthInfo]
    media: list[SDPMediaStream]
    information: str | None
    uri: str | None
    emails: list[str]
    phones: list[str]
    encryption_key: str | None

class FrozenSDPSession(_SDPSessionBase):
    def __hash__(self) -> int: ...

# --- INVITE sessions (invitation.pxi) ---------------------------------------

class DialogID(NamedTuple):
    call_id: str
    local_tag: str
    remote_tag: str

@disjoint_base
class Invitation:
    state: str
    sub_state: str | None
    direction: str | None
    from_header: Any
    to_header: Any
    request_uri: Any
    route_header: Any
    contact_header: Any
    credentials: Any
    call_id: str | None
    remote_user_agent: str | None
    peer_address: tuple[str, int] | None
    transport: str | None
    replaced_invitation: Invitation | None
    def __init__(self) -> None: ...
    @property
    def dialog_id(self) -> DialogID | None: ...
    @property
    def local_sdp(self) -> Any: ...
    @property
    def remote_sdp(self) -> Any: ...
    @property
    def proposed_remote_sdp(self) -> Any: ...
    def send_invite(
        self,
        from_header: Any,
        to_header: Any,
        route_header: Any,
        contact_header: Any,
        sdp: Any = None,
        credentials: Any = None,
        extra_headers: list[Any] | None = None,
        timeout: float | None = None,
    ) -> None: ...
    def send_response(
        self,
        code: int,
        reason: str | None = None,
        contact_header: Any = None,
        sdp: Any = None,
        extra_headers: list[Any] | None = None,
    ) -> None: ...
    def send_ack(self, sdp: Any) -> None: ...
    def send_reinvite(
        self, contact_header: Any = None, sdp: Any = None, extra_headers: list[Any] | None = None
    ) -> None: ...
    def cancel_reinvite(self) -> None: ...
    def transfer(
        self,
        target_uri: SIPURI | FrozenSIPURI,
        replaced_dialog_id: DialogID | tuple[str, str, str] | None = None,
        extra_headers: list[Any] | None = None,
    ) -> None: ...
    def accept_transfer(self, code: int = 202) -> None: ...
    def reject_transfer(self, code: int = 603) -> None: ...
    def notify_transfer_progress(self, code: int, reason: str | None = None) -> None: ...
    def end(self, extra_headers: list[Any] | None = None, timeout: float | None = None) -> None: ...

# --- media transports (mediatransport.pxi) ---

class ICECandidate(NamedTuple):
    type: str
    address: str | None
    port: int

def available_srtp_suites() -> list[str]: ...

@disjoint_base
class RTPTransport:
    state: str
    ice_state: str
    encryption: str | None
    use_ice: bool
    ice_stun_address: str | None
    ice_stun_port: int
    ice_turn_address: str | None
    ice_turn_port: int
    ice_turn_username: str | None
    ice_turn_transport: str
    srtp_suites: tuple[str, ...]
    ice_relay_only: bool
    def __init__(
        self,
        encryption: str | None = None,
        use_ice: bool = False,
        ice_stun_address: str | None = None,
        ice_stun_port: int = 3478,
        ice_turn_address: str | None = None,
        ice_turn_port: int = 3478,
        ice_turn_username: str | None = None,
        ice_turn_password: str | None = None,
        ice_turn_transport: str = "udp",
        srtp_suites: list[str] | None = None,
        ice_relay_only: bool = False,
    ) -> None: ...
    def set_INIT(self) -> None: ...
    def close(self) -> None: ...
    @property
    def local_rtp_address(self) -> str | None: ...
    @property
    def local_rtp_port(self) -> int | None: ...
    @property
    def remote_rtp_address(self) -> str | None: ...
    @property
    def remote_rtp_port(self) -> int | None: ...
    @property
    def srtp_active(self) -> bool: ...
    @property
    def srtp_cipher(self) -> str | None: ...
    @property
    def ice_active(self) -> bool: ...
    @property
    def local_rtp_candidate(self) -> ICECandidate | None: ...
    @property
    def remote_rtp_candidate(self) -> ICECandidate | None: ...

@disjoint_base
class AudioTransport:
    transport: RTPTransport
    state: str
    slot: int | None
    codec: str | None
    sample_rate: int | None
    direction: str | None
    enable_silence_detection: bool
    def __init__(
        self,
        mixer: Any,
        transport: RTPTransport,
        remote_sdp: Any = None,
        sdp_index: int = 0,
        enable_silence_detection: bool = False,
        codecs: list[str] | None = None,
    ) -> None: ...
    @property
    def mixer(self) -> Any: ...
    def get_local_media(self, remote_sdp: Any = None, index: int = 0, direction: str = "sendrecv") -> Any: ...
    def start(
        self,
        local_sdp: Any,
        remote_sdp: Any,
        sdp_index: int,
        hold_timeout: float | None = None,
        timeout: float | None = 30,
    ) -> None: ...
    def update_direction(self, direction: str) -> None: ...
    def send_dtmf(self, digit: str) -> None: ...
    @property
    def statistics(self) -> dict[str, Any] | None: ...
    def stop(self) -> None: ...

# --- sound (sound.pxi) ---------------------------------------------------------

SYSTEM_DEFAULT_DEVICE: str

@disjoint_base
class AudioMixer:
    sample_rate: int
    slot_count: int
    ec_tail_length: int
    input_device: str | None
    output_device: str | None
    state: str
    def __init__(
        self,
        input_device: str | None,
        output_device: str | None,
        sample_rate: int,
        ec_tail_length: int,
        slot_count: int = 254,
    ) -> None: ...
    def set_sound_devices(self, input_device: str | None, output_device: str | None, ec_tail_length: int) -> None: ...
    def close(self) -> None: ...
    def connect_slots(self, src: int, dst: int) -> None: ...
    def disconnect_slots(self, src: int, dst: int) -> None: ...
    @property
    def connected_slots(self) -> list[tuple[int, int]]: ...
    @property
    def used_slot_count(self) -> int: ...
    @property
    def is_active(self) -> bool: ...
    muted: bool
    input_volume: int
    output_volume: int

@disjoint_base
class _MixerSlot:
    mixer: AudioMixer
    state: str
    @property
    def slot(self) -> int | None: ...
    @property
    def is_active(self) -> bool: ...
    def stop(self) -> None: ...

@disjoint_base
class WaveFile(_MixerSlot):
    filename: str
    loop: bool
    volume: int
    def __init__(self, mixer: AudioMixer, filename: str | os.PathLike[str], volume: int = 100) -> None: ...
    def start(self, loop: bool = False) -> None: ...
    def pause(self) -> None: ...
    def resume(self) -> None: ...
    @property
    def paused(self) -> bool: ...

@disjoint_base
class RecordingWaveFile(_MixerSlot):
    filename: str
    def __init__(self, mixer: AudioMixer, filename: str | os.PathLike[str]) -> None: ...
    def start(self) -> None: ...

class ToneGenerator(_MixerSlot):
    def __init__(self, mixer: AudioMixer) -> None: ...
    def start(self) -> None: ...
    def play_tones(self, tones: Iterable[tuple[int, int, int]]) -> None: ...
    def play_dtmf(self, digit: str) -> None: ...
    @property
    def is_busy(self) -> bool: ...

@disjoint_base
class MixerPort(_MixerSlot):
    buffer_ms: int
    def __init__(self, mixer: AudioMixer, buffer_ms: int = 2000) -> None: ...
    def start(self) -> None: ...
    def read(self, timeout: float | None = None) -> bytes: ...
    def write(self, data: bytes | bytearray | memoryview, timeout: float | None = None) -> int: ...

class RelayPort(_MixerSlot):
    def __init__(self, mixer: AudioMixer) -> None: ...
    def start(self) -> None: ...
