# Headers whose value is a token followed by parameters: Event, Subscription-State,
# Reason, Content-Disposition.

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
