"""Registration: binds a contact to an address of record at its registrar (RFC 3261 section 10).

States::

    unregistered --register()--> registering --2xx--> registered
    registering  --423--> registering (again, asking for Min-Expires)
    registering  --failure--> unregistered
    registered   --(before expiry)--> refreshing --2xx--> registered
    refreshing   --failure--> registered until the binding expires
    registered   --end()--> unregistering --2xx or failure--> unregistered
    registered   --expiry without a successful refresh--> unregistered (SIPRegistrationDidEnd expired=True)

One REGISTER is in flight at a time: register() or end() called while one is
answered later is carried out when it completes. All REGISTERs of one
Registration share a Call-ID with increasing CSeq (RFC 3261 section 10.2.4).

Notifications (sender: the Registration):
  SIPRegistrationDidSucceed (code, reason, contact_header, contact_header_list, expires_in)
  SIPRegistrationDidFail (code, reason, min_expires, headers): headers are those of the response,
      [] when no response came (a timeout, a transport error: code and reason are then PJSIP's)
  SIPRegistrationWillExpire (expires): a refresh is being sent
  SIPRegistrationDidEnd (expired, code, reason): the binding is gone (unregistered, or expired);
      code and reason are the answer to the unregistering REGISTER, None when there was none
"""

from __future__ import annotations

from typing import Any

from sipsimple.core._core import SIPURI, ContactHeader, Header, Request, ToHeader
from sipsimple.core._request_user import RequestUser, header_value, headers_named
from sipsimple.notification import NotificationData

__all__ = ["Registration"]

# 423 answers are followed with a new REGISTER at most this many times in a row.
_MAX_INTERVAL_RETRIES = 3


class Registration(RequestUser):
    def __init__(
        self, from_header: Any, credentials: Any = None, duration: int = 300, extra_headers: list[Any] | None = None
    ) -> None:
        super().__init__()
        if not isinstance(duration, int) or isinstance(duration, bool) or duration <= 0:
            raise ValueError("duration must be a positive number of seconds")
        if getattr(from_header, "uri", None) is None:
            raise TypeError("from_header must be a FromHeader")
        self.from_header = from_header
        self.credentials = credentials
        self.duration = duration
        self.extra_headers = list(extra_headers or [])
        self.contact_header: Any = None
        self.route_header: Any = None
        self.call_id: str | None = None
        self._cseq = 0
        self._timeout: float | None = None
        self._in_flight: Request | None = None  # the REGISTER awaiting its answer
        self._in_flight_unregisters = False
        self._registered: Request | None = None  # the REGISTER whose binding is current
        self._pending: str | None = None  # "register" or "unregister", after the one in flight
        self._interval_retries = 0

    # --- public API -----------------------------------------------------------

    @property
    def is_registered(self) -> bool:
        return self._registered is not None

    @property
    def expires_in(self) -> int:
        registered = self._registered
        return registered.expires_in if registered is not None else 0

    def register(self, contact_header: Any, route_header: Any, timeout: float | None = None) -> None:
        """Register (or refresh with a new contact or route) now."""
        if getattr(contact_header, "uri", None) is None:
            raise TypeError("contact_header must be a ContactHeader")
        with self._lock:
            self.contact_header = contact_header
            self.route_header = route_header
            self._timeout = timeout
            if self._in_flight is not None:
                self._pending = "register"
                return
            self._interval_retries = 0
            self._send_register(self.duration)

    def end(self, timeout: float | None = None) -> None:
        """Remove the binding (REGISTER with expiry 0); SIPRegistrationDidEnd follows."""
        with self._lock:
            self._timeout = timeout
            if self._in_flight is not None:
                self._pending = "unregister"
                return
            if self._registered is None:
                return
            self._send_register(0)

    # --- sending --------------------------------------------------------------

    def _send_register(self, expires: int) -> None:
        uri = self.from_header.uri
        registrar = SIPURI(host=uri.host, port=uri.port, secure=uri.secure)
        to_header = ToHeader(SIPURI.new(uri), display_name=getattr(self.from_header, "display_name", None))
        contact = self.contact_header
        if expires == 0:
            contact = ContactHeader.new(contact)
            contact.expires = 0
        self._cseq = self._cseq + 1 if self._cseq else 0
        request = Request(
            "REGISTER",
            self.from_header,
            to_header,
            registrar,
            self.route_header,
            credentials=self.credentials,
            contact_header=contact,
            call_id=self.call_id,
            cseq=self._cseq or None,
            extra_headers=[*self.extra_headers, Header("Expires", str(expires))],
        )
        request.default_expires = expires
        self._in_flight = request
        self._in_flight_unregisters = expires == 0
        try:
            self._send(request, self._timeout)
        except BaseException:
            # Not sent (no route to the registrar, say): nothing is in flight, so the next
            # register() or end() is sent rather than queued behind an answer that never comes.
            self._in_flight = None
            raise
        self.call_id = request.call_id
        assert request.cseq is not None  # send() numbered it
        self._cseq = request.cseq

    def _after_in_flight(self) -> None:
        pending, self._pending = self._pending, None
        if pending == "register":
            self._interval_retries = 0
            self._send_register(self.duration)
        elif pending == "unregister" and (self._registered is not None):
            self._send_register(0)

    # --- request notifications (Engine thread, under the lock) --------------

    def _request_didsucceed(self, request: Request, data: NotificationData) -> None:
        if request is not self._in_flight:
            return
        self._in_flight = None
        if self._in_flight_unregisters:
            self._end_binding(expired=False, code=data.code, reason=data.reason)
            request.end()
        else:
            previous, self._registered = self._registered, request
            if previous is not None:
                previous.end()
            contacts = headers_named(data.headers, "Contact")
            self._post(
                "SIPRegistrationDidSucceed",
                code=data.code,
                reason=data.reason,
                contact_header=self.contact_header,
                contact_header_list=contacts,
                expires_in=data.expires or self.duration,
            )
        self._after_in_flight()

    def _request_didfail(self, request: Request, data: NotificationData) -> None:
        if request is not self._in_flight:
            return
        self._in_flight = None
        min_expires = None
        if data.code == 423:
            value = header_value(data.headers, "Min-Expires")
            min_expires = int(value) if value and value.strip().isdigit() else None
            if min_expires and not self._in_flight_unregisters and self._interval_retries < _MAX_INTERVAL_RETRIES:
                # RFC 3261 10.2.8: ask again with at least the registrar's minimum.
                self._interval_retries += 1
                self.duration = max(self.duration, min_expires)
                self._send_register(self.duration)
                return
        self._post(
            "SIPRegistrationDidFail", code=data.code, reason=data.reason, min_expires=min_expires, headers=data.headers
        )
        if self._in_flight_unregisters:
            # The registrar could not be told; locally the binding is over.
            answered = bool(data.headers)
            self._end_binding(
                expired=False, code=data.code if answered else None, reason=data.reason if answered else None
            )
        self._after_in_flight()

    def _request_willexpire(self, request: Request, data: NotificationData) -> None:
        if request is not self._registered or self._in_flight is not None:
            return
        self._post("SIPRegistrationWillExpire", expires=data.expires)
        self._send_register(self.duration)

    def _request_didend(self, request: Request, data: NotificationData) -> None:
        if request is self._registered and data.expired:
            self._registered = None
            self._post("SIPRegistrationDidEnd", expired=True, code=None, reason=None)

    def _end_binding(self, expired: bool, code: int | None = None, reason: str | None = None) -> None:
        registered, self._registered = self._registered, None
        if registered is not None:
            registered.end()
        self._post("SIPRegistrationDidEnd", expired=expired, code=code, reason=reason)
