"""Notification system: observers, notifications and notification centers.

This module is API-compatible with python-application's
``application.notification`` for the parts the SDK uses: :data:`Any`,
:class:`IObserver`, :class:`NotificationData`, :class:`Notification` and
:class:`NotificationCenter` with ``add_observer``, ``remove_observer``,
``discard_observer``, ``purge_observer`` and ``post_notification``.

Model
-----
An *observer* is any object with a callable ``handle_notification(notification)``
method (declaring :class:`IObserver` is optional).  It registers with a center
for a notification *name* and a *sender*, either of which may be :data:`Any`.
A notification posted with ``(name, sender)`` is delivered to the observers
registered for ``(name, sender)``, ``(name, Any)``, ``(Any, sender)`` and
``(Any, Any)``.  An observer matching several of these registrations receives
the notification once.  Observers are called in the order in which the
matching registrations were made (re-adding an existing registration does not
move it).  Names are strings; senders are compared by identity, never by
equality, so two equal but distinct senders are different senders.

Centers are per-name singletons: ``NotificationCenter()`` always returns the
same default center and ``NotificationCenter("x")`` returns the center named
``"x"``.  Centers live for the whole process.

Weak references
---------------
Observers are held through weak references: registering an object never keeps
it alive, and once it is garbage collected its registrations are dropped
(lazily, at the center's next operation).  An observer must therefore support
weak references (ordinary class instances do; ``add_observer`` raises
``TypeError`` otherwise).

Senders given to ``add_observer`` are held weakly when they support weak
references, and the registration is dropped when the sender dies.  Senders
that cannot be weakly referenced (``None``, ints, strings, tuples, instances
of classes with ``__slots__`` and no ``__weakref__``...) are held strongly for
as long as a registration mentions them.  Registrations are indexed by
``id(sender)``, and every match is confirmed by checking that the stored
reference still resolves to the very object being posted, so the id of a dead
sender can never make a registration match a new object that reuses the id.
The same holds for observers.  Unhashable senders are fine since only their
id is hashed.

Threads
-------
All methods may be called concurrently from any thread.  The center's state is
guarded by one re-entrant lock, which is never held while an observer runs:
``post_notification`` takes a snapshot of the matching observers under the
lock, releases it and then calls them synchronously in the posting thread.
An observer may therefore add or remove observers (itself included) or post
further notifications without deadlocking.  Such a nested post is delivered
immediately, before the outer notification reaches the remaining observers.
Because delivery works on a snapshot, an observer removed (by another thread
or by an earlier observer) while a notification is being delivered may still
receive that one notification; it receives none posted after the removal
returns.  Weak reference callbacks only append to a lock-free queue, and
objects released by the center are dropped after the lock is released, so
finalizers that call back into the center do not deadlock either.

Errors
------
An exception raised by an observer (any ``Exception`` subclass) does not stop
delivery to the other observers and does not reach the poster: it is logged
with its traceback on the ``"sipsimple.notification"`` logger, naming the
observer and the notification.  ``BaseException``s such as
``KeyboardInterrupt`` propagate.

Timestamps
----------
:attr:`Notification.datetime` is a timezone-aware ``datetime`` in UTC (python-
application used a naive UTC value); convert with ``.astimezone()`` for local
time.
"""

from __future__ import annotations

import itertools
import logging
import operator
import threading
import typing
import weakref
from collections import deque
from collections.abc import Callable
from datetime import UTC
from datetime import datetime as _datetime
from typing import TYPE_CHECKING, Final, Protocol, cast, runtime_checkable

from zope.interface import Attribute, Interface, implementer

__all__ = [
    "Any",
    "AnyType",
    "INotificationCenter",
    "IObserver",
    "Notification",
    "NotificationCenter",
    "NotificationData",
    "NotificationHandlerMixin",
    "ObserverProtocol",
]

log = logging.getLogger("sipsimple.notification")


class AnyType:
    """Type of the :data:`Any` sentinel; there is exactly one instance."""

    __slots__ = ()
    _instance: AnyType | None = None

    def __new__(cls) -> AnyType:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "Any"

    def __reduce__(self) -> str:
        # Pickles as a reference to the module global, so it unpickles to the
        # same singleton.
        return "Any"

    def __copy__(self) -> AnyType:
        return self

    def __deepcopy__(self, memo: object) -> AnyType:
        return self


