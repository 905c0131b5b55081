# SIP URIs and headers to and from the structures of PJSIP: the headers of
# received messages (ReceivedHeaders), and the PJSIP structures of what we send.

import collections.abc


# --- from PJSIP's structures --------------------------------------------------------

_COMPACT_HEADER_NAMES = {
    "a": "Accept-Contact", "b": "Referred-By", "c": "Content-Type", "d": "Request-Disposition",
    "e": "Content-Encoding", "f": "From", "i": "Call-ID", "j": "Reject-Contact", "k": "Supported",
    "l": "Content-Length", "m": "Contact", "n": "Identity-Info", "o": "Event", "r": "Refer-To", "s": "Subject",
    "t": "To", "u": "Allow-Events", "v": "Via", "x": "Session-Expires", "y": "Identity",
}


cdef object _pj_optional_str(pj_str_t value):
    return _pj_str_to_str(value) if value.slen > 0 else None


cdef object _pj_header_value(pj_str_t value):
    # PJSIP keeps a quoted parameter value with its quotes; ours hold the text.
    if value.slen <= 0:
        return None
    text = _pj_str_to_str(value)
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        return _unquote(text[1:-1])
    return text


cdef int _add_pjsip_parameters(dict parameters, pjsip_param *head, bint header) except -1:
    # A parameter repeated on the wire keeps its first value.
    cdef pjsip_param *parameter = head.next
    while parameter != NULL and parameter != head:
        name = _pj_str_to_str(parameter.name)
        if name and _find_parameter(parameters, name.lower()) is None:
            parameters[name] = _pj_header_value(parameter.value) if header else _pj_optional_str(parameter.value)
        parameter = parameter.next
    return 0


cdef object _frozen_uri_from_pjsip(pjsip_uri *uri):
    """FrozenSIPURI of a sip: or sips: URI (or a name-addr holding one); None for any other URI.

    None also when PJSIP accepted a URI our classes refuse (such as a host
    that is not a host name or an address); callers then fall back on text.
    """
    cdef pjsip_sip_uri *sip_uri
    cdef const pj_str_t *scheme
    cdef pjsip_param *header
    if uri == NULL:
        return None
    sip_uri = <pjsip_sip_uri*>pjsip_uri_get_uri(uri)
    if sip_uri == NULL:
        return None
    scheme = pjsip_uri_get_scheme(sip_uri)
    if scheme == NULL:
        return None
    scheme_name = _pj_str_to_str(scheme[0]).lower()
    if scheme_name != "sip" and scheme_name != "sips":
        return None
    parameters = {}
    if sip_uri.transport_param.slen > 0:
        parameters["transport"] = _pj_str_to_str(sip_uri.transport_param)
    if sip_uri.user_param.slen > 0:
        parameters["user"] = _pj_str_to_str(sip_uri.user_param)
    if sip_uri.method_param.slen > 0:
        parameters["method"] = _pj_str_to_str(sip_uri.method_param)
    if sip_uri.ttl_param >= 0:
        parameters["ttl"] = str(sip_uri.ttl_param)
    if sip_uri.maddr_param.slen > 0:
        parameters["maddr"] = _pj_str_to_str(sip_uri.maddr_param)
    if sip_uri.lr_param:
        parameters["lr"] = None
    _add_pjsip_parameters(parameters, &sip_uri.other_param, False)
    headers = {}
    header = sip_uri.header_param.next
    while header != NULL and header != &sip_uri.header_param:
        name = _pj_str_to_str(header.name)
        value = _pj_str_to_str(header.value)
        earlier = _find_parameter(headers, name.lower())
        if earlier is None:
            headers[name] = value
        else:
            headers[earlier] = headers[earlier] + "," + value
        header = header.next
    # FrozenSIPURI(...) with its checks, without the calls through Python.
    frozen_uri = FrozenSIPURI.__new__(FrozenSIPURI)
    try:
        _init_sip_uri(frozen_uri, _pj_str_to_str(sip_uri.host), _pj_optional_str(sip_uri.user),
                      _pj_optional_str(sip_uri.passwd), sip_uri.port or None, parameters, headers,
                      scheme_name == "sips")
    except (TypeError, ValueError):
        return None
    return frozen_uri


