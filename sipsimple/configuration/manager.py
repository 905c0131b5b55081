"""The ConfigurationManager: the process's tree of settings, loaded from and saved to a backend."""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sipsimple.configuration.backend.base import ConfigurationBackend
from sipsimple.configuration.errors import (
    ConfigurationBackendError,
    ConfigurationError,
    DuplicateIDError,
    ObjectNotFoundError,
)
from sipsimple.singleton import Singleton

__all__ = ["ConfigurationManager", "Key", "normalize_key"]

Key = tuple[str, ...]
"""A path in the tree: ``("SIPSimpleSettings",)``, ``("Accounts", "alice@example.com")``."""


def normalize_key(key: str | Sequence[str], *, allow_root: bool = False) -> Key:
    """Return ``key`` as a tuple of non-empty strings; a single string is a one-element key."""
    parts: tuple[object, ...] = (key,) if isinstance(key, str) else tuple(key)
    if not parts and not allow_root:
        raise ValueError("a configuration key cannot be empty")
    for part in parts:
        if not isinstance(part, str):
            raise TypeError(f"configuration key elements must be str, not {type(part).__name__} (key {key!r})")
        if not part:
            raise ValueError(f"configuration key elements cannot be empty (key {key!r})")
    return parts  # type: ignore[return-value]


