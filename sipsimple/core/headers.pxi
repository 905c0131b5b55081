# SIP URIs, credentials and SIP headers: the value classes applications give
# to the core and get from it, their text form (X.parse(text), str(x)), and
# their conversion from the structures PJSIP builds for received messages.
#
# Every class comes in a mutable form and a Frozen form (immutable and
# hashable); X.new(x) and FrozenX.new(x) convert between them, and the two
# forms of a class compare equal when their values are equal.
#
# Why our own parser. X.parse() reads text with the strict parser below rather
# than with PJSIP's. PJSIP's parser is lenient where we want errors (any text
# between '[' and ']' is a host, "expires=abc" reads as 0, an unquoted display
# name may hold any character), loses what the classes keep (the order of
# parameters, "q=0", whether a value was quoted) and gives no reason when it
# fails. Ours follows RFC 3261's grammar, names the problem and its position,
# and stays inside what PJSIP accepts: the tests have PJSIP parse whatever
# str() produces and check that its structures convert back into an equal
# object. PJSIP's parser is still what reads received messages (the
# _frozen_*_from_pjsip functions convert its structures), and what turns our
# objects into PJSIP structures for sending (_pjsip_uri_from_uri,
# _pjsip_hdr_from_header), with or without a running Engine.

from cpython.object cimport PyObject_GenericSetAttr
from libc.string cimport memcpy

import collections.abc
import ipaddress
import operator
import re
from collections.abc import Mapping
from urllib.parse import unquote as _percent_decode


cdef inline int _set(object target, str name, object value) except -1:
    # object.__setattr__(target, name, value), which the Frozen classes'
    # constructors use to store past their __setattr__, without the call
    # through Python (the constructors of received URIs and headers make
    # many of these).
    return PyObject_GenericSetAttr(target, name, value)


# --- characters ------------------------------------------------------------

cdef inline bint _is_alpha(Py_UCS4 c) noexcept:
    return (c >= u'a' and c <= u'z') or (c >= u'A' and c <= u'Z')


cdef inline bint _is_digit(Py_UCS4 c) noexcept:
    return c >= u'0' and c <= u'9'


cdef inline bint _is_alnum(Py_UCS4 c) noexcept:
    return _is_alpha(c) or _is_digit(c)


cdef inline bint _is_hex(Py_UCS4 c) noexcept:
    return _is_digit(c) or (c >= u'a' and c <= u'f') or (c >= u'A' and c <= u'F')


cdef inline bint _is_unreserved(Py_UCS4 c) noexcept:
    return _is_alnum(c) or c in u"-_.!~*'()"


cdef inline bint _is_token_char(Py_UCS4 c) noexcept:
    return _is_alnum(c) or c in u"-.!%*_+`'~"


cdef inline bint _is_host_char(Py_UCS4 c) noexcept:
    return _is_alnum(c) or c in u"-._"


cdef inline bint _is_word_char(Py_UCS4 c) noexcept:
    # RFC 3261 "word" (Call-ID): token characters and a few more.
    return _is_alnum(c) or c in u"-.!%*_+`'~()<>:\\\"/[]?{}"


# What each part of a SIP URI may hold unescaped (RFC 3261 section 25.1).
cdef enum _UriPart:
    _URI_USER
    _URI_PASSWORD
    _URI_PARAMETER
    _URI_HEADER


cdef inline bint _uri_char_allowed(Py_UCS4 c, int part) noexcept:
    if _is_unreserved(c):
        return True
    if part == _URI_USER:
        return c in u"&=+$,;?/"
    if part == _URI_PASSWORD:
        return c in u"&=+$,"
    if part == _URI_PARAMETER:
        return c in u"[]/:&+$"
    return c in u"[]/?:+$"


cdef str _escape(str value, int part):
    """The text of one URI part with every character it may not hold as %XX (UTF-8)."""
    cdef Py_UCS4 c
    for c in value:
        if not _uri_char_allowed(c, part):
            break
    else:
        return value
    pieces = []
    for c in value:
        if _uri_char_allowed(c, part):
            pieces.append(c)
        else:
            pieces.extend(["%%%02X" % byte for byte in c.encode("utf-8", "surrogateescape")])
    return "".join(pieces)


_TOKEN = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+")
_VIA_VALUE = re.compile(r"[A-Za-z0-9\-.!%*_+`'~\[\]:]+")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_FOLD = re.compile(r"\r?\n[ \t]+")
_QUOTED_PAIR = re.compile(r"\\(.)", re.DOTALL)
_HOSTNAME = re.compile(r"(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?\.)*"
                       r"[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?\.?")
_NUMERIC_HOST = re.compile(r"[0-9.]+")
_IPV4 = re.compile(r"(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|0?[0-9]?[0-9])\.){3}"
                   r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|0?[0-9]?[0-9])")
_WARN_AGENT_HOSTPORT = re.compile(r"(?P<host>\[[^\]]*\]|[A-Za-z0-9._-]+)(?::(?P<port>[0-9]{1,5}))?")
_DIGITS = re.compile(r"[0-9]+")
_QVALUE = re.compile(r"(?:0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?)")

# Longest run of digits taken as a number (2**32 - 1 has 10 digits).
cdef enum:
    _MAX_DIGITS = 10

_MAX_DELTA_SECONDS = 2 ** 32 - 2


cdef inline bint _is_token(str value):
    # A loop over the characters (the same set as _TOKEN) rather than a
    # regular expression call, which costs far more on these short values.
    cdef Py_UCS4 c
    if not value:
        return False
    for c in value:
        if not _is_token_char(c):
            return False
    return True


cdef bint _is_ipv6(str host):
    if "%" in host:         # a zone index has no place in a SIP URI
        return False
    try:
        ipaddress.IPv6Address(host)
    except ValueError:
        return False
    return True


# Hosts already judged by _is_valid_host: the same few hosts come back in
# every URI, and judging one takes regular expressions (or an ipaddress
# object). Cleared when full, so that it stays small.
cdef dict _host_validity = {}
cdef Py_ssize_t _HOST_VALIDITY_MAX = 1024


cdef inline int _remember(dict cache, Py_ssize_t limit, object key, object value) except -1:
    # A result kept in one of the small caches of values computed over and
    # over; a full cache is emptied, so that it stays small without tracking use.
    if len(cache) >= limit:
        cache.clear()
    cache[key] = value
    return 0


cdef bint _is_valid_host(str host):
    """A host name, an IPv4 address or an IPv6 address (without brackets)."""
    cdef bint valid
    known = _host_validity.get(host)
    if known is not None:
        return known
    valid = _judge_host(host)
    _remember(_host_validity, _HOST_VALIDITY_MAX, host, valid)
    return valid


cdef bint _judge_host(str host):
    if ":" in host:
        return _is_ipv6(host)
    if _NUMERIC_HOST.fullmatch(host) is not None:
        return _IPV4.fullmatch(host) is not None
    return _HOSTNAME.fullmatch(host) is not None


cdef object _host_key(object host):
    # Host names compare case-insensitively; IPv6 addresses by value.
    if host is None:
        return None
    if ":" in host:
        return ipaddress.IPv6Address(host).compressed
    return host.lower()


cdef str _format_host(str host):
    return "[%s]" % host if ":" in host else host


cdef str _unquote(str text):
    """The content of a quoted string or comment, its backslash escapes resolved."""
    if "\\" not in text:
        return text
    return _QUOTED_PAIR.sub(r"\1", text)


cdef str _quote(str value, str what):
    _check_text(value, what)
    return '"%s"' % value.replace("\\", "\\\\").replace('"', '\\"')


cdef str _unfold(str text, str what):
    """A header value on one line: folded lines joined, no other line break allowed."""
    text = _FOLD.sub(" ", text.rstrip("\r\n"))
    if "\r" in text or "\n" in text:
        raise SIPCoreError("Could not parse %s %r: line break not followed by whitespace" % (what, text))
    return text


# --- argument checks -------------------------------------------------------

cdef object _check_str(object value, str what):
    if not isinstance(value, str):
        raise TypeError("%s must be a str, not %s" % (what, type(value).__name__))
    return value


cdef int _check_encodable(str value, str what) except -1:
    try:
        value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raise ValueError("%s cannot be encoded as UTF-8: %r" % (what, value)) from None
    return 0


cdef bint _is_plain_text(str value):
    # Neither control characters (_CONTROL) nor surrogates (the only
    # characters that may not encode): what _check_text lets through, found
    # in one pass instead of a regular expression and an encoding.
    cdef Py_UCS4 c
    for c in value:
        if (c < 0x20 and c != 0x09) or c == 0x7f or 0xd800 <= c <= 0xdfff:
            return False
    return True


cdef int _check_text(str value, str what) except -1:
    """Text that goes into a header as it is: no line breaks or other control characters but tab."""
    if _is_plain_text(value):
        return 0
    match = _CONTROL.search(value)
    if match is not None:
        raise ValueError("%s must not contain control characters (found %r)" % (what, match.group()))
    _check_encodable(value, what)
    return 0


cdef object _check_token(object value, str what):
    _check_str(value, what)
    if not _is_token(value):
        raise ValueError("%s must be a token (letters, digits and -.!%%*_+`'~), not %r" % (what, value))
    return value


