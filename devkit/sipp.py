"""SIPp: where it is, running it as a client (run_sipp) or as a server (SippServer), and what a run gives.

Tests, scripts and benchmarks all find SIPp with sipp_binary() and describe a finished run
with SippResult: its exit status, its output and the files it traced (log, messages,
errors, and the last line of its statistics when asked for them).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from devkit.ports import free_port
from devkit.processes import stop_process

TRANSPORT_FLAGS = {"udp": "u1", "tcp": "t1", "tls": "l1"}


def sipp_binary() -> str:
    """SIPp: $SIPSIMPLE_SIPP, else one in the virtual environment, else Debian's (package sip-tester)."""
    candidates = [os.environ.get("SIPSIMPLE_SIPP"), str(Path(sys.prefix) / "bin" / "sipp"), shutil.which("sipp")]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise RuntimeError("sipp not found (Debian package sip-tester): run scripts/bootstrap")


def sipp_version() -> str:
    """SIPp's version line, or "unknown"."""
    try:
        output = subprocess.run([sipp_binary(), "-v"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, RuntimeError, subprocess.TimeoutExpired):
        return "unknown"
    return next((line.strip() for line in output.splitlines() if "SIPp" in line), "unknown")


def sipp_has_tls() -> bool:
    version = subprocess.run([sipp_binary(), "-v"], capture_output=True, text=True).stdout
    return "TLS" in version


def sip_target(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@dataclass
class SippResult:
    """One finished SIPp run: exit status, output, and the files it traced (empty when not traced)."""

    returncode: int
    stdout: str
    stderr: str
    log: str = ""
    messages: str = ""
    errors: str = ""
    # The last line of -trace_stat (column name: value), as read_statistics() gives it.
    statistics: dict[str, str] = field(default_factory=dict)

    @property
    def succeeded(self) -> bool:
        return self.returncode == 0

    def explain(self) -> str:
        return f"rc={self.returncode}\nstderr:\n{self.stderr[-3000:]}\nerrors:\n{self.errors[-3000:]}\nlog:\n{self.log}"


def read_statistics(path: Path) -> dict[str, str]:
    """The last line of a -trace_stat file, by column name; {} when SIPp wrote none."""
    if not path.exists():
        return {}
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    if len(lines) < 2:
        return {}
    header = lines[0].rstrip(";").split(";")
    values = lines[-1].rstrip(";").split(";")
    return dict(zip(header, values, strict=False))


def collect(workdir: Path, returncode: int, stdout: str, stderr: str) -> SippResult:
    """The result of a run whose trace files (log, messages, errors, stats) are in `workdir`; removes it."""
    texts = {}
    for name in ("log", "messages", "errors"):
        path = workdir / f"{name}.txt"
        texts[name] = path.read_text(errors="replace") if path.exists() else ""
    statistics = read_statistics(workdir / "stats.csv")
    shutil.rmtree(workdir, ignore_errors=True)
    return SippResult(returncode, stdout, stderr, texts["log"], texts["messages"], texts["errors"], statistics)


def sipp_command(
    scenario: str | Path,
    workdir: Path,
    *,
    transport: str,
    via_transport: str,
    local_ip: str,
    local_port: int | None,
    calls: int,
    timeout: float,
    target: str | None = None,
) -> list[str]:
    """The options every test run shares: scenario, transport, the call limit, the timeout
    (an error), no keyboard, and the log, message and error traces written into `workdir`."""
    command = [sipp_binary(), "-sf", str(scenario)]
    if target is not None:
        command.append(target)
    command += [
        "-t", TRANSPORT_FLAGS[transport], "-i", local_ip, "-m", str(calls),
        "-timeout", f"{int(timeout)}s", "-timeout_error", "-nostdin",
        "-key", "via_transport", via_transport.upper(),
        "-trace_logs", "-log_file", str(workdir / "log.txt"),
        "-trace_msg", "-message_file", str(workdir / "messages.txt"),
        "-trace_err", "-error_file", str(workdir / "errors.txt"),
    ]  # fmt: skip
    if local_port is not None:
        command += ["-p", str(local_port)]
    return command


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


class BackgroundSipp:
    """A run_sipp() client running while the caller does something else; wait() gives its result."""

    def __init__(self, process: subprocess.Popen[str], workdir: Path) -> None:
        self.process = process
        self.workdir = workdir
        self.result: SippResult | None = None

    def finish(self, timeout: float = 30.0) -> SippResult:
        """Wait for SIPp to finish its scenario (killed after `timeout` seconds); its result."""
        if self.result is None:
            try:
                stdout, stderr = self.process.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                stdout, stderr = self.process.communicate()
            self.result = collect(self.workdir, self.process.returncode, stdout, stderr)
        return self.result

    def wait(self, timeout: float = 30.0) -> int:
        """finish()'s exit status (0: the scenario passed)."""
        return self.finish(timeout).returncode

    def explain(self) -> str:
        return self.result.explain() if self.result is not None else "SIPp is still running"

    def kill(self) -> None:
        """End SIPp now if it still runs, and reap it."""
        if self.process.poll() is None:
            self.process.kill()
        self.finish()


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
) -> SippResult | BackgroundSipp:
    """Run SIPp once as a UAC against target ("host:port" or "[v6]:port").

    Scenarios may use [via_transport], the transport the Engine receives on.
    With background=True the run goes on while the caller continues (a BackgroundSipp).
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
    command = sipp_command(
        scenario,
        workdir,
        target=target,
        transport=sipp_transport,
        via_transport=transport,
        local_ip=local_ip,
        local_port=local_port,
        calls=calls,
        timeout=timeout,
    )
    if rate is not None:
        command += ["-r", str(rate)]
    if sipp_transport == "tls":
        command += ["-tls_cert", str(tls_cert), "-tls_key", str(tls_key)]
    command += extra or []
    if background:
        assert bridge is None, "background runs are UDP or TCP"
        process = subprocess.Popen(command, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        return BackgroundSipp(process, workdir)
    try:
        completed = subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=timeout + 20)
    finally:
        if bridge is not None:
            bridge.close()
    return collect(workdir, completed.returncode, completed.stdout, completed.stderr)


@contextmanager
def sipp_in_background(*args: object, **kwargs: object) -> Iterator[BackgroundSipp]:
    """run_sipp() in the background for the length of the block; killed if still running at its end."""
    run = run_sipp(*args, background=True, **kwargs)  # type: ignore[arg-type]
    assert isinstance(run, BackgroundSipp)
    try:
        yield run
    finally:
        run.kill()


class SippServer:
    """SIPp running a UAS scenario on host:port until it ends or times out."""

    def __init__(
        self,
        scenario: Path,
        *,
        host: str = "127.0.0.1",
        transport: str = "udp",
        calls: int = 1,
        timeout: float = 30.0,
        extra: list[str] | None = None,
        files: dict[str, Path] | None = None,
    ) -> None:
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
            command = sipp_command(
                scenario,
                self.workdir,
                transport=transport,
                via_transport=transport,
                local_ip=host,
                local_port=self.port,
                calls=calls,
                timeout=timeout,
            )
            self.process = subprocess.Popen(
                command + (extra or []), cwd=self.workdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
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

    def finish(self) -> SippResult:
        try:
            stdout, stderr = self.process.communicate(timeout=self.timeout + 20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            stdout, stderr = self.process.communicate()
        return collect(self.workdir, self.process.returncode, stdout, stderr)
