"""A backend that keeps the settings in memory only (tests, throw-away sessions)."""

from __future__ import annotations

import copy
from typing import Any

from sipsimple.configuration.backend.base import ConfigurationBackend

__all__ = ["MemoryBackend"]


class MemoryBackend(ConfigurationBackend):
    """Keeps a private copy of the tree; ``data`` is what ``load()`` returns until the first ``save()``."""

    def __init__(self, data: dict[str, Any] | None = None) -> None:
        self._data: dict[str, Any] = copy.deepcopy(data) if data is not None else {}

    def load(self) -> dict[str, Any]:
        return copy.deepcopy(self._data)

    def save(self, data: dict[str, Any]) -> None:
        self._data = copy.deepcopy(data)
