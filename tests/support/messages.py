"""The MESSAGE requests the request and threading tests send through the core's Request."""

from __future__ import annotations

from sipsimple.core._core import Request


def message_to_bob(uri: str, body: str) -> Request:
    """A text/plain MESSAGE from alice to bob at `uri`, not sent yet."""
    return Request(
        "MESSAGE", "<sip:alice@127.0.0.1>", "<sip:bob@127.0.0.1>", uri, None, content_type="text/plain", body=body
    )
