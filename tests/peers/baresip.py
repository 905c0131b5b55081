"""baresip as a real user agent for the call tests, run headless.

baresip 1.0 from Debian's package baresip-core (scripts/bootstrap installs
it). Each instance runs with a configuration directory of its own
(``baresip -f DIR``) and listens for SIP on 127.0.0.1 (UDP and TCP) on a
free port::

    with Baresip(tmp_path) as bob:
        run_sipp(CALLS / "call_bye_uac.xml", bob.target, extra=["-s", "bob"])
        assert bob.wait_established() and bob.wait_closed()

The account is ``<sip:bob@127.0.0.1>;regint=0;answermode=auto``: it never
registers and answers every call for user bob at once (a request for another
user gets "UA not found"). Audio is PCMU/PCMA (g711), G.722 and Opus. There
is no sound card: the aufile module plays a WAV file (``source``; unless
given, 300 s of a 400 Hz tone at 8 kHz) as the microphone. baresip 1.0 ends
the call when that file runs out (CALL_CLOSED "end of file"), so give it a
file longer than any call, and the sndfile
module records what is sent and received to WAV files in ``DIR/recordings``
(baresip 1.0's aufile has no player, and a call needs none).

baresip is driven through its ctrl_tcp module (netstrings carrying JSON on a
TCP port of its own): events such as CALL_ESTABLISHED and CALL_CLOSED are
collected by a reader thread (``events``, ``wait_event``), and commands
(``command``, ``hangup``, ``dial``) get their response. baresip's stdout is
kept in ``DIR/baresip.log`` (``log()``). stdio cannot be used for commands:
its stdin is not a terminal here.

This module needs neither sipsimple nor pjsua2.
"""

from __future__ import annotations

import json
import math
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time
import wave
from pathlib import Path
from types import TracebackType
from typing import Any

from devkit.ports import free_udp_tcp_port

__all__ = ["DEBIAN_PACKAGES", "Baresip", "BaresipError", "check_installation"]

DEBIAN_PACKAGES = ["baresip-core"]
MODULE_PATH = Path("/usr/lib/baresip/modules")
MODULES = ["g711", "g722", "opus", "aufile", "sndfile"]
APP_MODULES = ["account", "contact", "menu", "ctrl_tcp"]


class BaresipError(RuntimeError):
    pass


def check_installation() -> str | None:
    """None when baresip can run here, else why not."""
    if shutil.which("baresip") is None:
        return "baresip is not installed (Debian package baresip-core; run scripts/bootstrap)"
    missing = [m for m in MODULES + APP_MODULES if not (MODULE_PATH / f"{m}.so").exists()]
    if missing:
        return f"baresip modules missing in {MODULE_PATH}: {', '.join(missing)}"
    return None


def write_tone(path: Path, seconds: int = 300, frequency: int = 400, rate: int = 8000) -> Path:
    """A mono 16-bit WAV file with a sine tone (frequency must divide rate)."""
    period = rate // frequency
    one = b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * n / period))) for n in range(period))
    frames = one * (seconds * frequency)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames)
    return path


_START_ATTEMPTS = 3


def _free_sip_port(host: str, attempts: int = 50) -> int:
    """A port free for UDP and TCP whose next port is free for TCP too (baresip's TLS listener)."""
    for _ in range(attempts):
        port = free_udp_tcp_port(host)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tls:
            try:
                tls.bind((host, port + 1))
            except OSError:
                continue
        return port
    raise OSError(f"no pair of free ports for baresip on {host}")


