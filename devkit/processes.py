"""Stopping the child processes a test, a script or a benchmark started."""

from __future__ import annotations

import subprocess
from typing import Self


def stop_process(process: subprocess.Popen, timeout: float = 5.0) -> None:
    """Terminate `process` and reap it; kill it if it has not ended within `timeout` seconds."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class Service:
    """A server a test starts and stops (a subclass gives start() and stop()); as a context manager it is
    started on entry and stopped on exit, whatever happened in the block."""

    def start(self) -> object:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
