"""Account: a SIP account's settings, and the object that acts for it (registration).

One object per id (``Account("alice@example.com") is Account("alice@example.com")``,
the SettingsObject registry sees to it). An account is *active* while the
AccountManager has started it, its ``enabled`` setting is True and the Engine
runs; an active account with ``registration.enabled`` keeps itself registered
(sipsimple.account.registration).

Threads: activation, deactivation and the reactions to settings changes run
in green threads of the middleware thread, one at a time per account, in the
order they were asked for. ``stop()`` and ``delete()`` block their caller
(only its green thread, in a green thread) until the account is
deactivated, at most about STOP_TIMEOUT seconds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sipsimple.account.contact import ContactURI, contact_host, random_contact_user
from sipsimple.account.registration import AccountRegistrar
from sipsimple.account.settings import (
    AuthSettings,
    DialogEventSettings,
    MessageSummarySettings,
    MSRPSettings,
    NATTraversalSettings,
    PresenceSettings,
    RegistrationSettings,
    RTPSettings,
    SIPSettings,
    TLSSettings,
    XCAPSettings,
)
from sipsimple.configuration.datatypes import SIPAddress
from sipsimple.configuration.objects import Group, SettingsObject, SettingsObjectID
from sipsimple.configuration.setting import Setting
from sipsimple.core import Credentials, Engine
from sipsimple.network import default_ip_address
from sipsimple.notification import Notification, NotificationCenter, NotificationData
from sipsimple.threading import Future, sleep, spawn

__all__ = ["STOP_TIMEOUT", "Account"]

log = logging.getLogger("sipsimple.account")

# How long stop() waits for the registrar to remove the binding (SIPApplication.stop() must end within 5 s).
STOP_TIMEOUT = 3.0

# Settings whose change needs a new REGISTER (From, credentials, where it goes, how long it lasts).
_REREGISTER_KEYS = frozenset(
    {
        "__id__",
        "display_name",
        "auth.username",
        "auth.password",
        "sip.outbound_proxy",
        "sip.transport_list",
        "registration.expires",
    }
)

# The NetworkMonitor's notifications after which the account registers again at once.
_NETWORK_NOTIFICATIONS = ("SystemIPAddressDidChange", "SystemDidGainNetwork")


class Account(SettingsObject):
    """A SIP account: its settings (stored under ``Accounts/<id>``) and its registration.

    See docs/api/account.md. Read-only attributes: ``id``, ``contact``,
    ``credentials``, ``is_active``; ``start()``/``stop()`` are the
    AccountManager's.
    """

    __group__ = "Accounts"
    __id__ = SettingsObjectID(type=SIPAddress)

    enabled = Setting(type=bool, default=False)
    display_name = Setting(type=str, default=None, nullable=True)

    auth: Group[AuthSettings] = AuthSettings
    sip: Group[SIPSettings] = SIPSettings
    registration: Group[RegistrationSettings] = RegistrationSettings
    rtp: Group[RTPSettings] = RTPSettings
    nat_traversal: Group[NATTraversalSettings] = NATTraversalSettings
    msrp: Group[MSRPSettings] = MSRPSettings
    presence: Group[PresenceSettings] = PresenceSettings
    dialog_event: Group[DialogEventSettings] = DialogEventSettings
    message_summary: Group[MessageSummarySettings] = MessageSummarySettings
    xcap: Group[XCAPSettings] = XCAPSettings
    tls: Group[TLSSettings] = TLSSettings

    def __init__(self, id: object) -> None:
        self._contact_user = random_contact_user()
        self._started = False
        self._deleting = False
        self._active = False
        self._engine_running = False
        self._registrar: AccountRegistrar | None = None
        self._tail: Future[None] | None = None  # the last queued activation step

    # --- attributes ------------------------------------------------------------------

    @property
    def id(self) -> SIPAddress:
        return SIPAddress(self.__id__)

    @property
    def contact(self) -> ContactURI:
        """``<random user>@<address>``: the Engine's address, else SIPSimpleSettings.local_ip, else the system's."""
        return ContactURI(f"{self._contact_user}@{_bracketed(contact_host(_default_route_address))}")

    @property
    def credentials(self) -> Credentials:
        """Digest credentials from ``auth.username`` (else the id's user part) and ``auth.password``."""
        username = self.auth.username or self.id.username
        return Credentials(username, self.auth.password)

    @property
    def is_active(self) -> bool:
        return self._active

    @property
    def registrar(self) -> AccountRegistrar | None:
        """The registration state machine while the account is active and registers, else None."""
        return self._registrar

    # --- life cycle (the AccountManager's) -------------------------------------------------

    def start(self) -> None:
        """Follow the Engine and the settings from now on; activate when enabled and the Engine runs."""
        if self._started:
            return
        self._started = True
        center = NotificationCenter()
        engine = Engine()
        center.add_observer(self, name="CFGSettingsObjectDidChange", sender=self)
        center.add_observer(self, name="SIPEngineDidStart", sender=engine)
        center.add_observer(self, name="SIPEngineWillEnd", sender=engine)
        # A transport that moves (a port changed at run time, by SIPApplication
        # applying SIPSimpleSettings or by the application itself) changes
        # the contact: register it.
        center.add_observer(self, name="SIPEngineTransportsDidChange", sender=engine)
        # The network changed (sipsimple.network.NetworkMonitor, run by SIPApplication): the contact may
        # have changed, and a registration failing for lack of network must not wait out its back-off.
        for name in _NETWORK_NOTIFICATIONS:
            center.add_observer(self, name=name)
        self._engine_running = engine.is_running
        self._queue(self._sync_activation)

    def stop(self) -> None:
        """Deactivate (removing the registration, at most about STOP_TIMEOUT s) and stop following changes."""
        if not self._started:
            return
        self._started = False
        NotificationCenter().purge_observer(self)
        self._wait(self._queue(self._sync_activation))

    def delete(self) -> None:
        """Deactivate the account (as stop() does), then remove it from the configuration."""
        self._deleting = True
        self._wait(self._queue(self._sync_activation))
        try:
            super().delete()
        except BaseException:
            self._deleting = False
            self._queue(self._sync_activation)
            raise
        self._started = False
        NotificationCenter().purge_observer(self)

    def reregister(self) -> None:
        """Register again (from a DNS lookup) with the current contact, e.g. after the network changed."""
        self._queue(self._reregister)

    # --- notifications --------------------------------------------------------------------

    def handle_notification(self, notification: Notification) -> None:
        name = notification.name
        if name == "SIPEngineDidStart":
            self._engine_running = True
            self._queue(self._sync_activation)
        elif name == "SIPEngineWillEnd":
            self._engine_running = False
            self._queue(self._sync_activation, False)  # the Engine is going: no time to unregister
        elif name == "SIPEngineTransportsDidChange" or name in _NETWORK_NOTIFICATIONS:
            if _concerns_engine(notification):
                self._queue(self._transports_changed)
        elif name == "CFGSettingsObjectDidChange":
            self._queue(self._settings_changed, set(notification.data.modified))

    # --- green threads ----------------------------------------------------------------------

    def _queue(self, step: Callable[..., None], *args: Any) -> Future[None]:
        """Run ``step`` in a green thread after the steps queued before it (the Future says when it ran)."""
        return spawn(self._run_step, step, *args)

    def _run_step(self, step: Callable[..., None], *args: Any) -> None:
        previous, done = self._tail, Future[None]()
        self._tail = done
        try:
            if previous is not None and not previous.done():
                previous.wait()
            step(*args)
        except Exception:
            log.exception("%r: %s failed", self, getattr(step, "__name__", step))
        finally:
            done.set_result(None)

    def _wait(self, future: Future[None]) -> None:
        try:
            future.wait(STOP_TIMEOUT + 2.0)
        except TimeoutError:
            log.warning("%r did not deactivate within %.1f s", self, STOP_TIMEOUT + 2.0)

    def _sync_activation(self, unregister: bool = True) -> None:
        wanted = self._started and not self._deleting and self.enabled and self._engine_running
        if wanted and not self._active:
            self._active = True
            self._notify("SIPAccountDidActivate")
        elif not wanted and self._active:
            self._stop_registrar(unregister)
            self._active = False
            self._notify("SIPAccountDidDeactivate")
            return
        if self._active:
            if self.registration.enabled and self._registrar is None:
                self._registrar = AccountRegistrar(self)
                self._registrar.start()
            elif not self.registration.enabled and self._registrar is not None:
                self._stop_registrar(unregister)

    def _stop_registrar(self, unregister: bool) -> None:
        registrar, self._registrar = self._registrar, None
        if registrar is not None:
            registrar.stop(unregister=unregister, timeout=STOP_TIMEOUT)

    def _settings_changed(self, modified: set[str]) -> None:
        if {"enabled", "registration.enabled"} & modified:
            self._sync_activation()
        if self._registrar is not None and modified & _REREGISTER_KEYS:
            self._registrar.reregister()

    def _transports_changed(self) -> None:
        # The application applies the new ports to the Engine (or restarts its transports after a network
        # change) on the same notification; let it finish first.
        sleep(0)
        self._reregister()

    def _reregister(self) -> None:
        if self._registrar is not None:
            self._registrar.reregister()

    def _notify(self, name: str, **data: Any) -> None:
        NotificationCenter().post_notification(name, sender=self, data=NotificationData(**data))


def _concerns_engine(notification: Notification) -> bool:
    """False for a SystemIPAddressDidChange of the other IP family than the Engine's (its contact is unchanged)."""
    family = getattr(notification.data, "family", None) if notification.name == "SystemIPAddressDidChange" else None
    address = Engine().ip_address
    if family is None or not address:
        return True
    return family == (6 if ":" in address else 4)


def _default_route_address() -> str:
    # The address of the default route (a UDP connect towards TEST-NET-1 sends nothing).
    return default_ip_address(4) or "127.0.0.1"


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host