class Baresip:
    """One baresip process with its own configuration directory and ports."""

    def __init__(
        self,
        directory: Path | None = None,
        *,
        host: str = "127.0.0.1",
        user: str = "bob",
        answermode: str = "auto",
        source: Path | None = None,
        start_timeout: float = 10.0,
    ) -> None:
        problem = check_installation()
        if problem:
            raise BaresipError(problem)
        self.host = host
        self.user = user
        self._own_directory = directory is None
        self.directory = Path(tempfile.mkdtemp(prefix="baresip-")) if directory is None else Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.recordings = self.directory / "recordings"
        self.recordings.mkdir(exist_ok=True)
        self.source = source or write_tone(self.directory / "source.wav")
        self.events: list[dict[str, Any]] = []
        self._responses: dict[str, dict[str, Any]] = {}
        self._condition = threading.Condition()
        self._token = 0
        # baresip listens on sip_listen's port (UDP, TCP) and the next one
        # (TLS). Free ports can be taken by another process between our check
        # and baresip's bind, so a start that fails on a port in use is
        # tried again on other ports.
        for attempt in range(_START_ATTEMPTS):
            self.port = _free_sip_port(host)
            self.ctrl_port = free_udp_tcp_port(host)
            self._write_config(answermode)
            self._log_file = open(self.directory / "baresip.log", "w")  # closed in stop()
            self.process = subprocess.Popen(
                ["baresip", "-f", str(self.directory)],
                stdin=subprocess.DEVNULL,
                stdout=self._log_file,
                stderr=subprocess.STDOUT,
                cwd=self.directory,
            )
            try:
                self._socket = self._connect(start_timeout)
                break
            except BaresipError:
                self.stop()
                if "Address already in use" not in self.log() or attempt == _START_ATTEMPTS - 1:
                    raise
        self._reader = threading.Thread(target=self._read_events, name="baresip-ctrl", daemon=True)
        self._reader.start()

    # --- configuration ---------------------------------------------------------

    def _write_config(self, answermode: str) -> None:
        lines = [
            "poll_method epoll",
            f"sip_listen {self.host}:{self.port}",
            f"net_interface {self.host}",  # an address: the name "lo" is not accepted
            "rtp_ports 30000-39999",
            f"audio_source aufile,{self.source}",
            f"audio_alert aufile,{self.source}",
            f"snd_path {self.recordings}",
            f"module_path {MODULE_PATH}",
            *[f"module {m}.so" for m in MODULES],
            *[f"module_app {m}.so" for m in APP_MODULES],
            f"ctrl_tcp_listen {self.host}:{self.ctrl_port}",
        ]
        (self.directory / "config").write_text("\n".join(lines) + "\n")
        (self.directory / "accounts").write_text(f"<sip:{self.user}@{self.host}>;regint=0;answermode={answermode}\n")
        (self.directory / "contacts").write_text("")

    @property
    def target(self) -> str:
        """host:port for SIPp."""
        return f"{self.host}:{self.port}"

    @property
    def uri(self) -> str:
        return f"sip:{self.user}@{self.host}:{self.port}"

    # --- ctrl_tcp -----------------------------------------------------------------

    def _connect(self, timeout: float) -> socket.socket:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BaresipError(f"baresip exited with {self.process.returncode}:\n{self.log()[-3000:]}")
            try:
                return socket.create_connection((self.host, self.ctrl_port), timeout=1)
            except OSError:
                time.sleep(0.05)
        raise BaresipError(f"baresip's ctrl_tcp did not listen within {timeout} s:\n{self.log()[-3000:]}")

    def _read_events(self) -> None:
        buffer = b""
        self._socket.settimeout(None)
        while True:
            try:
                data = self._socket.recv(65536)
            except OSError:
                data = b""
            if not data:
                with self._condition:
                    self._condition.notify_all()
                return
            buffer += data
            while True:  # netstrings: <length>:<payload>,
                length, colon, rest = buffer.partition(b":")
                if not colon or not length.isdigit() or len(rest) < int(length) + 1:
                    break
                payload, buffer = rest[: int(length)], rest[int(length) + 1 :]
                try:
                    message = json.loads(payload)
                except ValueError:
                    continue
                with self._condition:
                    if message.get("event"):
                        self.events.append(message)
                    elif message.get("response"):
                        self._responses[str(message.get("token"))] = message
                    self._condition.notify_all()

    def command(self, command: str, params: str = "", timeout: float = 5.0) -> dict[str, Any]:
        """Run a baresip command (as typed after "/" in its menu); return its response."""
        with self._condition:
            self._token += 1
            token = f"t{self._token}"
        payload = json.dumps({"command": command, "params": params, "token": token}).encode()
        self._socket.sendall(str(len(payload)).encode() + b":" + payload + b",")
        deadline = time.monotonic() + timeout
        with self._condition:
            while token not in self._responses:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise BaresipError(f"no response to {command!r} within {timeout} s")
                self._condition.wait(remaining)
            return self._responses.pop(token)

    def hangup(self) -> dict[str, Any]:
        """Hang up the current call (BYE when established, CANCEL/4xx before)."""
        return self.command("hangup")

    def dial(self, uri: str) -> dict[str, Any]:
        return self.command("dial", uri)

    def accept(self) -> dict[str, Any]:
        """Answer a ringing call (for answermode=manual)."""
        return self.command("accept")

    def wait_event(self, kind: str, timeout: float = 10.0, after: int = 0) -> dict[str, Any] | None:
        """The first event of type `kind` (CALL_ESTABLISHED, CALL_CLOSED, ...) from index `after`."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while True:
                for event in self.events[after:]:
                    if event.get("type") == kind:
                        return event
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.process.poll() is not None:
                    return None
                self._condition.wait(remaining)

    def event_types(self) -> list[str]:
        with self._condition:
            return [str(e.get("type")) for e in self.events]

    def wait_established(self, timeout: float = 10.0) -> bool:
        return self.wait_event("CALL_ESTABLISHED", timeout) is not None

    def wait_closed(self, timeout: float = 10.0) -> dict[str, Any] | None:
        """The CALL_CLOSED event; its "param" says why ("Connection reset by user", ...)."""
        return self.wait_event("CALL_CLOSED", timeout)

    def log(self) -> str:
        path = self.directory / "baresip.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def recorded_files(self) -> list[Path]:
        return sorted(self.recordings.glob("*.wav"))

    # --- lifetime -------------------------------------------------------------------

    def stop(self, timeout: float = 5.0) -> int | None:
        """Ask baresip to quit, terminate it if it does not, and close everything."""
        if self.process.poll() is None:
            try:
                if getattr(self, "_socket", None) is not None:  # none when the start failed
                    self.command("quit", timeout=2)
            except (BaresipError, OSError):
                pass
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.terminate()
                try:
                    self.process.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
        sock = getattr(self, "_socket", None)
        if sock is not None:
            sock.close()
        self._log_file.close()
        return self.process.returncode

    def __enter__(self) -> Baresip:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
        if self._own_directory and kind is None:
            shutil.rmtree(self.directory, ignore_errors=True)
