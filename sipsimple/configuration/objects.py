"""SettingsObject and SettingsGroup: objects made of typed settings, stored by the ConfigurationManager.

A SettingsObject subclass declares ``Setting`` attributes and group classes
(SettingsGroup subclasses, nested at will) and an id:

* ``__id__ = "SIPSimpleSettings"`` (a string): one instance for the class,
  ``SIPSimpleSettings()``;
* ``__id__ = SettingsObjectID(type=SIPAddress)``: one instance per id,
  ``Account("alice@example.com")``; the id may be changed (a rename, done in
  storage at the next ``save()``).

For type checkers, declare a group with its type, ``sip: Group[SIPSettings] =
SIPSettings``: an object's ``settings.sip`` then types as a ``SIPSettings``
(and ``settings.sip.udp_port`` as the setting's value) rather than as the
class. The annotation changes nothing at run time.

``__group__`` (optional) puts the objects of a class under a common key:
an object is stored under ``(__group__, id)`` or ``(id,)``.

Values live in memory until ``save()``, which stores the object's state
(the settings that were set, in the backend form), writes the configuration,
and then posts ``CFGSettingsObjectWasCreated`` (first save),
``CFGSettingsObjectDidChangeID`` (after a rename) and
``CFGSettingsObjectDidChange`` (``data.modified``: ``{"sip.register":
ModifiedValue(old, new), ...}``, dotted names for grouped settings, plus
``"__id__"`` after a rename), each only when it applies: a save that changes
nothing posts nothing and writes nothing. ``delete()`` removes the object
from storage and posts ``CFGSettingsObjectWasDeleted``. When writing fails,
``CFGManagerSaveFailed`` is posted by the ConfigurationManager and the
exception raised; storage is left as it was and the object keeps its
unsaved values, so ``save()`` can be retried.

Every operation is thread-safe: each object has a re-entrant lock taken by
assignments, ``save()`` and ``delete()``; notifications are posted after the
lock is released.
"""

from __future__ import annotations

import builtins
import inspect
import logging
import threading
from typing import TYPE_CHECKING, Any, ClassVar, Final, Protocol, TypeVar, cast, overload

from sipsimple.configuration.errors import ConfigurationError, DuplicateIDError, ObjectNotFoundError
from sipsimple.configuration.manager import ConfigurationManager, Key, check_tree
from sipsimple.configuration.setting import ModifiedValue, Setting
from sipsimple.notification import NotificationCenter, NotificationData

__all__ = ["Group", "SettingsGroup", "SettingsGroupMeta", "SettingsObject", "SettingsObjectID", "SettingsObjectMeta"]

log = logging.getLogger("sipsimple.configuration")

_RESERVED_NAMES: Final = frozenset(["save", "delete"])

_T = TypeVar("_T")
_G_co = TypeVar("_G_co", bound="SettingsGroup", covariant=True)


# --------------------------------------------------------------------------
# Class construction: collect settings and groups


