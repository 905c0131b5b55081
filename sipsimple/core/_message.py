"""Message: a SIP MESSAGE outside a dialog (RFC 3428), with digest authentication.

States: new --send()--> sending --final response--> done. Notifications
(sender: the Message): SIPMessageDidSucceed (code, reason, headers) or
SIPMessageDidFail (code, reason, headers).
"""

from __future__ import annotations

from typing import Any

from sipsimple.core._core import Request, SIPCoreInvalidStateError
from sipsimple.core._request_user import RequestUser
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
        self._state = "new"
        # Built now so that bad arguments raise here, not in send().
        self._message_request = Request(
            "MESSAGE", from_header, to_header, to_header.uri, route_header, credentials=credentials,
            extra_headers=self.extra_headers, content_type=content_type, body=body,
        )

    @property
    def state(self) -> str:
        return self._state

    @property
    def is_sent(self) -> bool:
        return self._state != "new"

    def send(self, timeout: float | None = None) -> None:
        with self._lock:
            if self._state != "new":
                raise SIPCoreInvalidStateError("This Message was already sent")
            self._state = "sending"
            self._send(self._message_request, timeout)

    def end(self) -> None:
        with self._lock:
            if self._state == "sending" and self._request is not None:
                self._request.end()

    def _request_didsucceed(self, request: Request, data: NotificationData) -> None:
        self._state = "done"
        self._post("SIPMessageDidSucceed", code=data.code, reason=data.reason, headers=data.headers)

    def _request_didfail(self, request: Request, data: NotificationData) -> None:
        self._state = "done"
        self._post("SIPMessageDidFail", code=data.code, reason=data.reason, headers=data.headers)
