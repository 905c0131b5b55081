"""AccountRegistrar: keeps an account registered, failing over between the routes DNS gives.

One AccountRegistrar per active account with ``registration.enabled``. It
runs in one green thread of the middleware thread, which alone changes its
state; everything else (the Account, the Engine thread's notifications from
the core Registration, the DNS lookups) only puts events in its Channel, so
the state machine needs no lock.

States and transitions: the table REGISTRATION_STATES (sipsimple/_states.py,
on RegistrationState's values; drawn in docs/api/account.md); ``_change_state`` alone changes the state. In short:
start() looks the routes up (looking_up), registers on the first
(registering), is registered (registered, refreshed by the core) or, after
a failure, waits (waiting) for the next route or a new lookup;
reregister() starts over from a lookup (failure count reset);
stop(unregister=True) removes the binding (unregistering) before stopped;
stop(unregister=False) stops at once (the binding is left to expire: the
Engine is going away).

failure (of a REGISTER or of a refresh, on route i of n):

* no answer (timeout), a transport error, 408, 5xx, 6xx: if there is a route
  i+1, SIPAccountRegistrationDidFail(next_route=route i+1,
  delay=NEXT_ROUTE_DELAY), then REGISTERING(route i+1) after that delay;
* 401/403/407 (the credentials were refused after the core answered the
  challenge) and the other 4xx: the other routes lead to the same registrar,
  so they are not tried;
* otherwise (no route left, or a 4xx): failures += 1,
  SIPAccountRegistrationDidFail(next_route=None, delay=back-off), then a new
  DNS lookup after that delay. back-off = min(retry_delay * 2 ** (failures - 1),
  max_retry_delay), less a random part of up to 25 % (so it still grows at
  each step until it reaches the maximum). A failed DNS lookup counts the
  same way.

A success resets the failure count. The core Registration refreshes the
binding before it expires; each refresh posts SIPAccountRegistrationDidSucceed
again. A refresh that fails is a failure on the route it used: the account
registers through the next route, or looks the routes up again.

``reregister()`` (contact, credentials, proxy, expiry or id changed) starts
over from a DNS lookup. When the contact or the address of record changed,
the old binding is removed (a REGISTER with expiry 0 from the old core
Registration, not waited for) and a new core Registration takes over; when
they did not, the same Registration is reused (same Call-ID), so that no
removal can race with the new registration of the same contact.

Threads: ``start``, ``reregister`` and ``stop`` may be called from any
thread; ``stop`` blocks its caller (only its green thread, in a green thread)
until the binding is removed or ``timeout`` passed. Notifications are posted
from the registrar's green thread, with the account as sender.
"""

from __future__ import annotations

import enum
import logging
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from sipsimple._states import REGISTRATION_STATES
from sipsimple.configuration.settings import SIPSimpleSettings
from sipsimple.core import SIPURI, ContactHeader, Engine, FromHeader, Registration, RouteHeader
from sipsimple.lookup import DNSLookup, Route
from sipsimple.network import is_unspecified, local_address_towards
from sipsimple.notification import Notification, NotificationCenter, NotificationData
from sipsimple.threading import Channel, Command, call_in_green_thread

if TYPE_CHECKING:
    from sipsimple.account.account import Account
    from sipsimple.threading import Future

__all__ = [
    "NEXT_ROUTE_DELAY",
    "REGISTRATION_STATES",
    "UNREGISTER_TIMEOUT",
    "AccountRegistrar",
    "RegistrationState",
    "backoff_delay",
    "local_address_towards",
]

log = logging.getLogger("sipsimple.account")

# Seconds before the next route is tried after one failed: failing over is immediate.
NEXT_ROUTE_DELAY = 0.0
# How long the REGISTER that removes the binding may wait for its answer when the account stops.
UNREGISTER_TIMEOUT = 2.0
# The core Registration's notifications the registrar acts on.
_REGISTRATION_NOTIFICATIONS = (
    "SIPRegistrationDidSucceed",
    "SIPRegistrationDidFail",
    "SIPRegistrationWillExpire",
    "SIPRegistrationDidEnd",
)


