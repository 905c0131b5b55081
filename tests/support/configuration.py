"""Helpers of the configuration tests: backends with a twist (real ones, no mocks)."""

from __future__ import annotations

from typing import Any

from sipsimple.configuration.backend import MemoryBackend


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