class SettingsContainerMeta(type):
    """Collects a class's settings and groups (inherited ones included) in definition order."""

    __settings__: dict[str, Setting[Any]]
    __groups__: dict[str, type[SettingsGroup]]

    def __init__(cls, name: str, bases: tuple[type, ...], namespace: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(name, bases, namespace, **kwargs)
        settings: dict[str, Setting[Any]] = {}
        groups: dict[str, type[SettingsGroup]] = {}
        for base in reversed(cls.__mro__[1:]):
            settings.update(base.__dict__.get("__settings__", {}))
            groups.update(base.__dict__.get("__groups__", {}))
        for attribute, value in namespace.items():
            is_setting = isinstance(value, Setting)
            is_group = isinstance(value, SettingsGroupMeta)
            if is_setting or is_group:
                if attribute.startswith("_"):
                    raise TypeError(f"{name}.{attribute}: setting and group names cannot start with '_'")
                settings.pop(attribute, None)
                groups.pop(attribute, None)
                if is_setting:
                    settings[attribute] = value
                else:
                    groups[attribute] = value
                    setattr(cls, attribute, _GroupAttribute(attribute, value))
            else:  # a subclass replaced an inherited setting or group with something else
                settings.pop(attribute, None)
                groups.pop(attribute, None)
        cls.__settings__ = settings
        cls.__groups__ = groups


class SettingsGroupMeta(SettingsContainerMeta):
    """Metaclass of SettingsGroup: a group class placed in another class becomes a group of settings there."""

    if TYPE_CHECKING:
        # What the container's _GroupAttribute does in the group class's stead, told to type checkers so
        # that a group class matches Group[...]. At run time the container replaces the class with a
        # _GroupAttribute (see SettingsContainerMeta), so group classes need not be descriptors themselves.
        @overload
        def __get__(cls: type[_T], obj: None, objtype: type | None = None) -> type[_T]: ...

        @overload
        def __get__(cls: type[_T], obj: object, objtype: type | None = None) -> _T: ...

        def __get__(cls, obj: object, objtype: type | None = None) -> Any: ...


class Group(Protocol[_G_co]):
    """The type of a group declared in a settings class: ``sip: Group[SIPSettings] = SIPSettings``.

    Read on an object it gives the object's group (a ``SIPSettings``), read on
    the class the group class, as the container's ``_GroupAttribute`` does.
    Every SettingsGroup subclass is a ``Group`` of itself.
    """

    @overload
    def __get__(self, obj: None, objtype: type | None = None) -> type[_G_co]: ...

    @overload
    def __get__(self, obj: object, objtype: type | None = None) -> _G_co: ...


class _GroupAttribute:
    """Stands for a group class inside its container: instances see their group, the class sees the group class."""

    def __init__(self, name: str, group: type[SettingsGroup]) -> None:
        self.name = name
        self.group = group

    @overload
    def __get__(self, obj: None, objtype: type | None = None) -> type[SettingsGroup]: ...

    @overload
    def __get__(self, obj: _Container, objtype: type | None = None) -> Any: ...

    def __get__(self, obj: _Container | None, objtype: type | None = None) -> Any:
        if obj is None:
            return self.group
        return obj._groups[self.name]

    def __set__(self, obj: _Container, value: Any) -> None:
        raise AttributeError(f"{obj._qualified(self.name)} is a group of settings; assign its settings instead")

    def __delete__(self, obj: _Container) -> None:
        self.__set__(obj, None)


# --------------------------------------------------------------------------
# What objects and groups share: values, state, flattening


class _Container:
    __settings__: ClassVar[dict[str, Setting[Any]]]
    __groups__: ClassVar[dict[str, type[SettingsGroup]]]

    _root: SettingsObject
    _path: tuple[str, ...]
    _values: dict[str, Any]  # settings that were set (or loaded): name -> value
    _extra: dict[str, Any]  # stored entries not used: unknown names, values that failed to load (kept as stored)
    _groups: dict[str, SettingsGroup]

    def _init_container(self, root: SettingsObject, path: tuple[str, ...]) -> None:
        object.__setattr__(self, "_root", root)
        object.__setattr__(self, "_path", path)
        object.__setattr__(self, "_values", {})
        object.__setattr__(self, "_extra", {})
        groups = {name: group._create(root, (*path, name)) for name, group in type(self).__groups__.items()}
        object.__setattr__(self, "_groups", groups)

    def __setattr__(self, name: str, value: Any) -> None:
        # Public names must be settings, groups or other data descriptors (properties) of the class, so a
        # misspelt setting is an error rather than a new attribute that nothing reads.
        if name.startswith("_") or hasattr(inspect.getattr_static(type(self), name, None), "__set__"):
            object.__setattr__(self, name, value)
        else:
            raise AttributeError(f"{self._qualified(name)}: no such setting")

    def _qualified(self, name: str | None = None) -> str:
        parts = [self._root._describe(), *self._path]
        if name is not None:
            parts.append(name)
        return ".".join(parts)

    # -- what Setting calls --------------------------------------------------

    def _get_setting(self, setting: Setting[Any]) -> Any:
        return self._values.get(setting.name, setting.default)

    def _set_setting(self, setting: Setting[Any], value: Any) -> None:
        value = setting.coerce(value, self._qualified(setting.name))
        with self._root._lock:
            self._values[setting.name] = value
            self._extra.pop(setting.name, None)

    def _reset_setting(self, setting: Setting[Any]) -> None:
        with self._root._lock:
            self._values.pop(setting.name, None)
            self._extra.pop(setting.name, None)

    # -- state ---------------------------------------------------------------

    def _dump(self) -> dict[str, Any]:
        state = dict(self._extra)
        for name, value in self._values.items():
            state[name] = type(self).__settings__[name].to_config(value)
        for name, group in self._groups.items():
            group_state = group._dump()
            if group_state:
                state[name] = group_state
        return state

    def _load(self, state: dict[str, Any]) -> None:
        self._values.clear()
        self._extra.clear()
        settings, groups = type(self).__settings__, type(self).__groups__
        for name, data in state.items():
            if name in settings:
                try:
                    self._values[name] = settings[name].from_config(data, self._qualified(name))
                except (TypeError, ValueError) as error:
                    log.warning("ignoring the stored value %r: %s (the default applies)", data, error)
                    self._extra[name] = data
            elif name in groups and isinstance(data, dict):
                continue  # loaded below
            else:
                if name in groups:
                    log.warning(
                        "ignoring the stored value of %s: %r is not a group of settings", self._qualified(name), data
                    )
                self._extra[name] = data  # unknown names (from another version, say) are kept, silently
        for name, group in self._groups.items():
            group_state = state.get(name)
            group._load(group_state if isinstance(group_state, dict) else {})

    def _effective(self, prefix: str = "") -> dict[str, Any]:
        values = {prefix + name: self._values.get(name, setting.default) for name, setting in self.__settings__.items()}
        for name, group in self._groups.items():
            values.update(group._effective(f"{prefix}{name}."))
        return values


class SettingsGroup(_Container, metaclass=SettingsGroupMeta):
    """A named group of settings (and groups) inside a SettingsObject or another group.

    Declare it as a class and place the class in its container
    (``sip = SIPSettings``); each object then has its own instance of the
    group (``settings.sip.udp_port``). Groups are created by their object,
    never directly, and cannot be replaced.
    """

    def __init__(self) -> None:
        raise TypeError(f"{type(self).__name__} is a settings group: reach it through its settings object")

    @classmethod
    def _create(cls, root: SettingsObject, path: tuple[str, ...]) -> SettingsGroup:
        group = cls.__new__(cls)
        group._init_container(root, path)
        return group

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._qualified()}>"


