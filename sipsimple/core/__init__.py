"""sipsimple.core: the SIP, RTP and audio stack (PJSIP) behind a Python API.

Everything here is driven by the Engine, which runs the stack on its own
thread and reports through the NotificationCenter (sipsimple.notification).
"""

from sipsimple.core import _core
from sipsimple.core._core import *  # noqa: F403 (the names of _core.__all__, the one list of them)
from sipsimple.core._engine import DEFAULT_CODECS, Engine
from sipsimple.core._message import Message
from sipsimple.core._publication import Publication
from sipsimple.core._registration import Registration

__all__ = [*_core.__all__, "DEFAULT_CODECS", "Engine", "Message", "Publication", "Registration"]
