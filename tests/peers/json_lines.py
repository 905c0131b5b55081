"""The channel of the agent processes (pjsua2_agent_process, sipsimple_agent_process) to their test:
one JSON event a line on stdout, written whole even when callbacks of several threads emit at once."""

from __future__ import annotations

import json
import sys
import threading
from typing import Any

Event = dict[str, Any]
_output_lock = threading.Lock()


def emit(event: str, **fields: Any) -> None:
    """One event on stdout, the channel to the test."""
    with _output_lock:
        sys.stdout.write(json.dumps({"event": event, **fields}) + "\n")
        sys.stdout.flush()