cdef bint _check_bool(object value, str what) except -1:
    if not isinstance(value, bool):
        raise TypeError("%s must be a bool, not %s" % (what, type(value).__name__))
    return value


cdef object _check_int(object value, str what, object low, object high):
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("%s must be an int, not %s" % (what, type(value).__name__))
    if not low <= value <= high:
        raise ValueError("%s must be between %d and %d, not %d" % (what, low, high, value))
    return int(value)


cdef object _check_port(object port):
    if port is None:
        return None
    return _check_int(port, "port", 0, 65535)


cdef str _check_host(object host):
    _check_str(host, "host")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host:
        raise ValueError("host must not be empty")
    if not _is_valid_host(host):
        raise ValueError("invalid host %r: not a host name, an IPv4 address or an IPv6 address" % host)
    return host


cdef object _check_userinfo(object value, str what):
    if value is None:
        return None
    _check_str(value, what)
    if not value:
        raise ValueError("%s must not be empty (use None for none)" % what)
    _check_encodable(value, what)
    return value


cdef object _check_display_name(object value):
    if value is None:
        return None
    _check_str(value, "display_name")
    if not value:
        return None
    _check_text(value, "display_name")
    return value


cdef str _canonical_number(object value, str what, object high):
    """Digits of a number between 0 and high, without leading zeros."""
    if not isinstance(value, str) or _DIGITS.fullmatch(value) is None or len(value) > _MAX_DIGITS \
            or int(value) > high:
        raise ValueError("%s must be a number between 0 and %d, not %r" % (what, high, value))
    return str(int(value))


cdef bint _is_mapping(object value):
    # isinstance(value, Mapping) goes through the ABC machinery, thousands of
    # instructions each time; the dicts and frozendicts every caller passes
    # are recognised without it.
    if isinstance(value, dict) or type(value) is frozendict:
        return True
    return isinstance(value, Mapping)


cdef dict _check_uri_parameters(object parameters):
    if parameters is None:
        return {}
    if not _is_mapping(parameters):
        raise TypeError("parameters must be a mapping, not %s" % type(parameters).__name__)
    if not parameters:
        return {}
    result = {}
    seen = set()
    for name, value in parameters.items():
        _check_str(name, "URI parameter name")
        if not name:
            raise ValueError("URI parameter names must not be empty")
        _check_encodable(name, "URI parameter name")
        lower_name = name.lower()
        if lower_name in seen:
            raise ValueError("URI parameter %r is given twice" % name)
        seen.add(lower_name)
        if value is not None:
            _check_str(value, "value of URI parameter %r" % name)
            if not value:
                raise ValueError("value of URI parameter %r must not be empty (use None for a parameter without value)"
                                 % name)
            _check_encodable(value, "value of URI parameter %r" % name)
            if lower_name == "ttl":
                value = _canonical_number(value, "URI parameter ttl", 255)
        result[name] = value
    return result


cdef dict _check_uri_headers(object headers):
    if headers is None:
        return {}
    if not _is_mapping(headers):
        raise TypeError("headers must be a mapping, not %s" % type(headers).__name__)
    if not headers:
        return {}
    result = {}
    seen = set()
    for name, value in headers.items():
        _check_str(name, "URI header name")
        if not name:
            raise ValueError("URI header names must not be empty")
        _check_encodable(name, "URI header name")
        if name.lower() in seen:
            raise ValueError("URI header %r is given twice" % name)
        seen.add(name.lower())
        _check_str(value, "value of URI header %r" % name)
        _check_encodable(value, "value of URI header %r" % name)
        result[name] = value
    return result


cdef dict _check_header_parameters(object parameters):
    if parameters is None:
        return {}
    if not _is_mapping(parameters):
        raise TypeError("parameters must be a mapping, not %s" % type(parameters).__name__)
    if not parameters:
        return {}
    result = {}
    seen = set()
    for name, value in parameters.items():
        _check_token(name, "parameter name")
        if name.lower() in seen:
            raise ValueError("parameter %r is given twice" % name)
        seen.add(name.lower())
        # The label of an error is only formatted for a value that has one.
        if value is not None and not (isinstance(value, str) and _is_plain_text(value)):
            _check_str(value, "value of parameter %r" % name)
            _check_text(value, "value of parameter %r" % name)
        result[name] = value
    return result


# --- parameters looked up by name, whatever its case ---------------------------

cdef object _find_parameter(object parameters, str lower_name):
    """The key under which `parameters` holds lower_name (compared case-insensitively), or None."""
    if lower_name in parameters:
        return lower_name
    for name in parameters:
        if name.lower() == lower_name:
            return name
    return None


_MISSING = object()


cdef object _get_parameter(object parameters, str lower_name, object default=None):
    name = _find_parameter(parameters, lower_name)
    return default if name is None else parameters[name]


cdef int _put_parameter(dict parameters, str lower_name, object value) except -1:
    """Set (value: str or None for a flag) or, with _MISSING, remove a parameter."""
    name = _find_parameter(parameters, lower_name)
    if name is not None:
        del parameters[name]
    if value is not _MISSING:
        parameters[lower_name] = value
    return 0


cdef object _get_number_parameter(object parameters, str lower_name):
    value = _get_parameter(parameters, lower_name)
    if value is None:
        return None
    if _DIGITS.fullmatch(value) is None:
        raise ValueError("parameter %s is not a number: %r" % (lower_name, value))
    return int(value)


cdef object _number_parameter_value(object value, str what, object high):
    if value is None:
        return _MISSING
    return str(_check_int(value, what, 0, high))


cdef object _token_parameter_value(object value, str what):
    if value is None:
        return _MISSING
    return _check_token(value, what)


cdef object _params_key(object parameters):
    # Parameter names compare case-insensitively, values exactly.
    return frozenset([(name.lower(), value) for name, value in parameters.items()])


cdef str _format_header_parameters(object parameters, frozenset quoted, bint via, bint feature_tags):
    """;name[=value]... with each value unquoted when it may be, quoted otherwise.

    `quoted`: lower-case names whose values are always quoted; `via`: values
    that look like hosts (IPv6 addresses) are left unquoted, as in Via;
    `feature_tags`: values of "+name" parameters (RFC 3840 feature tags) are
    always quoted.
    """
    pieces = []
    for name, value in parameters.items():
        if not isinstance(name, str) or not _is_token(name):
            raise ValueError("parameter name %r is not a token" % (name,))
        if value is None:
            pieces.append(";" + name)
            continue
        if not isinstance(value, str):
            raise TypeError("value of parameter %r must be a str or None, not %s" % (name, type(value).__name__))
        if (value and name.lower() not in quoted and not (feature_tags and name.startswith("+"))
                and (_is_token(value) or (via and _VIA_VALUE.fullmatch(value) is not None))):
            pieces.append(";%s=%s" % (name, value))
        else:
            pieces.append(";%s=%s" % (name, _quote(value, "value of parameter %r" % name)))
    return "".join(pieces)


# --- an immutable mapping ----------------------------------------------------

class frozendict(Mapping):
    """An immutable, hashable dict (insertion ordered): the parameters of the Frozen classes.

    Equal to any mapping with the same items. Hashable when its values are.
    """

    __slots__ = ("_data", "_hash")

    def __init__(self, *args, **kwargs):
        _set(self, "_data", dict(*args, **kwargs))
        _set(self, "_hash", None)

    def __getitem__(self, key):
        return self._data[key]

    def __iter__(self):
        return iter(self._data)

    def __len__(self):
        return len(self._data)

    def __contains__(self, key):
        return key in self._data

    def get(self, key, default=None):
        return self._data.get(key, default)

    def keys(self):
        return self._data.keys()

    def values(self):
        return self._data.values()

    def items(self):
        return self._data.items()

    def copy(self):
        return self

    def __eq__(self, other):
        if isinstance(other, frozendict):
            return self._data == other._data
        if isinstance(other, dict):
            return self._data == other
        if isinstance(other, Mapping):
            return self._data == dict(other.items())
        return NotImplemented

    def __hash__(self):
        if self._hash is None:
            _set(self, "_hash", hash(frozenset(self._data.items())))
        return self._hash

    def __or__(self, other):
        if not isinstance(other, Mapping):
            return NotImplemented
        merged = dict(self._data)
        merged.update(other)
        return frozendict(merged)

    def __setattr__(self, name, value):
        raise AttributeError("frozendict objects are immutable")

    def __delattr__(self, name):
        raise AttributeError("frozendict objects are immutable")

    def __reduce__(self):
        return (frozendict, (self._data,))

    def __repr__(self):
        return "frozendict(%r)" % (self._data,)


# Most URIs have no parameters and no headers: their Frozen forms share one
# empty frozendict (it is immutable) instead of building one each.
_EMPTY_FROZENDICT = frozendict()


cdef object _freeze(object mapping):
    if not mapping:
        return _EMPTY_FROZENDICT
    # frozendict(mapping) without the calls through Python.
    frozen = frozendict.__new__(frozendict)
    _set(frozen, "_data", dict(mapping))
    _set(frozen, "_hash", None)
    return frozen