class RegistrationState(enum.Enum):
    IDLE = "idle"
    LOOKING_UP = "looking_up"
    REGISTERING = "registering"
    REGISTERED = "registered"
    WAITING = "waiting"
    UNREGISTERING = "unregistering"
    STOPPED = "stopped"


def backoff_delay(failures: int, base: float, maximum: float, rng: random.Random | None = None) -> float:
    """The wait after the ``failures``-th failed round: min(base * 2 ** (failures - 1), maximum), less up to 25 %."""
    if failures < 1:
        raise ValueError(f"failures must be at least 1, not {failures}")
    if base <= 0 or maximum <= 0:
        raise ValueError("the retry delays must be positive")
    delay = min(maximum, base * 2.0 ** min(failures - 1, 64))
    return delay * (1.0 - 0.25 * (rng or random).random())


def _final_code(data: NotificationData) -> int | None:
    """The status code of the response that came, None when none came (timeout, transport error)."""
    headers = getattr(data, "headers", None)
    return data.code if headers else None


def _tries_next_route(code: int | None) -> bool:
    """Whether another route may succeed after this failure (the registrar's own refusals say no)."""
    return code is None or code == 408 or code >= 500


def configured_lookup() -> DNSLookup:
    """A DNSLookup on the nameservers and port of SIPSimpleSettings.dns."""
    dns = SIPSimpleSettings().dns
    nameservers = list(dns.nameservers) if dns.nameservers is not None else None
    return DNSLookup(nameservers=nameservers, port=int(dns.port))


