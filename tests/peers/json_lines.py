"""Processes that talk to their test in JSON lines: the agent processes (pjsua2_agent_process,
sipsimple_agent_process) emit one event a line on stdout, written whole even when callbacks of several
threads emit at once; the test side reads them from a queue its reader thread fills (next_event)."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from typing import Any

Event = dict[str, Any]
_output_lock = threading.Lock()


def emit(event: str, **fields: Any) -> None:
    """One event on stdout, the channel to the test."""
    with _output_lock:
        sys.stdout.write(json.dumps({"event": event, **fields}) + "\n")
        sys.stdout.flush()


def send_command(process: subprocess.Popen[str], command_id: int, cmd: str, **arguments: Any) -> None:
    """One command on the process's stdin (the test side's half of the channel)."""
    assert process.stdin is not None
    process.stdin.write(json.dumps({"id": command_id, "cmd": cmd, **arguments}) + "\n")
    process.stdin.flush()


def next_event(events: queue.Queue[Event | None], deadline: float) -> Event | None:
    """The next event a reader thread queued (None: the process's output ended); TimeoutError once
    time.monotonic() passes `deadline`. For the test side of a process that speaks in JSON lines."""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        try:
            return events.get(timeout=remaining)
        except queue.Empty:
            continue