cdef object _display_name_from_pjsip(pjsip_uri *uri):
    # A name-addr unwraps to another object; a bare URI to itself.
    if uri == NULL or pjsip_uri_get_uri(uri) == <void*>uri:
        return None
    display = _pj_optional_str((<pjsip_name_addr*>uri).display)
    return None if display is None else _unquote(display)


cdef object _address_header_from_pjsip(object cls, pjsip_uri *uri, dict parameters):
    frozen_uri = _frozen_uri_from_pjsip(uri)
    if frozen_uri is None:
        return None
    return cls(frozen_uri, _display_name_from_pjsip(uri), parameters)


cdef object _typed_header_from_pjsip(pjsip_hdr *hdr):
    """The Frozen header for the header types PJSIP parses into structures; None for the others."""
    cdef pjsip_fromto_hdr *fromto
    cdef pjsip_contact_hdr *contact
    cdef pjsip_routing_hdr *routing
    cdef pjsip_via_hdr *via
    cdef pjsip_ctype_hdr *ctype
    cdef pjsip_retry_after_hdr *retry_after
    parameters = {}
    if hdr.type == PJSIP_H_FROM or hdr.type == PJSIP_H_TO:
        fromto = <pjsip_fromto_hdr*>hdr
        if fromto.tag.slen > 0:
            parameters["tag"] = _pj_str_to_str(fromto.tag)
        _add_pjsip_parameters(parameters, &fromto.other_param, True)
        return _address_header_from_pjsip(FrozenFromHeader if hdr.type == PJSIP_H_FROM else FrozenToHeader,
                                          fromto.uri, parameters)
    if hdr.type == PJSIP_H_CONTACT:
        contact = <pjsip_contact_hdr*>hdr
        if contact.star:
            return FrozenContactHeader(None)
        if contact.q1000 > 0:           # PJSIP reads "q=0" as no q at all
            parameters["q"] = _format_q1000(contact.q1000)
        if contact.expires != PJSIP_EXPIRES_NOT_SPECIFIED:
            parameters["expires"] = str(contact.expires)
        _add_pjsip_parameters(parameters, &contact.other_param, True)
        return _address_header_from_pjsip(FrozenContactHeader, contact.uri, parameters)
    if hdr.type == PJSIP_H_ROUTE or hdr.type == PJSIP_H_RECORD_ROUTE:
        routing = <pjsip_routing_hdr*>hdr
        _add_pjsip_parameters(parameters, &routing.other_param, True)
        return _address_header_from_pjsip(FrozenRouteHeader if hdr.type == PJSIP_H_ROUTE
                                          else FrozenRecordRouteHeader,
                                          <pjsip_uri*>&routing.name_addr, parameters)
    if hdr.type == PJSIP_H_VIA:
        via = <pjsip_via_hdr*>hdr
        if via.branch_param.slen > 0:
            parameters["branch"] = _pj_header_value(via.branch_param)
        if via.recvd_param.slen > 0:
            parameters["received"] = _pj_header_value(via.recvd_param)
        if via.rport_param >= 0:
            parameters["rport"] = str(via.rport_param) if via.rport_param > 0 else None
        if via.maddr_param.slen > 0:
            parameters["maddr"] = _pj_header_value(via.maddr_param)
        if via.ttl_param >= 0:
            parameters["ttl"] = str(via.ttl_param)
        _add_pjsip_parameters(parameters, &via.other_param, True)
        return FrozenViaHeader(_pj_str_to_str(via.transport), _pj_str_to_str(via.sent_by.host),
                               via.sent_by.port or None, parameters)
    if hdr.type == PJSIP_H_CONTENT_TYPE:
        ctype = <pjsip_ctype_hdr*>hdr
        _add_pjsip_parameters(parameters, &ctype.media.param, True)
        return FrozenContentTypeHeader("%s/%s" % (_pj_str_to_str(ctype.media.type),
                                                  _pj_str_to_str(ctype.media.subtype)), parameters)
    if hdr.type == PJSIP_H_RETRY_AFTER:
        retry_after = <pjsip_retry_after_hdr*>hdr
        _add_pjsip_parameters(parameters, &retry_after.param, True)
        comment = _pj_optional_str(retry_after.comment)
        return FrozenRetryAfterHeader(retry_after.ivalue, None if comment is None else _unquote(comment),
                                      parameters)
    return None


