# Headers holding an address: From, To, Contact, Route, Record-Route, Refer-To,
# P-Asserted-Identity and P-Preferred-Identity.

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

    uri = _slot("_uri", "The address (SIPURI or FrozenSIPURI).", lambda value: _uri_argument(value, False))
    display_name = _slot("_display_name", "Display name, or None.", lambda value: _check_display_name(value))
    parameters = _parameters_slot("Header parameters: name -> value (None for a parameter without value).")

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

    @tag.setter
    def tag(self, value):
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


class FrozenFromHeader(_FrozenValue, _FromHeaderBase):
    """An immutable, hashable FromHeader."""

    __slots__ = ()


class ToHeader(_ToHeaderBase):
    """To: [display name] <URI>;tag=... (mutable; see FrozenToHeader)."""

    __slots__ = ()
    __hash__ = None


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

    uri = _slot("_uri", "The address (SIPURI or FrozenSIPURI); None for the wildcard \"*\".",
                lambda value: None if value is None else _uri_argument(value, False))

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

    @expires.setter
    def expires(self, value):
        _put_parameter(self._parameters, "expires", _number_parameter_value(value, "expires", _MAX_DELTA_SECONDS))

    @property
    def q(self):
        """The q parameter as a float, or None."""
        value = _get_parameter(self._parameters, "q")
        return None if value is None else float(value)

    @q.setter
    def q(self, value):
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


_ContactHeaderBase._family = _ContactHeaderBase


class ContactHeader(_ContactHeaderBase):
    """Contact: [display name] <URI>;params, or the wildcard "*" (uri None). Mutable; see FrozenContactHeader."""

    __slots__ = ()
    __hash__ = None


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


class FrozenRouteHeader(_FrozenValue, _RouteHeaderBase):
    """An immutable, hashable RouteHeader."""

    __slots__ = ()


class RecordRouteHeader(_RecordRouteHeaderBase):
    """Record-Route: [display name] <URI>;params (mutable; see FrozenRecordRouteHeader)."""

    __slots__ = ()
    __hash__ = None


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


class FrozenReferToHeader(_FrozenValue, _ReferToHeaderBase):
    """An immutable, hashable ReferToHeader."""

    __slots__ = ()


# P-Asserted-Identity and P-Preferred-Identity (RFC 3325): an address, no parameters.

class _IdentityHeaderBase(_HeaderBase):
    __slots__ = ("_uri", "_display_name")

    def __init__(self, uri, display_name=None):
        _set(self, "_uri", _uri_argument(uri, self._frozen))
        _set(self, "_display_name", _check_display_name(display_name))

    uri = _slot("_uri", "The asserted or preferred identity (SIPURI or FrozenSIPURI).",
                lambda value: _uri_argument(value, False))
    display_name = _slot("_display_name", "Display name, or None.", lambda value: _check_display_name(value))

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


class FrozenPAssertedIdentityHeader(_FrozenValue, _PAssertedIdentityHeaderBase):
    """An immutable, hashable PAssertedIdentityHeader."""

    __slots__ = ()


class PPreferredIdentityHeader(_PPreferredIdentityHeaderBase):
    """P-Preferred-Identity: [display name] <URI> (RFC 3325). Mutable."""

    __slots__ = ()
    __hash__ = None


class FrozenPPreferredIdentityHeader(_FrozenValue, _PPreferredIdentityHeaderBase):
    """An immutable, hashable PPreferredIdentityHeader."""

    __slots__ = ()