# --- the scanner ---------------------------------------------------------------
#
# One _Scanner reads one text. Its methods consume what they recognise and
# raise SIPCoreError("Could not parse <what> <text>: <problem> at position N")
# otherwise. Inside URIs no whitespace is allowed; between the elements of a
# header value linear whitespace (spaces, tabs, folded lines) is.

@cython.final
@cython.auto_pickle(False)
cdef class _Scanner:
    cdef str text
    cdef str what
    cdef Py_ssize_t pos
    cdef Py_ssize_t length

    def __cinit__(self, str text, str what):
        self.text = text
        self.what = what
        self.pos = 0
        self.length = len(text)

    cdef int fail(self, str problem, Py_ssize_t position=-1) except -1:
        if position < 0:
            position = self.pos
        raise SIPCoreError("Could not parse %s %r: %s at position %d" % (self.what, self.text, problem, position))

    cdef inline Py_UCS4 peek(self):
        # 0 at the end; a NUL in the text matches nothing the grammar expects either.
        if self.pos < self.length:
            return self.text[self.pos]
        return 0

    cdef str describe(self):
        if self.pos >= self.length:
            return "end of input"
        return repr(self.text[self.pos])

    cdef int skip_lws(self) except -1:
        """Skip spaces, tabs and folded line breaks (a line break followed by whitespace)."""
        cdef Py_UCS4 c
        cdef Py_ssize_t after
        while self.pos < self.length:
            c = self.text[self.pos]
            if c == u' ' or c == u'\t':
                self.pos += 1
            elif c == u'\r' or c == u'\n':
                after = self.pos + 1
                if c == u'\r':
                    if after < self.length and self.text[after] == u'\n':
                        after += 1
                    else:
                        self.fail("carriage return without line feed")
                if after >= self.length:
                    self.pos = after            # a line break ending the text
                elif self.text[after] == u' ' or self.text[after] == u'\t':
                    self.pos = after
                else:
                    self.fail("line break not followed by whitespace")
            else:
                break
        return 0

    cdef bint accept(self, Py_UCS4 c) except -1:
        """Consume `c`, with any whitespace around it, if it comes next."""
        cdef Py_ssize_t start = self.pos
        self.skip_lws()
        if self.peek() == c:
            self.pos += 1
            self.skip_lws()
            return True
        self.pos = start
        return False

    cdef int expect(self, Py_UCS4 c, str context) except -1:
        if not self.accept(c):
            self.skip_lws()
            self.fail("expected %r %s, found %s" % (c, context, self.describe()))
        return 0

    cdef int expect_end(self) except -1:
        self.skip_lws()
        if self.pos < self.length:
            if self.peek() == u',':
                self.fail("expected one value, found ',' (a list of values must be parsed one value at a time)")
            self.fail("unexpected %s" % self.describe())
        return 0

    cdef str token(self, str what):
        cdef Py_ssize_t start = self.pos
        while self.pos < self.length and _is_token_char(self.text[self.pos]):
            self.pos += 1
        if self.pos == start:
            self.fail("expected %s, found %s" % (what, self.describe()))
        return self.text[start:self.pos]

    cdef object number(self, str what, object high):
        cdef Py_ssize_t start = self.pos
        while self.pos < self.length and _is_digit(self.text[self.pos]):
            self.pos += 1
        if self.pos == start:
            self.fail("expected %s, found %s" % (what, self.describe()))
        if self.pos - start > _MAX_DIGITS or int(self.text[start:self.pos]) > high:
            self.fail("%s %s is out of range (0-%d)" % (what, self.text[start:self.pos], high), start)
        return int(self.text[start:self.pos])

    cdef str delimited(self, Py_UCS4 opening, Py_UCS4 closing, str what):
        """A quoted string or a comment: its content, escapes resolved, folds made spaces."""
        cdef Py_ssize_t start = self.pos
        cdef Py_ssize_t chunk
        cdef Py_ssize_t after
        cdef Py_UCS4 c
        pieces = []
        self.pos += 1
        chunk = self.pos
        while True:
            if self.pos >= self.length:
                self.fail("unterminated %s" % what, start)
            c = self.text[self.pos]
            if c == closing:
                pieces.append(self.text[chunk:self.pos])
                self.pos += 1
                return "".join(pieces)
            if c == u'\\':
                pieces.append(self.text[chunk:self.pos])
                if self.pos + 1 >= self.length:
                    self.fail("unterminated %s" % what, start)
                c = self.text[self.pos + 1]
                if c == u'\r' or c == u'\n' or c > u'\x7f':
                    self.fail("invalid escape %r in %s" % (c, what), self.pos)
                pieces.append(c)
                self.pos += 2
                chunk = self.pos
            elif c == u'\r' or c == u'\n':
                pieces.append(self.text[chunk:self.pos])
                after = self.pos + (2 if c == u'\r' and self.pos + 1 < self.length
                                    and self.text[self.pos + 1] == u'\n' else 1)
                if after < self.length and (self.text[after] == u' ' or self.text[after] == u'\t'):
                    while after < self.length and (self.text[after] == u' ' or self.text[after] == u'\t'):
                        after += 1
                    pieces.append(u" ")
                    self.pos = after
                    chunk = self.pos
                else:
                    self.fail("line break in %s" % what)
            elif opening == u'(' and c == u'(':
                self.fail("nested comments are not supported", self.pos)
            elif (c < u' ' and c != u'\t') or c == u'\x7f':
                self.fail("control character %r in %s" % (c, what))
            else:
                self.pos += 1

    cdef str quoted_string(self):
        if self.peek() != u'"':
            self.fail("expected '\"', found %s" % self.describe())
        return self.delimited(u'"', u'"', "quoted string")

    # -- URIs --

    cdef str uri_part(self, int part):
        """A run of characters allowed in `part` or %XX escapes, unescaped."""
        cdef Py_ssize_t start = self.pos
        cdef bint escaped = False
        cdef Py_UCS4 c
        while self.pos < self.length:
            c = self.text[self.pos]
            if c == u'%':
                if self.pos + 2 >= self.length or not _is_hex(self.text[self.pos + 1]) \
                        or not _is_hex(self.text[self.pos + 2]):
                    self.fail("invalid escape sequence %r" % self.text[self.pos:self.pos + 3])
                escaped = True
                self.pos += 3
            elif _uri_char_allowed(c, part) or (part == _URI_USER and c == u'#'):
                # PJSIP accepts (and we read) an unescaped '#' in the user part
                # that phones send; str() escapes it.
                self.pos += 1
            else:
                break
        if not escaped:
            return self.text[start:self.pos]
        return _percent_decode(self.text[start:self.pos], encoding="utf-8", errors="surrogateescape")

    cdef bint userinfo_follows(self):
        """Whether the URI at the current position has a user part (an '@' ends the characters it may hold)."""
        cdef Py_ssize_t position = self.pos
        cdef Py_UCS4 c
        while position < self.length:
            c = self.text[position]
            if c == u'@':
                return True
            if not (_uri_char_allowed(c, _URI_USER) or c == u':' or c == u'%' or c == u'#'):
                return False
            position += 1
        return False

    cdef bint scheme_follows(self):
        cdef Py_ssize_t position = self.pos
        if position >= self.length or not _is_alpha(self.text[position]):
            return False
        while position < self.length and (_is_alnum(self.text[position]) or self.text[position] in u"+-."):
            position += 1
        return position < self.length and self.text[position] == u':'

    cdef str host(self):
        cdef Py_ssize_t start = self.pos
        cdef Py_ssize_t end
        if self.peek() == u'[':
            end = self.text.find(u']', self.pos)
            if end < 0:
                self.fail("missing ']' after IPv6 address", start)
            address = self.text[self.pos + 1:end]
            if not _is_ipv6(address):
                self.fail("invalid IPv6 address %r" % address, start)
            self.pos = end + 1
            return address
        while self.pos < self.length and _is_host_char(self.text[self.pos]):
            self.pos += 1
        host = self.text[start:self.pos]
        if not host:
            self.fail("expected host, found %s" % self.describe())
        if not _is_valid_host(host):
            self.fail("invalid host %r" % host, start)
        return host

    cdef tuple sip_uri(self, bint bare):
        """(secure, user, password, host, port, parameters, headers) of a sip: or sips: URI.

        `bare`: the URI stands in a header value without '<' and '>', where a
        ';' starts the header's parameters (RFC 3261 section 20).
        """
        cdef Py_ssize_t start = self.pos
        cdef Py_ssize_t position
        while self.pos < self.length and (_is_alnum(self.text[self.pos]) or self.text[self.pos] in u"+-."):
            self.pos += 1
        if self.pos == start or self.peek() != u':':
            self.pos = start
            self.fail("expected a sip: or sips: URI, found %s" % self.describe())
        scheme = self.text[start:self.pos].lower()
        if scheme != "sip" and scheme != "sips":
            self.fail("unsupported URI scheme %r (only sip: and sips: URIs are supported)"
                      % self.text[start:self.pos], start)
        self.pos += 1
        user = password = None
        if self.userinfo_follows():
            position = self.pos
            user = self.uri_part(_URI_USER)
            if not user:
                self.fail("empty user part", position)
            if self.peek() == u':':
                self.pos += 1
                position = self.pos
                password = self.uri_part(_URI_PASSWORD)
                if not password:
                    self.fail("empty password", position)
            if self.peek() != u'@':
                self.fail("invalid character %s in the user part" % self.describe())
            self.pos += 1
        host = self.host()
        port = None
        if self.peek() == u':':
            self.pos += 1
            port = self.number("port number", 65535)
        parameters = {}
        headers = {}
        if bare:
            if self.peek() == u'?':
                self.fail("a URI with headers must be enclosed in '<' and '>'")
            return (scheme == "sips", user, password, host, port, parameters, headers)
        seen = set()
        while self.peek() == u';':
            self.pos += 1
            position = self.pos
            name = self.uri_part(_URI_PARAMETER)
            if not name:
                self.fail("expected URI parameter name, found %s" % self.describe())
            if name.lower() in seen:
                self.fail("URI parameter %r appears twice" % name, position)
            seen.add(name.lower())
            value = None
            if self.peek() == u'=':
                self.pos += 1
                value = self.uri_part(_URI_PARAMETER)
                if not value:
                    self.fail("expected value of URI parameter %r, found %s" % (name, self.describe()))
                if name.lower() == "ttl":
                    try:
                        value = _canonical_number(value, "URI parameter ttl", 255)
                    except ValueError as error:
                        self.fail(str(error), position)
            parameters[name] = value
        if self.peek() == u'?':
            lower_names = {}
            while True:
                self.pos += 1
                name = self.uri_part(_URI_HEADER)
                if not name:
                    self.fail("expected URI header name, found %s" % self.describe())
                if self.peek() != u'=':
                    self.fail("expected '=' after URI header name %r, found %s" % (name, self.describe()))
                self.pos += 1
                value = self.uri_part(_URI_HEADER)
                # A header repeated in the URI is the list of its values.
                earlier = lower_names.get(name.lower())
                if earlier is None:
                    lower_names[name.lower()] = name
                    headers[name] = value
                else:
                    headers[earlier] = headers[earlier] + "," + value
                if self.peek() != u'&':
                    break
        return (scheme == "sips", user, password, host, port, parameters, headers)

    # -- header values --

    cdef str token_display_name(self):
        """An unquoted display name: tokens separated by whitespace, up to '<'."""
        cdef Py_ssize_t start
        words = []
        if self.text.find(u'<', self.pos) < 0:
            self.fail("expected a sip: or sips: URI, found %s" % self.describe())
        while True:
            start = self.pos
            while self.pos < self.length and _is_token_char(self.text[self.pos]):
                self.pos += 1
            if self.pos == start:
                self.fail("invalid character %s in the display name (quote a display name that holds characters "
                          "other than letters, digits and -.!%%*_+`'~)" % self.describe())
            words.append(self.text[start:self.pos])
            self.skip_lws()
            if self.peek() == u'<':
                return " ".join(words)

    cdef tuple address(self, bint brackets_required, bint bare):
        """(display name, URI fields) of a name-addr or, unless brackets_required, an addr-spec."""
        cdef Py_UCS4 c
        display_name = None
        self.skip_lws()
        c = self.peek()
        if c == u'"':
            display_name = self.quoted_string()
            self.skip_lws()
            if self.peek() != u'<':
                self.fail("expected '<' after the display name, found %s" % self.describe())
        elif c != u'<':
            if self.scheme_follows():
                if brackets_required:
                    self.fail("expected '<' (this address must be enclosed in '<' and '>')")
                return (None, self.sip_uri(bare))
            display_name = self.token_display_name()
        self.pos += 1
        fields = self.sip_uri(False)
        if self.peek() != u'>':
            self.fail("expected '>' after the URI, found %s" % self.describe())
        self.pos += 1
        return (display_name, fields)

    cdef dict header_parameters(self, bint via=False):
        """*(;name[=value]): values are tokens or quoted strings (in Via also IPv6 addresses)."""
        cdef Py_ssize_t position
        parameters = {}
        seen = set()
        while self.accept(u';'):
            position = self.pos
            name = self.token("parameter name")
            if name.lower() in seen:
                self.fail("parameter %r appears twice" % name, position)
            seen.add(name.lower())
            value = None
            if self.accept(u'='):
                if self.peek() == u'"':
                    value = self.quoted_string()
                elif via:
                    position = self.pos
                    while self.pos < self.length and (_is_token_char(self.text[self.pos])
                                                      or self.text[self.pos] in u"[]:"):
                        self.pos += 1
                    if self.pos == position:
                        self.fail("expected value of parameter %r, found %s" % (name, self.describe()))
                    value = self.text[position:self.pos]
                else:
                    value = self.token("value of parameter %r" % name)
            parameters[name] = value
        return parameters


