"""sipsimple.core: the SIP, RTP and audio stack (PJSIP) behind a Python API.

Everything here is driven by the Engine, which runs the stack on its own
thread and reports through the NotificationCenter (sipsimple.notification).
"""

from sipsimple.core._core import (
    PJSIP_VERSION,
    PJSIPError,
    SIPCoreError,
    SIPCoreInvalidStateError,
)
from sipsimple.core._engine import DEFAULT_CODECS, Engine

__all__ = [
    "DEFAULT_CODECS",
    "PJSIP_VERSION",
    "Engine",
    "PJSIPError",
    "SIPCoreError",
    "SIPCoreInvalidStateError",
]
