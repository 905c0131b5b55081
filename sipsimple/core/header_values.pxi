# SIP headers as value classes: the base every header class shares, the
# generic Header(name, body), and the headers that are neither an address nor
# a token with parameters (Via, Content-Type, Warning, Replaces, Retry-After,
# Subject). Address headers are in address_headers.pxi, token headers in
# token_headers.pxi; their conversion from and to PJSIP in pjsip_headers.pxi.

class _HeaderBase(_Value):
    """Shared by every header: `name`, `body` (the text after "Name: ") and str(h) == h.body."""

    __slots__ = ()
    name = None
    _quoted_parameters = frozenset()

    @property
    def body(self):
        """The header's value as text: what follows "Name: " in a message."""
        return self._body()

    def __str__(self):
        return self._body()

    @classmethod
    def _what(cls):
        return "%s header" % cls.name

    def _make_parameters(self, parameters):
        parameters = self._check_parameters(_check_header_parameters(parameters))
        return _freeze(parameters) if self._frozen else parameters

    def _check_parameters(self, parameters):
        # Checks (and canonical forms) of the parameters a class knows.
        return parameters

    def _parameters_text(self, via=False, feature_tags=False):
        parameters = self._parameters
        if not parameters and _is_mapping(parameters):
            return ""               # most headers have none: nothing to check or format
        if not self._frozen:        # the dict may have been changed in place
            parameters = self._check_parameters(_check_header_parameters(parameters))
        return _format_header_parameters(parameters, self._quoted_parameters, via, feature_tags)


def _set_header_parameters(self, value):
    self._parameters = self._make_parameters(value)


def _parameters_slot(str doc):
    """The `parameters` property of a header class; set, they go through the class's _check_parameters."""
    return property(operator.attrgetter("_parameters"), _set_header_parameters, doc=doc)


# Header(name, body): any header, its value kept as text.

class _GenericHeaderBase(_HeaderBase):
    __slots__ = ("_name", "_value")

    def __init__(self, name, body):
        _set(self, "_name", _check_token(name, "header name"))
        _set(self, "_value", _check_body(body))

    name = _slot("_name", "Header name.", lambda value: _check_token(value, "header name"))

    @property
    def body(self):
        """The header's value as text."""
        return self._value

    @body.setter
    def body(self, value):
        self._value = _check_body(value)

    def _body(self):
        return self._value

    @classmethod
    def parse(cls, text):
        """Read a whole header line, "Name: value" (folded lines allowed)."""
        _check_str(text, "text")
        name, colon, body = text.partition(":")
        name = name.rstrip(" \t")
        if not colon:
            raise SIPCoreError("Could not parse header %r: expected 'Name: value'" % text)
        if not _is_token(name):
            raise SIPCoreError("Could not parse header %r: invalid header name %r" % (text, name))
        return _parsed(cls, "header", text, (name, _unfold(body, "header").strip(" \t")))

    def _key(self):
        return (self._name.lower(), self._value)

    def _args(self):
        return (self._name, self._value)


_GenericHeaderBase._family = _GenericHeaderBase


cdef object _check_body(object body):
    _check_str(body, "body")
    _check_text(body, "body")
    return body


class Header(_GenericHeaderBase):
    """Any header as a name and a body of text (mutable; see FrozenHeader). Header.parse("Name: value")."""

    __slots__ = ()
    __hash__ = None


class FrozenHeader(_FrozenValue, _GenericHeaderBase):
    """An immutable, hashable Header."""

    __slots__ = ()

    @classmethod
    def _unchecked(cls, name, body):
        # For received headers, which PJSIP has already accepted.
        header = cls.__new__(cls)
        _set(header, "_name", name)
        _set(header, "_value", body)
        return header


# Via