cdef _Scanner _scanner(object text, str what):
    return _Scanner(_check_str(text, "text"), what)


cdef object _parsed(object cls, str what, object text, tuple arguments):
    """cls(*arguments), a ValueError from the checks of the class being a parse error."""
    try:
        return cls(*arguments)
    except ValueError as error:
        raise SIPCoreError("Could not parse %s %r: %s" % (what, text, error)) from None


# --- shared behaviour of the value classes -------------------------------------
#
# A family is the pair X / FrozenX, sharing a base class (_family) that holds
# the state in __slots__ and the read side. Members of a family compare equal
# when their _key()s are equal; FrozenX hashes its _key(). The Frozen form
# refuses every attribute assignment; its constructor stores through _set.

class _Value:
    __slots__ = ()
    _frozen = False
    _family = None

    def __eq__(self, other):
        if isinstance(other, self._family):
            return self._key() == other._key()
        return NotImplemented

    @classmethod
    def new(cls, other):
        """A `cls` with the value of `other`, which is of the same kind (mutable or frozen)."""
        if not isinstance(other, cls._family):
            plain = cls.__name__[6:] if cls._frozen else cls.__name__
            raise TypeError("%s.new() needs a %s or Frozen%s, not %s" % (cls.__name__, plain, plain,
                                                                       type(other).__name__))
        if cls._frozen and type(other) is cls:
            return other
        return cls(*other._args())

    def __reduce__(self):
        return (type(self), self._args())

    def __repr__(self):
        return "%s(%s)" % (type(self).__name__, ", ".join([repr(argument) for argument in self._args()]))


class _FrozenValue:
    __slots__ = ()
    _frozen = True

    def __setattr__(self, name, value):
        raise AttributeError("%s objects are immutable" % type(self).__name__)

    def __delattr__(self, name):
        raise AttributeError("%s objects are immutable" % type(self).__name__)

    def __hash__(self):
        return hash((self._family, self._key()))


def _settable(prop, setter):
    return property(prop.fget, setter, doc=prop.__doc__)


def _slot(name, doc):
    return property(operator.attrgetter(name), doc=doc)


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

    host = _slot("_host", "Host name, IPv4 address or IPv6 address (without brackets).")
    user = _slot("_user", "User part, unescaped, or None.")
    password = _slot("_password", "Password, unescaped, or None.")
    port = _slot("_port", "Port number, or None when the URI has none.")
    parameters = _slot("_parameters", "URI parameters: name -> value (None for a parameter without value).")
    headers = _slot("_headers", "URI headers: name -> value, unescaped.")
    secure = _slot("_secure", "True for a sips: URI.")

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

    def _set_host(self, value):
        self._host = None if value is None else _check_host(value)

    def _set_user(self, value):
        self._user = _check_userinfo(value, "user")

    def _set_password(self, value):
        self._password = _check_userinfo(value, "password")

    def _set_port(self, value):
        self._port = _check_port(value)

    def _set_parameters(self, value):
        self._parameters = _check_uri_parameters(value)

    def _set_headers(self, value):
        self._headers = _check_uri_headers(value)

    def _set_secure(self, value):
        self._secure = _check_bool(value, "secure")

    host = _settable(_SIPURIBase.host, _set_host)
    user = _settable(_SIPURIBase.user, _set_user)
    password = _settable(_SIPURIBase.password, _set_password)
    port = _settable(_SIPURIBase.port, _set_port)
    parameters = _settable(_SIPURIBase.parameters, _set_parameters)
    headers = _settable(_SIPURIBase.headers, _set_headers)
    secure = _settable(_SIPURIBase.secure, _set_secure)


class FrozenSIPURI(_FrozenValue, _SIPURIBase):
    """An immutable, hashable SIPURI."""

    __slots__ = ()


cdef object _uri_argument(object uri, bint frozen):
    if not isinstance(uri, _SIPURIBase):
        raise TypeError("uri must be a SIPURI or FrozenSIPURI, not %s" % type(uri).__name__)
    return FrozenSIPURI.new(uri) if frozen else SIPURI.new(uri)


# --- credentials ---------------------------------------------------------------

class _CredentialsBase(_Value):
    __slots__ = ("_username", "_password", "_realm")

    def __init__(self, username, password, realm="*"):
        _set(self, "_username", _check_username(username))
        _set(self, "_password", _check_credential(password, "password"))
        _set(self, "_realm", _check_credential(realm, "realm"))

    username = _slot("_username", "User name for digest authentication.")
    password = _slot("_password", "Password.")
    realm = _slot("_realm", "Realm these credentials are for; \"*\" for any realm.")

    def _key(self):
        return (self._username, self._password, self._realm)

    def _args(self):
        return (self._username, self._password, self._realm)

    def __repr__(self):
        return "%s(%r, '***', %r)" % (type(self).__name__, self._username, self._realm)


