"""Message: a SIP MESSAGE outside a dialog (RFC 3428), with digest authentication.

States: the table MESSAGE in sipsimple/core/_states.py (new, sending, done),
changed only by _change_state(). Notifications
(sender: the Message): SIPMessageDidSucceed (code, reason, headers) or
SIPMessageDidFail (code, reason, headers).
"""

from __future__ import annotations

from typing import Any

from sipsimple.core._core import Request, SIPCoreInvalidStateError
from sipsimple.core._request_user import RequestUser
from sipsimple.core._states import MESSAGE
from sipsimple.notification import NotificationData

__all__ = ["Message"]


class Message(RequestUser):
    def __init__(
        self,
        from_header: Any,
        to_header: Any,
        route_header: Any,
        content_type: str,
        body: str | bytes,
        credentials: Any = None,
        extra_headers: list[Any] | None = None,
    ) -> None:
        super().__init__()
        self.from_header = from_header
        self.to_header = to_header
        self.route_header = route_header
        self.content_type = content_type
        self.body = body
        self.credentials = credentials
        self.extra_headers = list(extra_headers or [])
        self._state = MESSAGE.initial
        # Built now so that bad arguments raise here, not in send().
        self._message_request = Request(
            "MESSAGE",
            from_header,
            to_header,
            to_header.uri,
            route_header,
            credentials=credentials,
            extra_headers=self.extra_headers,
            content_type=content_type,
            body=body,
        )

    @property
    def state(self) -> str:
        state = self._state
        assert state is not None  # MESSAGE has no None state
        return state

    @property
    def is_sent(self) -> bool:
        return self._state != MESSAGE.initial

    def send(self, timeout: float | None = None) -> None:
        with self._lock:
            MESSAGE.require(self._state, "send", SIPCoreInvalidStateError)
            self._change_state("send")
            self._send(self._message_request, timeout)

    def end(self) -> None:
        with self._lock:
            if MESSAGE.allows(self._state, "end") and self._request is not None:
                self._request.end()

    def _change_state(self, event: str) -> None:
        """The one place where the state changes: to where MESSAGE says ``event`` leads."""
        self._state = MESSAGE.next(self._state, event)

    def _request_didsucceed(self, request: Request, data: NotificationData) -> None:
        self._change_state("succeeded")
        self._post("SIPMessageDidSucceed", code=data.code, reason=data.reason, headers=data.headers)

    def _request_didfail(self, request: Request, data: NotificationData) -> None:
        self._change_state("failed")
        self._post("SIPMessageDidFail", code=data.code, reason=data.reason, headers=data.headers)