class _ViaHeaderBase(_HeaderBase):
    __slots__ = ("_transport", "_host", "_port", "_parameters")
    name = "Via"

    def __init__(self, transport, host, port=None, parameters=None):
        _set(self, "_transport", _check_token(transport, "transport"))
        _set(self, "_host", _check_host(host))
        _set(self, "_port", _check_port(port))
        _set(self, "_parameters", self._make_parameters(parameters))

    transport = _slot("_transport", "Transport (UDP, TCP, TLS, ...).", lambda value: _check_token(value, "transport"))
    host = _slot("_host", "Host of sent-by (IPv6 addresses without brackets).", lambda value: _check_host(value))
    port = _slot("_port", "Port of sent-by, or None.", lambda value: _check_port(value))
    parameters = _parameters_slot("Via parameters: name -> value (None for a parameter without value).")

    def _check_parameters(self, parameters):
        name = _find_parameter(parameters, "ttl")
        if name is not None:
            parameters[name] = _canonical_number(parameters[name], "parameter ttl", 255)
        name = _find_parameter(parameters, "rport")
        if name is not None and parameters[name] is not None:
            parameters[name] = _canonical_number(parameters[name], "parameter rport", 65535)
        return parameters

    def _body(self):
        text = "SIP/2.0/%s %s" % (self._transport, _format_host(self._host))
        if self._port is not None:
            text += ":%d" % self._port
        return text + self._parameters_text(via=True)

    @classmethod
    def parse(cls, text):
        cdef _Scanner scanner = _scanner(text, cls._what())
        cdef Py_ssize_t position
        scanner.skip_lws()
        protocol = scanner.token("protocol name")
        scanner.expect(u'/', "after the protocol name")
        version = scanner.token("protocol version")
        scanner.expect(u'/', "after the protocol version")
        transport = scanner.token("transport")
        if protocol.upper() != "SIP" or version != "2.0":
            scanner.fail("unsupported protocol %s/%s (expected SIP/2.0)" % (protocol, version), 0)
        position = scanner.pos
        scanner.skip_lws()
        if scanner.pos == position:
            scanner.fail("expected whitespace after the transport, found %s" % scanner.describe())
        host = scanner.host()
        port = None
        if scanner.accept(u':'):
            port = scanner.number("port number", 65535)
        parameters = scanner.header_parameters(True)
        scanner.expect_end()
        return _parsed(cls, cls._what(), text, (transport, host, port, parameters))

    @property
    def branch(self):
        """The branch parameter, or None."""
        return _get_parameter(self._parameters, "branch")

    @branch.setter
    def branch(self, value):
        _put_parameter(self._parameters, "branch", _token_parameter_value(value, "branch"))

    @property
    def received(self):
        """The received parameter, or None."""
        return _get_parameter(self._parameters, "received")

    @received.setter
    def received(self, value):
        if value is not None:
            _check_str(value, "received")
            if _VIA_VALUE.fullmatch(value) is None:
                raise ValueError("received must be an address, not %r" % value)
        _put_parameter(self._parameters, "received", _MISSING if value is None else value)

    @property
    def rport(self):
        """The rport parameter: None when absent, 0 when present without a value, else the port."""
        name = _find_parameter(self._parameters, "rport")
        if name is None:
            return None
        value = self._parameters[name]
        return 0 if value is None else int(value)

    @rport.setter
    def rport(self, value):
        if value is None:
            _put_parameter(self._parameters, "rport", _MISSING)
        elif _check_int(value, "rport", 0, 65535) == 0:
            _put_parameter(self._parameters, "rport", None)
        else:
            _put_parameter(self._parameters, "rport", str(value))

    def _key(self):
        return (self._transport.upper(), _host_key(self._host), self._port, _params_key(self._parameters))

    def _args(self):
        return (self._transport, self._host, self._port, self._parameters)


_ViaHeaderBase._family = _ViaHeaderBase


class ViaHeader(_ViaHeaderBase):
    """Via: SIP/2.0/<transport> <host>[:<port>];params (mutable; see FrozenViaHeader)."""

    __slots__ = ()
    __hash__ = None


class FrozenViaHeader(_FrozenValue, _ViaHeaderBase):
    """An immutable, hashable ViaHeader."""

    __slots__ = ()


# Content-Type

cdef object _check_content_type(object value):
    _check_str(value, "content_type")
    kind, slash, subtype = value.partition("/")
    if not slash or not _is_token(kind) or not _is_token(subtype):
        raise ValueError("content_type must be type/subtype (two tokens), not %r" % value)
    return value


