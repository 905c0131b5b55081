# Headers whose value is a token followed by parameters: Event, Subscription-State,
# Reason, Content-Disposition.

class _TokenHeaderBase(_HeaderBase):
    __slots__ = ("_value", "_parameters")
    _value_name = None

    def _init(self, value, parameters):
        _set(self, "_value", _check_token(value, self._value_name))
        _set(self, "_parameters", self._make_parameters(parameters))

    parameters = _parameters_slot("Header parameters: name -> value (None for a parameter without value).")

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


class _EventHeaderBase(_TokenHeaderBase):
    __slots__ = ()
    name = "Event"
    _value_name = "event"

    def __init__(self, event, parameters=None):
        self._init(event, parameters)

    event = _slot("_value", "Event package (presence, dialog, refer, ...).", lambda value: _check_token(value, "event"))

    def _check_parameters(self, parameters):
        name = _find_parameter(parameters, "id")
        if name is not None and parameters[name] is not None:
            _check_token(parameters[name], "id")
        return parameters

    @property
    def id(self):
        """The id parameter, or None."""
        return _get_parameter(self._parameters, "id")

    @id.setter
    def id(self, value):
        _put_parameter(self._parameters, "id", _token_parameter_value(value, "id"))


_EventHeaderBase._family = _EventHeaderBase


class EventHeader(_EventHeaderBase):
    """Event: <package>;params (RFC 6665). Mutable; see FrozenEventHeader."""

    __slots__ = ()
    __hash__ = None


class FrozenEventHeader(_FrozenValue, _EventHeaderBase):
    """An immutable, hashable EventHeader."""

    __slots__ = ()


class _SubscriptionStateHeaderBase(_TokenHeaderBase):
    __slots__ = ()
    name = "Subscription-State"
    _value_name = "state"

    def __init__(self, state, parameters=None):
        self._init(state, parameters)

    state = _slot("_value", "active, pending, terminated or an extension.", lambda value: _check_token(value, "state"))

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

    @reason.setter
    def reason(self, value):
        _put_parameter(self._parameters, "reason", _token_parameter_value(value, "reason"))

    @property
    def expires(self):
        """The expires parameter as an int, or None."""
        return _get_number_parameter(self._parameters, "expires")

    @expires.setter
    def expires(self, value):
        _put_parameter(self._parameters, "expires", _number_parameter_value(value, "expires", _MAX_DELTA_SECONDS))

    @property
    def retry_after(self):
        """The retry-after parameter as an int, or None."""
        return _get_number_parameter(self._parameters, "retry-after")

    @retry_after.setter
    def retry_after(self, value):
        _put_parameter(self._parameters, "retry-after", _number_parameter_value(value, "retry_after",
                                                                                _MAX_DELTA_SECONDS))


_SubscriptionStateHeaderBase._family = _SubscriptionStateHeaderBase


class SubscriptionStateHeader(_SubscriptionStateHeaderBase):
    """Subscription-State: <state>;params (RFC 6665). Mutable; see FrozenSubscriptionStateHeader."""

    __slots__ = ()
    __hash__ = None


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

    protocol = _slot("_value", "SIP, Q.850 or another protocol.", lambda value: _check_token(value, "protocol"))

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

    @cause.setter
    def cause(self, value):
        _put_parameter(self._parameters, "cause", _number_parameter_value(value, "cause", _MAX_DELTA_SECONDS))

    @property
    def text(self):
        """The text parameter, or None."""
        return _get_parameter(self._parameters, "text")

    @text.setter
    def text(self, value):
        if value is not None:
            _check_str(value, "text")
            _check_text(value, "text")
        _put_parameter(self._parameters, "text", _MISSING if value is None else value)


_ReasonHeaderBase._family = _ReasonHeaderBase


class ReasonHeader(_ReasonHeaderBase):
    """Reason: <protocol>;cause=...;text="..." (RFC 3326). Mutable; see FrozenReasonHeader."""

    __slots__ = ()
    __hash__ = None


class FrozenReasonHeader(_FrozenValue, _ReasonHeaderBase):
    """An immutable, hashable ReasonHeader."""

    __slots__ = ()


class _ContentDispositionHeaderBase(_TokenHeaderBase):
    __slots__ = ()
    name = "Content-Disposition"
    _value_name = "disposition"

    def __init__(self, disposition, parameters=None):
        self._init(disposition, parameters)

    disposition = _slot("_value", "render, session, icon, alert, attachment, ...",
                        lambda value: _check_token(value, "disposition"))

    def _key(self):
        return (self._value.lower(), _params_key(self._parameters))


_ContentDispositionHeaderBase._family = _ContentDispositionHeaderBase


class ContentDispositionHeader(_ContentDispositionHeaderBase):
    """Content-Disposition: <disposition>;params. Mutable; see FrozenContentDispositionHeader."""

    __slots__ = ()
    __hash__ = None


class FrozenContentDispositionHeader(_FrozenValue, _ContentDispositionHeaderBase):
    """An immutable, hashable ContentDispositionHeader."""

    __slots__ = ()