Any: Final[AnyType] = AnyType()
"""Wildcard for a notification name or sender: matches every name / sender."""


# --------------------------------------------------------------------------
# Interfaces


# zope.interface declares methods without self: the first parameter is the first argument of a call.


class IObserver(Interface):
    """An object that receives notifications from a notification center."""

    def handle_notification(notification: Notification) -> None:
        """Called with each :class:`Notification` the observer is registered for."""


class INotificationCenter(Interface):
    """A notification center dispatching notifications to observers."""

    name = Attribute("The name of the center")

    def add_observer(observer: object, name: str | AnyType = Any, sender: object = Any) -> None:
        """Register observer for notifications named name posted by sender."""

    def remove_observer(observer: object, name: str | AnyType = Any, sender: object = Any) -> None:
        """Remove a registration; raise KeyError if it does not exist."""

    def discard_observer(observer: object, name: str | AnyType = Any, sender: object = Any) -> None:
        """Remove a registration if it exists."""

    def purge_observer(observer: object) -> None:
        """Remove every registration of observer."""

    def post_notification(name: str, sender: object = Any, data: NotificationData | None = None) -> None:
        """Deliver a notification to every matching observer."""


@runtime_checkable
class ObserverProtocol(Protocol):
    """Static-typing counterpart of :class:`IObserver`."""

    def handle_notification(self, notification: Notification) -> None: ...


# --------------------------------------------------------------------------
# Notifications


class NotificationData:
    """A bag of attributes carried by a notification.

    ``NotificationData(a=1, b="x")`` has attributes ``a`` and ``b``.  Two
    instances are equal when they have the same attributes with equal values.
    Instances are mutable and therefore unhashable; they pickle and copy as
    plain objects.
    """

    def __init__(self, **kwargs: object) -> None:
        self.__dict__.update(kwargs)

    if TYPE_CHECKING:
        # The attributes are whatever the poster passed (or set later), so a reader's ``data.code`` types
        # as Any (the documented notification tables say what each carries). Only for type checkers: at
        # run time a missing attribute raises AttributeError as usual, and copy/pickle see no __getattr__.
        def __getattr__(self, name: str) -> typing.Any: ...

        def __setattr__(self, name: str, value: typing.Any) -> None: ...

    def __repr__(self) -> str:
        attributes = ", ".join(f"{key}={value!r}" for key, value in self.__dict__.items())
        return f"{type(self).__name__}({attributes})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NotificationData):
            return NotImplemented
        return self.__dict__ == other.__dict__

    __hash__ = None  # type: ignore[assignment]


class Notification:
    """A notification as delivered to observers.

    Attributes: ``name`` (str), ``sender`` (the posting object or :data:`Any`),
    ``data`` (a :class:`NotificationData`) and ``datetime`` (an aware UTC
    ``datetime`` taken when the notification was created, i.e. posted).
    """

    __slots__ = ("name", "sender", "data", "datetime")

    name: str
    sender: object
    data: NotificationData
    datetime: _datetime

    def __init__(self, name: str, sender: object = Any, data: NotificationData | None = None) -> None:
        if data is None:
            data = NotificationData()
        elif not isinstance(data, NotificationData):
            raise TypeError(f"notification data must be a NotificationData instance, not {type(data).__name__}")
        self.name = name
        self.sender = sender
        self.data = data
        self.datetime = _datetime.now(UTC)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name={self.name!r}, sender={self.sender!r}, "
            f"data={self.data!r}, datetime={self.datetime!r})"
        )


# --------------------------------------------------------------------------
# Notification center internals

_OBSERVER_DIED: Final = 0
_SENDER_DIED: Final = 1

# Registration slots are keyed by (name or Any, id(sender) or Any).
_SlotKey = tuple[str | AnyType, int | AnyType]
_Ref = Callable[[], object]


class _StrongRef:
    """Reference-like holder for senders that do not support weak references."""

    __slots__ = ("obj",)

    def __init__(self, obj: object) -> None:
        self.obj = obj

    def __call__(self) -> object:
        return self.obj


