"""Shared plumbing for the core objects built on Request (Message, Registration, Publication).

Each of them sends one Request at a time and reacts to its notifications,
which arrive on the Engine thread; their public methods may be called from any
thread, so every one of them serializes its state behind a lock.
"""

from __future__ import annotations

import threading
from typing import Any, cast

from sipsimple.core._core import Request
from sipsimple.notification import Notification, NotificationCenter, NotificationData

_HANDLERS = {
    "SIPRequestDidSucceed": "_request_didsucceed",
    "SIPRequestDidFail": "_request_didfail",
    "SIPRequestWillExpire": "_request_willexpire",
    "SIPRequestDidEnd": "_request_didend",
}


class RequestUser:
    """Base class: sends Requests, receives their notifications as _request_did_*() calls."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._notification_center = NotificationCenter()
        self._request: Request | None = None

    def _send(self, request: Request, timeout: float | None) -> None:
        """Send `request` as the current one; its notifications come to this object."""
        # One registration for everything the request posts (it posts only
        # the SIPRequest* notifications): cheaper than one per name.
        self._notification_center.add_observer(self, sender=request)
        self._request = request
        try:
            request.send(timeout=timeout)
        except BaseException:
            self._forget(request)
            raise

    def _forget(self, request: Request) -> None:
        self._notification_center.discard_observer(self, sender=request)
        if self._request is request:
            self._request = None

    def handle_notification(self, notification: Notification) -> None:
        handler = _HANDLERS.get(notification.name)
        if handler is None:
            return
        with self._lock:
            request = cast(Request, notification.sender)  # observed only as the sender of a Request (_send)
            getattr(self, handler)(request, notification.data)
            if notification.name == "SIPRequestDidEnd":
                self._forget(request)

    def _post(self, name: str, **data: Any) -> None:
        self._notification_center.post_notification(name, sender=self, data=NotificationData(**data))

    # Overridden by subclasses as needed.
    def _request_didsucceed(self, request: Request, data: NotificationData) -> None:
        pass

    def _request_didfail(self, request: Request, data: NotificationData) -> None:
        pass

    def _request_willexpire(self, request: Request, data: NotificationData) -> None:
        pass

    def _request_didend(self, request: Request, data: NotificationData) -> None:
        pass


def header_value(headers: list[Any], name: str) -> str | None:
    """The body of the first header called `name` (case-insensitive), or None."""
    lowered = name.lower()
    for header in headers:
        if str(header.name).lower() == lowered:
            return str(header.body)
    return None


def headers_named(headers: list[Any], name: str) -> list[Any]:
    lowered = name.lower()
    return [header for header in headers if str(header.name).lower() == lowered]
