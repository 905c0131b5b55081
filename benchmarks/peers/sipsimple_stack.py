"""sipsimple's Engine started the one way every benchmark peer uses it: UDP only, on
127.0.0.1, no log, and the same user agent in every peer."""

from __future__ import annotations

from typing import Any

from sipsimple.core import Engine

HOST = "127.0.0.1"
USER_AGENT = "bench-sipsimple"


def start_engine(port: int = 0, **options: Any) -> Engine:
    """The started Engine; ``options`` (Engine.start()'s) add to or override the common ones."""
    engine = Engine()
    engine.start(
        **{
            "ip_address": HOST,
            "udp_port": port,
            "tcp_port": None,
            "tls_port": None,
            "log_level": 0,
            "trace_sip": False,
            "user_agent": USER_AGENT,
            **options,
        }
    )
    return engine
