"""What the peers share about processes and ports (no sipsimple needed)."""

from __future__ import annotations

import socket
import subprocess


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


def free_udp_tcp_port(host: str, attempts: int = 50) -> int:
    """A port free for both UDP and TCP on `host` (IPv4), for servers that listen on both."""
    for _ in range(attempts):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind((host, 0))
            port = udp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind((host, port))
                except OSError:
                    continue
                return port
    raise OSError(f"no port free for both UDP and TCP on {host}")
