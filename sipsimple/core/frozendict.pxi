# frozendict: the immutable mapping the Frozen value classes hold their
# parameters in.

from collections.abc import Mapping


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
