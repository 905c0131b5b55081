# The strict reader behind X.parse(text) for SIP URIs and headers.
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

from urllib.parse import unquote as _percent_decode


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
