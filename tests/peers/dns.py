"""DNS servers for the lookup tests, all on loopback addresses, all on one port.

* :class:`NSD`: a real authoritative server (NSD, Debian's package ``nsd``;
  scripts/bootstrap installs it) serving the zones given as text, on one
  address. Several instances on different 127.x addresses play the local
  nameserver and the domains' authoritative nameservers.
* :class:`Router`: a stand-in for a broken home router, the reason the
  lookups ask authoritative nameservers first. It relays queries over UDP to
  an upstream nameserver, except that it drops the query types in ``drop``
  (the client times out) and answers SERVFAIL to those in ``servfail``. It
  records every query it receives. Paused, it keeps the queries it receives
  unanswered until resumed (a nameserver as slow as the test wants).
* :class:`SilentServer`: UDP and TCP sockets bound and never read: every
  query to it times out.

Every instance listens on the same port number (given, from
devkit.ports.free_port_on_all): a client asks every nameserver on one port, as it would
ask on 53. Nothing here needs sipsimple.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

from devkit.processes import Service, stop_process

__all__ = ["DEBIAN_PACKAGES", "NSD", "DNSPeerError", "Router", "SilentServer", "check_installation"]

DEBIAN_PACKAGES = ("nsd",)


class DNSPeerError(RuntimeError):
    pass


def check_installation() -> str | None:
    """None when NSD is installed, else what is missing."""
    if shutil.which("nsd") is None and not Path("/usr/sbin/nsd").exists():
        return "NSD is not installed (Debian package nsd; scripts/bootstrap installs it)"
    return None


def _nsd_binary() -> str:
    return shutil.which("nsd") or "/usr/sbin/nsd"


class NSD(Service):
    """One NSD serving ``zones`` ({zone name: zone file text}) on ``address``:``port``, UDP and TCP."""

    def __init__(self, directory: Path, address: str, port: int, zones: Mapping[str, str]) -> None:
        self.directory = Path(directory)
        self.address = address
        self.port = port
        self.zones = dict(zones)
        self.process: subprocess.Popen[bytes] | None = None
        self.log_file = self.directory / "nsd.log"

    def start(self, timeout: float = 10.0) -> NSD:
        missing = check_installation()
        if missing:
            raise DNSPeerError(missing)
        self.directory.mkdir(parents=True, exist_ok=True)
        zone_sections = []
        for name, text in self.zones.items():
            (self.directory / f"{name}.zone").write_text(text)
            zone_sections.append(f"zone:\n    name: {name}\n    zonefile: {name}.zone\n")
        # Runs as the invoking user (username ""), in the foreground (-d), with
        # every file it writes inside its directory and no control channel.
        configuration = (
            "server:\n"
            f"    ip-address: {self.address}@{self.port}\n"
            f"    port: {self.port}\n"
            '    username: ""\n'
            '    chroot: ""\n'
            f'    zonesdir: "{self.directory}"\n'
            '    database: ""\n'
            f'    zonelistfile: "{self.directory}/zone.list"\n'
            f'    xfrdfile: "{self.directory}/xfrd.state"\n'
            f'    xfrdir: "{self.directory}"\n'
            f'    pidfile: "{self.directory}/nsd.pid"\n'
            f'    logfile: "{self.log_file}"\n'
            "    server-count: 1\n"
            # Response rate limiting is on in Debian's build (200 answers/s per
            # /24): every client here is 127.0.0.x, so a busy test run tripped
            # it, and its truncated answers, relayed by a Router (UDP only),
            # made a lookup give up on the authoritative servers.
            "    rrl-ratelimit: 0\n"
            "    rrl-whitelist-ratelimit: 0\n"
            "    verbosity: 1\n"
            "remote-control:\n"
            "    control-enable: no\n" + "".join(zone_sections)
        )
        config_file = self.directory / "nsd.conf"
        config_file.write_text(configuration)
        self.process = subprocess.Popen(
            [_nsd_binary(), "-d", "-c", str(config_file)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + timeout
        waiting = set(self.zones)
        while waiting and time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise DNSPeerError(f"nsd exited ({self.process.returncode}): {self.log()[-2000:]}")
            waiting = {zone for zone in waiting if not self._serves(zone)}
            if waiting:
                time.sleep(0.05)
        if waiting:
            self.stop()
            raise DNSPeerError(f"nsd does not serve {sorted(waiting)} on {self.address}: {self.log()[-2000:]}")
        return self

    def _serves(self, zone: str) -> bool:
        query = dns.message.make_query(zone, "SOA")
        try:
            response = dns.query.udp(query, self.address, timeout=0.2, port=self.port)
        except (dns.exception.DNSException, OSError):
            return False
        return response.rcode() == dns.rcode.NOERROR and bool(response.answer)

    def stop(self) -> None:
        if self.process is None:
            return
        stop_process(self.process)
        self.process = None

    def log(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""


class Router(Service):
    """Relays UDP queries on ``address``:``port`` to ``upstream``:``port``, breaking some query types."""

    def __init__(
        self, address: str, port: int, upstream: str, drop: Iterable[str] = (), servfail: Iterable[str] = ()
    ) -> None:
        self.address = address
        self.port = port
        self.upstream = upstream
        self.drop = {dns.rdatatype.from_text(name) for name in drop}
        self.servfail = {dns.rdatatype.from_text(name) for name in servfail}
        self.queries: list[tuple[str, str]] = []  # (name, type) of each query received
        self._lock = threading.Lock()
        self._socket: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._running = threading.Event()
        self._running.set()

    def pause(self) -> None:
        """Hold the queries received from now on (unanswered) until resume()."""
        self._running.clear()

    def resume(self) -> None:
        """Handle the held queries, in order, and the later ones as they come."""
        self._running.set()

    def start(self) -> Router:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind((self.address, self.port))
        self._socket.settimeout(0.1)
        self._thread = threading.Thread(target=self._serve, name=f"dns-router-{self.address}", daemon=True)
        self._thread.start()
        return self

    def received(self, rdtype: str) -> list[str]:
        """The names queried with type ``rdtype`` so far."""
        with self._lock:
            return [name for name, kind in self.queries if kind == rdtype]

    def _serve(self) -> None:
        assert self._socket is not None
        while not self._stopping.is_set():
            try:
                wire, client = self._socket.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                query = dns.message.from_wire(wire)
            except dns.exception.DNSException:
                continue
            question = query.question[0]
            with self._lock:
                self.queries.append(
                    (question.name.to_text(omit_final_dot=True), dns.rdatatype.to_text(question.rdtype))
                )
            while not self._running.wait(0.1):
                if self._stopping.is_set():
                    return
            if question.rdtype in self.drop:
                continue
            if question.rdtype in self.servfail:
                response = dns.message.make_response(query)
                response.set_rcode(dns.rcode.SERVFAIL)
            else:
                try:
                    response = dns.query.udp(query, self.upstream, timeout=2.0, port=self.port)
                except (dns.exception.DNSException, OSError):
                    continue
            try:
                self._socket.sendto(response.to_wire(), client)
            except OSError:
                return

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None


class SilentServer(Service):
    """Sockets bound on ``address``:``port`` (UDP, and TCP listening) that never answer."""

    def __init__(self, address: str, port: int) -> None:
        self.address = address
        self.port = port
        self._sockets: list[socket.socket] = []

    def start(self) -> SilentServer:
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind((self.address, self.port))
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp.bind((self.address, self.port))
        tcp.listen(16)
        self._sockets = [udp, tcp]
        return self

    def stop(self) -> None:
        for sock in self._sockets:
            sock.close()
        self._sockets = []
