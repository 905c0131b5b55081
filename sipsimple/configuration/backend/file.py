"""A backend keeping the settings in a JSON file, written atomically and readable only by its owner."""

from __future__ import annotations

import json
import logging
import os
import tempfile
from typing import Any

from sipsimple.configuration.backend.base import ConfigurationBackend
from sipsimple.configuration.errors import ConfigurationBackendError

__all__ = ["FileBackend"]

log = logging.getLogger("sipsimple.configuration")

_FILE_MODE = 0o600  # the settings hold passwords
_DIRECTORY_MODE = 0o700  # only for a directory the backend creates


class FileBackend(ConfigurationBackend):
    """The tree as a JSON document (UTF-8, indented, keys sorted) in ``filename``.

    ``save()`` never leaves a partly written file behind, even if the process
    dies or the machine loses power in the middle: the new document goes to a
    temporary file in the same directory (mode 0600), which is flushed to
    disk and then renamed over the old file (an atomic replacement), after
    which the directory itself is flushed so the rename is durable. At any
    moment the file holds either the old or the new document. A temporary
    file left by a crash is removed by the next ``load()``.

    ``load()`` returns ``{}`` when the file does not exist (a first run) and
    raises :class:`ConfigurationBackendError` when it exists but cannot be
    read or is not a JSON object: it never silently starts from defaults.
    A missing directory is created (mode 0700) by the first ``save()``. If
    ``filename`` is a symbolic link, its target is replaced, not the link.
    """

    def __init__(self, filename: str | os.PathLike[str]) -> None:
        self.filename = os.path.abspath(os.path.expanduser(os.fspath(filename)))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.filename!r})"

    # -- reading -------------------------------------------------------------

    def load(self) -> dict[str, Any]:
        target = os.path.realpath(self.filename)
        self._remove_stale_temporary_files(target)
        try:
            with open(target, "rb") as file:
                raw = file.read()
        except FileNotFoundError:
            return {}
        except OSError as error:
            raise ConfigurationBackendError(f"cannot read the settings file {target}: {error.strerror}") from error
        try:
            data = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
        except UnicodeDecodeError as error:
            raise ConfigurationBackendError(
                f"the settings file {target} is corrupt: not UTF-8 text (byte {error.start}); "
                "the settings were not loaded"
            ) from error
        except json.JSONDecodeError as error:
            raise ConfigurationBackendError(
                f"the settings file {target} is corrupt: {error.msg} at line {error.lineno}, column {error.colno}; "
                "the settings were not loaded"
            ) from error
        except ValueError as error:  # NaN or Infinity, see _reject_constant
            raise ConfigurationBackendError(f"the settings file {target} is corrupt: {error}") from error
        if not isinstance(data, dict):
            raise ConfigurationBackendError(
                f"the settings file {target} is corrupt: it holds a JSON {type(data).__name__}, not an object"
            )
        return data

    # -- writing -------------------------------------------------------------

    def save(self, data: dict[str, Any]) -> None:
        target = os.path.realpath(self.filename)
        directory, name = os.path.split(target)
        try:
            _make_directories(directory)
            # mkstemp creates the file with O_EXCL and mode 0600.
            fd, temporary = tempfile.mkstemp(prefix=_temporary_prefix(name), suffix=".tmp", dir=directory)
        except OSError as error:
            raise ConfigurationBackendError(f"cannot write the settings file {target}: {error}") from error
        try:
            os.fchmod(fd, _FILE_MODE)
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                json.dump(data, file, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False)
                file.write("\n")
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, target)
        except BaseException as error:
            _unlink_quietly(temporary)
            if isinstance(error, TypeError | ValueError):
                raise ConfigurationBackendError(f"the settings cannot be written as JSON: {error}") from error
            if isinstance(error, OSError):
                raise ConfigurationBackendError(f"cannot write the settings file {target}: {error}") from error
            raise
        try:
            _fsync_directory(directory)
        except OSError as error:
            raise ConfigurationBackendError(
                f"the settings file {target} was replaced but its directory could not be flushed to disk: {error}"
            ) from error

    # -- helpers -------------------------------------------------------------

    @staticmethod
    def _remove_stale_temporary_files(target: str) -> None:
        directory, name = os.path.split(target)
        prefix = _temporary_prefix(name)
        try:
            entries = os.listdir(directory)
        except OSError:
            return  # no directory yet: nothing to clean; a real problem shows when reading
        for entry in entries:
            if entry.startswith(prefix) and entry.endswith(".tmp"):
                log.info("removing %s, left by an interrupted save", os.path.join(directory, entry))
                _unlink_quietly(os.path.join(directory, entry))


def _temporary_prefix(name: str) -> str:
    return f".{name}.saving-"


def _reject_constant(constant: str) -> Any:
    raise ValueError(f"{constant} is not a valid value")


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _make_directories(directory: str) -> None:
    # Unlike os.makedirs, which applies the mode to the last directory only, every directory made gets 0700.
    missing: list[str] = []
    while not os.path.isdir(directory):
        missing.append(directory)
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    for path in reversed(missing):
        try:
            os.mkdir(path, _DIRECTORY_MODE)
        except FileExistsError:
            if not os.path.isdir(path):
                raise


def _fsync_directory(directory: str) -> None:
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    fd = os.open(directory, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
