"""Helpers shared by the tests: recording notifications, running SIPp, free ports."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sipsimple.notification import Notification, NotificationCenter
from tests.peers.processes import stop_process

SCENARIOS = Path(__file__).parent / "scenarios"


class NotificationRecorder:
    """Records the notifications it observes and lets a test wait for one."""

    def __init__(self, *names: str) -> None:
        self.names = set(names)
        self.notifications: list[Notification] = []
        self._condition = threading.Condition()

    def handle_notification(self, notification: Notification) -> None:
        if self.names and notification.name not in self.names:
            return
        with self._condition:
            self.notifications.append(notification)
            self._condition.notify_all()

    def named(self, name: str) -> list[Notification]:
        with self._condition:
            return [n for n in self.notifications if n.name == name]

    def wait_for(self, predicate: Callable[[Notification], bool], timeout: float = 10.0) -> Notification:
        deadline = time.monotonic() + timeout
        with self._condition:
            seen = 0
            while True:
                for notification in self.notifications[seen:]:
                    if predicate(notification):
                        return notification
                seen = len(self.notifications)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no matching notification within {timeout} s; got {self.names_seen()}")
                self._condition.wait(remaining)

    def wait_named(self, name: str, timeout: float = 10.0) -> Notification:
        return self.wait_for(lambda n: n.name == name, timeout)

    def names_seen(self) -> list[str]:
        return [n.name for n in self.notifications]

    def clear(self) -> None:
        with self._condition:
            self.notifications.clear()


def observe(*names: str) -> NotificationRecorder:
    recorder = NotificationRecorder(*names)
    NotificationCenter().add_observer(recorder)
    return recorder


def free_port(kind: int = socket.SOCK_DGRAM, host: str = "127.0.0.1") -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, kind) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def sipp_binary() -> str:
    """SIPp: $SIPSIMPLE_SIPP, else one in the virtual environment, else Debian's."""
    candidates = [os.environ.get("SIPSIMPLE_SIPP"), str(Path(sys.prefix) / "bin" / "sipp"), shutil.which("sipp")]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise RuntimeError("sipp not found: run scripts/bootstrap")


def sipp_has_tls() -> bool:
    version = subprocess.run([sipp_binary(), "-v"], capture_output=True, text=True).stdout
    return "TLS" in version


@dataclass
class SippResult:
    returncode: int
    stdout: str
    stderr: str
    log: str
    messages: str

    @property
    def succeeded(self) -> bool:
        return self.returncode == 0


