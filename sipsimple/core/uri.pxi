# SIP URIs: SIPURI and FrozenSIPURI.

# --- SIP URIs ------------------------------------------------------------------

# URI parameters that, when present in either of two URIs, must be present in
# both with the same value for the URIs to be equal (RFC 3261 section 19.1.4).
_SIGNIFICANT_URI_PARAMETERS = ("maddr", "method", "transport", "ttl", "user")


cdef dict _lower_uri_parameters(object parameters):
    return {name.lower(): (None if value is None else value.lower()) for name, value in parameters.items()}


cdef bint _uri_equal(a, b) except -1:
    if (a._secure != b._secure or a._user != b._user or a._password != b._password or a._port != b._port
            or _host_key(a._host) != _host_key(b._host)):
        return False
    if {name.lower(): value for name, value in a._headers.items()} != \
            {name.lower(): value for name, value in b._headers.items()}:
        return False
    parameters_a = _lower_uri_parameters(a._parameters)
    parameters_b = _lower_uri_parameters(b._parameters)
    for name in _SIGNIFICANT_URI_PARAMETERS:
        if parameters_a.get(name, _MISSING) != parameters_b.get(name, _MISSING):
            return False
    for name, value in parameters_a.items():
        if name in parameters_b and parameters_b[name] != value:
            return False
    return True


class _SIPURIBase(_Value):
    __slots__ = ("_host", "_user", "_password", "_port", "_parameters", "_headers", "_secure")

    def __init__(self, host=None, user=None, password=None, port=None, parameters=None, headers=None, secure=False):
        _init_sip_uri(self, host, user, password, port, parameters, headers, secure)

    def _assign(self, secure, user, password, host, port, parameters, headers):
        _assign_sip_uri(self, secure, user, password, host, port, parameters, headers)

    @classmethod
    def _from_fields(cls, tuple fields):
        # Fields from the scanner, which checked them.
        uri = cls.__new__(cls)
        uri._assign(*fields)
        return uri

    host = _slot("_host", "Host name, IPv4 address or IPv6 address (without brackets).",
                 lambda value: None if value is None else _check_host(value))
    user = _slot("_user", "User part, unescaped, or None.", lambda value: _check_userinfo(value, "user"))
    password = _slot("_password", "Password, unescaped, or None.", lambda value: _check_userinfo(value, "password"))
    port = _slot("_port", "Port number, or None when the URI has none.", lambda value: _check_port(value))
    parameters = _slot("_parameters", "URI parameters: name -> value (None for a parameter without value).",
                       lambda value: _check_uri_parameters(value))
    headers = _slot("_headers", "URI headers: name -> value, unescaped.", lambda value: _check_uri_headers(value))
    secure = _slot("_secure", "True for a sips: URI.", lambda value: _check_bool(value, "secure"))

    @classmethod
    def parse(cls, text):
        """Read a sip: or sips: URI, optionally enclosed in '<' and '>'. Raises SIPCoreError."""
        cdef _Scanner scanner = _scanner(text, "SIP URI")
        cdef bint bracketed
        scanner.skip_lws()
        bracketed = scanner.peek() == u'<'
        if bracketed:
            scanner.pos += 1
        fields = scanner.sip_uri(False)
        if bracketed:
            if scanner.peek() != u'>':
                scanner.fail("expected '>' after the URI, found %s" % scanner.describe())
            scanner.pos += 1
        scanner.expect_end()
        return cls._from_fields(fields)

    def __str__(self):
        if self._host is None:
            raise ValueError("the SIPURI has no host")
        if self._user is None and self._password is not None:
            raise ValueError("a password needs a user")
        parameters = self._parameters
        headers = self._headers
        if not self._frozen:        # the dicts may have been changed in place
            parameters = _check_uri_parameters(parameters)
            headers = _check_uri_headers(headers)
        pieces = ["sips:" if self._secure else "sip:"]
        if self._user is not None:
            pieces.append(_escape(self._user, _URI_USER))
            if self._password is not None:
                pieces.append(":")
                pieces.append(_escape(self._password, _URI_PASSWORD))
            pieces.append("@")
        pieces.append(_format_host(self._host))
        if self._port is not None:
            pieces.append(":" + str(self._port))
        for name, value in parameters.items():
            pieces.append(";")
            pieces.append(_escape(name, _URI_PARAMETER))
            if value is not None:
                pieces.append("=")
                pieces.append(_escape(value, _URI_PARAMETER))
        separator = "?"
        for name, value in headers.items():
            pieces.append(separator)
            pieces.append(_escape(name, _URI_HEADER))
            pieces.append("=")
            pieces.append(_escape(value, _URI_HEADER))
            separator = "&"
        return "".join(pieces)

    def __eq__(self, other):
        if isinstance(other, _SIPURIBase):
            return _uri_equal(self, other)
        return NotImplemented

    def _key(self):
        # What every pair of equal URIs has in common (the hash of FrozenSIPURI).
        parameters = _lower_uri_parameters(self._parameters)
        return (self._secure, self._user, self._password, _host_key(self._host), self._port,
                tuple([(name, parameters[name]) for name in _SIGNIFICANT_URI_PARAMETERS if name in parameters]),
                frozenset([(name.lower(), value) for name, value in self._headers.items()]))

    def _args(self):
        return (self._host, self._user, self._password, self._port, self._parameters, self._headers, self._secure)

    def __repr__(self):
        arguments = []
        for name, value, default in (("host", self._host, None), ("user", self._user, None),
                                     ("password", self._password, None), ("port", self._port, None),
                                     ("parameters", self._parameters, {}), ("headers", self._headers, {}),
                                     ("secure", self._secure, False)):
            if value != default:
                arguments.append("%s=%r" % (name, value))
        return "%s(%s)" % (type(self).__name__, ", ".join(arguments))


