# SDP (RFC 4566): session descriptions as value classes, their text form
# (X.parse(text), str(x)) and their conversion to and from PJMEDIA's
# structures.
#
# The classes follow the header classes (value_classes.pxi): a mutable form and a Frozen form per class
# (sharing a base that holds the state), values checked in constructors and on
# assignment, X.new() / FrozenX.new() to convert, equal forms compare equal.
#
# Helpers for the code that hands SDP to PJMEDIA / PJSIP's INVITE session:
#
#   cdef pjmedia_sdp_session *_pjmedia_sdp_from_sdp(pj_pool_t *pool, object sdp) except NULL
#       Any SDPSession or FrozenSDPSession -> a pjmedia_sdp_session that lives
#       in `pool` (the text it points into is copied there too), parsed by
#       PJMEDIA from str(sdp) and checked with pjmedia_sdp_validate. Raises
#       TypeError for other objects and SIPCoreError when PJMEDIA refuses the
#       text or the session exceeds PJMEDIA's fixed limits (16 media, 32
#       formats per m= line, 68 attributes and 4 b= lines per level), which
#       PJMEDIA would otherwise enforce by silently dropping lines.
#       Holds the GIL; pjlib is initialized and the thread registered here.
#
#   cdef object _frozen_sdp_from_pjmedia(const pjmedia_sdp_session *session)
#       A pjmedia_sdp_session (a received offer or answer, or the one PJMEDIA
#       negotiated) -> FrozenSDPSession, through pjmedia_sdp_print and our
#       parser. Raises SIPCoreError if the text PJMEDIA prints does not parse.
#
# What PJMEDIA's structures lose (so what a round trip through them loses):
# i=, u=, e=, p=, k= lines and any t= after the first; o= session id and
# version are 32-bit there (larger values wrap); a session-level direction
# attribute (sendonly, recvonly, inactive) is moved by pjmedia_sdp_parse into
# every media description that has none of its own; a multicast c= address
# loses its /ttl[/count] suffix.

from libc.stdlib cimport free, malloc

import time as _time


# --- checks ----------------------------------------------------------------------

