"""A real coturn (Debian's package) as the tests' STUN and TURN server.

One turnserver per instance, on 127.0.0.1 only, with a UDP/TCP listener on
a free port, relay ports from a private range, the long-term credential
mechanism with the users given, and loopback peers allowed (coturn refuses
to relay to 127.0.0.0/8 unless told, and every peer of the tests lives
there)::

    with Coturn(tmp_path, users={"alice": "secret"}) as turn:
        ...  # STUN/TURN at turn.host:turn.port, realm turn.realm
        assert turn.allocations_seen() >= 1

No configuration file of the system is read (-c points at an empty one)
and nothing is written outside the instance's directory. This module needs
neither sipsimple nor pjsua2.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

from devkit.ports import free_udp_tcp_port
from devkit.processes import Service, stop_process

__all__ = ["DEBIAN_PACKAGES", "Coturn", "CoturnError", "check_installation"]

DEBIAN_PACKAGES = ("coturn",)
REALM = "sipsimple.test"


class CoturnError(RuntimeError):
    pass


def check_installation() -> str | None:
    """None when turnserver is installed, else what is missing."""
    if shutil.which("turnserver") is None:
        return "coturn is not installed (Debian package coturn; scripts/bootstrap installs it)"
    return None


def _free_relay_range(host: str, size: int = 40) -> tuple[int, int]:
    """A run of `size` UDP ports that are free now (coturn allocates relays from it)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind((host, 0))
            start = probe.getsockname()[1]
        if start + size > 65535:
            continue
        sockets = []
        try:
            for port in range(start, start + size):
                sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                sockets.append(sock)
                sock.bind((host, port))
            return start, start + size - 1
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise CoturnError("no free run of relay ports")


class Coturn(Service):
    """One turnserver process on the loopback address, started by start() (or `with`)."""

    def __init__(
        self, directory: Path, users: Mapping[str, str] | None = None, *, host: str = "127.0.0.1", realm: str = REALM
    ) -> None:
        self.directory = Path(directory)
        self.users = dict(users or {})
        self.host = host
        self.realm = realm
        self.port = 0
        self.relay_ports = (0, 0)
        self.process: subprocess.Popen[bytes] | None = None
        self.log_file = self.directory / "turnserver.log"

    # --- lifetime -------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> Coturn:
        missing = check_installation()
        if missing:
            raise CoturnError(missing)
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / "empty.conf").write_text("")
        self.port = free_udp_tcp_port(self.host)
        self.relay_ports = _free_relay_range(self.host)
        command = [
            "turnserver",
            "-c",
            str(self.directory / "empty.conf"),
            "--listening-ip",
            self.host,
            "--relay-ip",
            self.host,
            "--listening-port",
            str(self.port),
            "--min-port",
            str(self.relay_ports[0]),
            "--max-port",
            str(self.relay_ports[1]),
            "--realm",
            self.realm,
            "--lt-cred-mech",
            "--fingerprint",
            "--allow-loopback-peers",
            "--no-tls",
            "--no-dtls",
            "--no-cli",
            "--no-multicast-peers",
            "--log-file",
            str(self.log_file),
            "--simple-log",
            "--no-stdout-log",
            "--verbose",
            "--pidfile",
            str(self.directory / "turnserver.pid"),
            "--userdb",
            str(self.directory / "users.sqlite"),
        ]
        for user, password in self.users.items():
            command += ["--user", f"{user}:{password}"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise CoturnError(f"turnserver exited ({self.process.returncode}): {self.log()[-2000:]}")
            if self._answers_binding():
                return self
            time.sleep(0.05)
        self.stop()
        raise CoturnError(f"turnserver did not answer on {self.host}:{self.port}: {self.log()[-2000:]}")

    def stop(self) -> None:
        if self.process is None:
            return
        stop_process(self.process)
        if self.process.stderr is not None:
            self.process.stderr.close()
        self.process = None

    # --- what it did ------------------------------------------------------------------

    def log(self) -> str:
        # --simple-log still inserts a date into the name in some versions: read every file it made.
        texts = [path.read_text(errors="replace") for path in sorted(self.directory.glob("turnserver*.log"))]
        return "\n".join(texts)

    def allocations_seen(self) -> int:
        """How many TURN allocations coturn logged as successful so far."""
        return len(re.findall(r"ALLOCATE processed, success", self.log()))

    def _answers_binding(self) -> bool:
        # A STUN Binding request (RFC 5389): the server is up when it answers.
        transaction = bytes(range(12))
        request = b"\x00\x01\x00\x00\x21\x12\xa4\x42" + transaction
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(0.2)
            try:
                sock.sendto(request, (self.host, self.port))
                answer, _ = sock.recvfrom(2048)
            except OSError:
                return False
        return answer[:2] == b"\x01\x01" and answer[8:20] == transaction
