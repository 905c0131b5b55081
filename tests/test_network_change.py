"""The middleware notices a network change and registers again (a real change, in network namespaces).

tests/peers/network_change_driver.py runs a SIPApplication as root of a
fresh user and network namespace (``unshare -rn``), with Kamailio behind a
veth pair in a second namespace and NSD on the namespace's loopback; it
changes the default route's source address, removes the default route and
puts it back, and reports each check as a JSON line, asserted here. The
NetworkMonitor itself is also looked at on this host, where nothing changes.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from devkit.ports import free_port
from sipsimple.core import Engine
from sipsimple.network import (
    NetworkMonitor,
    default_ip_address,
    interface_addresses,
    is_unspecified,
    local_address_towards,
    network_state,
)
from sipsimple.threading import Future, call_in_green_thread
from tests.support.notifications import observe

REPOSITORY = Path(__file__).resolve().parent.parent
CHECKS = (
    "started",
    "registered",
    "address_change_posted",
    "registered_new_contact",
    "register_via_and_contact",
    "transports_renamed",
    "kamailio_has_new_contact_only",
    "bonjour_announced",
    "bonjour_reannounced",
    "network_lost_posted",
    "registration_fails_without_network",
    "network_gained_posted",
    "registered_after_network_returned",
    "kamailio_has_contact_after_return",
    "stopped_in_time",
)


# ip lives in /usr/sbin, which a user's PATH may lack; the driver runs it too.
TOOLS_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])


def unshare_unavailable() -> str | None:
    """Why the kernel will not make a user and network namespace here, None when it will.

    unshare or ip missing is a failure, not a reason: scripts/bootstrap installs them.
    """
    for tool, package in (("unshare", "util-linux"), ("ip", "iproute2")):
        if shutil.which(tool, path=TOOLS_PATH) is None:
            pytest.fail(
                f"{tool} is not installed (Debian package {package}; scripts/bootstrap installs it)", pytrace=False
            )
    try:
        probe = subprocess.run(
            ["unshare", "-rn", "ip", "link", "set", "lo", "up"],
            capture_output=True,
            text=True,
            timeout=10,
            env=dict(os.environ, PATH=TOOLS_PATH),
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"unshare -rn failed: {error}"
    if probe.returncode != 0:
        return f"unshare -rn is not permitted here: {probe.stderr.strip()}"
    return None


def test_addresses_are_found_without_sending() -> None:
    assert local_address_towards("127.0.0.1") == "127.0.0.1"
    assert local_address_towards("not an address") is None
    assert is_unspecified("0.0.0.0") and is_unspecified("::") and is_unspecified(None)
    assert not is_unspecified("127.0.0.1")
    addresses = interface_addresses()
    assert "127.0.0.1" in addresses
    address = default_ip_address(4)
    assert address is None or address in addresses
    with pytest.raises(ValueError):
        default_ip_address(5)


def test_the_monitor_posts_nothing_while_nothing_changes_and_stops_promptly() -> None:
    names = ("SystemIPAddressDidChange", "SystemDidLoseNetwork", "SystemDidGainNetwork")
    recorder = observe(*names)
    monitor = NetworkMonitor(interval=0.1)
    monitor.start()
    deadline = time.monotonic() + 5
    while monitor.state is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert monitor.state == network_state()
    time.sleep(0.5)
    stopped: Future[float] = Future()

    def stop() -> None:
        began = time.monotonic()
        monitor.stop()
        stopped.set_result(time.monotonic() - began)

    call_in_green_thread(stop)
    assert stopped.wait(5) < 1.0
    assert not monitor.is_running
    assert [n.name for n in recorder.notifications if n.name in names] == []
    with pytest.raises(ValueError):
        NetworkMonitor(interval=0)


def options_answered(port: int) -> bool:
    """Whether the Engine answers an OPTIONS sent over UDP to 127.0.0.1:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(3)
        local = sock.getsockname()[1]
        request = (
            f"OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{local};branch=z9hG4bK-netmon-{port}\r\n"
            "Max-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=1\r\nTo: <sip:127.0.0.1>\r\n"
            f"Call-ID: netmon-{port}@127.0.0.1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        )
        sock.sendto(request.encode(), ("127.0.0.1", port))
        try:
            return sock.recv(65535).startswith(b"SIP/2.0 200")
        except TimeoutError:
            return False


def test_restart_transports_keeps_a_given_port_moves_port_0_and_posts_once() -> None:
    engine = Engine()
    tcp_port = free_port(socket.SOCK_STREAM)
    recorder = observe("SIPEngineTransportsDidChange")
    engine.start(ip_address="127.0.0.1", udp_port=0, tcp_port=tcp_port)
    try:
        udp_before = engine.local_udp_port
        assert udp_before and options_answered(udp_before)
        before = engine.transports
        engine.restart_transports()
        after = engine.transports
        assert engine.local_tcp_port == tcp_port
        assert engine.local_udp_port not in (None, udp_before)
        assert options_answered(engine.local_udp_port)
        changes = [n for n in recorder.notifications if n.name == "SIPEngineTransportsDidChange"]
        assert len(changes) == 1
        assert (changes[0].data.old_transports, changes[0].data.transports) == (before, after)
    finally:
        engine.stop()


@pytest.mark.parametrize("sip_port", [0, 5062], ids=["any-port", "fixed-port"])
def test_a_network_change_makes_the_account_register_its_new_contact(tmp_path: Path, sip_port: int) -> None:
    reason = unshare_unavailable()
    if reason is not None:
        pytest.skip(reason)
    environment = dict(os.environ, PYTHONPATH=str(REPOSITORY), PATH=TOOLS_PATH)
    process = subprocess.run(
        ["unshare", "-rn", sys.executable, "-m", "tests.peers.network_change_driver", str(tmp_path), str(sip_port)],
        cwd=REPOSITORY,
        env=environment,
        capture_output=True,
        text=True,
        timeout=240,
    )
    checks: dict[str, dict[str, Any]] = {}
    done = False
    for line in process.stdout.splitlines():
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if item.get("done"):
            done = True
        elif "check" in item:
            checks[item["check"]] = item
    context = f"stdout:\n{process.stdout[-6000:]}\nstderr:\n{process.stderr[-4000:]}"
    assert done and process.returncode == 0, context
    for name in CHECKS:
        assert name in checks, f"{name} not reported; {context}"
        assert checks[name]["ok"], f"{name}: {checks[name]}"
    assert checks["registered"]["contact"].split("@")[1].startswith("10.99.0.1")
    assert checks["registered_new_contact"]["contact"].split("@")[1].startswith("10.99.0.2")
