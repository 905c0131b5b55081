"""Main job for now: start the Engine and let SIPp probe it with OPTIONS.

The Engine listens on 127.0.0.1 over UDP, TCP and TLS (with a certificate made
for this run); SIPp, a real SIP peer, sends one OPTIONS over each transport;
every message on the wire is printed from the Engine's SIPEngineSIPTrace
notifications, followed by a summary. Exits non-zero if any probe failed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from devkit.sipp import run_sipp, sipp_has_tls  # noqa: E402
from sipsimple.core import Engine  # noqa: E402
from sipsimple.notification import Notification, NotificationCenter  # noqa: E402

SCENARIO = REPO / "tests" / "scenarios" / "options_uac.xml"


class TracePrinter:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0

    def handle_notification(self, notification: Notification) -> None:
        data = notification.data
        arrow = "<==" if data.received else "==>"
        direction = "received from" if data.received else "sent to"
        peer = (data.source_ip, data.source_port) if data.received else (data.destination_ip, data.destination_port)
        with self.lock:
            self.count += 1
            print(f"{arrow} {data.transport.upper()} {direction} {peer[0]}:{peer[1]} at {data.timestamp:%H:%M:%S.%f}")
            print(data.data.rstrip("\r\n").replace("\r\n", "\n"))
            print()


def probe(transport: str, port: int, cert: Path, key: Path, ca: Path) -> bool:
    result = run_sipp(SCENARIO, f"127.0.0.1:{port}", transport=transport, tls_cert=cert, tls_key=key, tls_ca=ca)
    if not result.succeeded:
        print(f"SIPp over {transport.upper()} failed: {result.stderr.strip()[-500:]}", file=sys.stderr)
    return result.succeeded


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transports", default="udp,tcp,tls", help="comma-separated list (default: udp,tcp,tls)")
    args = parser.parse_args()
    transports = [t.strip() for t in args.transports.split(",") if t.strip()]

    import trustme

    workdir = Path(tempfile.mkdtemp(prefix="sipsimple-probe-"))
    ca = trustme.CA()
    certificate = ca.issue_cert("127.0.0.1", "localhost")
    cert, key, ca_file = workdir / "cert.pem", workdir / "key.pem", workdir / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    certificate.cert_chain_pems[0].write_to_path(str(cert))
    certificate.private_key_pem.write_to_path(str(key))

    printer = TracePrinter()
    NotificationCenter().add_observer(printer, name="SIPEngineSIPTrace")
    engine = Engine()
    engine.start(
        ip_address="127.0.0.1",
        udp_port=0,
        tcp_port=0,
        tls_port=0,
        tls_cert_file=str(cert),
        tls_privkey_file=str(key),
        trace_sip=True,
        user_agent="sipsimple options probe demo",
    )
    print(f"sipsimple Engine running on pjproject {engine.pjsip_version}")
    if "tls" in transports and not sipp_has_tls():
        print("  (this SIPp has no TLS: socat carries its TCP connection over TLS to the Engine)")
    for name, host, port in engine.transports:
        print(f"  listening: {name.upper()} {host}:{port}")
    print()
    results: dict[str, bool] = {}
    try:
        for transport in transports:
            port = {"udp": engine.local_udp_port, "tcp": engine.local_tcp_port, "tls": engine.local_tls_port}[transport]
            results[transport] = probe(transport, port, cert, key, ca_file)
    finally:
        engine.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    print("Summary")
    for transport, ok in results.items():
        print(f"  SIPp OPTIONS over {transport.upper()}: {'200 OK' if ok else 'FAILED'}")
    print(f"  SIP messages traced: {printer.count}")
    return 0 if all(results.values()) else 1


if __name__ == "__main__":
    os.chdir(REPO)
    sys.exit(main())