def check_tree(value: object, where: str = "the tree") -> None:
    """Raise ``TypeError`` unless ``value`` is made only of what JSON holds, with string keys."""
    if isinstance(value, dict):
        for name, item in value.items():
            if not isinstance(name, str):
                raise TypeError(f"{where}: keys must be str, not {type(name).__name__} ({name!r})")
            check_tree(item, f"{where}/{name}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_tree(item, f"{where}[{index}]")
    elif value is not None and not isinstance(value, str | int | float):  # bool is an int
        raise TypeError(f"{where}: {type(value).__name__} cannot be stored (only dict, list, str, numbers, None)")


class ConfigurationManager(metaclass=Singleton):
    """Holds the settings tree of the process between a backend's ``load()`` and ``save()``.

    ``start(backend)`` loads the tree; ``get``, ``get_names``, ``update``,
    ``rename`` and ``delete`` read and change it in memory; ``save()`` writes
    all of it through the backend. Every method is thread-safe: each runs under
    one re-entrant lock (``lock``), held during the backend's ``save()`` too, so
    concurrent saves are serialised and each writes a complete, current tree.
    ``transaction()`` makes several operations all-or-nothing.
    """

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._backend: ConfigurationBackend | None = None
        self._data: dict[str, Any] | None = None
        self._generation = 0

    # -- lifetime ------------------------------------------------------------

    def start(self, backend: ConfigurationBackend) -> None:
        """Load the tree from ``backend``; on failure the manager stays stopped and may be started again.

        Raises ``TypeError`` for something that is not a backend,
        :class:`ConfigurationError` if already started, and whatever the
        backend raises (a :class:`ConfigurationBackendError` for a corrupt
        file) or :class:`ConfigurationBackendError` if it returns something
        that is not a tree.
        """
        if not callable(getattr(backend, "load", None)) or not callable(getattr(backend, "save", None)):
            raise TypeError(f"a configuration backend needs load() and save() methods, got {backend!r}")
        with self.lock:
            if self._backend is not None:
                raise ConfigurationError("the ConfigurationManager is already started")
            data = backend.load()
            if not isinstance(data, dict):
                raise ConfigurationBackendError(f"{backend!r} loaded a {type(data).__name__}, not a dict")
            try:
                check_tree(data)
            except TypeError as error:
                raise ConfigurationBackendError(f"{backend!r} loaded an invalid tree: {error}") from None
            self._data = data
            self._backend = backend
            self._generation += 1

    def stop(self) -> None:
        """Forget the tree and the backend (unsaved changes are dropped); does nothing if stopped.

        Settings objects obtained while it ran become stale: reading them
        still works, saving or deleting them raises ConfigurationError.
        """
        with self.lock:
            self._backend = None
            self._data = None

    @property
    def running(self) -> bool:
        return self._backend is not None

    @property
    def backend(self) -> ConfigurationBackend | None:
        return self._backend

    @property
    def generation(self) -> int:
        """How many times the manager was started; settings objects remember the generation they belong to."""
        return self._generation

    # -- the tree ------------------------------------------------------------

    def get(self, key: str | Sequence[str]) -> Any:
        """Return a copy of what is stored under ``key``; :class:`ObjectNotFoundError` if nothing is."""
        path = normalize_key(key)
        with self.lock:
            node: Any = self._tree()
            for depth, part in enumerate(path):
                if not isinstance(node, dict) or part not in node:
                    raise ObjectNotFoundError(f"nothing is stored under {_show(path[: depth + 1])}")
                node = node[part]
            return copy.deepcopy(node)

    def has_key(self, key: str | Sequence[str]) -> bool:
        """Whether something is stored under ``key``."""
        path = normalize_key(key)
        with self.lock:
            return self._find(path) is not _MISSING

    def get_names(self, key: str | Sequence[str] = ()) -> list[str]:
        """Return the names stored directly under ``key`` (the root by default); ``[]`` if there are none."""
        path = normalize_key(key, allow_root=True)
        with self.lock:
            node = self._find(path)
            return list(node) if isinstance(node, dict) else []

    def update(self, key: str | Sequence[str], data: Any) -> None:
        """Store a copy of ``data`` under ``key``, replacing what was there; missing parents are created.

        ``data`` must be what JSON can hold (``TypeError`` otherwise). Raises
        :class:`ConfigurationError` when a parent of ``key`` holds a value
        that is not a dict.
        """
        path = normalize_key(key)
        check_tree(data, _show(path))
        data = copy.deepcopy(data)
        with self.lock:
            node = self._tree()
            for depth, part in enumerate(path[:-1]):
                child = node.setdefault(part, {})
                if not isinstance(child, dict):
                    raise ConfigurationError(f"{_show(path[: depth + 1])} holds a value, not a group of settings")
                node = child
            node[path[-1]] = data

    def delete(self, key: str | Sequence[str]) -> None:
        """Remove what is stored under ``key`` (nothing happens if nothing is); parents left empty go too."""
        path = normalize_key(key)
        with self.lock:
            nodes = [self._tree()]
            for part in path[:-1]:
                child = nodes[-1].get(part)
                if not isinstance(child, dict):
                    return
                nodes.append(child)
            if nodes[-1].pop(path[-1], _MISSING) is _MISSING:
                return
            for depth in range(len(nodes) - 1, 0, -1):
                if nodes[depth]:
                    break
                del nodes[depth - 1][path[depth - 1]]

    def rename(self, old_key: str | Sequence[str], new_key: str | Sequence[str]) -> None:
        """Move what is stored under ``old_key`` to ``new_key``.

        Raises :class:`ObjectNotFoundError` if nothing is stored under
        ``old_key`` and :class:`DuplicateIDError` if something already is
        under ``new_key``.
        """
        old_path, new_path = normalize_key(old_key), normalize_key(new_key)
        if old_path == new_path:
            return
        with self.lock:
            data = self.get(old_path)
            if self._find(new_path) is not _MISSING:
                raise DuplicateIDError(f"something is already stored under {_show(new_path)}")
            self.update(new_path, data)
            self.delete(old_path)

    def save(self) -> None:
        """Write the whole tree through the backend.

        Raises :class:`ConfigurationError` when stopped and
        :class:`ConfigurationBackendError` when the backend fails (other
        exceptions from a backend are wrapped in one). The in-memory tree is
        unchanged either way; see ``transaction()`` to undo changes when the
        write fails.
        """
        with self.lock:
            data = self._tree()
            assert self._backend is not None
            try:
                self._backend.save(data)
            except ConfigurationError:
                raise
            except Exception as error:
                raise ConfigurationBackendError(f"{self._backend!r} failed to save: {error}") from error

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Hold the lock for a block of operations; if the block raises, the tree is restored as it was.

        ``with manager.transaction(): manager.update(...); manager.save()``
        either stores and writes the change or leaves the tree as before.
        """
        with self.lock:
            saved = copy.deepcopy(self._tree())
            try:
                yield
            except BaseException:
                if self._data is not None:
                    self._data = saved
                raise

    # -- internals -------------------------------------------------------------

    def _tree(self) -> dict[str, Any]:
        if self._data is None:
            raise ConfigurationError("the ConfigurationManager is not started")
        return self._data

    def _find(self, path: Key) -> Any:
        node: Any = self._tree()
        for part in path:
            if not isinstance(node, dict) or part not in node:
                return _MISSING
            node = node[part]
        return node


class _Missing:
    __slots__ = ()


_MISSING: Any = _Missing()


def _show(path: Key) -> str:
    return "/".join(path)
