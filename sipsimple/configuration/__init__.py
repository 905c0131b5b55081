"""The configuration layer of the middleware: typed settings objects stored through a backend.

See ``docs/api/configuration.md``. In short::

    from sipsimple.configuration import ConfigurationManager
    from sipsimple.configuration.backend import FileBackend
    from sipsimple.configuration.settings import SIPSimpleSettings

    ConfigurationManager().start(FileBackend("~/.sipsimple/config.json"))
    settings = SIPSimpleSettings()
    settings.sip.udp_port = 5060
    settings.save()     # writes the file, posts CFGSettingsObjectDidChange
"""

from sipsimple.configuration.errors import (
    ConfigurationBackendError,
    ConfigurationError,
    DuplicateIDError,
    ObjectNotFoundError,
)
from sipsimple.configuration.manager import ConfigurationManager, Key
from sipsimple.configuration.objects import Group, SettingsGroup, SettingsObject, SettingsObjectID
from sipsimple.configuration.setting import DefaultValue, ModifiedValue, Setting

__all__ = [
    "ConfigurationBackendError",
    "ConfigurationError",
    "ConfigurationManager",
    "DefaultValue",
    "DuplicateIDError",
    "Group",
    "Key",
    "ModifiedValue",
    "ObjectNotFoundError",
    "Setting",
    "SettingsGroup",
    "SettingsObject",
    "SettingsObjectID",
]