class _ContentTypeHeaderBase(_HeaderBase):
    __slots__ = ("_content_type", "_parameters")
    name = "Content-Type"

    def __init__(self, content_type, parameters=None):
        _set(self, "_content_type", _check_content_type(content_type))
        _set(self, "_parameters", self._make_parameters(parameters))

    content_type = _slot("_content_type", "The media type, \"type/subtype\".", lambda value: _check_content_type(value))
    parameters = _parameters_slot("Media type parameters: name -> value.")

    @property
    def type(self):
        """The part of content_type before '/'."""
        return self._content_type.partition("/")[0]

    @property
    def subtype(self):
        """The part of content_type after '/'."""
        return self._content_type.partition("/")[2]

    def _body(self):
        return self._content_type + self._parameters_text()

    @classmethod
    def parse(cls, text):
        cdef _Scanner scanner = _scanner(text, cls._what())
        scanner.skip_lws()
        kind = scanner.token("media type")
        scanner.expect(u'/', "after the media type")
        subtype = scanner.token("media subtype")
        parameters = scanner.header_parameters()
        scanner.expect_end()
        return _parsed(cls, cls._what(), text, ("%s/%s" % (kind, subtype), parameters))

    def _key(self):
        return (self._content_type.lower(), _params_key(self._parameters))

    def _args(self):
        return (self._content_type, self._parameters)


_ContentTypeHeaderBase._family = _ContentTypeHeaderBase


class ContentTypeHeader(_ContentTypeHeaderBase):
    """Content-Type: type/subtype;params. Mutable; see FrozenContentTypeHeader."""

    __slots__ = ()
    __hash__ = None


class FrozenContentTypeHeader(_FrozenValue, _ContentTypeHeaderBase):
    """An immutable, hashable ContentTypeHeader."""

    __slots__ = ()


# Warning (RFC 3261 section 20.43): code agent "text"

cdef object _check_warn_agent(object agent):
    _check_str(agent, "agent")
    if _is_token(agent):
        return agent
    match = _WARN_AGENT_HOSTPORT.fullmatch(agent)
    if match is not None:
        host = match.group("host")
        if host.startswith("["):
            valid = _is_ipv6(host[1:-1])
        else:
            valid = _is_valid_host(host)
        if valid and (match.group("port") is None or int(match.group("port")) <= 65535):
            return agent
    raise ValueError("agent must be a host[:port] or a token, not %r" % agent)


cdef object _check_warning_text(object value):
    _check_str(value, "text")
    _check_text(value, "text")
    return value


class _WarningHeaderBase(_HeaderBase):
    __slots__ = ("_code", "_agent", "_text")
    name = "Warning"

    def __init__(self, code, agent, text):
        _set(self, "_code", _check_int(code, "code", 100, 999))
        _set(self, "_agent", _check_warn_agent(agent))
        _set(self, "_text", _check_warning_text(text))

    code = _slot("_code", "Three-digit warning code.", lambda value: _check_int(value, "code", 100, 999))
    agent = _slot("_agent", "Host (and port) or pseudonym of the agent adding the warning.",
                  lambda value: _check_warn_agent(value))
    text = _slot("_text", "Warning text.", lambda value: _check_warning_text(value))

    def _body(self):
        return "%d %s %s" % (self._code, self._agent, _quote(self._text, "text"))

    @classmethod
    def parse(cls, text):
        cdef _Scanner scanner = _scanner(text, cls._what())
        cdef Py_ssize_t start
        scanner.skip_lws()
        start = scanner.pos
        code = scanner.number("warning code", 999)
        if scanner.pos - start != 3:
            scanner.fail("the warning code must have three digits", start)
        start = scanner.pos
        scanner.skip_lws()
        if scanner.pos == start:
            scanner.fail("expected whitespace after the warning code, found %s" % scanner.describe())
        start = scanner.pos
        while scanner.pos < scanner.length and scanner.text[scanner.pos] not in u" \t\r\n\"":
            scanner.pos += 1
        agent = scanner.text[start:scanner.pos]
        if not agent:
            scanner.fail("expected warning agent, found %s" % scanner.describe())
        try:
            _check_warn_agent(agent)
        except ValueError as error:
            scanner.fail(str(error), start)
        start = scanner.pos
        scanner.skip_lws()
        if scanner.pos == start:
            scanner.fail("expected whitespace after the warning agent, found %s" % scanner.describe())
        warning_text = scanner.quoted_string()
        scanner.expect_end()
        return _parsed(cls, cls._what(), text, (code, agent, warning_text))

    def _key(self):
        return (self._code, self._agent.lower(), self._text)

    def _args(self):
        return (self._code, self._agent, self._text)


_WarningHeaderBase._family = _WarningHeaderBase


