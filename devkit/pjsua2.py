"""One pjsua2 Endpoint set up for a peer process: the tests' peers and the benchmarks' use this.

pjlib keeps process-wide state: one Endpoint per process, and none beside sipsimple's
Engine, so every user runs it in a process of its own. Every Endpoint here has the null
sound device (no sound card where the tests run) and media events on the SIP thread
(medConfig.threadCnt = 0). Threads: with worker_thread, one pjsua thread polls the stack
and calls into Python (as sipsimple's Engine does: the benchmarks' choice); without, the
process polls from its main thread (libHandleEvents), so every callback runs there.
"""

from __future__ import annotations

import os
import sys
from typing import NoReturn

import pjsua2 as pj


def endpoint_config(
    user_agent: str,
    *,
    worker_thread: bool = False,
    log_level: int = 0,
    console_level: int = 0,
    log_file: str | None = None,
    log_writer: pj.LogWriter | None = None,
) -> pj.EpConfig:
    """The common configuration; a caller changes what else it needs before create_endpoint().

    Logging: `log_level` (0: off) into `log_file` and/or `log_writer`, SIP messages included when on;
    `console_level` for the console (or the writer); the default 0 keeps stdout free for a peer's protocol.
    """
    cfg = pj.EpConfig()
    cfg.uaConfig.threadCnt = 1 if worker_thread else 0
    cfg.uaConfig.mainThreadOnly = not worker_thread
    cfg.uaConfig.userAgent = user_agent
    cfg.medConfig.threadCnt = 0
    cfg.logConfig.level = log_level
    cfg.logConfig.consoleLevel = console_level
    cfg.logConfig.msgLogging = log_level > 0
    if log_file is not None:
        cfg.logConfig.filename = log_file
    if log_writer is not None:
        cfg.logConfig.writer = log_writer
        cfg.logConfig.decor = 0
    return cfg


def create_endpoint(cfg: pj.EpConfig) -> pj.Endpoint:
    """An Endpoint initialised with `cfg` and the null sound device; not started (add transports, then libStart).

    Keep it referenced until the process exits.
    """
    endpoint = pj.Endpoint()
    endpoint.libCreate()
    endpoint.libInit(cfg)
    endpoint.audDevManager().setNullDev()
    return endpoint


TRANSPORT_TYPES = {
    ("udp", False): pj.PJSIP_TRANSPORT_UDP,
    ("udp", True): pj.PJSIP_TRANSPORT_UDP6,
    ("tcp", False): pj.PJSIP_TRANSPORT_TCP,
    ("tcp", True): pj.PJSIP_TRANSPORT_TCP6,
}


def add_transport(
    endpoint: pj.Endpoint, kind: str, host: str, port: int = 0, public_address: str | None = None
) -> tuple[int, int]:
    """A `kind` ("udp" or "tcp") transport bound to host:port (IPv6 when host is); its id and its port."""
    tcfg = pj.TransportConfig()
    tcfg.boundAddress = host
    if public_address is not None:
        tcfg.publicAddress = public_address
    tcfg.port = port
    tid = endpoint.transportCreate(TRANSPORT_TYPES[kind, ":" in host], tcfg)
    return tid, int(endpoint.transportGetInfo(tid).localName.rsplit(":", 1)[1])


def prefer_codecs(endpoint: pj.Endpoint, names: set[str]) -> None:
    """Only the codecs whose name (as in SDP: PCMU, PCMA, ..., case aside) is in `names`: the others disabled."""
    wanted = {name.upper() for name in names}
    for codec in endpoint.codecEnum2():
        endpoint.codecSetPriority(codec.codecId, 255 if codec.codecId.split("/")[0].upper() in wanted else 0)


def exit_without_teardown(status: int = 0) -> NoReturn:
    """Exit at once: tearing pjsua down would send requests (un-REGISTER, un-PUBLISH) nobody asked for,
    and a slow shutdown must not stall the caller."""
    sys.stdout.flush()
    os._exit(status)