class TLSBridge:
    """A TLS client leg for a SIPp without TLS.

    Debian builds SIPp without OpenSSL (its source package even conflicts
    with libssl-dev), so SIPp's TCP connection is carried over TLS by socat:
    SIPp -> TCP -> socat -> TLS (certificate verified against the test CA)
    -> the Engine. The SIP text is SIPp's, byte for byte; the scenario's Via
    says TLS because that is the transport the Engine sees.
    """

    def __init__(self, host: str, port: int, ca_file: Path) -> None:
        self.host = host
        self.listen_port = free_port(socket.SOCK_STREAM, host)
        if ":" in host:
            listen = f"TCP6-LISTEN:{self.listen_port},bind=[{host}],reuseaddr,fork"
            connect = f"OPENSSL:[{host}]:{port},pf=ip6,cafile={ca_file},verify=1"
        else:
            listen = f"TCP4-LISTEN:{self.listen_port},bind={host},reuseaddr,fork"
            connect = f"OPENSSL:{host}:{port},cafile={ca_file},verify=1"
        self.process = subprocess.Popen(["socat", listen, connect], stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection((host, self.listen_port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        self.close()
        raise RuntimeError("socat TLS bridge did not start")

    def close(self) -> None:
        stop_process(self.process)


def run_sipp(
    scenario: str | Path,
    target: str,
    *,
    transport: str = "udp",
    local_ip: str = "127.0.0.1",
    local_port: int | None = None,
    calls: int = 1,
    rate: int | None = None,
    timeout: float = 10.0,
    extra: list[str] | None = None,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
    tls_ca: Path | None = None,
    background: bool = False,
) -> SippResult | subprocess.Popen[str]:
    """Run SIPp once as a UAC against target ("host:port" or "[v6]:port").

    Scenarios may use [via_transport], the transport the Engine receives on.
    """
    workdir = Path(tempfile.mkdtemp(prefix="sipp-"))
    bridge: TLSBridge | None = None
    sipp_transport = transport
    if transport == "tls" and not sipp_has_tls():
        host, _, port = target.rpartition(":")
        assert tls_ca is not None, "a TLS bridge needs the CA file to verify the Engine"
        bridge = TLSBridge(host.strip("[]"), int(port), tls_ca)
        target = sip_target(host.strip("[]"), bridge.listen_port)
        sipp_transport = "tcp"
    transport_flag = {"udp": "u1", "tcp": "t1", "tls": "l1"}[sipp_transport]
    command = [
        sipp_binary(), "-sf", str(scenario), target,
        "-t", transport_flag, "-i", local_ip, "-m", str(calls),
        "-timeout", f"{int(timeout)}s", "-timeout_error", "-nostdin",
        "-key", "via_transport", transport.upper(),
        "-trace_logs", "-log_file", str(workdir / "log.txt"),
        "-trace_msg", "-message_file", str(workdir / "messages.txt"),
    ]
    if local_port is not None:
        command += ["-p", str(local_port)]
    if rate is not None:
        command += ["-r", str(rate)]
    if sipp_transport == "tls":
        command += ["-tls_cert", str(tls_cert), "-tls_key", str(tls_key)]
    command += extra or []
    if background:
        assert bridge is None, "background runs are UDP or TCP"
        return subprocess.Popen(command, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        completed = subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=timeout + 20)
    finally:
        if bridge is not None:
            bridge.close()
    log = (workdir / "log.txt").read_text(errors="replace") if (workdir / "log.txt").exists() else ""
    messages = (workdir / "messages.txt").read_text(errors="replace") if (workdir / "messages.txt").exists() else ""
    shutil.rmtree(workdir, ignore_errors=True)
    return SippResult(completed.returncode, completed.stdout, completed.stderr, log, messages)


def request_scenario(method: str, expected: int, in_dialog: bool = False) -> Path:
    """A one-request scenario for `method` expecting final response `expected`.

    SIPp does not allow keywords in the request method, so the scenario is
    written out per method from a template.
    """
    template = (SCENARIOS / "request_uac.xml.in").read_text()
    text = (
        template.replace("@METHOD@", method)
        .replace("@EXPECTED@", str(expected))
        .replace("@TO_TAG@", ";tag=no-such-dialog" if in_dialog else "")
    )
    path = Path(tempfile.mkdtemp(prefix="scenario-")) / f"{method.lower()}_{expected}.xml"
    path.write_text(text)
    return path


def sip_target(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


# --- SIPp as the server (UAS scenarios) ---------------------------------------

@dataclass
class SippRun:
    returncode: int
    stdout: str
    stderr: str
    log: str
    messages: str
    errors: str

    @property
    def succeeded(self) -> bool:
        return self.returncode == 0

    def explain(self) -> str:
        return f"rc={self.returncode}\nstderr:\n{self.stderr[-3000:]}\nerrors:\n{self.errors[-3000:]}\nlog:\n{self.log}"


class SippServer:
    """SIPp running a UAS scenario on host:port until it ends or times out."""

    def __init__(self, scenario: Path, *, host: str = "127.0.0.1", transport: str = "udp", calls: int = 1,
                 timeout: float = 30.0, extra: list[str] | None = None, files: dict[str, Path] | None = None) -> None:
        """files: copied into SIPp's working directory first (name there: source), for
        scenarios that read files by a relative name (rtp_stream, play_pcap_audio)."""
        self.host = host
        self.transport = transport
        self.timeout = timeout
        kind = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
        # A port found free can be taken by another process (an outgoing TCP
        # connection's ephemeral port, say) before SIPp binds it: try again
        # with another one.
        for attempt in range(5):
            self.port = free_port(kind, host)
            self.workdir = Path(tempfile.mkdtemp(prefix="sipp-uas-"))
            for name, source in (files or {}).items():
                shutil.copyfile(source, self.workdir / name)
            command = [
                sipp_binary(), "-sf", str(scenario), "-i", host, "-p", str(self.port),
                "-t", {"udp": "u1", "tcp": "t1"}[transport], "-m", str(calls),
                "-timeout", f"{int(timeout)}s", "-timeout_error", "-nostdin",
                "-key", "via_transport", transport.upper(),
                "-trace_logs", "-log_file", str(self.workdir / "log.txt"),
                "-trace_msg", "-message_file", str(self.workdir / "messages.txt"),
                "-trace_err", "-error_file", str(self.workdir / "errors.txt"),
            ] + (extra or [])
            self.process = subprocess.Popen(command, cwd=self.workdir, stdout=subprocess.PIPE,
                                            stderr=subprocess.PIPE, text=True)
            if self._wait_listening(kind):
                return
            run = self.finish()
            if "errno = 98" not in run.stderr or attempt == 4:
                raise RuntimeError("SIPp did not start listening:\n" + run.explain())

    def _wait_listening(self, kind: int) -> bool:
        """SIPp listens once the port can no longer be bound; False if SIPp ended first."""
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            with socket.socket(family, kind) as probe:
                try:
                    probe.bind((self.host, self.port))
                except OSError:
                    return True
            time.sleep(0.05)
        return False

    @property
    def target(self) -> str:
        return sip_target(self.host, self.port)

    def finish(self) -> SippRun:
        try:
            stdout, stderr = self.process.communicate(timeout=self.timeout + 20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            stdout, stderr = self.process.communicate()
        files = {name: (self.workdir / f"{name}.txt") for name in ("log", "messages", "errors")}
        texts = {name: path.read_text(errors="replace") if path.exists() else "" for name, path in files.items()}
        shutil.rmtree(self.workdir, ignore_errors=True)
        return SippRun(self.process.returncode, stdout, stderr, texts["log"], texts["messages"], texts["errors"])


# --- stand-in peers that listen ----------------------------------------------------------

class ListeningStandin:
    """A stand-in peer script that listens (it prints READY <port>) while SIPp runs against it.

    When done it prints RESULT <json>, which result() returns.
    """

    def __init__(self, script: Path, *args: str | int) -> None:
        self.name = script.name
        command = [sys.executable, str(script), *map(str, args)]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)
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
        return f"127.0.0.1:{self.port}"

    def result(self, timeout: float = 30.0) -> dict:
        try:
            stdout, stderr = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            stdout, stderr = self.process.communicate()
        for line in stdout.splitlines():
            if line.startswith("RESULT "):
                return json.loads(line[len("RESULT "):])
        raise AssertionError(f"no result from {self.name}:\n{stderr[-3000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