cdef str _print_pjsip_hdr(pjsip_hdr *hdr):
    """"Name: value" as PJSIP prints the header, or None if it does not fit in 1 MB."""
    cdef char small[4096]
    cdef int length = pjsip_hdr_print_on(hdr, small, sizeof(small))
    cdef Py_ssize_t size = 65536
    cdef bytearray buffer
    if length >= 0:
        return _c_buf_to_str(small, length)
    while size <= 1024 * 1024:
        buffer = bytearray(size)
        length = pjsip_hdr_print_on(hdr, <char*>buffer, size)
        if length >= 0:
            return _c_buf_to_str(<char*>buffer, length)
        size *= 4
    return None


cdef object _frozen_header_from_pjsip(pjsip_hdr *hdr):
    """The Frozen header object for one header of a received message.

    From, To, Contact, Route, Record-Route, Via, Content-Type and Retry-After
    are converted from PJSIP's structures; other headers are printed and, when
    one of our classes knows the name (Event, Subscription-State, Reason,
    Warning, Refer-To, P-Asserted-Identity, P-Preferred-Identity, Replaces,
    Subject, Content-Disposition), parsed into it. Anything that does not fit
    a class (a tel: URI in From, a value our strict parser refuses, a list of
    values) becomes a FrozenHeader(name, body). Compact names are expanded.
    None only for a NULL header or one longer than 1 MB. Never raises for
    what PJSIP accepted.
    """
    if hdr == NULL:
        return None
    try:
        header = _typed_header_from_pjsip(hdr)
    except (TypeError, ValueError, SIPCoreError):
        header = None
    if header is not None:
        return header
    text = _print_pjsip_hdr(hdr)
    if text is None:
        return None
    name, _, body = text.partition(":")
    name = name.strip()
    name = _COMPACT_HEADER_NAMES.get(name.lower(), name) if len(name) == 1 else name
    body = body.strip(" \t")
    cls = _FROZEN_HEADER_CLASSES.get(name.lower())
    if cls is not None:
        try:
            return cls.parse(body)
        except (TypeError, ValueError, SIPCoreError):
            pass
    return FrozenHeader._unchecked(name, body)


cdef list _frozen_headers_of_message(pjsip_msg *msg):
    """The headers of a message as Frozen header objects, in message order."""
    cdef pjsip_hdr *hdr
    result = []
    if msg == NULL:
        return result
    hdr = msg.hdr.next
    while hdr != &msg.hdr:
        header = _frozen_header_from_pjsip(hdr)
        if header is not None:
            result.append(header)
        hdr = hdr.next
    return result


# --- to PJSIP's structures (for sending) -------------------------------------------

cdef pjsip_uri *_pjsip_uri_from_uri(pj_pool_t *pool, object uri) except NULL:
    """Parse str(uri) with PJSIP into `pool` (the text is copied there too)."""
    cdef pjsip_uri *result
    cdef char *text
    cdef Py_ssize_t length
    if not isinstance(uri, _SIPURIBase):
        raise TypeError("uri must be a SIPURI or FrozenSIPURI, not %s" % type(uri).__name__)
    encoded = str(uri).encode("utf-8", "surrogateescape")
    length = len(encoded)
    text = _pool_text(pool, encoded)
    _pjsip_parser_acquire()
    try:
        result = pjsip_parse_uri(pool, text, length, 0)
    finally:
        _pjsip_parser_release()
    if result == NULL:
        raise SIPCoreError("PJSIP could not parse the SIP URI %r" % str(uri))
    return result