class _ObserverRecord:
    """One per registered observer: its weak reference and its slot keys."""

    __slots__ = ("ref", "observer_id", "keys")

    def __init__(self, ref: weakref.ref[object], observer_id: int) -> None:
        self.ref = ref
        self.observer_id = observer_id
        self.keys: set[_SlotKey] = set()


class _Registration:
    __slots__ = ("seq", "record", "sender_ref")

    def __init__(self, seq: int, record: _ObserverRecord, sender_ref: _Ref | None) -> None:
        self.seq = seq
        self.record = record
        self.sender_ref = sender_ref  # None for sender=Any

    def matches_sender(self, sender: object) -> bool:
        return self.sender_ref is None or self.sender_ref() is sender

    def is_alive(self) -> bool:
        return self.record.ref() is not None and (self.sender_ref is None or self.sender_ref() is not None)


_registration_seq = operator.attrgetter("seq")


def _death_callback(queue: deque[tuple[int, object]], item: tuple[int, object]) -> Callable[[object], None]:
    """Weak reference callback that records ``item`` in ``queue``.

    It closes over the queue only (not the center) and takes no lock, so it is
    safe to run at any time, in any thread, even while the lock is held.
    """

    def callback(_ref: object) -> None:
        queue.append(item)

    return callback


def _safe_repr(obj: object) -> str:
    try:
        return repr(obj)
    except Exception:
        return f"<{type(obj).__qualname__} object at {id(obj):#x} (repr failed)>"


def _check_name(name: object, *, allow_any: bool) -> None:
    if isinstance(name, str) or (allow_any and name is Any):
        return
    expected = "a string or Any" if allow_any else "a string"
    raise TypeError(f"notification name must be {expected}, not {type(name).__name__}")


# --------------------------------------------------------------------------
# Notification center


