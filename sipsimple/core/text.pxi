# Text of SIP URIs and headers: character classes, escaping, quoting, and the
# checks of the arguments the value classes take (each names the argument and
# the problem in its ValueError/TypeError).

import ipaddress
import re


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