# --------------------------------------------------------------------------
# Ids and the registry of live objects


class SettingsObjectID:
    """``__id__ = SettingsObjectID(type=SIPAddress)``: a class whose objects are told apart by an id.

    ``type`` is ``str`` or a ``str`` datatype; the id is validated like a
    setting. Assigning a new id renames the object: the id is reserved at
    once (``DuplicateIDError`` if another object has it, live or stored),
    the stored data moves at the next ``save()``.
    """

    def __init__(self, type: builtins.type = str) -> None:
        if not (isinstance(type, builtins.type) and issubclass(type, str)):
            raise TypeError(f"a SettingsObjectID's type must be str or a str datatype, not {type!r}")
        self.type = type

    def coerce(self, value: Any, owner: str) -> str:
        where = f"{owner}.__id__"
        try:
            if self.type is str:
                if not isinstance(value, str):
                    raise TypeError(f"expected a str, not {type(value).__name__}")
                result = str(value)
            else:
                result = self.type.coerce(value)  # type: ignore[attr-defined]
        except TypeError as error:
            raise TypeError(f"{where}: {error}") from None
        except ValueError as error:
            raise ValueError(f"{where}: {error}") from None
        if not result:
            raise ValueError(f"{where}: an id cannot be empty")
        return result

    @overload
    def __get__(self, obj: None, objtype: type | None = None) -> SettingsObjectID: ...

    @overload
    def __get__(self, obj: SettingsObject, objtype: type | None = None) -> Any: ...

    def __get__(self, obj: SettingsObject | None, objtype: type | None = None) -> Any:
        if obj is None:
            return self
        return obj._id

    def __set__(self, obj: SettingsObject, value: Any) -> None:
        obj._change_id(self.coerce(value, type(obj).__name__))