_CredentialsBase._family = _CredentialsBase


cdef object _check_username(object value):
    _check_credential(value, "username")
    if not value:
        raise ValueError("username must not be empty")
    return value


cdef object _check_credential(object value, str what):
    _check_str(value, what)
    _check_text(value, what)
    return value


class Credentials(_CredentialsBase):
    """User name, password and realm for digest authentication (mutable; see FrozenCredentials)."""

    __slots__ = ()
    __hash__ = None

    def _set_username(self, value):
        self._username = _check_username(value)

    def _set_password(self, value):
        self._password = _check_credential(value, "password")

    def _set_realm(self, value):
        self._realm = _check_credential(value, "realm")

    username = _settable(_CredentialsBase.username, _set_username)
    password = _settable(_CredentialsBase.password, _set_password)
    realm = _settable(_CredentialsBase.realm, _set_realm)


class FrozenCredentials(_FrozenValue, _CredentialsBase):
    """Immutable, hashable Credentials."""

    __slots__ = ()


# --- headers -------------------------------------------------------------------

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

    def _set_parameters(self, value):
        self._parameters = self._make_parameters(value)


# Header(name, body): any header, its value kept as text.

class _GenericHeaderBase(_HeaderBase):
    __slots__ = ("_name", "_value")

    def __init__(self, name, body):
        _set(self, "_name", _check_token(name, "header name"))
        _set(self, "_value", _check_body(body))

    name = _slot("_name", "Header name.")

    @property
    def body(self):
        """The header's value as text."""
        return self._value

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

    def _set_name(self, value):
        self._name = _check_token(value, "header name")

    def _set_body(self, value):
        self._value = _check_body(value)

    name = _settable(_GenericHeaderBase.name, _set_name)
    body = _settable(_GenericHeaderBase.body, _set_body)


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


# Headers holding an address: [display name] <URI> and parameters.

cdef str _format_address(object uri, object display_name):
    if display_name is None:
        return "<%s>" % (uri,)
    return "%s <%s>" % (_quote(display_name, "display_name"), uri)


class _AddressHeaderBase(_HeaderBase):
    __slots__ = ("_uri", "_display_name", "_parameters")
    _brackets_required = False      # Route, Record-Route: name-addr only
    _feature_tags = False           # Contact: "+name" parameters are RFC 3840 feature tags

    def __init__(self, uri, display_name=None, parameters=None):
        _set(self, "_uri", _uri_argument(uri, self._frozen))
        _set(self, "_display_name", _check_display_name(display_name))
        _set(self, "_parameters", self._make_parameters(parameters))

    uri = _slot("_uri", "The address (SIPURI or FrozenSIPURI).")
    display_name = _slot("_display_name", "Display name, or None.")
    parameters = _slot("_parameters", "Header parameters: name -> value (None for a parameter without value).")

    def _body(self):
        return _format_address(self._uri, self._display_name) + self._parameters_text(
            feature_tags=self._feature_tags)

    @classmethod
    def parse(cls, text):
        cdef _Scanner scanner = _scanner(text, cls._what())
        display_name, fields = scanner.address(cls._brackets_required, True)
        parameters = scanner.header_parameters()
        scanner.expect_end()
        uri = (FrozenSIPURI if cls._frozen else SIPURI)._from_fields(fields)
        return _parsed(cls, cls._what(), text, cls._arguments(uri, display_name, parameters))

    @classmethod
    def _arguments(cls, uri, display_name, parameters):
        return (uri, display_name, parameters)

    def _key(self):
        return (self._uri, self._display_name, _params_key(self._parameters))

    def _args(self):
        return (self._uri, self._display_name, self._parameters)


def _set_uri(self, value):
    self._uri = _uri_argument(value, False)


def _set_display_name(self, value):
    self._display_name = _check_display_name(value)


class _FromToHeaderBase(_AddressHeaderBase):
    __slots__ = ()

    def _check_parameters(self, parameters):
        tag = _find_parameter(parameters, "tag")
        if tag is not None:
            if parameters[tag] is None:
                raise ValueError("parameter tag needs a value")
            _check_token(parameters[tag], "tag")
        return parameters

    @property
    def tag(self):
        """The tag parameter, or None."""
        return _get_parameter(self._parameters, "tag")


def _set_tag(self, value):
    _put_parameter(self._parameters, "tag", _token_parameter_value(value, "tag"))


class _FromHeaderBase(_FromToHeaderBase):
    __slots__ = ()
    name = "From"


class _ToHeaderBase(_FromToHeaderBase):
    __slots__ = ()
    name = "To"


_FromHeaderBase._family = _FromHeaderBase
_ToHeaderBase._family = _ToHeaderBase


class FromHeader(_FromHeaderBase):
    """From: [display name] <URI>;tag=... (mutable; see FrozenFromHeader)."""

    __slots__ = ()
    __hash__ = None
    uri = _settable(_AddressHeaderBase.uri, _set_uri)
    display_name = _settable(_AddressHeaderBase.display_name, _set_display_name)
    parameters = _settable(_AddressHeaderBase.parameters, _HeaderBase._set_parameters)
    tag = _settable(_FromToHeaderBase.tag, _set_tag)


class FrozenFromHeader(_FrozenValue, _FromHeaderBase):
    """An immutable, hashable FromHeader."""

    __slots__ = ()


class ToHeader(_ToHeaderBase):
    """To: [display name] <URI>;tag=... (mutable; see FrozenToHeader)."""

    __slots__ = ()
    __hash__ = None
    uri = _settable(_AddressHeaderBase.uri, _set_uri)
    display_name = _settable(_AddressHeaderBase.display_name, _set_display_name)
    parameters = _settable(_AddressHeaderBase.parameters, _HeaderBase._set_parameters)
    tag = _settable(_FromToHeaderBase.tag, _set_tag)


class FrozenToHeader(_FrozenValue, _ToHeaderBase):
    """An immutable, hashable ToHeader."""

    __slots__ = ()


cdef str _canonical_q(object value):
    """A qvalue (0 to 1, at most three decimals) written without superfluous zeros."""
    if not isinstance(value, str) or _QVALUE.fullmatch(value) is None:
        raise ValueError("parameter q must be a number from 0 to 1 with at most three decimals, not %r" % (value,))
    whole, _, fraction = value.partition(".")
    return _format_q1000(int(whole) * 1000 + int((fraction + "000")[:3]))