cdef pjsip_hdr *_pjsip_hdr_from_header(pj_pool_t *pool, object header) except NULL:
    """Parse the header with PJSIP into `pool`: a structure of PJSIP's own type for the headers it knows.

    The result is the first node of a circular list, of one node unless the
    body holds several values (a Header("Route", "<a>, <b>")): insert it into a
    message with pj_list_insert_nodes_before(&msg->hdr, hdr).
    """
    cdef pjsip_hdr *result
    cdef pj_str_t name
    cdef char *text
    cdef Py_ssize_t length
    cdef int parsed = 0
    if not isinstance(header, _HeaderBase):
        raise TypeError("header must be a header object, not %s" % type(header).__name__)
    encoded_name = header.name.encode()
    encoded_body = header.body.encode("utf-8", "surrogateescape")
    name.ptr = _pool_text(pool, encoded_name)
    name.slen = len(encoded_name)
    length = len(encoded_body)
    text = _pool_text(pool, encoded_body)
    _pjsip_parser_acquire()
    try:
        result = <pjsip_hdr*>pjsip_parse_hdr(pool, &name, text, length, &parsed)
    finally:
        _pjsip_parser_release()
    if result == NULL or parsed != length:
        raise SIPCoreError("PJSIP could not parse the %s header %r" % (header.name, header.body))
    return result


_FROZEN_HEADER_CLASSES = {cls.name.lower(): cls for cls in (
    FrozenFromHeader, FrozenToHeader, FrozenContactHeader, FrozenRouteHeader, FrozenRecordRouteHeader,
    FrozenViaHeader, FrozenContentTypeHeader, FrozenEventHeader, FrozenSubscriptionStateHeader, FrozenReasonHeader,
    FrozenWarningHeader, FrozenReferToHeader, FrozenPAssertedIdentityHeader, FrozenPPreferredIdentityHeader,
    FrozenReplacesHeader, FrozenRetryAfterHeader, FrozenSubjectHeader, FrozenContentDispositionHeader)}


class ReceivedHeaders(collections.abc.Sequence):
    """The headers of a received message, as Frozen header objects, made when first used.

    Making the objects costs more than everything else the core does with a
    message, and most readers of a notification never look at its headers,
    so only the message text is kept until they do. It behaves as a
    read-only list; compares equal to a list of the same headers.
    """

    __slots__ = ("_raw", "_headers")

    def __init__(self, raw):
        self._raw = bytes(raw)
        self._headers = None

    def _load(self):
        if self._headers is None:
            self._headers = _pjsip_message_headers(self._raw)
        return self._headers

    def __getitem__(self, index):
        return self._load()[index]

    def __len__(self):
        return len(self._load())

    def __iter__(self):
        return iter(self._load())

    def __eq__(self, other):
        if isinstance(other, (list, tuple, ReceivedHeaders)):
            return list(self) == list(other)
        return NotImplemented

    def __repr__(self):
        return "ReceivedHeaders(%r)" % (self._load(),)

    def __reduce__(self):
        return (list, (list(self),))


cdef list _pjsip_message_headers(bytes raw):
    # PJSIP's reading of a whole message (ReceivedHeaders keeps the text of
    # a received one and reads it again only when its headers are used).
    cdef pj_pool_t *pool = NULL
    cdef pjsip_msg *msg
    _pjsip_parser_acquire()
    try:
        pool = _pjsip_parser_pool()
        msg = pjsip_parse_msg(pool, _pool_text(pool, raw), len(raw), NULL)
        if msg == NULL:
            raise SIPCoreError("PJSIP could not parse the message")
        return _frozen_headers_of_message(msg)
    finally:
        if pool != NULL:
            pj_pool_release(pool)
        _pjsip_parser_release()


cdef object _received_headers(pjsip_rx_data *rdata):
    return ReceivedHeaders(rdata.msg_info.msg_buf[:rdata.msg_info.len])