_SIPURIBase._family = _SIPURIBase


cdef int _init_sip_uri(object uri, object host, object user, object password, object port, object parameters,
                       object headers, object secure) except -1:
    # The constructor of SIPURI and FrozenSIPURI; received URIs are built
    # with it directly (see _frozen_uri_from_pjsip).
    if host is not None:
        host = _check_host(host)
    elif uri._frozen:
        raise ValueError("a FrozenSIPURI needs a host")
    user = _check_userinfo(user, "user")
    password = _check_userinfo(password, "password")
    if password is not None and user is None:
        raise ValueError("a password needs a user")
    _assign_sip_uri(uri, _check_bool(secure, "secure"), user, password, host, _check_port(port),
                    _check_uri_parameters(parameters), _check_uri_headers(headers))
    return 0


cdef int _assign_sip_uri(object uri, object secure, object user, object password, object host, object port,
                         object parameters, object headers) except -1:
    cdef bint frozen = uri._frozen
    _set(uri, "_secure", secure)
    _set(uri, "_user", user)
    _set(uri, "_password", password)
    _set(uri, "_host", host)
    _set(uri, "_port", port)
    _set(uri, "_parameters", _freeze(parameters) if frozen else parameters)
    _set(uri, "_headers", _freeze(headers) if frozen else headers)
    return 0


class SIPURI(_SIPURIBase):
    """A sip: or sips: URI (RFC 3261 section 19.1). Mutable; see FrozenSIPURI.

    str() gives its text with every part escaped as RFC 3261 requires;
    SIPURI.parse(text) reads one. Equality follows RFC 3261 section 19.1.4.
    """

    __slots__ = ()
    __hash__ = None


class FrozenSIPURI(_FrozenValue, _SIPURIBase):
    """An immutable, hashable SIPURI."""

    __slots__ = ()


cdef object _uri_argument(object uri, bint frozen):
    if not isinstance(uri, _SIPURIBase):
        raise TypeError("uri must be a SIPURI or FrozenSIPURI, not %s" % type(uri).__name__)
    return FrozenSIPURI.new(uri) if frozen else SIPURI.new(uri)