class WarningHeader(_WarningHeaderBase):
    """Warning: 399 host "text" (one warning value). Mutable; see FrozenWarningHeader."""

    __slots__ = ()
    __hash__ = None


class FrozenWarningHeader(_FrozenValue, _WarningHeaderBase):
    """An immutable, hashable WarningHeader."""

    __slots__ = ()


# Replaces (RFC 3891): call-id;from-tag=...;to-tag=...[;early-only]

_CALL_ID = re.compile(r"[A-Za-z0-9\-.!%*_+`'~()<>:\\\"/\[\]?{}]+(?:@[A-Za-z0-9\-.!%*_+`'~()<>:\\\"/\[\]?{}]+)?")
_REPLACES_PARAMETERS = ("from-tag", "to-tag", "early-only")


cdef object _check_call_id(object value):
    _check_str(value, "call_id")
    if _CALL_ID.fullmatch(value) is None:
        raise ValueError("call_id must be word[@word] (RFC 3261 callid), not %r" % value)
    return value


class _ReplacesHeaderBase(_HeaderBase):
    __slots__ = ("_call_id", "_from_tag", "_to_tag", "_early_only", "_parameters")
    name = "Replaces"

    def __init__(self, call_id, from_tag, to_tag, early_only=False, parameters=None):
        _set(self, "_call_id", _check_call_id(call_id))
        _set(self, "_from_tag", _check_token(from_tag, "from_tag"))
        _set(self, "_to_tag", _check_token(to_tag, "to_tag"))
        _set(self, "_early_only", _check_bool(early_only, "early_only"))
        _set(self, "_parameters", self._make_parameters(parameters))

    call_id = _slot("_call_id", "Call-ID of the dialog to replace.", lambda value: _check_call_id(value))
    from_tag = _slot("_from_tag", "From tag of the dialog to replace.", lambda value: _check_token(value, "from_tag"))
    to_tag = _slot("_to_tag", "To tag of the dialog to replace.", lambda value: _check_token(value, "to_tag"))
    early_only = _slot("_early_only", "Replace the dialog only while it is early.",
                       lambda value: _check_bool(value, "early_only"))
    parameters = _parameters_slot("Other parameters: name -> value.")

    def _check_parameters(self, parameters):
        for name in parameters:
            if name.lower() in _REPLACES_PARAMETERS:
                raise ValueError("give %s as its own argument, not in parameters" % name.lower().replace("-", "_"))
        return parameters

    def _body(self):
        text = "%s;from-tag=%s;to-tag=%s" % (self._call_id, self._from_tag, self._to_tag)
        if self._early_only:
            text += ";early-only"
        return text + self._parameters_text()

    @classmethod
    def parse(cls, text):
        cdef _Scanner scanner = _scanner(text, cls._what())
        cdef Py_ssize_t start
        scanner.skip_lws()
        start = scanner.pos
        while scanner.pos < scanner.length and (_is_word_char(scanner.text[scanner.pos])
                                                or scanner.text[scanner.pos] == u'@'):
            scanner.pos += 1
        call_id = scanner.text[start:scanner.pos]
        if not call_id:
            scanner.fail("expected Call-ID, found %s" % scanner.describe())
        if _CALL_ID.fullmatch(call_id) is None:
            scanner.fail("invalid Call-ID %r" % call_id, start)
        parameters = scanner.header_parameters()
        scanner.expect_end()
        found = {}
        for name in list(parameters):
            if name.lower() in _REPLACES_PARAMETERS:
                found[name.lower()] = parameters.pop(name)
        for name in ("from-tag", "to-tag"):
            if found.get(name) is None:
                raise SIPCoreError("Could not parse %s %r: %s missing" % (cls._what(), text, name))
        if "early-only" in found and found["early-only"] is not None:
            raise SIPCoreError("Could not parse %s %r: early-only takes no value" % (cls._what(), text))
        return _parsed(cls, cls._what(), text, (call_id, found["from-tag"], found["to-tag"], "early-only" in found,
                                                parameters))

    def _key(self):
        return (self._call_id, self._from_tag, self._to_tag, self._early_only, _params_key(self._parameters))

    def _args(self):
        return (self._call_id, self._from_tag, self._to_tag, self._early_only, self._parameters)


_ReplacesHeaderBase._family = _ReplacesHeaderBase


