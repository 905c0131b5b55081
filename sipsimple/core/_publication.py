"""Publication: event state published with PUBLISH (RFC 3903), kept alive and modified by entity tag.

States::

    idle --publish(body)--> publishing --2xx (SIP-ETag)--> published --(before expiry)--> refreshing --> published
                               |                               |  publish(body): modify (SIP-If-Match + body)
                               |                               |  412: the ETag is gone; publish the last body afresh
                               +--failure--> idle              +--end()--> removing --> idle (SIPPublicationDidEnd)

One PUBLISH is in flight at a time; a publish() or end() made meanwhile is
carried out when it completes (only the newest body is kept).

Notifications (sender: the Publication):
  SIPPublicationDidSucceed (code, reason, expires_in)
  SIPPublicationDidFail (code, reason)
  SIPPublicationWillExpire (expires): a refresh is being sent
  SIPPublicationDidEnd (expired)
"""

from __future__ import annotations

from typing import Any

from sipsimple.core._core import Header, Request, ToHeader
from sipsimple.core._request_user import RequestUser, header_value
from sipsimple.notification import NotificationData

__all__ = ["Publication"]

_NO_BODY = object()


class Publication(RequestUser):
    def __init__(
        self,
        from_header: Any,
        event: str,
        content_type: str,
        credentials: Any = None,
        duration: int = 300,
        extra_headers: list[Any] | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(event, str) or not event:
            raise ValueError("event must be an event package name such as 'presence'")
        if not isinstance(duration, int) or isinstance(duration, bool) or duration <= 0:
            raise ValueError("duration must be a positive number of seconds")
        if getattr(from_header, "uri", None) is None:
            raise TypeError("from_header must be a FromHeader")
        self.from_header = from_header
        self.event = event
        self.content_type = content_type
        self.credentials = credentials
        self.duration = duration
        self.extra_headers = list(extra_headers or [])
        self.route_header: Any = None
        self.etag: str | None = None
        self.call_id: str | None = None
        self._cseq = 0
        self._body: bytes | str | None = None  # the state last published, re-sent after a 412
        self._timeout: float | None = None
        self._in_flight: Request | None = None
        self._in_flight_kind: str | None = None  # "initial", "refresh", "modify", "remove"
        self._published: Request | None = None
        self._pending: tuple[str, Any] | None = None

    @property
    def is_published(self) -> bool:
        return self._published is not None

    @property
    def expires_in(self) -> int:
        published = self._published
        return published.expires_in if published is not None else 0

    def publish(self, body: str | bytes | None, route_header: Any, timeout: float | None = None) -> None:
        """Publish `body` (initial or modify), or refresh the current state when body is None."""
        with self._lock:
            self.route_header = route_header
            self._timeout = timeout
            if self._in_flight is not None:
                self._pending = ("publish", body)
                return
            self._publish(body)

    def end(self, timeout: float | None = None) -> None:
        """Remove the published state (PUBLISH with expiry 0)."""
        with self._lock:
            self._timeout = timeout
            if self._in_flight is not None:
                self._pending = ("end", None)
                return
            if self.etag is None:
                return
            self._send_publish("remove", None, 0)

    # --- sending --------------------------------------------------------------

    def _publish(self, body: Any) -> None:
        if body is None:
            if self.etag is None:
                raise ValueError("nothing has been published yet: the first publish() needs a body")
            self._send_publish("refresh", None, self.duration)
        else:
            self._body = body
            self._send_publish("modify" if self.etag is not None else "initial", body, self.duration)

    def _send_publish(self, kind: str, body: Any, expires: int) -> None:
        uri = self.from_header.uri
        headers = [*self.extra_headers, Header("Event", self.event), Header("Expires", str(expires))]
        if self.etag is not None and kind != "initial":
            headers.append(Header("SIP-If-Match", self.etag))
        # Like REGISTER, every PUBLISH of one publication shares a Call-ID,
        # with increasing CSeq.
        request = Request(
            "PUBLISH",
            self.from_header,
            ToHeader(uri),
            uri,
            self.route_header,
            credentials=self.credentials,
            call_id=self.call_id,
            cseq=self._cseq + 1 if self._cseq else None,
            extra_headers=headers,
            content_type=self.content_type if body is not None else None,
            body=body,
        )
        request.default_expires = expires
        self._in_flight = request
        self._in_flight_kind = kind
        self._send(request, self._timeout)
        self.call_id = request.call_id
        assert request.cseq is not None  # send() numbered it
        self._cseq = request.cseq

    def _after_in_flight(self) -> None:
        pending, self._pending = self._pending, None
        if pending is None:
            return
        action, body = pending
        if action == "publish":
            self._publish(body)
        elif action == "end" and self.etag is not None:
            self._send_publish("remove", None, 0)

    # --- request notifications (Engine thread, under the lock) --------------

    def _request_didsucceed(self, request: Request, data: NotificationData) -> None:
        if request is not self._in_flight:
            return
        kind, self._in_flight, self._in_flight_kind = self._in_flight_kind, None, None
        if kind == "remove":
            self.etag = None
            self._end_publication(expired=False)
            request.end()
        else:
            self.etag = header_value(data.headers, "SIP-ETag") or self.etag
            previous, self._published = self._published, request
            if previous is not None:
                previous.end()
            self._post(
                "SIPPublicationDidSucceed", code=data.code, reason=data.reason, expires_in=data.expires or self.duration
            )
        self._after_in_flight()

    def _request_didfail(self, request: Request, data: NotificationData) -> None:
        if request is not self._in_flight:
            return
        kind, self._in_flight, self._in_flight_kind = self._in_flight_kind, None, None
        if data.code == 412 and kind in ("refresh", "modify") and self._body is not None:
            # RFC 3903 section 4.6: the entity tag is unknown (the state
            # expired or the server restarted): publish the state afresh.
            self.etag = None
            self._send_publish("initial", self._body, self.duration)
            return
        self._post("SIPPublicationDidFail", code=data.code, reason=data.reason)
        if kind == "remove" or data.code == 412:
            self.etag = None
            self._end_publication(expired=False)
        self._after_in_flight()

    def _request_willexpire(self, request: Request, data: NotificationData) -> None:
        if request is not self._published or self._in_flight is not None or self.etag is None:
            return
        self._post("SIPPublicationWillExpire", expires=data.expires)
        self._send_publish("refresh", None, self.duration)

    def _request_didend(self, request: Request, data: NotificationData) -> None:
        if request is self._published and data.expired:
            self._published = None
            self.etag = None
            self._post("SIPPublicationDidEnd", expired=True)

    def _end_publication(self, expired: bool) -> None:
        published, self._published = self._published, None
        if published is not None:
            published.end()
        self._post("SIPPublicationDidEnd", expired=expired)