_SDP_TRANSPORT = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+(?:/[A-Za-z0-9\-.!%*_+`'~]+)*")
_SDP_NON_WS = re.compile(r"[^\x00-\x20\x7f]+")
_SDP_MULTICAST_SUFFIX = re.compile(r"/[0-9]{1,10}(?:/[0-9]{1,10})?")
_SDP_LINE_TEXT = re.compile(r"[\x00\r\n]")
_NTP_OFFSET = 2208988800        # seconds from 1900-01-01 (NTP epoch) to 1970-01-01
_SDP_MAX_NUMBER = 2 ** 64 - 1
_SDP_DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")


cdef object _sdp_ntp_now():
    return int(_time.time()) + _NTP_OFFSET


cdef str _sdp_check_line_text(object value, str what, bint allow_empty=False):
    """Text that goes on an SDP line after "x=": no CR, LF or NUL."""
    _check_str(value, what)
    if not value and not allow_empty:
        raise ValueError("%s must not be empty" % what)
    match = _SDP_LINE_TEXT.search(value)
    if match is not None:
        raise ValueError("%s must not contain CR, LF or NUL (found %r)" % (what, match.group()))
    _check_encodable(value, what)
    return value


cdef str _sdp_check_word(object value, str what):
    """A non-empty field without whitespace or control characters (o= user, e=/p= have their own)."""
    _check_str(value, what)
    if _SDP_NON_WS.fullmatch(value) is None:
        raise ValueError("%s must be non-empty text without whitespace or control characters, not %r"
                         % (what, value))
    _check_encodable(value, what)
    return value


cdef str _sdp_check_address(object address, str address_type, str what):
    """An address of the family address_type names (with a multicast /ttl[/count] suffix) or a host name."""
    _check_str(address, what)
    if not address:
        raise ValueError("%s must not be empty" % what)
    base = address
    match = _SDP_MULTICAST_SUFFIX.search(address)
    if match is not None and match.end() == len(address):
        base = address[:match.start()]
    if address_type == "IP6":
        if ":" in base:
            if not _is_ipv6(base):
                raise ValueError("%s %r is not a valid IPv6 address" % (what, address))
            return address
        if _NUMERIC_HOST.fullmatch(base) is not None:
            raise ValueError("%s %r is an IPv4 address but the address type is IP6" % (what, address))
    else:
        if ":" in base:
            raise ValueError("%s %r is not an IPv4 address or host name (address type IP4)" % (what, address))
        if _NUMERIC_HOST.fullmatch(base) is not None:
            if _IPV4.fullmatch(base) is None:
                raise ValueError("%s %r is not a valid IPv4 address" % (what, address))
            return address
    if base is not address:
        raise ValueError("%s %r: only a multicast IP address may have a /ttl or /count suffix" % (what, address))
    if _HOSTNAME.fullmatch(base) is None:
        raise ValueError("%s %r is not an IP address or host name" % (what, address))
    return address


cdef str _sdp_check_address_type(object value):
    _check_str(value, "address_type")
    if value not in ("IP4", "IP6"):
        raise ValueError("address_type must be 'IP4' or 'IP6', not %r" % value)
    return value


cdef object _sdp_check_number(object value, str what):
    return _check_int(value, what, 0, _SDP_MAX_NUMBER)


cdef object _sdp_connection_argument(object value, bint frozen):
    if value is None:
        return None
    if not isinstance(value, _SDPConnectionBase):
        raise TypeError("connection must be an SDPConnection or FrozenSDPConnection, not %s" % type(value).__name__)
    return FrozenSDPConnection.new(value) if frozen else SDPConnection.new(value)


cdef object _sdp_attributes_argument(object value, bint frozen):
    if value is None:
        value = ()
    if isinstance(value, (str, bytes)) or not isinstance(value, collections.abc.Iterable):
        raise TypeError("attributes must be an iterable of SDPAttribute, not %s" % type(value).__name__)
    return FrozenSDPAttributeList(value) if frozen else SDPAttributeList(value)


cdef object _sdp_bandwidth_argument(object value, bint frozen):
    if value is None:
        value = ()
    if isinstance(value, (str, bytes)) or not isinstance(value, collections.abc.Iterable):
        raise TypeError("bandwidth_info must be an iterable of SDPBandwidthInfo, not %s" % type(value).__name__)
    result = []
    for item in value:
        if not isinstance(item, _SDPBandwidthInfoBase):
            raise TypeError("bandwidth_info items must be SDPBandwidthInfo or FrozenSDPBandwidthInfo, not %s"
                            % type(item).__name__)
        result.append(FrozenSDPBandwidthInfo.new(item) if frozen else _sdp_mutable(item))
    return tuple(result) if frozen else result


cdef object _sdp_media_argument(object value, bint frozen):
    if value is None:
        value = ()
    if isinstance(value, (str, bytes)) or not isinstance(value, collections.abc.Iterable):
        raise TypeError("media must be an iterable of SDPMediaStream, not %s" % type(value).__name__)
    result = []
    for item in value:
        if not isinstance(item, _SDPMediaStreamBase):
            raise TypeError("media items must be SDPMediaStream or FrozenSDPMediaStream, not %s"
                            % type(item).__name__)
        result.append(FrozenSDPMediaStream.new(item) if frozen else _sdp_mutable(item))
    return tuple(result) if frozen else result


cdef object _sdp_text_list_argument(object value, str what, bint frozen):
    if value is None:
        value = ()
    if isinstance(value, (str, bytes)) or not isinstance(value, collections.abc.Iterable):
        raise TypeError("%s must be an iterable of str, not %s" % (what, type(value).__name__))
    result = [_sdp_check_line_text(item, "each of " + what) for item in value]
    return tuple(result) if frozen else result


cdef object _sdp_formats_argument(object value, bint frozen):
    if value is None:
        value = ()
    if isinstance(value, (str, bytes)) or not isinstance(value, collections.abc.Iterable):
        raise TypeError("formats must be an iterable of str, not %s" % type(value).__name__)
    result = [_check_token(item, "format") for item in value]
    return tuple(result) if frozen else result


cdef object _sdp_optional_text(object value, str what):
    if value is None:
        return None
    return _sdp_check_line_text(value, what)


cdef object _sdp_mutable(object item):
    # The mutable forms hold mutable items: a Frozen one given is copied.
    if not item._frozen:
        return item
    if isinstance(item, _SDPAttributeBase):
        return SDPAttribute.new(item)
    if isinstance(item, _SDPBandwidthInfoBase):
        return SDPBandwidthInfo.new(item)
    return SDPMediaStream.new(item)


cdef object _keys(object items):
    return tuple([item._key() for item in items])


def _sdp_items(values, cls, what):
    # The current items of a list that may have been changed in place, checked.
    for item in values:
        if not isinstance(item, cls):
            raise TypeError("%s holds a %s" % (what, type(item).__name__))
    return values


# --- connection (c=) ----------------------------------------------------------------

def _set_sdp_address(self, value):
    # The c= and o= lines: the address must be of the address type.
    self._address = _sdp_check_address(value, self._address_type, "address")


def _set_sdp_address_type(self, value):
    value = _sdp_check_address_type(value)
    _sdp_check_address(self._address, value, "address")
    self._address_type = value


class _SDPConnectionBase(_Value):
    __slots__ = ("_address", "_net_type", "_address_type")

    def __init__(self, address, net_type="IN", address_type="IP4"):
        net_type = _check_token(net_type, "net_type")
        address_type = _sdp_check_address_type(address_type)
        _set(self, "_net_type", net_type)
        _set(self, "_address_type", address_type)
        _set(self, "_address", _sdp_check_address(address, address_type, "address"))

    address = _slot("_address", "IP address (with /ttl[/count] for multicast) or host name.", setter=_set_sdp_address)
    net_type = _slot("_net_type", 'Network type: "IN".', lambda value: _check_token(value, "net_type"))
    address_type = _slot("_address_type", '"IP4" or "IP6".', setter=_set_sdp_address_type)

    def __str__(self):
        return "%s %s %s" % (self._net_type, self._address_type, self._address)

    def _key(self):
        return (self._net_type, self._address_type, self._address)

    def _args(self):
        return (self._address, self._net_type, self._address_type)


_SDPConnectionBase._family = _SDPConnectionBase


class SDPConnection(_SDPConnectionBase):
    """Connection data: the c= line's value, "IN IP4 192.0.2.1". Mutable; see FrozenSDPConnection."""

    __slots__ = ()
    __hash__ = None


class FrozenSDPConnection(_FrozenValue, _SDPConnectionBase):
    """An immutable, hashable SDPConnection."""

    __slots__ = ()


# --- attributes (a=) ------------------------------------------------------------------

class _SDPAttributeBase(_Value):
    __slots__ = ("_name", "_value")

    def __init__(self, name, value):
        _set(self, "_name", _check_token(name, "attribute name"))
        _set(self, "_value", None if value is None else _sdp_check_line_text(value, "attribute value", True))

    name = _slot("_name", "Attribute name (rtpmap, sendrecv, ...).",
                 lambda value: _check_token(value, "attribute name"))
    value = _slot("_value", "Text after the colon, or None for a flag attribute (a=sendrecv).",
                  lambda value: None if value is None else _sdp_check_line_text(value, "attribute value", True))

    def __str__(self):
        return self._name if self._value is None else "%s:%s" % (self._name, self._value)

    def _key(self):
        return (self._name, self._value)

    def _args(self):
        return (self._name, self._value)


_SDPAttributeBase._family = _SDPAttributeBase


class SDPAttribute(_SDPAttributeBase):
    """One a= line: SDPAttribute("rtpmap", "0 PCMU/8000"), SDPAttribute("sendrecv", None). Mutable."""

    __slots__ = ()
    __hash__ = None


class FrozenSDPAttribute(_FrozenValue, _SDPAttributeBase):
    """An immutable, hashable SDPAttribute."""

    __slots__ = ()


class _SDPAttributeListMixin:
    __slots__ = ()

    def getall(self, name):
        """The values (None for flags) of every attribute called `name`, in order."""
        return [attribute.value for attribute in self if attribute.name == name]

    def getfirst(self, name, default=None):
        """The value of the first attribute called `name` (None for a flag), or `default` if none is."""
        for attribute in self:
            if attribute.name == name:
                return attribute.value
        return default

    def __contains__(self, item):
        if isinstance(item, str):
            return any(attribute.name == item for attribute in self)
        return any(attribute == item for attribute in self)

    def __eq__(self, other):
        if isinstance(other, (list, tuple)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=False))
        return NotImplemented

    def __ne__(self, other):
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    def __repr__(self):
        return "%s(%r)" % (type(self).__name__, list(self))


cdef object _sdp_attribute_item(object item):
    if not isinstance(item, _SDPAttributeBase):
        raise TypeError("SDP attribute lists hold SDPAttribute or FrozenSDPAttribute, not %s" % type(item).__name__)
    return item


cdef object _sdp_mutable_attribute(object item):
    return _sdp_mutable(_sdp_attribute_item(item))


class SDPAttributeList(_SDPAttributeListMixin, list):
    """The a= lines of a session or media description: a list of SDPAttribute.

    `name in attributes` looks for an attribute of that name; getall() and
    getfirst() read values by name. Items are checked when added through the
    constructor, append(), insert(), extend() and item assignment; a
    FrozenSDPAttribute added is stored as an SDPAttribute.
    """

    __slots__ = ()
    __hash__ = None

    def __init__(self, iterable=()):
        list.__init__(self, [_sdp_mutable_attribute(item) for item in iterable])

    def append(self, item):
        list.append(self, _sdp_mutable_attribute(item))

    def insert(self, index, item):
        list.insert(self, index, _sdp_mutable_attribute(item))

    def extend(self, iterable):
        list.extend(self, [_sdp_mutable_attribute(item) for item in iterable])

    def __iadd__(self, iterable):
        self.extend(iterable)
        return self

    def __setitem__(self, index, value):
        if isinstance(index, slice):
            value = [_sdp_mutable_attribute(item) for item in value]
        else:
            value = _sdp_mutable_attribute(value)
        list.__setitem__(self, index, value)


class FrozenSDPAttributeList(_SDPAttributeListMixin, tuple):
    """An immutable, hashable SDPAttributeList (a tuple of FrozenSDPAttribute)."""

    __slots__ = ()

    def __new__(cls, iterable=()):
        return tuple.__new__(cls, [FrozenSDPAttribute.new(_sdp_attribute_item(item)) for item in iterable])

    def __hash__(self):
        return hash(tuple(self))

    @classmethod
    def new(cls, other):
        return other if type(other) is cls else cls(other)


# --- bandwidth (b=) ---------------------------------------------------------------------

class _SDPBandwidthInfoBase(_Value):
    __slots__ = ("_modifier", "_value")

    def __init__(self, modifier, value):
        _set(self, "_modifier", _check_token(modifier, "bandwidth modifier"))
        _set(self, "_value", _check_int(value, "bandwidth value", 0, 2 ** 32 - 1))

    modifier = _slot("_modifier", "Bandwidth modifier: CT, AS, TIAS, RS, RR, ...",
                     lambda value: _check_token(value, "bandwidth modifier"))
    value = _slot("_value", "Bandwidth (kbit/s for CT and AS, bit/s for TIAS).",
                  lambda value: _check_int(value, "bandwidth value", 0, 2 ** 32 - 1))

    def __str__(self):
        return "%s:%d" % (self._modifier, self._value)

    def _key(self):
        return (self._modifier, self._value)

    def _args(self):
        return (self._modifier, self._value)


_SDPBandwidthInfoBase._family = _SDPBandwidthInfoBase


class SDPBandwidthInfo(_SDPBandwidthInfoBase):
    """One b= line: SDPBandwidthInfo("AS", 64). Mutable; see FrozenSDPBandwidthInfo."""

    __slots__ = ()
    __hash__ = None


class FrozenSDPBandwidthInfo(_FrozenValue, _SDPBandwidthInfoBase):
    """An immutable, hashable SDPBandwidthInfo."""

    __slots__ = ()


# --- media descriptions (m= and what follows it) ---------------------------------------------

# RTP/AVP payload types with a fixed meaning (RFC 3551, tables 4 and 5):
# payload type -> (encoding name, clock rate, channels).
_STATIC_PAYLOAD_TYPES = {
    "0": ("PCMU", 8000, 1), "3": ("GSM", 8000, 1), "4": ("G723", 8000, 1), "5": ("DVI4", 8000, 1),
    "6": ("DVI4", 16000, 1), "7": ("LPC", 8000, 1), "8": ("PCMA", 8000, 1), "9": ("G722", 8000, 1),
    "10": ("L16", 44100, 2), "11": ("L16", 44100, 1), "12": ("QCELP", 8000, 1), "13": ("CN", 8000, 1),
    "14": ("MPA", 90000, 1), "15": ("G728", 8000, 1), "16": ("DVI4", 11025, 1), "17": ("DVI4", 22050, 1),
    "18": ("G729", 8000, 1), "25": ("CelB", 90000, 1), "26": ("JPEG", 90000, 1), "28": ("nv", 90000, 1),
    "31": ("H261", 90000, 1), "32": ("MPV", 90000, 1), "33": ("MP2T", 90000, 1), "34": ("H263", 90000, 1),
}
_RTPMAP = re.compile(r"([0-9]{1,3})[ \t]+([^/ \t]+)/([0-9]{1,10})(?:/([0-9]{1,3}))?[ \t]*")


class _SDPMediaStreamBase(_Value):
    __slots__ = ("_media", "_port", "_transport", "_port_count", "_formats", "_connection", "_attributes",
                 "_bandwidth_info", "_information", "_encryption_key")

    def __init__(self, media, port, transport, port_count=1, formats=None, connection=None, attributes=None,
                 bandwidth_info=None, information=None, encryption_key=None):
        frozen = self._frozen
        _set(self, "_media", _check_token(media, "media"))
        _set(self, "_port", _check_int(port, "port", 0, 65535))
        _set(self, "_transport", _sdp_check_transport(transport))
        _set(self, "_port_count", _check_int(port_count, "port_count", 1, 65535))
        _set(self, "_formats", _sdp_formats_argument(formats, frozen))
        _set(self, "_connection", _sdp_connection_argument(connection, frozen))
        _set(self, "_attributes", _sdp_attributes_argument(attributes, frozen))
        _set(self, "_bandwidth_info", _sdp_bandwidth_argument(bandwidth_info, frozen))
        _set(self, "_information", _sdp_optional_text(information, "information"))
        _set(self, "_encryption_key", _sdp_optional_text(encryption_key, "encryption_key"))

    media = _slot("_media", "Media type: audio, video, message, application, ...",
                  lambda value: _check_token(value, "media"))
    port = _slot("_port", "Transport port (0: the stream is rejected or disabled).",
                 lambda value: _check_int(value, "port", 0, 65535))
    transport = _slot("_transport", "Transport protocol: RTP/AVP, RTP/SAVP, UDP/TLS/RTP/SAVPF, TCP/TLS/MSRP, ...",
                      lambda value: _sdp_check_transport(value))
    port_count = _slot("_port_count", "Number of ports (the /n after the port; 1 when absent).",
                       lambda value: _check_int(value, "port_count", 1, 65535))
    formats = _slot("_formats", "Media formats (payload types for RTP) as text, in order of preference.",
                    lambda value: _sdp_formats_argument(value, False))
    connection = _slot("_connection", "The media-level c= line, or None (the session's applies).",
                       lambda value: _sdp_connection_argument(value, False))
    attributes = _slot("_attributes", "The a= lines of this media description.",
                       lambda value: _sdp_attributes_argument(value, False))
    bandwidth_info = _slot("_bandwidth_info", "The b= lines of this media description.",
                           lambda value: _sdp_bandwidth_argument(value, False))
    information = _slot("_information", "The i= line (media title), or None.",
                        lambda value: _sdp_optional_text(value, "information"))
    encryption_key = _slot("_encryption_key", "The k= line's value, or None (obsolete; kept as read).",
                           lambda value: _sdp_optional_text(value, "encryption_key"))

    @property
    def direction(self):
        """sendrecv, sendonly, recvonly or inactive: the last such attribute, sendrecv without one."""
        result = "sendrecv"
        for attribute in self._attributes:
            if attribute.name in _SDP_DIRECTIONS:
                result = attribute.name
        return result

    @direction.setter
    def direction(self, value):
        _check_str(value, "direction")
        if value not in _SDP_DIRECTIONS:
            raise ValueError("direction must be one of %s, not %r" % (", ".join(_SDP_DIRECTIONS), value))
        attributes = self._attributes
        positions = [index for index, attribute in enumerate(attributes) if attribute.name in _SDP_DIRECTIONS]
        if positions:
            attributes[positions[0]] = SDPAttribute(value, None)
            for index in reversed(positions[1:]):
                del attributes[index]
        else:
            attributes.append(SDPAttribute(value, None))

    @property
    def has_srtp(self):
        """True when the transport is a secure RTP profile (…/SAVP, …/SAVPF) or a=crypto lines are present."""
        profiles = self._transport.upper().split("/")
        return "SAVP" in profiles or "SAVPF" in profiles or "crypto" in self._attributes

    @property
    def has_ice(self):
        """True when ICE attributes (ice-ufrag, ice-pwd or candidate) are present."""
        return "ice-ufrag" in self._attributes or "ice-pwd" in self._attributes or "candidate" in self._attributes

    @property
    def rtpmap(self):
        """payload type (str) -> (encoding name, clock rate, channels) for the formats, in their order.

        From the a=rtpmap lines; a static RTP payload type without one gets
        its RFC 3551 meaning. Formats with neither are left out.
        """
        maps = {}
        for value in self._attributes.getall("rtpmap"):
            match = None if value is None else _RTPMAP.fullmatch(value)
            if match is not None and match.group(1) not in maps:
                channels = 1 if match.group(4) is None else int(match.group(4))
                maps[match.group(1)] = (match.group(2), int(match.group(3)), channels)
        is_rtp = "RTP" in self._transport.upper().split("/")
        result = {}
        for fmt in self._formats:
            if fmt in maps:
                result[fmt] = maps[fmt]
            elif is_rtp and fmt in _STATIC_PAYLOAD_TYPES:
                result[fmt] = _STATIC_PAYLOAD_TYPES[fmt]
        return result

    @property
    def codecs(self):
        """Encoding names of the formats (opus, G722, PCMU, telephone-event, ...), in order of preference."""
        return [entry[0] for entry in self.rtpmap.values()]

    @property
    def fmtp(self):
        """payload type (str) -> the text of its a=fmtp line ("minptime=10;useinbandfec=1")."""
        result = {}
        for value in self._attributes.getall("fmtp"):
            if value:
                fmt, _, parameters = value.partition(" ")
                result.setdefault(fmt, parameters.strip())
        return result

    def _lines(self):
        formats = self._formats
        attributes = self._attributes
        bandwidth_info = self._bandwidth_info
        if not self._frozen:        # the lists may have been changed in place
            formats = _sdp_formats_argument(formats, False)
            attributes = _sdp_items(attributes, _SDPAttributeBase, "attributes")
            bandwidth_info = _sdp_items(bandwidth_info, _SDPBandwidthInfoBase, "bandwidth_info")
        port = str(self._port) if self._port_count == 1 else "%d/%d" % (self._port, self._port_count)
        lines = ["m=" + " ".join([self._media, port, self._transport] + list(formats))]
        if self._information is not None:
            lines.append("i=" + self._information)
        if self._connection is not None:
            lines.append("c=%s" % self._connection)
        lines.extend(["b=%s" % info for info in bandwidth_info])
        if self._encryption_key is not None:
            lines.append("k=" + self._encryption_key)
        lines.extend(["a=%s" % attribute for attribute in attributes])
        return lines

    def __str__(self):
        return "".join([line + "\r\n" for line in self._lines()])

    def _key(self):
        return (self._media, self._port, self._transport, self._port_count, tuple(self._formats),
                None if self._connection is None else self._connection._key(), _keys(self._attributes),
                _keys(self._bandwidth_info), self._information, self._encryption_key)

    def _args(self):
        return (self._media, self._port, self._transport, self._port_count, self._formats, self._connection,
                self._attributes, self._bandwidth_info, self._information, self._encryption_key)


_SDPMediaStreamBase._family = _SDPMediaStreamBase


cdef str _sdp_check_transport(object value):
    _check_str(value, "transport")
    if _SDP_TRANSPORT.fullmatch(value) is None:
        raise ValueError("transport must be tokens separated by '/' (RTP/AVP), not %r" % value)
    return value


class SDPMediaStream(_SDPMediaStreamBase):
    """One media description: the m= line and the lines after it. Mutable; see FrozenSDPMediaStream.

    The lists (formats, attributes, bandwidth_info) may be changed in place;
    str() checks them again.
    """

    __slots__ = ()
    __hash__ = None


class FrozenSDPMediaStream(_FrozenValue, _SDPMediaStreamBase):
    """An immutable, hashable SDPMediaStream."""

    __slots__ = ()


# --- sessions ----------------------------------------------------------------------------------

class _SDPSessionBase(_Value):
    __slots__ = ("_address", "_id", "_version", "_user", "_net_type", "_address_type", "_name", "_connection",
                 "_start_time", "_stop_time", "_attributes", "_bandwidth_info", "_media", "_information", "_uri",
                 "_emails", "_phones", "_encryption_key")

    def __init__(self, address, id=None, version=None, user="-", net_type="IN", address_type="IP4", name=" ",
                 connection=None, start_time=0, stop_time=0, attributes=None, bandwidth_info=None, media=None,
                 information=None, uri=None, emails=None, phones=None, encryption_key=None):
        frozen = self._frozen
        if id is None or version is None:
            now = _sdp_ntp_now()
            id = now if id is None else id
            version = now if version is None else version
        address_type = _sdp_check_address_type(address_type)
        _set(self, "_net_type", _check_token(net_type, "net_type"))
        _set(self, "_address_type", address_type)
        _set(self, "_address", _sdp_check_address(address, address_type, "address"))
        _set(self, "_id", _sdp_check_number(id, "id"))
        _set(self, "_version", _sdp_check_number(version, "version"))
        _set(self, "_user", _sdp_check_word(user, "user"))
        _set(self, "_name", _sdp_check_line_text(name, "name"))
        _set(self, "_connection", _sdp_connection_argument(connection, frozen))
        _set(self, "_start_time", _sdp_check_number(start_time, "start_time"))
        _set(self, "_stop_time", _sdp_check_number(stop_time, "stop_time"))
        _set(self, "_attributes", _sdp_attributes_argument(attributes, frozen))
        _set(self, "_bandwidth_info", _sdp_bandwidth_argument(bandwidth_info, frozen))
        _set(self, "_media", _sdp_media_argument(media, frozen))
        _set(self, "_information", _sdp_optional_text(information, "information"))
        _set(self, "_uri", _sdp_optional_text(uri, "uri"))
        _set(self, "_emails", _sdp_text_list_argument(emails, "emails", frozen))
        _set(self, "_phones", _sdp_text_list_argument(phones, "phones", frozen))
        _set(self, "_encryption_key", _sdp_optional_text(encryption_key, "encryption_key"))

    address = _slot("_address", "The o= line's address (of the machine that made the description).",
                    setter=_set_sdp_address)
    id = _slot("_id", "The o= line's session id (int).", lambda value: _sdp_check_number(value, "id"))
    version = _slot("_version", "The o= line's session version (int); raise it for every new offer.",
                    lambda value: _sdp_check_number(value, "version"))
    user = _slot("_user", 'The o= line\'s user name ("-" for none).', lambda value: _sdp_check_word(value, "user"))
    net_type = _slot("_net_type", 'The o= line\'s network type: "IN".', lambda value: _check_token(value, "net_type"))
    address_type = _slot("_address_type", 'The o= line\'s address type: "IP4" or "IP6".', setter=_set_sdp_address_type)
    name = _slot("_name", 'The s= line (" " when there is no name).', lambda value: _sdp_check_line_text(value, "name"))
    connection = _slot("_connection", "The session-level c= line, or None.",
                       lambda value: _sdp_connection_argument(value, False))
    start_time = _slot("_start_time", "The first t= line's start time (NTP seconds; 0: unbounded).",
                       lambda value: _sdp_check_number(value, "start_time"))
    stop_time = _slot("_stop_time", "The first t= line's stop time (NTP seconds; 0: unbounded).",
                      lambda value: _sdp_check_number(value, "stop_time"))
    attributes = _slot("_attributes", "The session-level a= lines.",
                       lambda value: _sdp_attributes_argument(value, False))
    bandwidth_info = _slot("_bandwidth_info", "The session-level b= lines.",
                           lambda value: _sdp_bandwidth_argument(value, False))
    media = _slot("_media", "The media descriptions, in order.", lambda value: _sdp_media_argument(value, False))
    information = _slot("_information", "The session-level i= line, or None.",
                        lambda value: _sdp_optional_text(value, "information"))
    uri = _slot("_uri", "The u= line, or None.", lambda value: _sdp_optional_text(value, "uri"))
    emails = _slot("_emails", "The e= lines.", lambda value: _sdp_text_list_argument(value, "emails", False))
    phones = _slot("_phones", "The p= lines.", lambda value: _sdp_text_list_argument(value, "phones", False))
    encryption_key = _slot("_encryption_key", "The session-level k= line's value, or None.",
                           lambda value: _sdp_optional_text(value, "encryption_key"))

    @classmethod
    def parse(cls, text):
        """Read a session description (str or bytes; CRLF or LF line ends). Raises SIPCoreError."""
        return _sdp_parse(cls, text)

    def __str__(self):
        attributes = self._attributes
        bandwidth_info = self._bandwidth_info
        media = self._media
        emails = self._emails
        phones = self._phones
        if not self._frozen:        # the lists may have been changed in place
            attributes = _sdp_items(attributes, _SDPAttributeBase, "attributes")
            bandwidth_info = _sdp_items(bandwidth_info, _SDPBandwidthInfoBase, "bandwidth_info")
            media = _sdp_items(media, _SDPMediaStreamBase, "media")
            emails = _sdp_text_list_argument(emails, "emails", False)
            phones = _sdp_text_list_argument(phones, "phones", False)
        lines = ["v=0",
                 "o=%s %d %d %s %s %s" % (self._user, self._id, self._version, self._net_type, self._address_type,
                                          self._address),
                 "s=" + self._name]
        if self._information is not None:
            lines.append("i=" + self._information)
        if self._uri is not None:
            lines.append("u=" + self._uri)
        lines.extend(["e=" + email for email in emails])
        lines.extend(["p=" + phone for phone in phones])
        if self._connection is not None:
            lines.append("c=%s" % self._connection)
        lines.extend(["b=%s" % info for info in bandwidth_info])
        lines.append("t=%d %d" % (self._start_time, self._stop_time))
        if self._encryption_key is not None:
            lines.append("k=" + self._encryption_key)
        lines.extend(["a=%s" % attribute for attribute in attributes])
        for stream in media:
            lines.extend(stream._lines())
        return "".join([line + "\r\n" for line in lines])

    def _key(self):
        return (self._address, self._id, self._version, self._user, self._net_type, self._address_type, self._name,
                None if self._connection is None else self._connection._key(), self._start_time, self._stop_time,
                _keys(self._attributes), _keys(self._bandwidth_info), _keys(self._media), self._information,
                self._uri, tuple(self._emails), tuple(self._phones), self._encryption_key)

    def _args(self):
        return (self._address, self._id, self._version, self._user, self._net_type, self._address_type, self._name,
                self._connection, self._start_time, self._stop_time, self._attributes, self._bandwidth_info,
                self._media, self._information, self._uri, self._emails, self._phones, self._encryption_key)


_SDPSessionBase._family = _SDPSessionBase


def _set_session_address(self, value):
    self._address = _sdp_check_address(value, self._address_type, "address")


def _set_session_address_type(self, value):
    value = _sdp_check_address_type(value)
    _sdp_check_address(self._address, value, "address")
    self._address_type = value


class SDPSession(_SDPSessionBase):
    """A session description (RFC 4566). Mutable; see FrozenSDPSession.

    SDPSession.parse(text) reads one; str(session) writes it with CRLF line
    ends in RFC 4566 order. The lists it holds may be changed in place; str()
    checks them again.
    """

    __slots__ = ()
    __hash__ = None


class FrozenSDPSession(_FrozenValue, _SDPSessionBase):
    """An immutable, hashable SDPSession."""

    __slots__ = ()


# --- the parser ---------------------------------------------------------------------------------
#
# Line by line. v=, o= and s= come first, in that order; then the session
# level's lines, then media descriptions, each starting with m=. Within a
# level the order of RFC 4566 is not enforced (real offers put b= before c=,
# or a= before t=), but a line type that may appear only once at a level may
# appear only once, and a type that has no place at a level is an error, as
# is any type letter RFC 4566 does not define. r= and z= lines and t= lines
# after the first are accepted and not kept. LF alone ends a line too; empty
# lines at the end are ignored; everything after "x=" is kept as it is
# (trailing spaces included), but for the fields of o=, c=, b=, t= and m=,
# which are separated by runs of spaces.

_SDP_SESSION_ONCE = frozenset("iuck")
_SDP_MEDIA_ONCE = frozenset("ick")


class _SDPLineError(Exception):
    pass


cdef object _sdp_numbers(str text, int count, str what):
    fields = text.split()
    if len(fields) != count:
        raise _SDPLineError("expected %d fields, found %d" % (count, len(fields)))
    result = []
    for field in fields:
        if _DIGITS.fullmatch(field) is None or len(field) > 20 or int(field) > _SDP_MAX_NUMBER:
            raise _SDPLineError("%s must be a number, not %r" % (what, field))
        result.append(int(field))
    return result


cdef object _sdp_parse_connection(str text, bint frozen):
    fields = text.split()
    if len(fields) != 3:
        raise _SDPLineError("expected <net type> <address type> <address>, found %d fields" % len(fields))
    cls = FrozenSDPConnection if frozen else SDPConnection
    return cls(fields[2], fields[0], fields[1])


cdef object _sdp_parse_bandwidth(str text, bint frozen):
    modifier, colon, value = text.partition(":")
    if not colon:
        raise _SDPLineError("expected <modifier>:<value>")
    value = value.strip(" \t")
    if _DIGITS.fullmatch(value) is None or len(value) > 10:
        raise _SDPLineError("bandwidth must be a number, not %r" % value)
    cls = FrozenSDPBandwidthInfo if frozen else SDPBandwidthInfo
    return cls(modifier, int(value))


cdef object _sdp_parse_attribute(str text, bint frozen):
    name, colon, value = text.partition(":")
    cls = FrozenSDPAttribute if frozen else SDPAttribute
    return cls(name, value if colon else None)


cdef dict _sdp_parse_media_line(str text):
    fields = text.split()
    if len(fields) < 3:
        raise _SDPLineError("expected <media> <port> <transport> <formats>")
    port_text, slash, count_text = fields[1].partition("/")
    if _DIGITS.fullmatch(port_text) is None or len(port_text) > 5 or int(port_text) > 65535:
        raise _SDPLineError("port must be a number between 0 and 65535, not %r" % fields[1])
    if slash and (_DIGITS.fullmatch(count_text) is None or len(count_text) > 5 or not 1 <= int(count_text) <= 65535):
        raise _SDPLineError("port count must be a number between 1 and 65535, not %r" % count_text)
    _check_token(fields[0], "media")
    _sdp_check_transport(fields[2])
    formats = _sdp_formats_argument(fields[3:], False)
    return {"media": fields[0], "port": int(port_text), "transport": fields[2],
            "port_count": int(count_text) if slash else 1, "formats": formats, "attributes": [],
            "bandwidth_info": [], "connection": None, "information": None, "encryption_key": None}


def _sdp_parse(cls, text):
    frozen = cls._frozen
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8", "surrogateescape")
    elif not isinstance(text, str):
        raise TypeError("SDP text must be str or bytes, not %s" % type(text).__name__)
    lines = text.split("\n")
    lines = [line[:-1] if line.endswith("\r") else line for line in lines]
    while lines and not lines[-1]:
        lines.pop()
    if not lines:
        raise SIPCoreError("Could not parse SDP: the text is empty")
    session = {"attributes": [], "bandwidth_info": [], "emails": [], "phones": [], "connection": None,
               "information": None, "uri": None, "encryption_key": None}
    media = []
    current = None
    seen = set()
    have_time = False
    number = 0
    line = ""
    try:
        for number, line in enumerate(lines, 1):
            if len(line) < 2 or line[1] != "=" or not ("a" <= line[0] <= "z"):
                raise _SDPLineError("not a <type>=<value> line" if line else "empty line")
            kind = line[0]
            value = line[2:]
            if number == 1:
                if kind != "v":
                    raise _SDPLineError("the first line must be v=")
                if value != "0":
                    raise _SDPLineError("unsupported SDP version %r" % value)
                continue
            if number == 2:
                if kind != "o":
                    raise _SDPLineError("the second line must be o=")
                fields = value.split()
                if len(fields) != 6:
                    raise _SDPLineError("expected <user> <id> <version> <net type> <address type> <address>, "
                                        "found %d fields" % len(fields))
                numbers = _sdp_numbers(" ".join(fields[1:3]), 2, "session id and version")
                session.update(user=_sdp_check_word(fields[0], "user"), id=numbers[0], version=numbers[1],
                               net_type=_check_token(fields[3], "net_type"),
                               address_type=_sdp_check_address_type(fields[4]))
                session["address"] = _sdp_check_address(fields[5], session["address_type"], "address")
                continue
            if number == 3:
                if kind != "s":
                    raise _SDPLineError("the third line must be s=")
                session["name"] = _sdp_check_line_text(value, "session name")
                continue
            if kind == "m":
                current = _sdp_parse_media_line(value)
                media.append(current)
                seen = set()
                continue
            if kind in "vos" or kind not in "iuepcbtrzkam":
                raise _SDPLineError("unexpected %s= line" % kind if kind in "vos" else "unknown line type %s=" % kind)
            if current is not None:
                if kind not in "icbka":
                    raise _SDPLineError("%s= lines have no place in a media description" % kind)
                target = current
                once = _SDP_MEDIA_ONCE
            else:
                target = session
                once = _SDP_SESSION_ONCE
            if kind in once:
                if kind in seen:
                    raise _SDPLineError("more than one %s= line" % kind)
                seen.add(kind)
            if kind == "a":
                target["attributes"].append(_sdp_parse_attribute(value, frozen))
            elif kind == "c":
                target["connection"] = _sdp_parse_connection(value, frozen)
            elif kind == "b":
                target["bandwidth_info"].append(_sdp_parse_bandwidth(value, frozen))
            elif kind == "i":
                target["information"] = _sdp_check_line_text(value, "information")
            elif kind == "k":
                target["encryption_key"] = _sdp_check_line_text(value, "encryption key")
            elif kind == "u":
                session["uri"] = _sdp_check_line_text(value, "URI")
            elif kind == "e":
                session["emails"].append(_sdp_check_line_text(value, "e-mail address"))
            elif kind == "p":
                session["phones"].append(_sdp_check_line_text(value, "phone number"))
            elif kind == "t":
                times = _sdp_numbers(value, 2, "start and stop time")
                if not have_time:
                    session["start_time"], session["stop_time"] = times
                    have_time = True
            elif kind == "r" or kind == "z":
                if not have_time:
                    raise _SDPLineError("%s= line before any t= line" % kind)
        if number < 3:
            number += 1
            line = ""
            raise _SDPLineError("missing %s= line" % "vos"[number - 1])
        media_class = FrozenSDPMediaStream if frozen else SDPMediaStream
        streams = []
        for entry in media:     # every part was checked as its line was read
            streams.append(media_class(**entry))
        session["media"] = streams
        return cls(**session)
    except (_SDPLineError, TypeError, ValueError) as error:
        raise SIPCoreError("Could not parse SDP: line %d (%r): %s" % (number, line, error)) from None


# --- PJMEDIA ---------------------------------------------------------------------------------------

cdef int _sdp_check_pjmedia_limits(object sdp) except -1:
    if len(sdp.media) > PJMEDIA_MAX_SDP_MEDIA:
        raise SIPCoreError("PJMEDIA takes at most %d media descriptions, not %d"
                           % (PJMEDIA_MAX_SDP_MEDIA, len(sdp.media)))
    levels = [("session", sdp)] + [("media description %d" % index, stream) for index, stream in enumerate(sdp.media)]
    for where, level in levels:
        if len(level.attributes) > PJMEDIA_MAX_SDP_ATTR:
            raise SIPCoreError("PJMEDIA takes at most %d attributes per level, not %d (%s)"
                               % (PJMEDIA_MAX_SDP_ATTR, len(level.attributes), where))
        if len(level.bandwidth_info) > PJMEDIA_MAX_SDP_BANDW:
            raise SIPCoreError("PJMEDIA takes at most %d b= lines per level, not %d (%s)"
                               % (PJMEDIA_MAX_SDP_BANDW, len(level.bandwidth_info), where))
    for index, stream in enumerate(sdp.media):
        if len(stream.formats) > PJMEDIA_MAX_SDP_FMT:
            raise SIPCoreError("PJMEDIA takes at most %d formats per m= line, not %d (media description %d)"
                               % (PJMEDIA_MAX_SDP_FMT, len(stream.formats), index))
    return 0


cdef pjmedia_sdp_session *_pjmedia_sdp_from_sdp(pj_pool_t *pool, object sdp) except NULL:
    cdef pjmedia_sdp_session *session = NULL
    cdef char *text
    cdef int status
    if not isinstance(sdp, _SDPSessionBase):
        raise TypeError("sdp must be an SDPSession or FrozenSDPSession, not %s" % type(sdp).__name__)
    encoded = str(sdp).encode("utf-8", "surrogateescape")
    _sdp_check_pjmedia_limits(sdp)
    text = _pool_text(pool, encoded)
    _pjsip_parser_acquire()         # pjlib initialized, this thread registered
    try:
        status = pjmedia_sdp_parse(pool, text, len(encoded), &session)
    finally:
        _pjsip_parser_release()
    if status != PJ_SUCCESS or session == NULL:
        raise PJSIPError("PJMEDIA could not parse the SDP", status if status != PJ_SUCCESS else PJ_EINVAL)
    status = pjmedia_sdp_validate(session)
    if status != PJ_SUCCESS:
        raise PJSIPError("PJMEDIA refused the SDP", status)
    return session


cdef object _frozen_sdp_from_pjmedia(const pjmedia_sdp_session *session):
    cdef Py_ssize_t size = 4096
    cdef char *buffer
    cdef int length
    while True:
        buffer = <char*>malloc(size)
        if buffer == NULL:
            raise MemoryError()
        try:
            length = pjmedia_sdp_print(session, buffer, size)
            if length >= 0:
                text = buffer[:length]
                break
        finally:
            free(buffer)
        if size >= 16 * 1024 * 1024:
            raise SIPCoreError("PJMEDIA could not print the SDP")
        size *= 4
    return FrozenSDPSession.parse(text)


def _pjmedia_round_trip(text):
    """For the tests: parse `text` with our parser, hand it to PJMEDIA and back; the text PJMEDIA printed."""
    cdef pj_pool_t *pool = NULL
    cdef pjmedia_sdp_session *session
    sdp = FrozenSDPSession.parse(text)
    _pjsip_parser_acquire()
    try:
        pool = _pjsip_parser_pool()
        session = _pjmedia_sdp_from_sdp(pool, sdp)
        return str(_frozen_sdp_from_pjmedia(session))
    finally:
        if pool != NULL:
            pj_pool_release(pool)
        _pjsip_parser_release()