_registry: dict[Key, SettingsObject] = {}
_registry_generation = 0
_registry_lock = threading.RLock()


def _live_registry(manager: ConfigurationManager) -> dict[Key, SettingsObject]:
    """The registry of the manager's current run (call with ``_registry_lock`` held)."""
    global _registry_generation
    if not manager.running:
        raise ConfigurationError("the ConfigurationManager is not started: start it before using settings objects")
    if manager.generation != _registry_generation:
        _registry.clear()  # objects of an earlier run are stale
        _registry_generation = manager.generation
    return _registry


# --------------------------------------------------------------------------
# SettingsObject


class SettingsObjectMeta(SettingsContainerMeta):
    """Gives SettingsObject classes one instance per id (or one instance, for a class with a fixed id)."""

    # How objects of the class are identified: a fixed id (one object), an id descriptor (one per id), or neither.
    _fixed_id: str | None
    _id_kind: tuple[SettingsObjectID] | None  # a tuple: a bare descriptor here would act as one on the class

    def __init__(cls, name: str, bases: tuple[type, ...], namespace: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(name, bases, namespace, **kwargs)
        for reserved in _RESERVED_NAMES & (set(cls.__settings__) | set(cls.__groups__)):
            raise TypeError(f"{name}.{reserved}: this name is a method of settings objects")
        identifier = inspect.getattr_static(cls, "__id__", None)
        cls._id_kind = (identifier,) if isinstance(identifier, SettingsObjectID) else None
        cls._fixed_id = identifier if isinstance(identifier, str) else None
        if identifier is not None and cls._id_kind is None and not cls._fixed_id:
            raise TypeError(f"{name}.__id__ must be a non-empty str or a SettingsObjectID, not {identifier!r}")
        group = inspect.getattr_static(cls, "__group__", None)
        if group is not None and (not isinstance(group, str) or not group):
            raise TypeError(f"{name}.__group__ must be a non-empty str or None, not {group!r}")

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        if cls._fixed_id is not None:
            identifier = cls._fixed_id
        elif cls._id_kind is not None:
            if not args:
                raise TypeError(f"{cls.__name__}() needs the id of the object")
            identifier = cls._id_kind[0].coerce(args[0], cls.__name__)
        else:
            raise TypeError(f"{cls.__name__} has no __id__: give it a str or a SettingsObjectID")
        key = cls._key_for(identifier)
        object_class = cast(type[SettingsObject], cls)  # what cls is, as a class rather than as a metaclass instance
        manager = ConfigurationManager()
        with _registry_lock:
            registry = _live_registry(manager)
            existing = registry.get(key)
            if existing is not None:
                if not isinstance(existing, object_class):
                    raise DuplicateIDError(f"{'/'.join(key)} is used by a {type(existing).__name__}")
                return existing
            obj = object.__new__(object_class)
            obj._setup(identifier, key, manager)
            cast(Any, obj).__init__(*args, **kwargs)
            registry[key] = obj
            return obj

    def _key_for(cls, identifier: str) -> Key:
        group = getattr(cls, "__group__", None)
        return (group, str(identifier)) if group else (str(identifier),)


class SettingsObject(_Container, metaclass=SettingsObjectMeta):
    """Base of objects made of settings and stored by the ConfigurationManager (see the module docstring)."""

    __group__: ClassVar[str | None] = None

    _lock: threading.RLock
    _id: str
    _key: Key
    _generation: int
    _deleted: bool
    _stored_key: Key | None  # where the object is stored, None until its first save
    _stored_id: str | None
    _stored_state: dict[str, Any] | None  # what was stored at the last load or save
    _snapshot: dict[str, Any]  # every setting's value (defaults included) at the last load or save

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Set-up is done by the metaclass (_setup) before __init__ runs; subclasses may take the id argument.
        pass

    def _setup(self, identifier: str, key: Key, manager: ConfigurationManager) -> None:
        object.__setattr__(self, "_lock", threading.RLock())
        self._id = identifier
        self._key = key
        self._generation = manager.generation
        self._deleted = False
        self._init_container(self, ())
        try:
            stored = manager.get(key)
        except ObjectNotFoundError:
            stored = None
        if stored is not None and not isinstance(stored, dict):
            raise ConfigurationError(f"{'/'.join(key)} holds a {type(stored).__name__}, not the settings of an object")
        if stored is None:
            self._stored_key = self._stored_id = self._stored_state = None
        else:
            self._load(stored)
            self._stored_key, self._stored_id, self._stored_state = key, identifier, self._dump()
        self._snapshot = self._effective()

    def _describe(self) -> str:
        if type(self)._fixed_id is not None:
            return type(self).__name__
        return f"{type(self).__name__}({self._id!r})"

    def __repr__(self) -> str:
        return f"{type(self).__name__}()" if type(self)._fixed_id is not None else self._describe()

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "__id__" and type(self)._id_kind is None:
            raise AttributeError(f"{type(self).__name__} has a fixed id")
        super().__setattr__(name, value)

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise TypeError(f"{self._describe()}: settings objects are unique per id and cannot be copied or pickled")

    # -- state ---------------------------------------------------------------

    def __getstate__(self) -> dict[str, Any]:
        """The object's state in the backend form: the settings that were set (defaults are left out)."""
        with self._lock:
            return self._dump()

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Replace every value with those in ``state`` (the ``__getstate__`` form); saved by the next ``save()``.

        Settings missing from ``state`` go back to their defaults; values that
        cannot be loaded are logged and ignored, like those of a stored object.
        """
        if not isinstance(state, dict):
            raise TypeError(f"{self._describe()}: the state must be a dict, not {type(state).__name__}")
        check_tree(state, self._describe())
        with self._lock:
            self._load(state)

    # -- renaming --------------------------------------------------------------

    def _change_id(self, identifier: str) -> None:
        manager = ConfigurationManager()
        with self._lock:
            if self._deleted:
                raise ConfigurationError(f"{self._describe()} was deleted")
            if identifier == self._id:
                return
            key = type(self)._key_for(identifier)
            with _registry_lock:
                registry = self._registry_of_this_run(manager)
                other = registry.get(key)
                if other is not None and other is not self:
                    raise DuplicateIDError(f"{type(self).__name__}: the id {identifier!r} is used by {other!r}")
                if key != self._stored_key and manager.has_key(key):
                    raise DuplicateIDError(f"{type(self).__name__}: the id {identifier!r} is used by a stored object")
                if registry.get(self._key) is self:
                    del registry[self._key]
                registry[key] = self
                self._id, self._key = identifier, key

    # -- save and delete ---------------------------------------------------------

    def save(self) -> None:
        """Store the object and write the configuration, then post what changed (nothing if nothing did).

        Raises ConfigurationError if the object was deleted, if the manager
        is stopped or was restarted since the object was obtained, and
        ConfigurationBackendError (after posting ``CFGManagerSaveFailed``)
        when writing fails; DuplicateIDError if a renamed object's new id
        was stored by someone else meanwhile.
        """
        manager = ConfigurationManager()
        notifications: list[tuple[str, NotificationData]] = []
        with self._lock:
            self._check_usable(manager)
            state = self._dump()
            created = self._stored_key is None
            renamed = not created and self._stored_key != self._key
            if not created and not renamed and state == self._stored_state:
                return
            values = self._effective()
            modified: dict[str, ModifiedValue] = {}
            if not created:
                modified = {
                    name: ModifiedValue(self._snapshot[name], value)
                    for name, value in values.items()
                    if self._snapshot.get(name) != value
                }
            if renamed:
                modified["__id__"] = ModifiedValue(self._stored_id, self._id)
            try:
                with manager.transaction():
                    if renamed:
                        assert self._stored_key is not None
                        if manager.has_key(self._key):
                            raise DuplicateIDError(f"{self._describe()}: something else was stored under this id")
                        manager.delete(self._stored_key)
                    manager.update(self._key, state)
                    manager.save()
            except Exception as error:
                failure: Exception | None = error
            else:
                failure = None
                if created:
                    notifications.append(("CFGSettingsObjectWasCreated", NotificationData()))
                if renamed:
                    notifications.append(
                        ("CFGSettingsObjectDidChangeID", NotificationData(old_id=self._stored_id, new_id=self._id))
                    )
                if modified and not created:
                    notifications.append(("CFGSettingsObjectDidChange", NotificationData(modified=modified)))
                self._stored_key, self._stored_id, self._stored_state = self._key, self._id, state
                self._snapshot = values
        if failure is not None:
            self._report_failure(manager, "save", modified, failure)
            raise failure
        self._post(notifications)

    def delete(self) -> None:
        """Remove the object from storage and write the configuration; post ``CFGSettingsObjectWasDeleted``.

        Afterwards the object can no longer be saved, and asking the class
        for its id gives a new object with default values. Deleting an object
        that was never saved only forgets it (nothing is posted); deleting it
        twice does nothing. Errors as for ``save()``.
        """
        manager = ConfigurationManager()
        with self._lock:
            if self._deleted:
                return
            self._check_usable(manager)
            stored_key = self._stored_key
            failure: Exception | None = None
            if stored_key is not None:
                try:
                    with manager.transaction():
                        manager.delete(stored_key)
                        manager.save()
                except Exception as error:
                    failure = error
            if failure is None:
                self._deleted = True
                self._stored_key = self._stored_id = self._stored_state = None
                with _registry_lock:
                    registry = _live_registry(manager)
                    if registry.get(self._key) is self:
                        del registry[self._key]
        if failure is not None:
            self._report_failure(manager, "delete", None, failure)
            raise failure
        if stored_key is not None:
            self._post([("CFGSettingsObjectWasDeleted", NotificationData())])

    # -- internals -------------------------------------------------------------

    def _check_usable(self, manager: ConfigurationManager) -> None:
        if self._deleted:
            raise ConfigurationError(f"{self._describe()} was deleted")
        if not manager.running or manager.generation != self._generation:
            raise ConfigurationError(
                f"{self._describe()} belongs to a ConfigurationManager run that ended; get the object again"
            )

    def _registry_of_this_run(self, manager: ConfigurationManager) -> dict[Key, SettingsObject]:
        self._check_usable(manager)
        return _live_registry(manager)

    def _report_failure(
        self, manager: ConfigurationManager, operation: str, modified: dict[str, ModifiedValue] | None, error: Exception
    ) -> None:
        data = NotificationData(object=self, operation=operation, modified=modified, exception=error)
        NotificationCenter().post_notification("CFGManagerSaveFailed", sender=manager, data=data)

    def _post(self, notifications: list[tuple[str, NotificationData]]) -> None:
        center = NotificationCenter()
        for name, data in notifications:
            center.post_notification(name, sender=self, data=data)
