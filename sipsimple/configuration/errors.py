"""Exceptions of the configuration layer."""

from __future__ import annotations

__all__ = ["ConfigurationBackendError", "ConfigurationError", "DuplicateIDError", "ObjectNotFoundError"]


class ConfigurationError(Exception):
    """Base class: the configuration cannot do what was asked (not started, stale object, bad tree...)."""


class ConfigurationBackendError(ConfigurationError):
    """A backend could not load or store the settings (unreadable or corrupt file, failed write)."""


class ObjectNotFoundError(ConfigurationError, KeyError):
    """No data is stored under the key; also a ``KeyError``."""

    def __str__(self) -> str:
        # KeyError quotes its argument; this is a sentence, not a key.
        return Exception.__str__(self)


class DuplicateIDError(ConfigurationError, ValueError):
    """Another settings object already uses the id (or storage key); also a ``ValueError``."""
