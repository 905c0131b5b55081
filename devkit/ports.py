"""Ports that were free a moment ago.

A port found free can be taken by another process before the caller binds it; servers
that must have a given port retry with another one (see devkit.sipp.SippServer).
"""

from __future__ import annotations

import socket
from collections.abc import Iterable


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def free_port(kind: int = socket.SOCK_DGRAM, host: str = "127.0.0.1") -> int:
    """A port of `kind` (SOCK_DGRAM: UDP, SOCK_STREAM: TCP) free on `host`."""
    with socket.socket(_family(host), kind) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def free_udp_tcp_port(host: str = "127.0.0.1", attempts: int = 50) -> int:
    """A port free for both UDP and TCP on `host`, for servers that listen on both."""
    return free_port_on_all([host], attempts)


def free_port_on_all(hosts: Iterable[str], attempts: int = 100) -> int:
    """A port free for UDP and TCP on every one of `hosts` at once."""
    hosts = list(hosts)
    for _ in range(attempts):
        port = free_port(socket.SOCK_DGRAM, hosts[0])
        sockets: list[socket.socket] = []
        try:
            for host in hosts:
                for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                    sock = socket.socket(_family(host), kind)
                    sockets.append(sock)
                    sock.bind((host, port))
            return port
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise OSError(f"no port free for both UDP and TCP on all of {hosts}")
