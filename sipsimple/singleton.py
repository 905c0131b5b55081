"""A thread-safe ``Singleton`` metaclass.

Usage::

    class Engine(metaclass=Singleton):
        def __init__(self, config=None): ...

    assert Engine() is Engine()

The first call to the class constructs the instance; every later call returns
that same instance and ignores its arguments (``__init__`` is not run again).

Each class owns its instance: a subclass of a singleton class is a singleton
of its own, distinct from its parent's instance.

Construction is serialised by a per-class re-entrant lock, so two threads that
call the class at the same moment get the same object and ``__init__`` runs
exactly once.  Once the instance exists, calls take a lock-free fast path.  A
class whose ``__init__`` (directly or indirectly) calls the class again while
the instance is being built gets a ``RuntimeError`` instead of infinite
recursion.  If ``__init__`` raises, no instance is stored and the next call
tries again.
"""

from __future__ import annotations

import threading
from typing import Any, Final, TypeVar

__all__ = ["Singleton"]

_T = TypeVar("_T")


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<no instance>"


_MISSING: Final = _Missing()


class Singleton(type):
    """Metaclass making every class that uses it have a single instance."""

    # Every attribute below is stored in each class's own ``__dict__`` (set in
    # ``__init__``), so subclasses never share their parent's instance or lock.
    __instance: object
    __lock: threading.RLock
    __constructing: bool

    def __init__(cls, name: str, bases: tuple[type, ...], namespace: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(name, bases, namespace, **kwargs)
        cls.__instance = _MISSING
        cls.__lock = threading.RLock()
        cls.__constructing = False

    def __call__(cls: type[_T], *args: Any, **kwargs: Any) -> _T:
        # ``cls`` is a Singleton instance; the annotation only serves to give
        # the caller the right return type.
        meta_cls: Singleton = cls  # type: ignore[assignment]
        instance = meta_cls.__instance
        if instance is not _MISSING:
            return instance  # type: ignore[return-value]
        with meta_cls.__lock:
            instance = meta_cls.__instance
            if instance is _MISSING:
                if meta_cls.__constructing:
                    raise RuntimeError(f"recursive construction of singleton {cls.__qualname__}")
                meta_cls.__constructing = True
                try:
                    instance = super(Singleton, meta_cls).__call__(*args, **kwargs)
                finally:
                    meta_cls.__constructing = False
                meta_cls.__instance = instance
            return instance  # type: ignore[return-value]
