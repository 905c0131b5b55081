"""Media streams: the interface a Session negotiates them through, and the registry of stream classes.

A stream class implements IMediaStream: the Session asks it for its part of
the SDP (``get_local_media``), hands it the negotiated SDP (``start``,
``update``) and ends it (``end``); the stream reports through the
notifications MediaStreamDidInitialize, MediaStreamDidStart,
MediaStreamDidFail, MediaStreamWillEnd and MediaStreamDidEnd (sender: the
stream).

For an incoming offer the Session tries the classes of the
MediaStreamRegistry, highest ``priority`` first, calling each one's
``new_from_sdp`` for each offered media stream until one accepts it. A class
gets into the registry by ``MediaStreamRegistry().add(cls)`` or, more simply,
by being created with the metaclass MediaStreamRegistrar, which also
declares it to implement IMediaStream.

The registry is a singleton and may be used from any thread.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Iterator
from typing import Any

from zope.interface import classImplements
from zope.interface.exceptions import Invalid
from zope.interface.verify import verifyClass

from sipsimple.singleton import Singleton
from sipsimple.streams._interface import IMediaStream

__all__ = ["IMediaStream", "InvalidStreamError", "MediaStreamRegistrar", "MediaStreamRegistry"]


class InvalidStreamError(TypeError):
    """A class offered to the MediaStreamRegistry that is not a usable IMediaStream implementation."""


def _check_stream_class(cls: object) -> type:
    """``cls`` itself if it is a concrete class implementing IMediaStream, else InvalidStreamError saying why."""
    if not isinstance(cls, type):
        raise InvalidStreamError(f"a media stream must be a class, not {cls!r}")
    if inspect.isabstract(cls):
        raise InvalidStreamError(f"{cls.__qualname__} is abstract")
    if not IMediaStream.implementedBy(cls):
        raise InvalidStreamError(f"{cls.__qualname__} does not implement IMediaStream")
    try:
        verifyClass(IMediaStream, cls)
    except Invalid as error:
        raise InvalidStreamError(f"{cls.__qualname__} does not implement IMediaStream: {error}") from None
    stream_type = getattr(cls, "type", None)
    if not isinstance(stream_type, str) or not stream_type:
        raise InvalidStreamError(f"{cls.__qualname__}.type must be a non-empty string, not {stream_type!r}")
    priority = getattr(cls, "priority", None)
    if not isinstance(priority, int) or isinstance(priority, bool):
        raise InvalidStreamError(f"{cls.__qualname__}.priority must be an int, not {priority!r}")
    return cls


class MediaStreamRegistry(metaclass=Singleton):
    """The stream classes a Session may instantiate for an incoming offer, highest priority first.

    Classes of equal priority keep the order in which they were added.
    Adding a class that is already registered changes nothing.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._classes: list[type] = []

    def add(self, cls: type) -> None:
        """Register ``cls``; InvalidStreamError (a TypeError) if it is not a concrete IMediaStream class."""
        _check_stream_class(cls)
        with self._lock:
            if cls in self._classes:
                return
            classes = [*self._classes, cls]
            # sorted() is stable: equal priorities stay in the order they were added.
            self._classes = sorted(classes, key=lambda known: -known.priority)  # type: ignore[attr-defined]

    def remove(self, cls: type) -> None:
        """Unregister ``cls`` (an application unloading a stream of its own); ValueError if it is not registered."""
        with self._lock:
            if cls not in self._classes:
                raise ValueError(f"{getattr(cls, '__qualname__', cls)!r} is not registered")
            self._classes = [known for known in self._classes if known is not cls]

    def __iter__(self) -> Iterator[type]:
        # A snapshot: classes added or removed meanwhile do not disturb the iteration.
        return iter(self._classes)

    def __len__(self) -> int:
        return len(self._classes)

    def __contains__(self, cls: object) -> bool:
        return cls in self._classes


class MediaStreamRegistrar(type):
    """Metaclass: a class created with it implements IMediaStream and is registered in the MediaStreamRegistry.

    A class that defines no ``type`` (``type = None``, as a shared base class
    does) or is abstract is declared but not registered; its concrete
    subclasses are. A class that claims a type but fails the registry's
    checks raises InvalidStreamError where it is defined.
    """

    def __init__(cls, name: str, bases: tuple[type, ...], namespace: dict[str, Any]) -> None:
        super().__init__(name, bases, namespace)
        classImplements(cls, IMediaStream)
        if getattr(cls, "type", None) is None or inspect.isabstract(cls):
            return
        MediaStreamRegistry().add(cls)
