"""Helpers of the configuration tests: a recording observer and backends with a twist (real ones, no mocks)."""

from __future__ import annotations

import threading
from typing import Any

from sipsimple.configuration.backend import MemoryBackend
from sipsimple.notification import Notification, NotificationCenter


class Recorder:
    """Records the notifications with the given names (from any sender). Keep a reference: observers are weak."""

    def __init__(self, *names: str) -> None:
        self.notifications: list[Notification] = []
        self._lock = threading.Lock()
        for name in names:
            NotificationCenter().add_observer(self, name=name)

    def handle_notification(self, notification: Notification) -> None:
        with self._lock:
            self.notifications.append(notification)

    def named(self, name: str) -> list[Notification]:
        with self._lock:
            return [notification for notification in self.notifications if notification.name == name]

    @property
    def names(self) -> list[str]:
        with self._lock:
            return [notification.name for notification in self.notifications]

    def clear(self) -> None:
        with self._lock:
            self.notifications.clear()

    def close(self) -> None:
        NotificationCenter().purge_observer(self)


class CountingBackend(MemoryBackend):
    """A MemoryBackend that counts its saves and can be told to fail them."""

    def __init__(self, data: dict[str, Any] | None = None) -> None:
        super().__init__(data)
        self.saves = 0
        self.failure: Exception | None = None

    def save(self, data: dict[str, Any]) -> None:
        if self.failure is not None:
            raise self.failure
        self.saves += 1
        super().save(data)
