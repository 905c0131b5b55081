# What every value class (SIP URIs, credentials, headers, SDP) shares.
#
# Every class comes in a mutable form and a Frozen form (immutable and
# hashable); X.new(x) and FrozenX.new(x) convert between them, and the two
# forms of a class compare equal when their values are equal.

from cpython.object cimport PyObject_GenericSetAttr

import operator


cdef inline int _set(object target, str name, object value) except -1:
    # object.__setattr__(target, name, value), which the Frozen classes'
    # constructors use to store past their __setattr__, without the call
    # through Python (the constructors of received URIs and headers make
    # many of these).
    return PyObject_GenericSetAttr(target, name, value)


# --- shared behaviour of the value classes -------------------------------------
#
# A family is the pair X / FrozenX, sharing a base class (_family) that holds
# the state in __slots__ and declares every property once, with its setter
# (see _slot). Members of a family compare equal when their _key()s are
# equal; FrozenX hashes its _key(). The mutable X inherits the properties as
# they are; FrozenX refuses every attribute assignment in
# _FrozenValue.__setattr__, before any property's setter is reached, and its
# constructor stores through _set.

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
            raise TypeError("%s.new() needs a %s or Frozen%s, not %s"
                            % (cls.__name__, plain, plain, type(other).__name__))
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


def _slot(str attribute, str doc, check=None, setter=None):
    """A property of a family's base class reading the slot `attribute`.

    With `check` it sets too, storing check(value); with `setter` (for a
    check that needs the other fields), setter(self, value) stores. That is
    all the mutable class of the family needs: its Frozen twin refuses the
    assignment before the property is reached.
    """
    getter = operator.attrgetter(attribute)
    if check is not None:
        def store(self, value):
            _set(self, attribute, check(value))
        setter = store
    return property(getter, setter, doc=doc)


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
