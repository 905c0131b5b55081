"""Recording the notifications a test waits for or checks afterwards."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from sipsimple.notification import Any, Notification, NotificationCenter


class NotificationRecorder:
    """Records the notifications it observes (those named `wanted`, all when none are named) and lets a test
    wait for one. Thread-safe: notifications come from the Engine's and the middleware's threads.

    Observers are held weakly by the NotificationCenter: keep a reference for as long as it should record.
    """

    def __init__(self, *wanted: str) -> None:
        self.wanted = set(wanted)
        self.notifications: list[Notification] = []
        self.times: list[float] = []  # time.monotonic() at each notification's arrival
        self._condition = threading.Condition()
        self._cursor = 0  # next_matching() looks from here on

    def handle_notification(self, notification: Notification) -> None:
        if self.wanted and notification.name not in self.wanted:
            return
        with self._condition:
            self.notifications.append(notification)
            self.times.append(time.monotonic())
            self._condition.notify_all()

    def named(self, name: str) -> list[Notification]:
        with self._condition:
            return [n for n in self.notifications if n.name == name]

    @property
    def names(self) -> list[str]:
        """The names of the notifications recorded, in order."""
        with self._condition:
            return [n.name for n in self.notifications]

    def wait_for(self, predicate: Callable[[Notification], bool], timeout: float = 10.0) -> Notification:
        """The first notification recorded (before or after the call) that matches; AssertionError on timeout."""
        index = self._wait_index(predicate, 0, timeout)
        if index is None:
            raise AssertionError(f"no matching notification within {timeout} s; got {self.names}")
        return self.notifications[index]

    def wait_named(self, name: str, timeout: float = 10.0) -> Notification:
        return self.wait_for(lambda n: n.name == name, timeout)

    def next_matching(
        self, predicate: Callable[[Notification], bool], timeout: float = 10.0
    ) -> tuple[float, Notification] | None:
        """The first match after the last one this returned, with its arrival time; None on timeout.

        For a test that waits for a sequence (lost, then regained, then registered again), where an
        earlier match must not answer a later wait.
        """
        index = self._wait_index(predicate, self._cursor, timeout)
        if index is None:
            return None
        self._cursor = index + 1
        return self.times[index], self.notifications[index]

    def _wait_index(self, predicate: Callable[[Notification], bool], start: int, timeout: float) -> int | None:
        deadline = time.monotonic() + timeout
        with self._condition:
            seen = start
            while True:
                for index in range(seen, len(self.notifications)):
                    if predicate(self.notifications[index]):
                        return index
                seen = max(seen, len(self.notifications))
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._condition.wait(remaining)

    def clear(self) -> None:
        with self._condition:
            self.notifications.clear()
            self.times.clear()
            self._cursor = 0

    def close(self) -> None:
        """Stop observing."""
        NotificationCenter().purge_observer(self)


def observe(*names: str, sender: object = Any) -> NotificationRecorder:
    """A NotificationRecorder observing `names` (every name when none is given) from `sender` (any by default)."""
    recorder = NotificationRecorder(*names)
    center = NotificationCenter()
    for name in names or (Any,):
        center.add_observer(recorder, name=name, sender=sender)
    return recorder
