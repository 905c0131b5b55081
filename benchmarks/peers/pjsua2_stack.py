"""pjsua2 set up the one way every benchmark peer uses it.

Threading, chosen to match sipsimple: sipsimple's Engine runs one thread of its own that
polls the pjsip stack and posts notifications from it, while the Python main thread stays
free. The comparable pjsua2 setting is ``uaConfig.threadCnt = 1`` (one worker thread polls
the stack and calls into Python) with ``medConfig.threadCnt = 0`` (media events on that same
thread). Logging is off unless a peer asks for it; the audio device is the null one; SIP
goes over one UDP transport on 127.0.0.1.
"""

from __future__ import annotations

import os
import sys
from typing import NoReturn

import pjsua2 as pj

HOST = "127.0.0.1"
USER_AGENT = "bench-pjsua2"


def endpoint_config() -> pj.EpConfig:
    """The common configuration; a peer changes what it needs (maxCalls, logging...) before start_endpoint()."""
    cfg = pj.EpConfig()
    cfg.uaConfig.threadCnt = 1
    cfg.uaConfig.mainThreadOnly = False
    cfg.uaConfig.userAgent = USER_AGENT
    cfg.medConfig.threadCnt = 0
    cfg.logConfig.msgLogging = False
    cfg.logConfig.level = 0
    cfg.logConfig.consoleLevel = 0
    return cfg


def start_endpoint(cfg: pj.EpConfig, port: int = 0, only_codec: str | None = None) -> tuple[pj.Endpoint, int, int]:
    """A started Endpoint, its UDP transport's id and port. ``only_codec`` (e.g. "PCMU/"): disable the others.

    Keep the Endpoint referenced until the process exits.
    """
    ep = pj.Endpoint()
    ep.libCreate()
    ep.libInit(cfg)
    ep.audDevManager().setNullDev()
    if only_codec is not None:
        for codec in ep.codecEnum2():
            ep.codecSetPriority(codec.codecId, 255 if codec.codecId.startswith(only_codec) else 0)
    tcfg = pj.TransportConfig()
    tcfg.boundAddress = HOST
    tcfg.port = port
    tid = ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, tcfg)
    ep.libStart()
    return ep, tid, int(ep.transportGetInfo(tid).localName.rsplit(":", 1)[1])


def exit_without_teardown() -> NoReturn:
    """Exit at once: tearing pjsua down is not measured, and a slow shutdown must not stall the run."""
    sys.stdout.flush()
    os._exit(0)
