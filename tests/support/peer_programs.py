"""Running the peer programs of tests/peers/ that speak in READY and RESULT lines.

Such a program runs as ``python -m tests.peers.<name> ACTION [options]`` from the
repository's root. A listening one prints ``READY <port>`` once it listens; every one
prints ``RESULT <json>``, its outcome, before it ends.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

import pytest

REPO = Path(__file__).resolve().parents[2]


def require_pjsua2() -> None:
    """Fail (not skip) the test when pjsua2 is missing: scripts/bootstrap always installs it (the bench group)."""
    if importlib.util.find_spec("pjsua2") is None:
        pytest.fail(
            f"pjsua2 is not installed for {sys.executable}: run scripts/bootstrap "
            "(it installs pyproject.toml's bench group, pjsua2-python)",
            pytrace=False,
        )


def peer_command(module: str, *args: str | int | Path, unbuffered: bool = False) -> list[str]:
    return [sys.executable, *(["-u"] if unbuffered else []), "-m", f"tests.peers.{module}", *map(str, args)]


def peer_environment() -> dict[str, str]:
    """The environment of a peer program: the repository first on PYTHONPATH (tests.*, devkit.*)."""
    return dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))


def start_peer(
    module: str,
    *args: str | int | Path,
    stderr: int | IO[Any] = subprocess.PIPE,
    line_buffered: bool = False,
    unbuffered: bool = False,
) -> subprocess.Popen[str]:
    """tests.peers.`module` started from the repository root: stdin, stdout (by default stderr too) piped, as text.

    `line_buffered`: our end of the pipes flushes a line at a time; `unbuffered`: the program's
    Python does not buffer its output either (python -u).
    """
    return subprocess.Popen(
        peer_command(module, *args, unbuffered=unbuffered),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        bufsize=1 if line_buffered else -1,
        cwd=REPO,
        env=peer_environment(),
    )


def result_line(stdout: str, what: str, stderr: str) -> dict[str, Any]:
    for line in stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    raise AssertionError(f"no result from {what}:\n{stderr[-3000:]}")


def run_peer(module: str, *args: str | int | Path, timeout: float = 60.0) -> dict[str, Any]:
    """Run tests.peers.`module` to its end; its RESULT."""
    completed = subprocess.run(
        peer_command(module, *args), capture_output=True, text=True, timeout=timeout, cwd=REPO, env=peer_environment()
    )
    return result_line(completed.stdout, f"{module} {args[:1]} (rc={completed.returncode})", completed.stderr)


class ListeningPeer:
    """A peer program that listens (it prints READY <port>) while SIPp runs against it; result() is its RESULT."""

    def __init__(self, module: str, *args: str | int | Path, host: str = "127.0.0.1") -> None:
        self.name = module
        self.host = host
        self.process = start_peer(module, *args)
        assert self.process.stdout is not None and self.process.stderr is not None
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            if line.startswith("READY "):
                self.port = int(line.split()[1])
                return
        self.process.kill()
        raise RuntimeError(f"{self.name} did not start: {self.process.stderr.read()[-3000:]}")

    @property
    def target(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def result(self, timeout: float = 30.0) -> dict[str, Any]:
        try:
            stdout, stderr = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            stdout, stderr = self.process.communicate()
        return result_line(stdout, self.name, stderr)

    def stop(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def pjsua2_installed() -> None:
    """For the tests whose peer is pjsua2: see require_pjsua2."""
    require_pjsua2()