@implementer(INotificationCenter)
class NotificationCenter:
    """Dispatches notifications to the observers registered for them.

    ``NotificationCenter(name="default")`` returns the one center with that
    name, creating it on first use (thread-safely).  See the module docstring
    for matching, ordering, threading and weak-reference semantics.
    """

    _centers: dict[tuple[type, str], NotificationCenter] = {}
    _centers_lock = threading.Lock()

    name: str

    def __new__(cls, name: str = "default") -> NotificationCenter:
        if not isinstance(name, str):
            raise TypeError(f"notification center name must be a string, not {type(name).__name__}")
        key = (cls, name)
        center = cls._centers.get(key)
        if center is not None:
            return center
        with cls._centers_lock:
            center = cls._centers.get(key)
            if center is None:
                center = super().__new__(cls)
                center._setup(name)
                cls._centers[key] = center
            return center

    # No __init__: __new__ does the whole set-up, so that returning an
    # existing center does not reset it.

    def _setup(self, name: str) -> None:
        self.name = name
        self._lock = threading.RLock()
        self._registry: dict[_SlotKey, dict[int, _Registration]] = {}
        self._observers: dict[int, _ObserverRecord] = {}
        self._seq = itertools.count()
        # Filled by weak reference callbacks (possibly from any thread, at any
        # time, even while this thread holds the lock): deque.append is atomic
        # and takes no lock, and the entries are processed under the lock by
        # the next operation.
        self._dead: deque[tuple[int, object]] = deque()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"

    # -- public API --------------------------------------------------------

    def add_observer(self, observer: object, name: str | AnyType = Any, sender: object = Any) -> None:
        """Register ``observer`` for notifications called ``name`` posted by ``sender``.

        Either may be :data:`Any`.  Registering an existing (observer, name,
        sender) triple again does nothing.  Raises ``TypeError`` if the
        observer has no callable ``handle_notification`` or does not support
        weak references, or if ``name`` is neither a string nor :data:`Any`.
        """
        if not callable(getattr(observer, "handle_notification", None)):
            raise TypeError(f"observer {_safe_repr(observer)} has no callable handle_notification method")
        if type(name) is not str:  # the check itself costs a call on every registration
            _check_name(name, allow_any=True)
        observer_id = id(observer)
        try:
            observer_ref = weakref.ref(observer, _death_callback(self._dead, (_OBSERVER_DIED, observer_id)))
        except TypeError:
            raise TypeError(
                f"observer {_safe_repr(observer)} does not support weak references (add '__weakref__' to its __slots__)"
            ) from None
        slot_key: _SlotKey
        if sender is Any:
            slot_key = (name, Any)
            sender_ref: _Ref | None = None
        else:
            slot_key = (name, id(sender))
            try:
                sender_ref = weakref.ref(sender, _death_callback(self._dead, (_SENDER_DIED, slot_key)))
            except TypeError:
                sender_ref = _StrongRef(sender)
        garbage: list[object] = []  # released after the lock, see _drop_registration
        with self._lock:
            if self._dead:
                self._process_dead(garbage)
            record = self._observers.get(observer_id)
            if record is not None and record.ref() is not observer:
                # Left over from a dead observer whose id has been reused.
                self._drop_record(record, garbage)
                record = None
            slot = self._registry.get(slot_key)
            existing = slot.get(observer_id) if slot is not None else None
            if existing is not None:
                if existing.record is record and existing.matches_sender(sender):
                    return  # already registered
                # Stale: registered for a dead sender whose id has been reused.
                self._drop_registration(slot_key, observer_id, garbage)
                record = self._observers.get(observer_id)  # dropped if that was its last registration
            if record is None:
                record = _ObserverRecord(observer_ref, observer_id)
                self._observers[observer_id] = record
            self._registry.setdefault(slot_key, {})[observer_id] = _Registration(next(self._seq), record, sender_ref)
            record.keys.add(slot_key)

    def remove_observer(self, observer: object, name: str | AnyType = Any, sender: object = Any) -> None:
        """Remove the registration of ``observer`` for exactly ``(name, sender)``.

        Raises ``KeyError`` if there is no such registration.  Registrations
        of the same observer for other names or senders are kept.
        """
        if not self._remove(observer, name, sender):
            raise KeyError(f"{_safe_repr(observer)} is not registered for name={name!r}, sender={_safe_repr(sender)}")

    def discard_observer(self, observer: object, name: str | AnyType = Any, sender: object = Any) -> None:
        """Like :meth:`remove_observer`, but does nothing if the registration does not exist."""
        self._remove(observer, name, sender)

    def purge_observer(self, observer: object) -> None:
        """Remove every registration of ``observer`` (doing nothing if it has none)."""
        garbage: list[object] = []
        with self._lock:
            self._process_dead(garbage)
            record = self._observers.get(id(observer))
            if record is not None and record.ref() is observer:
                self._drop_record(record, garbage)

    def post_notification(self, name: str, sender: object = Any, data: NotificationData | None = None) -> None:
        """Create a :class:`Notification` and deliver it to the matching observers.

        ``data`` defaults to an empty :class:`NotificationData`; anything else
        that is not a ``NotificationData`` raises ``TypeError``.  Delivery is
        synchronous, in the calling thread, and the lock is not held while
        observers run.  Exceptions raised by observers are logged, not raised.
        """
        if type(name) is not str:  # the check itself costs a call on every post
            _check_name(name, allow_any=False)
        notification = Notification(name, sender, data)  # validates data
        if sender is Any:
            slot_keys: tuple[_SlotKey, ...] = ((name, Any), (Any, Any))
        else:
            sender_id = id(sender)
            slot_keys = ((name, sender_id), (name, Any), (Any, sender_id), (Any, Any))
        registry = self._registry
        garbage: list[object] = []
        with self._lock:
            if self._dead:
                self._process_dead(garbage)
            registrations: list[_Registration] = []
            for slot_key in slot_keys:
                slot = registry.get(slot_key)
                if slot:
                    registrations.extend(slot.values())
        del garbage
        observers = self._observers_of(registrations, sender)
        del registrations
        for observer in observers:
            try:
                observer.handle_notification(notification)  # type: ignore[attr-defined]
            except Exception:
                log.exception(
                    "Exception in observer %s while handling notification %r from sender %s",
                    _safe_repr(observer),
                    name,
                    _safe_repr(sender),
                )

    @staticmethod
    def _observers_of(registrations: list[_Registration], sender: object) -> list[object]:
        """The live observers of `registrations` for `sender`, each once, in registration order.

        The list holds strong references for the duration of the delivery.
        """
        if len(registrations) == 1:
            # Most notifications have one observer: no ordering or duplicates to care about.
            registration = registrations[0]
            observer = registration.record.ref()
            if observer is None or not registration.matches_sender(sender):
                return []
            return [observer]
        registrations.sort(key=_registration_seq)
        observers: list[object] = []
        seen: set[int] = set()
        for registration in registrations:
            observer = registration.record.ref()
            if observer is None or not registration.matches_sender(sender):
                continue
            if id(observer) not in seen:
                seen.add(id(observer))
                observers.append(observer)
        return observers

    def registration_count(self) -> int:
        """Return the number of live registrations (for diagnostics and tests)."""
        garbage: list[object] = []
        with self._lock:
            self._process_dead(garbage)
            return sum(
                1 for slot in self._registry.values() for registration in slot.values() if registration.is_alive()
            )

    # -- internals: _remove takes the lock, the others expect it to be held ----

    def _remove(self, observer: object, name: object, sender: object) -> bool:
        observer_id = id(observer)
        slot_key: _SlotKey = (name, Any if sender is Any else id(sender))  # type: ignore[assignment]
        garbage: list[object] = []
        with self._lock:
            if self._dead:
                self._process_dead(garbage)
            slot = self._registry.get(slot_key)
            registration = slot.get(observer_id) if slot is not None else None
            if (
                registration is None
                or registration.record.ref() is not observer
                or not registration.matches_sender(sender)
            ):
                return False
            self._drop_registration(slot_key, observer_id, garbage)
            return True

    def _drop_registration(self, slot_key: _SlotKey, observer_id: int, garbage: list[object]) -> None:
        # Removed objects are appended to ``garbage``, a list owned by the
        # caller and released only after the lock is released, so that the
        # last reference to a strongly held sender is never dropped (running
        # its finalizer) while the registry is half updated.
        slot = self._registry[slot_key]
        registration = slot.pop(observer_id)
        garbage.append(registration)
        if not slot:
            del self._registry[slot_key]
        record = registration.record
        record.keys.discard(slot_key)
        if not record.keys and self._observers.get(observer_id) is record:
            del self._observers[observer_id]

    def _drop_record(self, record: _ObserverRecord, garbage: list[object]) -> None:
        observer_id = record.observer_id
        for slot_key in list(record.keys):
            slot = self._registry.get(slot_key)
            registration = slot.get(observer_id) if slot is not None else None
            if registration is not None and registration.record is record:
                self._drop_registration(slot_key, observer_id, garbage)
        record.keys.clear()
        if self._observers.get(observer_id) is record:
            del self._observers[observer_id]
        garbage.append(record)

    def _process_dead(self, garbage: list[object]) -> None:
        dead = self._dead
        while dead:
            try:
                kind, key = dead.popleft()
            except IndexError:  # emptied concurrently (cannot happen under the lock, but be safe)
                break
            if kind == _OBSERVER_DIED:
                record = self._observers.get(cast(int, key))
                if record is not None and record.ref() is None:
                    self._drop_record(record, garbage)
            else:
                slot_key = cast(_SlotKey, key)
                slot = self._registry.get(slot_key)
                if slot is None:
                    continue
                for observer_id, registration in list(slot.items()):
                    if registration.sender_ref is not None and registration.sender_ref() is None:
                        self._drop_registration(slot_key, observer_id, garbage)


class NotificationHandlerMixin:
    """Dispatch each notification to a ``_NH_<notification name>`` method.

    ``handle_notification`` calls ``self._NH_SIPEngineDidStart(notification)``
    for a notification named ``"SIPEngineDidStart"``, and ignores notifications
    for which the class defines no such method.
    """

    def handle_notification(self, notification: Notification) -> None:
        handler = getattr(self, f"_NH_{notification.name}", None)
        if handler is not None:
            handler(notification)


implementer(IObserver)(NotificationHandlerMixin)
