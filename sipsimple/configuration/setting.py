"""``Setting``: a typed, validated attribute of a settings object or group."""

from __future__ import annotations

import builtins
import math
from dataclasses import dataclass
from typing import Any, Final, Generic, Literal, Protocol, TypeVar, cast, overload

from sipsimple.configuration.datatypes import Datatype

__all__ = ["DefaultValue", "DefaultValueType", "ModifiedValue", "Setting", "SettingsContainer"]

_BUILTIN_TYPES: Final = (bool, int, float, str)

_T = TypeVar("_T")
_V = TypeVar("_V")  # what reading the setting on an object gives: the setting's type, or it or None


class DefaultValueType:
    """Type of :data:`DefaultValue`; there is one instance."""

    __slots__ = ()
    _instance: DefaultValueType | None = None

    def __new__(cls) -> DefaultValueType:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "DefaultValue"


DefaultValue: Final = DefaultValueType()
"""Assign it to a setting to forget its value: the setting reads its default again and is not stored."""


@dataclass(frozen=True, slots=True)
class ModifiedValue:
    """A change reported by ``CFGSettingsObjectDidChange``: the value at the previous save, and now."""

    old: Any
    new: Any


class SettingsContainer(Protocol):
    """What a ``Setting`` needs from the object or group it belongs to (implemented in ``objects``)."""

    def _get_setting(self, setting: Setting[Any]) -> Any: ...

    def _set_setting(self, setting: Setting[Any], value: Any) -> None: ...

    def _reset_setting(self, setting: Setting[Any]) -> None: ...


class Setting(Generic[_V]):
    """``Setting(type, default=None, nullable=False)``, declared in a SettingsObject or SettingsGroup class.

    ``type`` is ``bool``, ``int``, ``float``, ``str`` or a datatype from
    :mod:`sipsimple.configuration.datatypes`. Assigned values are checked at
    once: a value of the wrong kind raises ``TypeError``, an invalid one
    ``ValueError``, both naming the setting (``SIPSimpleSettings.sip.udp_port:
    Port must be between 0 and 65535, got 70000``). Datatypes also accept
    what their constructor accepts (``"alice@example.com"`` for a
    SIPAddress); the builtin types accept only their own type (``int`` for a
    float). ``None`` is accepted only by a nullable setting; a setting whose
    default is ``None`` must be nullable. Assigning :data:`DefaultValue` (or
    ``del obj.setting``) goes back to the default.

    For type checkers a Setting is generic in the value it gives an object:
    ``Setting(type=Port, default=Port(0))`` is a ``Setting[Port]``, so
    ``settings.sip.udp_port`` types as ``Port``; a nullable one is a
    ``Setting[Port | None]``. Assignment is typed ``Any``, because a datatype
    also takes what its constructor takes and the check happens at run time.
    """

    # As at run time, a setting that is not nullable needs a default, and one that is says so.
    @overload
    def __init__(
        self: Setting[_T], type: builtins.type[_T], default: Any, nullable: Literal[False] = False
    ) -> None: ...

    @overload
    def __init__(self: Setting[_T | None], type: builtins.type[_T], default: Any = None, *, nullable: bool) -> None: ...

    @overload
    def __init__(self: Setting[_T | None], type: builtins.type[_T], default: Any, nullable: bool) -> None: ...

    def __init__(self, type: builtins.type, default: Any = None, nullable: bool = False) -> None:
        if type not in _BUILTIN_TYPES and not (isinstance(type, builtins.type) and issubclass(type, Datatype)):
            raise TypeError(f"a Setting's type must be bool, int, float, str or a Datatype, not {type!r}")
        if not isinstance(nullable, bool):
            raise TypeError("nullable must be a bool")
        self.type = type
        self._datatype: builtins.type[Datatype] | None = (
            None if type in _BUILTIN_TYPES else cast(builtins.type[Datatype], type)
        )
        self.nullable = nullable
        self.name = "<setting>"
        if default is None and not nullable:
            raise TypeError(f"a Setting of type {type.__name__} without a default must be nullable")
        self.default: Any = self.coerce(default, f"the default of a {type.__name__} Setting")

    def __set_name__(self, owner: builtins.type, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        nullable = ", nullable=True" if self.nullable else ""
        return f"Setting({self.name}: {self.type.__name__}, default={self.default!r}{nullable})"

    # -- descriptor --------------------------------------------------------

    @overload
    def __get__(self, obj: None, objtype: builtins.type | None = None) -> Setting[_V]: ...

    @overload
    def __get__(self, obj: object, objtype: builtins.type | None = None) -> _V: ...

    def __get__(self, obj: object, objtype: builtins.type | None = None) -> Any:
        if obj is None:
            return self
        return cast(SettingsContainer, obj)._get_setting(self)

    def __set__(self, obj: object, value: Any) -> None:
        if value is DefaultValue:
            cast(SettingsContainer, obj)._reset_setting(self)
        else:
            cast(SettingsContainer, obj)._set_setting(self, value)

    def __delete__(self, obj: object) -> None:
        cast(SettingsContainer, obj)._reset_setting(self)

    # -- conversions ---------------------------------------------------------

    def coerce(self, value: Any, where: str) -> Any:
        """Return ``value`` as this setting's type, or raise ``TypeError`` / ``ValueError`` prefixed by ``where``."""
        return self._convert(value, where, from_config=False)

    def from_config(self, data: Any, where: str) -> Any:
        """Return the value stored as ``data`` (the backend form), or raise like ``coerce``."""
        return self._convert(data, where, from_config=True)

    def to_config(self, value: Any) -> Any:
        """Return the backend form of ``value`` (a value of this setting)."""
        if value is None or self._datatype is None:
            return value
        return value.to_config()

    def _convert(self, value: Any, where: str, from_config: bool) -> Any:
        if value is None:
            if self.nullable:
                return None
            raise TypeError(f"{where}: cannot be None (the setting is not nullable)")
        try:
            if self._datatype is None:
                return _builtin(self.type, value)
            if from_config:
                return self._datatype.from_config(value)
            return self._datatype.coerce(value)
        except TypeError as error:
            raise TypeError(f"{where}: {error}") from None
        except ValueError as error:
            raise ValueError(f"{where}: {error}") from None


def _builtin(kind: type, value: Any) -> Any:
    if kind is bool:
        if not isinstance(value, bool):
            raise TypeError(f"expected a bool, not {type(value).__name__}")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TypeError(f"expected {'a' if kind is not int else 'an'} {kind.__name__}, not {type(value).__name__}")
    if kind is str:
        if not isinstance(value, str):
            raise TypeError(f"expected a str, not {type(value).__name__}")
        return str(value)
    if kind is int:
        if not isinstance(value, int):
            raise TypeError(f"expected an int, not {type(value).__name__}")
        return int(value)
    if isinstance(value, str):
        raise TypeError("expected a float, not str")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"expected a finite number, got {value!r}")
    return number
