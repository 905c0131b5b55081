"""Waiting for notifications from a green thread (or any other thread)."""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType

from sipsimple.notification import Any, AnyType, Notification, NotificationCenter
from sipsimple.threading._primitives import Channel

__all__ = ["NotificationQueue"]


class NotificationQueue:
    """An observer that queues the notifications it receives, for a thread to wait on.

    Register it *before* doing what causes the notification, so none is
    missed::

        with NotificationQueue("SIPEngineDidStart", sender=engine) as notifications:
            engine.start(...)
            notification = notifications.wait(timeout=10)

    Notifications are queued in whichever thread posts them (the Engine
    thread, usually) without blocking it; wait() blocks only its caller, a
    green thread of the middleware thread or any other thread.
    """

    def __init__(self, *names: str, sender: object = Any, center: NotificationCenter | None = None) -> None:
        self.names: tuple[str, ...] | tuple[AnyType] = names or (Any,)
        self.sender = sender
        self.center = center if center is not None else NotificationCenter()
        self._channel: Channel[Notification] = Channel()

    def __enter__(self) -> NotificationQueue:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Register with the notification center for each name (and the sender)."""
        for name in self.names:
            self.center.add_observer(self, name=name, sender=self.sender)

    def stop(self) -> None:
        """Unregister; notifications already queued stay available."""
        for name in self.names:
            self.center.discard_observer(self, name=name, sender=self.sender)

    def handle_notification(self, notification: Notification) -> None:
        self._channel.put(notification)

    def __len__(self) -> int:
        return len(self._channel)

    def wait(self, timeout: float | None = None) -> Notification:
        """The oldest queued notification, waiting for one; ``TimeoutError`` after ``timeout`` seconds."""
        return self._channel.get(timeout)

    def wait_for(self, predicate: Callable[[Notification], bool], timeout: float | None = None) -> Notification:
        """The first notification for which ``predicate`` is true; the ones before it are dropped."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            notification = self._channel.get(remaining)
            if predicate(notification):
                return notification