cdef str _format_q1000(int q1000):
    if q1000 % 1000 == 0:
        return str(q1000 // 1000)
    return ("%d.%03d" % (q1000 // 1000, q1000 % 1000)).rstrip("0")


class _ContactHeaderBase(_AddressHeaderBase):
    __slots__ = ()
    name = "Contact"
    _feature_tags = True

    def __init__(self, uri, display_name=None, parameters=None):
        if uri is None:
            if display_name is not None or parameters:
                raise ValueError("the wildcard Contact (uri None, '*') has no display name or parameters")
            _set(self, "_uri", None)
            _set(self, "_display_name", None)
            _set(self, "_parameters", self._make_parameters(None))
        else:
            _AddressHeaderBase.__init__(self, uri, display_name, parameters)

    def _check_parameters(self, parameters):
        name = _find_parameter(parameters, "q")
        if name is not None:
            parameters[name] = _canonical_q(parameters[name])
        name = _find_parameter(parameters, "expires")
        if name is not None:
            parameters[name] = _canonical_number(parameters[name], "parameter expires", _MAX_DELTA_SECONDS)
        return parameters

    def _body(self):
        if self._uri is None:
            if self._display_name is not None or self._parameters:
                raise ValueError("the wildcard Contact (uri None, '*') has no display name or parameters")
            return "*"
        return _AddressHeaderBase._body(self)

    @classmethod
    def parse(cls, text):
        """Read one Contact value: an address with parameters, or the wildcard "*"."""
        cdef _Scanner scanner = _scanner(text, cls._what())
        scanner.skip_lws()
        if scanner.peek() == u'*':
            scanner.pos += 1
            scanner.expect_end()
            return cls(None)
        return _AddressHeaderBase.parse.__func__(cls, text)

    @property
    def expires(self):
        """The expires parameter as an int, or None."""
        return _get_number_parameter(self._parameters, "expires")

    @property
    def q(self):
        """The q parameter as a float, or None."""
        value = _get_parameter(self._parameters, "q")
        return None if value is None else float(value)


_ContactHeaderBase._family = _ContactHeaderBase


def _set_contact_uri(self, value):
    self._uri = None if value is None else _uri_argument(value, False)


def _set_expires(self, value):
    _put_parameter(self._parameters, "expires", _number_parameter_value(value, "expires", _MAX_DELTA_SECONDS))


def _set_q(self, value):
    if value is None:
        _put_parameter(self._parameters, "q", _MISSING)
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError("q must be a number, not %s" % type(value).__name__)
    if not 0 <= value <= 1:
        raise ValueError("q must be between 0 and 1, not %r" % value)
    q1000 = round(value * 1000)
    if abs(value * 1000 - q1000) > 1e-6:
        raise ValueError("q has at most three decimals, not %r" % value)
    _put_parameter(self._parameters, "q", _format_q1000(q1000))


class ContactHeader(_ContactHeaderBase):
    """Contact: [display name] <URI>;params, or the wildcard "*" (uri None). Mutable; see FrozenContactHeader."""

    __slots__ = ()
    __hash__ = None
    uri = _settable(_AddressHeaderBase.uri, _set_contact_uri)
    display_name = _settable(_AddressHeaderBase.display_name, _set_display_name)
    parameters = _settable(_AddressHeaderBase.parameters, _HeaderBase._set_parameters)
    expires = _settable(_ContactHeaderBase.expires, _set_expires)
    q = _settable(_ContactHeaderBase.q, _set_q)


class FrozenContactHeader(_FrozenValue, _ContactHeaderBase):
    """An immutable, hashable ContactHeader."""

    __slots__ = ()


class _RouteHeaderBase(_AddressHeaderBase):
    __slots__ = ()
    name = "Route"
    _brackets_required = True


class _RecordRouteHeaderBase(_AddressHeaderBase):
    __slots__ = ()
    name = "Record-Route"
    _brackets_required = True


_RouteHeaderBase._family = _RouteHeaderBase
_RecordRouteHeaderBase._family = _RecordRouteHeaderBase


class RouteHeader(_RouteHeaderBase):
    """Route: [display name] <URI>;params (mutable; see FrozenRouteHeader)."""

    __slots__ = ()
    __hash__ = None
    uri = _settable(_AddressHeaderBase.uri, _set_uri)
    display_name = _settable(_AddressHeaderBase.display_name, _set_display_name)
    parameters = _settable(_AddressHeaderBase.parameters, _HeaderBase._set_parameters)


class FrozenRouteHeader(_FrozenValue, _RouteHeaderBase):
    """An immutable, hashable RouteHeader."""

    __slots__ = ()


class RecordRouteHeader(_RecordRouteHeaderBase):
    """Record-Route: [display name] <URI>;params (mutable; see FrozenRecordRouteHeader)."""

    __slots__ = ()
    __hash__ = None
    uri = _settable(_AddressHeaderBase.uri, _set_uri)
    display_name = _settable(_AddressHeaderBase.display_name, _set_display_name)
    parameters = _settable(_AddressHeaderBase.parameters, _HeaderBase._set_parameters)


class FrozenRecordRouteHeader(_FrozenValue, _RecordRouteHeaderBase):
    """An immutable, hashable RecordRouteHeader."""

    __slots__ = ()


class _ReferToHeaderBase(_AddressHeaderBase):
    __slots__ = ()
    name = "Refer-To"

    def __init__(self, uri, parameters=None, display_name=None):
        _AddressHeaderBase.__init__(self, uri, display_name, parameters)

    @classmethod
    def _arguments(cls, uri, display_name, parameters):
        return (uri, parameters, display_name)

    def _args(self):
        return (self._uri, self._parameters, self._display_name)


_ReferToHeaderBase._family = _ReferToHeaderBase


class ReferToHeader(_ReferToHeaderBase):
    """Refer-To: <URI>;params (RFC 3515); the URI may carry headers such as Replaces. Mutable."""

    __slots__ = ()
    __hash__ = None
    uri = _settable(_AddressHeaderBase.uri, _set_uri)
    display_name = _settable(_AddressHeaderBase.display_name, _set_display_name)
    parameters = _settable(_AddressHeaderBase.parameters, _HeaderBase._set_parameters)


class FrozenReferToHeader(_FrozenValue, _ReferToHeaderBase):
    """An immutable, hashable ReferToHeader."""

    __slots__ = ()


# P-Asserted-Identity and P-Preferred-Identity (RFC 3325): an address, no parameters.

class _IdentityHeaderBase(_HeaderBase):
    __slots__ = ("_uri", "_display_name")

    def __init__(self, uri, display_name=None):
        _set(self, "_uri", _uri_argument(uri, self._frozen))
        _set(self, "_display_name", _check_display_name(display_name))

    uri = _slot("_uri", "The asserted or preferred identity (SIPURI or FrozenSIPURI).")
    display_name = _slot("_display_name", "Display name, or None.")

    def _body(self):
        return _format_address(self._uri, self._display_name)

    @classmethod
    def parse(cls, text):
        cdef _Scanner scanner = _scanner(text, cls._what())
        display_name, fields = scanner.address(False, False)
        scanner.expect_end()
        uri = (FrozenSIPURI if cls._frozen else SIPURI)._from_fields(fields)
        return _parsed(cls, cls._what(), text, (uri, display_name))

    def _key(self):
        return (self._uri, self._display_name)

    def _args(self):
        return (self._uri, self._display_name)


class _PAssertedIdentityHeaderBase(_IdentityHeaderBase):
    __slots__ = ()
    name = "P-Asserted-Identity"


class _PPreferredIdentityHeaderBase(_IdentityHeaderBase):
    __slots__ = ()
    name = "P-Preferred-Identity"


_PAssertedIdentityHeaderBase._family = _PAssertedIdentityHeaderBase
_PPreferredIdentityHeaderBase._family = _PPreferredIdentityHeaderBase


class PAssertedIdentityHeader(_PAssertedIdentityHeaderBase):
    """P-Asserted-Identity: [display name] <URI> (RFC 3325). Mutable."""

    __slots__ = ()
    __hash__ = None
    uri = _settable(_IdentityHeaderBase.uri, _set_uri)
    display_name = _settable(_IdentityHeaderBase.display_name, _set_display_name)


class FrozenPAssertedIdentityHeader(_FrozenValue, _PAssertedIdentityHeaderBase):
    """An immutable, hashable PAssertedIdentityHeader."""

    __slots__ = ()


class PPreferredIdentityHeader(_PPreferredIdentityHeaderBase):
    """P-Preferred-Identity: [display name] <URI> (RFC 3325). Mutable."""

    __slots__ = ()
    __hash__ = None
    uri = _settable(_IdentityHeaderBase.uri, _set_uri)
    display_name = _settable(_IdentityHeaderBase.display_name, _set_display_name)


class FrozenPPreferredIdentityHeader(_FrozenValue, _PPreferredIdentityHeaderBase):
    """An immutable, hashable PPreferredIdentityHeader."""

    __slots__ = ()


# Via

class _ViaHeaderBase(_HeaderBase):
    __slots__ = ("_transport", "_host", "_port", "_parameters")
    name = "Via"

    def __init__(self, transport, host, port=None, parameters=None):
        _set(self, "_transport", _check_token(transport, "transport"))
        _set(self, "_host", _check_host(host))
        _set(self, "_port", _check_port(port))
        _set(self, "_parameters", self._make_parameters(parameters))

    transport = _slot("_transport", "Transport (UDP, TCP, TLS, ...).")
    host = _slot("_host", "Host of sent-by (IPv6 addresses without brackets).")
    port = _slot("_port", "Port of sent-by, or None.")
    parameters = _slot("_parameters", "Via parameters: name -> value (None for a parameter without value).")

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

    @property
    def received(self):
        """The received parameter, or None."""
        return _get_parameter(self._parameters, "received")

    @property
    def rport(self):
        """The rport parameter: None when absent, 0 when present without a value, else the port."""
        name = _find_parameter(self._parameters, "rport")
        if name is None:
            return None
        value = self._parameters[name]
        return 0 if value is None else int(value)

    def _key(self):
        return (self._transport.upper(), _host_key(self._host), self._port, _params_key(self._parameters))

    def _args(self):
        return (self._transport, self._host, self._port, self._parameters)


_ViaHeaderBase._family = _ViaHeaderBase


def _set_branch(self, value):
    _put_parameter(self._parameters, "branch", _token_parameter_value(value, "branch"))


def _set_received(self, value):
    if value is not None:
        _check_str(value, "received")
        if _VIA_VALUE.fullmatch(value) is None:
            raise ValueError("received must be an address, not %r" % value)
    _put_parameter(self._parameters, "received", _MISSING if value is None else value)


def _set_rport(self, value):
    if value is None:
        _put_parameter(self._parameters, "rport", _MISSING)
    elif _check_int(value, "rport", 0, 65535) == 0:
        _put_parameter(self._parameters, "rport", None)
    else:
        _put_parameter(self._parameters, "rport", str(value))


class ViaHeader(_ViaHeaderBase):
    """Via: SIP/2.0/<transport> <host>[:<port>];params (mutable; see FrozenViaHeader)."""

    __slots__ = ()
    __hash__ = None

    def _set_transport(self, value):
        self._transport = _check_token(value, "transport")

    def _set_host(self, value):
        self._host = _check_host(value)

    def _set_port(self, value):
        self._port = _check_port(value)

    transport = _settable(_ViaHeaderBase.transport, _set_transport)
    host = _settable(_ViaHeaderBase.host, _set_host)
    port = _settable(_ViaHeaderBase.port, _set_port)
    parameters = _settable(_ViaHeaderBase.parameters, _HeaderBase._set_parameters)
    branch = _settable(_ViaHeaderBase.branch, _set_branch)
    received = _settable(_ViaHeaderBase.received, _set_received)
    rport = _settable(_ViaHeaderBase.rport, _set_rport)


class FrozenViaHeader(_FrozenValue, _ViaHeaderBase):
    """An immutable, hashable ViaHeader."""

    __slots__ = ()


# Headers whose value is a token followed by parameters.

class _TokenHeaderBase(_HeaderBase):
    __slots__ = ("_value", "_parameters")
    _value_name = None

    def _init(self, value, parameters):
        _set(self, "_value", _check_token(value, self._value_name))
        _set(self, "_parameters", self._make_parameters(parameters))

    parameters = _slot("_parameters", "Header parameters: name -> value (None for a parameter without value).")

    def _body(self):
        return self._value + self._parameters_text()

    @classmethod
    def parse(cls, text):
        cdef _Scanner scanner = _scanner(text, cls._what())
        scanner.skip_lws()
        value = scanner.token(cls._value_name.replace("_", " "))
        parameters = scanner.header_parameters()
        scanner.expect_end()
        return _parsed(cls, cls._what(), text, (value, parameters))

    def _key(self):
        return (self._value, _params_key(self._parameters))

    def _args(self):
        return (self._value, self._parameters)


def _token_setter(what):
    def setter(self, value):
        self._value = _check_token(value, what)
    return setter


class _EventHeaderBase(_TokenHeaderBase):
    __slots__ = ()
    name = "Event"
    _value_name = "event"

    def __init__(self, event, parameters=None):
        self._init(event, parameters)

    event = _slot("_value", "Event package (presence, dialog, refer, ...).")

    def _check_parameters(self, parameters):
        name = _find_parameter(parameters, "id")
        if name is not None and parameters[name] is not None:
            _check_token(parameters[name], "id")
        return parameters

    @property
    def id(self):
        """The id parameter, or None."""
        return _get_parameter(self._parameters, "id")


_EventHeaderBase._family = _EventHeaderBase


def _set_event_id(self, value):
    _put_parameter(self._parameters, "id", _token_parameter_value(value, "id"))


class EventHeader(_EventHeaderBase):
    """Event: <package>;params (RFC 6665). Mutable; see FrozenEventHeader."""

    __slots__ = ()
    __hash__ = None
    event = _settable(_EventHeaderBase.event, _token_setter("event"))
    parameters = _settable(_TokenHeaderBase.parameters, _HeaderBase._set_parameters)
    id = _settable(_EventHeaderBase.id, _set_event_id)


class FrozenEventHeader(_FrozenValue, _EventHeaderBase):
    """An immutable, hashable EventHeader."""

    __slots__ = ()


class _SubscriptionStateHeaderBase(_TokenHeaderBase):
    __slots__ = ()
    name = "Subscription-State"
    _value_name = "state"

    def __init__(self, state, parameters=None):
        self._init(state, parameters)

    state = _slot("_value", "active, pending, terminated or an extension.")

    def _check_parameters(self, parameters):
        for lower_name in ("expires", "retry-after"):
            name = _find_parameter(parameters, lower_name)
            if name is not None:
                parameters[name] = _canonical_number(parameters[name], "parameter " + lower_name, _MAX_DELTA_SECONDS)
        name = _find_parameter(parameters, "reason")
        if name is not None and parameters[name] is not None:
            _check_token(parameters[name], "reason")
        return parameters

    def _key(self):
        return (self._value.lower(), _params_key(self._parameters))

    @property
    def reason(self):
        """The reason parameter, or None."""
        return _get_parameter(self._parameters, "reason")

    @property
    def expires(self):
        """The expires parameter as an int, or None."""
        return _get_number_parameter(self._parameters, "expires")

    @property
    def retry_after(self):
        """The retry-after parameter as an int, or None."""
        return _get_number_parameter(self._parameters, "retry-after")


_SubscriptionStateHeaderBase._family = _SubscriptionStateHeaderBase


def _set_reason(self, value):
    _put_parameter(self._parameters, "reason", _token_parameter_value(value, "reason"))


def _set_state_expires(self, value):
    _put_parameter(self._parameters, "expires", _number_parameter_value(value, "expires", _MAX_DELTA_SECONDS))


def _set_retry_after(self, value):
    _put_parameter(self._parameters, "retry-after", _number_parameter_value(value, "retry_after",
                                                                            _MAX_DELTA_SECONDS))


class SubscriptionStateHeader(_SubscriptionStateHeaderBase):
    """Subscription-State: <state>;params (RFC 6665). Mutable; see FrozenSubscriptionStateHeader."""

    __slots__ = ()
    __hash__ = None
    state = _settable(_SubscriptionStateHeaderBase.state, _token_setter("state"))
    parameters = _settable(_TokenHeaderBase.parameters, _HeaderBase._set_parameters)
    reason = _settable(_SubscriptionStateHeaderBase.reason, _set_reason)
    expires = _settable(_SubscriptionStateHeaderBase.expires, _set_state_expires)
    retry_after = _settable(_SubscriptionStateHeaderBase.retry_after, _set_retry_after)


class FrozenSubscriptionStateHeader(_FrozenValue, _SubscriptionStateHeaderBase):
    """An immutable, hashable SubscriptionStateHeader."""

    __slots__ = ()


class _ReasonHeaderBase(_TokenHeaderBase):
    __slots__ = ()
    name = "Reason"
    _value_name = "protocol"
    _quoted_parameters = frozenset(["text"])

    def __init__(self, protocol, parameters=None):
        self._init(protocol, parameters)

    protocol = _slot("_value", "SIP, Q.850 or another protocol.")

    def _check_parameters(self, parameters):
        name = _find_parameter(parameters, "cause")
        if name is not None:
            parameters[name] = _canonical_number(parameters[name], "parameter cause", _MAX_DELTA_SECONDS)
        return parameters

    def _key(self):
        return (self._value.lower(), _params_key(self._parameters))

    @property
    def cause(self):
        """The cause parameter as an int, or None."""
        return _get_number_parameter(self._parameters, "cause")

    @property
    def text(self):
        """The text parameter, or None."""
        return _get_parameter(self._parameters, "text")


_ReasonHeaderBase._family = _ReasonHeaderBase


def _set_cause(self, value):
    _put_parameter(self._parameters, "cause", _number_parameter_value(value, "cause", _MAX_DELTA_SECONDS))


def _set_reason_text(self, value):
    if value is not None:
        _check_str(value, "text")
        _check_text(value, "text")
    _put_parameter(self._parameters, "text", _MISSING if value is None else value)


class ReasonHeader(_ReasonHeaderBase):
    """Reason: <protocol>;cause=...;text="..." (RFC 3326). Mutable; see FrozenReasonHeader."""

    __slots__ = ()
    __hash__ = None
    protocol = _settable(_ReasonHeaderBase.protocol, _token_setter("protocol"))
    parameters = _settable(_TokenHeaderBase.parameters, _HeaderBase._set_parameters)
    cause = _settable(_ReasonHeaderBase.cause, _set_cause)
    text = _settable(_ReasonHeaderBase.text, _set_reason_text)


class FrozenReasonHeader(_FrozenValue, _ReasonHeaderBase):
    """An immutable, hashable ReasonHeader."""

    __slots__ = ()


class _ContentDispositionHeaderBase(_TokenHeaderBase):
    __slots__ = ()
    name = "Content-Disposition"
    _value_name = "disposition"

    def __init__(self, disposition, parameters=None):
        self._init(disposition, parameters)

    disposition = _slot("_value", "render, session, icon, alert, attachment, ...")

    def _key(self):
        return (self._value.lower(), _params_key(self._parameters))


_ContentDispositionHeaderBase._family = _ContentDispositionHeaderBase


class ContentDispositionHeader(_ContentDispositionHeaderBase):
    """Content-Disposition: <disposition>;params. Mutable; see FrozenContentDispositionHeader."""

    __slots__ = ()
    __hash__ = None
    disposition = _settable(_ContentDispositionHeaderBase.disposition, _token_setter("disposition"))
    parameters = _settable(_TokenHeaderBase.parameters, _HeaderBase._set_parameters)


class FrozenContentDispositionHeader(_FrozenValue, _ContentDispositionHeaderBase):
    """An immutable, hashable ContentDispositionHeader."""

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

    content_type = _slot("_content_type", "The media type, \"type/subtype\".")
    parameters = _slot("_parameters", "Media type parameters: name -> value.")

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

    def _set_content_type(self, value):
        self._content_type = _check_content_type(value)

    content_type = _settable(_ContentTypeHeaderBase.content_type, _set_content_type)
    parameters = _settable(_ContentTypeHeaderBase.parameters, _HeaderBase._set_parameters)


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


class _WarningHeaderBase(_HeaderBase):
    __slots__ = ("_code", "_agent", "_text")
    name = "Warning"

    def __init__(self, code, agent, text):
        _set(self, "_code", _check_int(code, "code", 100, 999))
        _set(self, "_agent", _check_warn_agent(agent))
        _check_str(text, "text")
        _check_text(text, "text")
        _set(self, "_text", text)

    code = _slot("_code", "Three-digit warning code.")
    agent = _slot("_agent", "Host (and port) or pseudonym of the agent adding the warning.")
    text = _slot("_text", "Warning text.")

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

    def _set_code(self, value):
        self._code = _check_int(value, "code", 100, 999)

    def _set_agent(self, value):
        self._agent = _check_warn_agent(value)

    def _set_text(self, value):
        _check_str(value, "text")
        _check_text(value, "text")
        self._text = value

    code = _settable(_WarningHeaderBase.code, _set_code)
    agent = _settable(_WarningHeaderBase.agent, _set_agent)
    text = _settable(_WarningHeaderBase.text, _set_text)


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

    call_id = _slot("_call_id", "Call-ID of the dialog to replace.")
    from_tag = _slot("_from_tag", "From tag of the dialog to replace.")
    to_tag = _slot("_to_tag", "To tag of the dialog to replace.")
    early_only = _slot("_early_only", "Replace the dialog only while it is early.")
    parameters = _slot("_parameters", "Other parameters: name -> value.")

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

    def _set_call_id(self, value):
        self._call_id = _check_call_id(value)

    def _set_from_tag(self, value):
        self._from_tag = _check_token(value, "from_tag")

    def _set_to_tag(self, value):
        self._to_tag = _check_token(value, "to_tag")

    def _set_early_only(self, value):
        self._early_only = _check_bool(value, "early_only")

    call_id = _settable(_ReplacesHeaderBase.call_id, _set_call_id)
    from_tag = _settable(_ReplacesHeaderBase.from_tag, _set_from_tag)
    to_tag = _settable(_ReplacesHeaderBase.to_tag, _set_to_tag)
    early_only = _settable(_ReplacesHeaderBase.early_only, _set_early_only)
    parameters = _settable(_ReplacesHeaderBase.parameters, _HeaderBase._set_parameters)


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

    seconds = _slot("_seconds", "Seconds after which to retry.")
    comment = _slot("_comment", "Comment, or None.")
    parameters = _slot("_parameters", "Parameters (duration, ...): name -> value.")

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

    def _set_seconds(self, value):
        self._seconds = _check_int(value, "seconds", 0, 2 ** 31 - 1)

    def _set_comment(self, value):
        self._comment = _check_comment(value)

    seconds = _settable(_RetryAfterHeaderBase.seconds, _set_seconds)
    comment = _settable(_RetryAfterHeaderBase.comment, _set_comment)
    parameters = _settable(_RetryAfterHeaderBase.parameters, _HeaderBase._set_parameters)


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

    subject = _slot("_subject", "The subject text.")

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

    def _set_subject(self, value):
        self._subject = _check_subject(value)

    subject = _settable(_SubjectHeaderBase.subject, _set_subject)


class FrozenSubjectHeader(_FrozenValue, _SubjectHeaderBase):
    """An immutable, hashable SubjectHeader."""

    __slots__ = ()


# --- PJSIP's parser, with or without the Engine ----------------------------------
#
# PJSIP's parse functions need pjlib (pj_init) and PJSIP's parser tables
# (init_sip_parser); both are reference counted.
#
# pjlib: the first use takes one reference and keeps it for the life of the
# process. The Engine's pj_shutdown() on stop then only drops its own
# reference: pjlib, its thread registrations and our pool factory stay valid.
#
# The parser tables: a reference is taken around each use only. Holding one
# for good would break Engine restarts: every pjsip_endpt_create() registers
# the "tel" URI parser again and modules (event subscriptions, Replaces)
# register their header parsers again, without checking for an earlier
# registration; that is harmless only because the endpoint's destruction
# normally clears the tables. Kept alive, PJSIP would assert (abort the
# process) on a duplicate header parser, or once its table of URI schemes
# (4 entries) is full, on the second or third Engine start. While the Engine
# runs its endpoint holds a reference, so ours only moves a counter; without
# the Engine each use sets the tables up and tears them down again.
#
# Callers hold the GIL throughout, so a use cannot interleave with the
# Engine creating its endpoint (which also holds the GIL); an endpoint being
# destroyed (without the GIL) and a use only ever move the counter between
# 1 and 2, the last one out clearing the tables.

cdef pj_caching_pool _parser_caching_pool
cdef bint _parser_pjlib_held = False


cdef int _pjsip_parser_acquire() except -1:
    global _parser_pjlib_held
    cdef int status
    cdef int level
    if not _parser_pjlib_held:
        # pj_init() logs a line through pjlib's default writer (stdout) when it
        # really initializes; without an Engine, PJSIP logs nothing at all.
        level = pj_log_get_level()
        pj_log_set_level(0)
        status = pj_init()
        pj_log_set_level(level if _ua is not None else 0)
        if status != PJ_SUCCESS:
            raise PJSIPError("Could not initialize pjlib", status)
        _parser_pjlib_held = True
        _check_thread()
        pj_caching_pool_init(&_parser_caching_pool, NULL, 256 * 1024)
    else:
        _check_thread()
    init_sip_parser()
    return 0


cdef void _pjsip_parser_release() noexcept:
    deinit_sip_parser()


cdef pj_pool_t *_pjsip_parser_pool() except NULL:
    """A pool for one use of the parser; give it back with pj_pool_release()."""
    cdef pj_pool_t *pool = pj_pool_create(&_parser_caching_pool.factory, "sipsimple_parse", 1024, 1024, NULL)
    if pool == NULL:
        raise MemoryError("Could not allocate a memory pool")
    return pool


cdef char *_pool_text(pj_pool_t *pool, bytes text) except NULL:
    # A NUL-terminated copy: PJSIP's scanner reads one byte past the end, and
    # the structures it builds point into the text.
    cdef Py_ssize_t length = len(text)
    cdef char *copy = <char*>pj_pool_alloc(pool, length + 1)
    if copy == NULL:
        raise MemoryError()
    memcpy(copy, <char*>text, length)
    copy[length] = 0
    return copy


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


# --- PJSIP's reading of text, for the tests ---------------------------------------------
#
# The tests check that everything str() produces is accepted by PJSIP and
# converts back into an equal object, through the same functions that serve
# received messages.

def _pjsip_parse_uri(str text):
    """PJSIP's reading of a URI as a FrozenSIPURI (None for other schemes). Raises SIPCoreError."""
    cdef pj_pool_t *pool = NULL
    cdef pjsip_uri *uri
    encoded = text.encode("utf-8", "surrogateescape")
    _pjsip_parser_acquire()
    try:
        pool = _pjsip_parser_pool()
        uri = pjsip_parse_uri(pool, _pool_text(pool, encoded), len(encoded), 0)
        if uri == NULL:
            raise SIPCoreError("PJSIP could not parse the URI %r" % text)
        return _frozen_uri_from_pjsip(uri)
    finally:
        if pool != NULL:
            pj_pool_release(pool)
        _pjsip_parser_release()


def _pjsip_parse_header(str name, str body):
    """PJSIP's reading of one header line as a list of Frozen headers (one per value). Raises SIPCoreError."""
    cdef pj_pool_t *pool = NULL
    cdef pjsip_hdr *hdr
    cdef pjsip_hdr *node
    cdef pj_str_t hname
    cdef int parsed = 0
    encoded_name = name.encode()
    encoded_body = body.encode("utf-8", "surrogateescape")
    _pjsip_parser_acquire()
    try:
        pool = _pjsip_parser_pool()
        hname.ptr = _pool_text(pool, encoded_name)
        hname.slen = len(encoded_name)
        hdr = <pjsip_hdr*>pjsip_parse_hdr(pool, &hname, _pool_text(pool, encoded_body), len(encoded_body), &parsed)
        if hdr == NULL or parsed != len(encoded_body):
            raise SIPCoreError("PJSIP could not parse the %s header %r" % (name, body))
        result = [_frozen_header_from_pjsip(hdr)]
        node = hdr.next
        while node != NULL and node != hdr:
            result.append(_frozen_header_from_pjsip(node))
            node = node.next
        return result
    finally:
        if pool != NULL:
            pj_pool_release(pool)
        _pjsip_parser_release()


def _pjsip_parse_message_headers(str text):
    """PJSIP's reading of a whole SIP message: its headers as Frozen headers. Raises SIPCoreError."""
    cdef pj_pool_t *pool = NULL
    cdef pjsip_msg *msg
    encoded = text.encode("utf-8", "surrogateescape")
    _pjsip_parser_acquire()
    try:
        pool = _pjsip_parser_pool()
        msg = pjsip_parse_msg(pool, _pool_text(pool, encoded), len(encoded), NULL)
        if msg == NULL:
            raise SIPCoreError("PJSIP could not parse the message")
        return _frozen_headers_of_message(msg)
    finally:
        if pool != NULL:
            pj_pool_release(pool)
        _pjsip_parser_release()


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
            self._headers = _pjsip_parse_message_headers(self._raw.decode("utf-8", "surrogateescape"))
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


cdef object _received_headers(pjsip_rx_data *rdata):
    return ReceivedHeaders(rdata.msg_info.msg_buf[:rdata.msg_info.len])