class ReplacesHeader(_ReplacesHeaderBase):
    """Replaces: call-id;from-tag=...;to-tag=...[;early-only] (RFC 3891). Mutable."""

    __slots__ = ()
    __hash__ = None


class FrozenReplacesHeader(_FrozenValue, _ReplacesHeaderBase):
    """An immutable, hashable ReplacesHeader."""

    __slots__ = ()


# Retry-After: seconds [(comment)];params

cdef object _check_comment(object value):
    if value is None:
        return None
    _check_str(value, "comment")
    _check_text(value, "comment")
    return value or None


class _RetryAfterHeaderBase(_HeaderBase):
    __slots__ = ("_seconds", "_comment", "_parameters")
    name = "Retry-After"

    def __init__(self, seconds, comment=None, parameters=None):
        _set(self, "_seconds", _check_int(seconds, "seconds", 0, 2 ** 31 - 1))
        _set(self, "_comment", _check_comment(comment))
        _set(self, "_parameters", self._make_parameters(parameters))

    seconds = _slot("_seconds", "Seconds after which to retry.",
                    lambda value: _check_int(value, "seconds", 0, 2 ** 31 - 1))
    comment = _slot("_comment", "Comment, or None.", lambda value: _check_comment(value))
    parameters = _parameters_slot("Parameters (duration, ...): name -> value.")

    def _check_parameters(self, parameters):
        name = _find_parameter(parameters, "duration")
        if name is not None:
            parameters[name] = _canonical_number(parameters[name], "parameter duration", _MAX_DELTA_SECONDS)
        return parameters

    def _body(self):
        text = str(self._seconds)
        if self._comment is not None:
            _check_text(self._comment, "comment")
            text += " (%s)" % self._comment.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        return text + self._parameters_text()

    @classmethod
    def parse(cls, text):
        cdef _Scanner scanner = _scanner(text, cls._what())
        cdef Py_ssize_t start
        scanner.skip_lws()
        seconds = scanner.number("seconds", 2 ** 31 - 1)
        comment = None
        start = scanner.pos
        scanner.skip_lws()
        if scanner.peek() == u'(':
            comment = scanner.delimited(u'(', u')', "comment")
        else:
            scanner.pos = start
        parameters = scanner.header_parameters()
        scanner.expect_end()
        return _parsed(cls, cls._what(), text, (seconds, comment, parameters))

    def _key(self):
        return (self._seconds, self._comment, _params_key(self._parameters))

    def _args(self):
        return (self._seconds, self._comment, self._parameters)


_RetryAfterHeaderBase._family = _RetryAfterHeaderBase


class RetryAfterHeader(_RetryAfterHeaderBase):
    """Retry-After: seconds [(comment)];params. Mutable; see FrozenRetryAfterHeader."""

    __slots__ = ()
    __hash__ = None


class FrozenRetryAfterHeader(_FrozenValue, _RetryAfterHeaderBase):
    """An immutable, hashable RetryAfterHeader."""

    __slots__ = ()


# Subject

cdef object _check_subject(object value):
    _check_str(value, "subject")
    _check_text(value, "subject")
    return value


class _SubjectHeaderBase(_HeaderBase):
    __slots__ = ("_subject",)
    name = "Subject"

    def __init__(self, subject):
        _set(self, "_subject", _check_subject(subject))

    subject = _slot("_subject", "The subject text.", lambda value: _check_subject(value))

    def _body(self):
        return self._subject

    @classmethod
    def parse(cls, text):
        _check_str(text, "text")
        return _parsed(cls, cls._what(), text, (_unfold(text, cls._what()).strip(" \t"),))

    def _key(self):
        return (self._subject,)

    def _args(self):
        return (self._subject,)


_SubjectHeaderBase._family = _SubjectHeaderBase


class SubjectHeader(_SubjectHeaderBase):
    """Subject: text. Mutable; see FrozenSubjectHeader."""

    __slots__ = ()
    __hash__ = None


class FrozenSubjectHeader(_FrozenValue, _SubjectHeaderBase):
    """An immutable, hashable SubjectHeader."""

    __slots__ = ()


cdef object _header_text(object header):
    # The body of a header object, or the text of a str. .body is a property
    # that formats the header, so it is read once (hasattr() would format it
    # a first time for nothing).
    if header is None:
        return None
    body = getattr(header, "body", _MISSING)
    return str(header if body is _MISSING else body)
