"""The interface every configuration backend implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

__all__ = ["ConfigurationBackend"]


class ConfigurationBackend(ABC):
    """Where the ConfigurationManager keeps its tree of settings.

    The tree is a ``dict`` whose keys are strings and whose values are
    ``dict``, ``list``, ``str``, ``int``, ``float``, ``bool`` or ``None``
    (what JSON can hold). A backend stores whole trees: ``save()`` replaces
    what is stored, ``load()`` returns what the last successful ``save()``
    stored, or ``{}`` when nothing was ever stored. Both raise
    :class:`~sipsimple.configuration.ConfigurationBackendError` on failure;
    a backend must never answer a failed read with an empty tree, or the
    application would start with default settings and overwrite the real
    ones at its next save.

    The ConfigurationManager calls a backend from one thread at a time.
    """

    @abstractmethod
    def load(self) -> dict[str, Any]:
        """Return the stored tree (a new object the caller may keep), or ``{}`` if nothing is stored."""

    @abstractmethod
    def save(self, data: dict[str, Any]) -> None:
        """Store ``data`` in place of what is stored; the backend must not keep a reference to it."""
