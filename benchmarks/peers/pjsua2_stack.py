"""pjsua2 set up the one way every benchmark peer uses it (on devkit.pjsua2, the tests' set-up too).

Threading, chosen to match sipsimple: sipsimple's Engine runs one thread of its own that
polls the pjsip stack and posts notifications from it, while the Python main thread stays
free. The comparable pjsua2 setting is one pjsua worker thread (``uaConfig.threadCnt = 1``)
with media events on that same thread. Logging is off unless a peer asks for it; the audio
device is the null one; SIP goes over one UDP transport on 127.0.0.1.
"""

from __future__ import annotations

import pjsua2 as pj

from devkit import pjsua2 as shared
from devkit.pjsua2 import exit_without_teardown

__all__ = ["HOST", "USER_AGENT", "endpoint_config", "exit_without_teardown", "start_endpoint"]

HOST = "127.0.0.1"
USER_AGENT = "bench-pjsua2"


def endpoint_config() -> pj.EpConfig:
    """The common configuration; a peer changes what it needs (maxCalls, logging...) before start_endpoint()."""
    return shared.endpoint_config(USER_AGENT, worker_thread=True)


def start_endpoint(cfg: pj.EpConfig, port: int = 0, only_codec: str | None = None) -> tuple[pj.Endpoint, int, int]:
    """A started Endpoint, its UDP transport's id and port. ``only_codec`` (e.g. "PCMU"): disable the others.

    Keep the Endpoint referenced until the process exits.
    """
    ep = shared.create_endpoint(cfg)
    if only_codec is not None:
        shared.prefer_codecs(ep, {only_codec.rstrip("/")})
    tid, local_port = shared.add_transport(ep, "udp", HOST, port)
    ep.libStart()
    return ep, tid, local_port