class AccountRegistrar:
    """The registration of one account: a state machine in a green thread (see the module docstring)."""

    # What makes the DNSLookup objects: by default one asking the nameservers
    # SIPSimpleSettings.dns names (the system's when None).
    lookup_factory: ClassVar[Callable[[], DNSLookup]] = staticmethod(configured_lookup)
    rng: ClassVar[random.Random] = random.Random()

    def __init__(self, account: Account) -> None:
        self.account = account
        self._events: Channel[Any] = Channel()
        self._center = NotificationCenter()
        self._state = RegistrationState(REGISTRATION_STATES.initial)
        self._registration: Registration | None = None
        self._retiring: set[Registration] = set()  # old Registrations removing their binding
        self._routes: list[Route] = []
        self._route_index = 0
        self._last_route: Route | None = None  # the route of the last REGISTER sent
        self._failures = 0
        self._deadline: float | None = None
        self._timer_action: str | None = None  # "lookup" or "route"
        self._lookup_generation = 0
        self._in_flight = False  # a REGISTER of the current Registration awaits its answer
        self._queued = False  # register() was called while one was in flight: the core sends it after
        self._bound = False  # the current Registration has (or had, until it expires) a binding
        self._stop_command: Command | None = None
        self._stop_deadline: float | None = None
        self._started = False

    # --- public -----------------------------------------------------------------

    @property
    def state(self) -> RegistrationState:
        return self._state

    @property
    def registration(self) -> Registration | None:
        """The core Registration in use (None before the first start)."""
        return self._registration

    @property
    def route(self) -> Route | None:
        """The route of the last REGISTER sent, None before."""
        if self._state in (RegistrationState.REGISTERING, RegistrationState.REGISTERED) and self._routes:
            return self._routes[self._route_index]
        return None

    def start(self) -> None:
        """Begin registering (a DNS lookup first). A registrar starts once; make a new one after stop()."""
        if self._started:
            raise RuntimeError("an AccountRegistrar starts only once")
        self._started = True
        call_in_green_thread(self._run)

    def reregister(self) -> None:
        """Register again from a DNS lookup, with the account's current contact, credentials and settings."""
        self._events.put(("reregister",))

    def stop(self, unregister: bool = True, timeout: float = 3.0) -> None:
        """Stop; with ``unregister``, remove the binding first, waiting at most ``timeout`` seconds for it."""
        if not self._started or self._state is RegistrationState.STOPPED:
            if self._state is not RegistrationState.STOPPED:
                self._change_state("stop")
            return
        command = Command("stop", unregister=unregister, timeout=timeout)
        self._events.put(command)
        try:
            command.wait(timeout + 1.0)
        except TimeoutError:
            log.warning("the registrar of %s did not stop within %.1f s", self.account.id, timeout + 1.0)

    # --- Engine thread ------------------------------------------------------------

    def handle_notification(self, notification: Notification) -> None:
        self._events.put(notification)

    # --- the green thread ------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._registration = self._new_registration()
            self._start_lookup()
            while self._state is not RegistrationState.STOPPED:
                deadline = self._deadline
                if self._stop_deadline is not None and (deadline is None or self._stop_deadline < deadline):
                    deadline = self._stop_deadline
                timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
                try:
                    event = self._events.get(timeout)
                except TimeoutError:
                    self._on_timer()
                    continue
                try:
                    self._dispatch(event)
                except Exception:
                    log.exception("the registrar of %s failed to handle %r", self.account.id, event)
        finally:
            if self._state is not RegistrationState.STOPPED:
                self._change_state("stop")
            self._forget(self._registration)
            for registration in list(self._retiring):
                self._forget(registration)
            self._retiring.clear()
            if self._stop_command is not None and not self._stop_command.done():
                self._stop_command.signal()
            # Anyone else waiting for a stop is answered too.
            while len(self._events):
                event = self._events.get_nowait()
                if isinstance(event, Command) and not event.done():
                    event.signal()

    def _dispatch(self, event: Any) -> None:
        if isinstance(event, Notification):
            if event.sender is self._registration:
                self._on_registration(event)
            elif event.sender in self._retiring and event.name == "SIPRegistrationDidEnd":
                self._forget(event.sender)
                self._retiring.discard(event.sender)
        elif isinstance(event, Command):
            self._on_stop(event)
        elif event[0] == "lookup":
            self._on_lookup(*event[1:])
        elif event[0] == "reregister":
            self._on_reregister()

    def _on_timer(self) -> None:
        now = time.monotonic()
        if self._stop_deadline is not None and now >= self._stop_deadline:
            # The registrar did not answer the removal in time: the binding is over as far as we know.
            self._finish_stop(ended=self._bound, code=None, reason=None)
            return
        if self._deadline is not None and now >= self._deadline:
            action, self._deadline, self._timer_action = self._timer_action, None, None
            if action == "lookup":
                self._start_lookup()
            elif action == "route":
                self._register_on_route()

    # --- registering -------------------------------------------------------------------

    def _new_registration(self) -> Registration:
        account = self.account
        registration = Registration(
            FromHeader(
                SIPURI(user=account.id.username, host=_bare(account.id.domain)), display_name=account.display_name
            ),
            credentials=account.credentials,
            duration=int(account.registration.expires),
        )
        for name in _REGISTRATION_NOTIFICATIONS:
            self._center.add_observer(self, name=name, sender=registration)
        self._in_flight = self._bound = False
        return registration

    def _forget(self, registration: Registration | None) -> None:
        if registration is not None:
            for name in _REGISTRATION_NOTIFICATIONS:
                self._center.discard_observer(self, name=name, sender=registration)

    def _transports(self) -> list[str]:
        engine = Engine()
        listening = {
            "udp": engine.local_udp_port,
            "tcp": engine.local_tcp_port,
            "tls": engine.local_tls_port,
        }
        preferred = self.account.sip.transport_list or SIPSimpleSettings().sip.transport_list
        return [transport for transport in preferred if listening.get(transport)]

    def _lookup_uri(self) -> SIPURI:
        proxy = self.account.sip.outbound_proxy
        if proxy is not None:
            parameters = {"transport": proxy.transport} if proxy.transport else {}
            return SIPURI(host=_bare(proxy.host), port=proxy.port, parameters=parameters)
        return SIPURI(host=_bare(self.account.id.domain))

    def _change_state(self, event: str) -> None:
        """The one place where the state changes: to where REGISTRATION_STATES says ``event`` leads."""
        target = REGISTRATION_STATES.next(self._state.value, event)
        self._state = RegistrationState(target)

    def _start_lookup(self) -> None:
        self._change_state("lookup")
        self._lookup_generation += 1
        generation = self._lookup_generation
        transports = self._transports()
        if not transports:
            self._events.put(("lookup", generation, None, "the Engine listens on none of the account's transports"))
            return
        try:
            future = AccountRegistrar.lookup_factory().lookup_sip_proxy(self._lookup_uri(), transports)
        except Exception as error:  # a URI the lookup refuses
            self._events.put(("lookup", generation, None, str(error)))
            return
        call_in_green_thread(self._wait_for_lookup, generation, future)

    def _wait_for_lookup(self, generation: int, future: Future[list[Route]]) -> None:
        try:
            routes = future.wait()
        except Exception as error:
            self._events.put(("lookup", generation, None, str(error) or type(error).__name__))
        else:
            self._events.put(("lookup", generation, routes, None))

    def _on_lookup(self, generation: int, routes: list[Route] | None, error: str | None) -> None:
        if generation != self._lookup_generation or self._state is not RegistrationState.LOOKING_UP:
            return  # an older lookup, or one the registrar no longer waits for
        if not routes:
            self._fail(None, f"DNS lookup failed: {error or 'no route'}", retry_route=False)
            return
        self._routes = list(routes)
        self._route_index = 0
        self._register_on_route()

    def _contact_header(self, route: Route) -> ContactHeader:
        uri = self.account.contact[route.transport]
        if is_unspecified(Engine().ip_address):
            host = local_address_towards(route.address) or uri.host
            uri = SIPURI(user=uri.user, host=host, port=uri.port, parameters=dict(uri.parameters))
        return ContactHeader(uri)

    def _register_on_route(self) -> None:
        assert self._registration is not None
        self._change_state("register")
        route = self._routes[self._route_index]
        self._last_route = route
        parameters: dict[str, str | None] = {"lr": None}
        if route.transport != "udp":
            parameters["transport"] = route.transport
        route_header = RouteHeader(SIPURI(host=route.address, port=route.port, parameters=parameters))
        timeout = float(SIPSimpleSettings().sip.register_timeout)
        try:
            contact_header = self._contact_header(route)
            self._registration.register(contact_header, route_header, timeout=timeout)
        except Exception as error:  # the Engine stopped, its transport for this route went away
            self._fail(None, f"cannot send the REGISTER: {error}", retry_route=True)
            return
        if self._in_flight:
            self._queued = True
        self._in_flight = True

    def _answered(self) -> bool:
        """Account for an answer to a REGISTER; False when it is stale (a newer REGISTER was queued behind it)."""
        if self._queued:
            self._queued = False  # the core sends the queued REGISTER now
            return False
        self._in_flight = False
        return True

    def _on_registration(self, notification: Notification) -> None:
        data = notification.data
        name = notification.name
        if name == "SIPRegistrationWillExpire":
            self._in_flight = True  # the core sends the refresh
            return
        if name == "SIPRegistrationDidSucceed":
            current = self._answered()
            self._bound = True
            if self._state is RegistrationState.UNREGISTERING:
                return  # the core now sends the pending removal
            if current and self._state in (RegistrationState.REGISTERING, RegistrationState.REGISTERED):
                self._change_state("registered")
                self._failures = 0
            self._post(
                "SIPAccountRegistrationDidSucceed",
                code=data.code,
                reason=data.reason,
                contact_uri=data.contact_header.uri,
                contact_uri_list=[header.uri for header in data.contact_header_list],
                expires=data.expires_in,
                registration=notification.sender,
                route=self.route,
            )
        elif name == "SIPRegistrationDidFail":
            current = self._answered()
            if self._state is RegistrationState.UNREGISTERING:
                if not self._bound:
                    self._finish_stop(ended=False, code=None, reason=None)  # nothing to remove
                return  # the removal failed, or the core removes the old binding next: SIPRegistrationDidEnd follows
            if current and self._state in (RegistrationState.REGISTERING, RegistrationState.REGISTERED):
                code = _final_code(data)
                self._fail(code, data.reason, retry_route=_tries_next_route(code))
        elif name == "SIPRegistrationDidEnd":
            self._bound = False
            if self._state is RegistrationState.UNREGISTERING:
                self._finish_stop(ended=True, code=getattr(data, "code", None), reason=getattr(data, "reason", None))
            elif self._state is RegistrationState.REGISTERED and data.expired:
                self._fail(None, "the registration expired without a successful refresh", retry_route=True)

    def _fail(self, code: int | None, reason: str, retry_route: bool) -> None:
        next_route: Route | None = None
        if (
            retry_route
            and self._state in (RegistrationState.REGISTERING, RegistrationState.REGISTERED)
            and self._route_index + 1 < len(self._routes)
        ):
            self._route_index += 1
            next_route = self._routes[self._route_index]
            delay = NEXT_ROUTE_DELAY
            self._timer_action = "route"
        else:
            self._failures += 1
            settings = self.account.registration
            delay = backoff_delay(
                self._failures, float(settings.retry_delay), float(settings.max_retry_delay), self.rng
            )
            self._timer_action = "lookup"
        self._change_state("fail")
        self._deadline = time.monotonic() + delay
        data: dict[str, Any] = {
            "reason": reason,
            "registration": self._registration,
            "next_route": next_route,
            "delay": delay,
        }
        if code is not None:
            data["code"] = code
        self._post("SIPAccountRegistrationDidFail", **data)

    def _on_reregister(self) -> None:
        if not REGISTRATION_STATES.allows(self._state.value, "reregister"):
            return
        registration = self._registration
        assert registration is not None
        account = self.account
        new_aor = SIPURI(user=account.id.username, host=_bare(account.id.domain))
        old_contact = registration.contact_header
        route = self._last_route
        contact_changed = False
        if old_contact is not None and route is not None:
            try:
                contact_changed = str(self._contact_header(route).uri) != str(old_contact.uri)
            except KeyError:  # the Engine no longer listens on that transport
                contact_changed = True
        aor_changed = str(new_aor) != str(registration.from_header.uri)
        if (contact_changed or aor_changed) and (self._bound or self._in_flight):
            # Remove the old binding in the background; a new Registration registers the new one.
            self._forget(registration)
            self._retiring.add(registration)
            self._center.add_observer(self, name="SIPRegistrationDidEnd", sender=registration)
            try:
                registration.end(timeout=UNREGISTER_TIMEOUT)
            except Exception as error:
                log.info("could not remove the old binding of %s: %s", account.id, error)
            self._registration = self._new_registration()
        else:
            registration.from_header = FromHeader(new_aor, display_name=account.display_name)
            registration.credentials = account.credentials
            registration.duration = int(account.registration.expires)
        self._failures = 0
        self._deadline = self._timer_action = None
        self._start_lookup()

    # --- stopping ------------------------------------------------------------------------

    def _on_stop(self, command: Command) -> None:
        if self._stop_command is not None:  # a stop is already under way: answer this one with it
            command.signal()
            return
        self._stop_command = command
        self._deadline = self._timer_action = None
        self._lookup_generation += 1  # a lookup still running is not waited for
        registration = self._registration
        self._queued = False  # end() replaces a queued REGISTER with the removal
        unregister: bool = command.unregister  # type: ignore[attr-defined]
        timeout: float = command.timeout  # type: ignore[attr-defined]
        if unregister and registration is not None and (self._bound or self._in_flight):
            self._change_state("unregister")
            self._stop_deadline = time.monotonic() + timeout
            try:
                registration.end(timeout=min(UNREGISTER_TIMEOUT, timeout))
            except Exception as error:  # the Engine is gone
                log.info("could not remove the binding of %s: %s", self.account.id, error)
                self._finish_stop(ended=self._bound, code=None, reason=None)
        else:
            self._finish_stop(ended=False, code=None, reason=None)

    def _finish_stop(self, ended: bool, code: int | None, reason: str | None) -> None:
        self._change_state("stop")
        self._stop_deadline = None
        if ended:
            data: dict[str, Any] = {"registration": self._registration}
            if code is not None:
                data.update(code=code, reason=reason)
            self._post("SIPAccountRegistrationDidEnd", **data)
        if self._stop_command is not None:
            self._stop_command.signal()

    def _post(self, name: str, **data: Any) -> None:
        self._center.post_notification(name, sender=self.account, data=NotificationData(**data))


def _bare(host: str) -> str:
    return host[1:-1] if host.startswith("[") and host.endswith("]") else host
