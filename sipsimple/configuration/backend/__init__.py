"""Storage backends of the configuration: the interface, in memory, in a JSON file."""

from sipsimple.configuration.backend.base import ConfigurationBackend
from sipsimple.configuration.backend.file import FileBackend
from sipsimple.configuration.backend.memory import MemoryBackend

__all__ = ["ConfigurationBackend", "FileBackend", "MemoryBackend"]
