# What every value class (SIP URIs, credentials, headers, SDP) shares.
#
# Every class comes in a mutable form and a Frozen form (immutable and
# hashable); X.new(x) and FrozenX.new(x) convert between them, and the two
# forms of a class compare equal when their values are equal.

from cpython.object cimport Py_TYPE, PyObject_GenericSetAttr, PyTypeObject, descrgetfunc, descrsetfunc

import types


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
# (see _Slot). Members of a family compare equal when their _key()s are
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


@cython.final
@cython.auto_pickle(False)
cdef class _Slot:
    """A property of a family's base class, reading the slot `attribute`.

    Set, it stores check(value) in the slot, or calls setter(self, value)
    for a check that needs the other fields. That is all the mutable class
    of the family needs: its Frozen twin refuses the assignment in
    _FrozenValue.__setattr__, before the descriptor is reached.

    A property over operator.attrgetter and a setter function would do the
    same, but every read would look the slot up by name and every assignment
    would cost one more call through Python; the value classes are read and
    assigned in every request the Engine makes or receives, so here both go
    straight to the slot's own descriptor, found once by __set_name__.
    """

    cdef readonly str attribute
    cdef readonly object check
    cdef readonly object setter
    cdef readonly object __doc__
    # The member descriptor that __slots__ made for `attribute`, and its type's functions.
    cdef object _member
    cdef descrgetfunc _member_get
    cdef descrsetfunc _member_set

    def __init__(self, str attribute not None, str doc not None, check=None, setter=None):
        # Every property of a value class can be set on its mutable form (the
        # stub declares them as plain attributes there), hence exactly one.
        if (check is None) == (setter is None):
            raise TypeError("a slot property takes a check or a setter")
        self.attribute = attribute
        self.__doc__ = doc
        self.check = check
        self.setter = setter

    def __set_name__(self, owner, name):
        member = None
        for klass in owner.__mro__:
            if self.attribute in vars(klass):
                member = vars(klass)[self.attribute]
                break
        if type(member) is not types.MemberDescriptorType:
            raise TypeError("%s.%s: %s is not in the __slots__ of %s or its bases"
                            % (owner.__name__, name, self.attribute, owner.__name__))
        cdef PyTypeObject *member_type = Py_TYPE(member)
        self._member = member
        self._member_get = member_type.tp_descr_get
        self._member_set = member_type.tp_descr_set

    def __get__(self, instance, owner):
        if instance is None:
            return self
        if self._member is None:
            raise TypeError("the slot property for %s was not made in a class body" % self.attribute)
        return self._member_get(self._member, instance, owner)

    def __set__(self, instance, value):
        if self.setter is not None:
            self.setter(instance, value)
            return
        if self._member is None:
            raise TypeError("the slot property for %s was not made in a class body" % self.attribute)
        self._member_set(self._member, instance, self.check(value))

    def __delete__(self, instance):
        raise AttributeError("%s cannot be deleted" % self.attribute.lstrip("_"))


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
