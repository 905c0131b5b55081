"""AccountManager: loads the accounts, keeps track of them and of the default one.

A singleton (``AccountManager() is AccountManager()``). ``start()`` needs a
started ConfigurationManager; the SIPApplication calls it after the Engine
started and ``stop()`` before it stops the Engine. Methods may be called from
any thread; ``stop()`` blocks its caller (only its green thread, in a green
thread) until every account is deactivated, at most about STOP_TIMEOUT s.

Notifications (sender: the AccountManager), posted in the thread that caused
them (``start()``'s caller, the caller of an account's ``save()`` or
``delete()``, the default account's setter):
  SIPAccountManagerDidAddAccount (account)
  SIPAccountManagerDidRemoveAccount (account)
  SIPAccountManagerDidChangeDefaultAccount (old_account, account)
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from sipsimple.account.account import STOP_TIMEOUT, Account
from sipsimple.configuration import ConfigurationError, ConfigurationManager
from sipsimple.configuration.datatypes import SIPAddress
from sipsimple.configuration.settings import SIPSimpleSettings
from sipsimple.core import SIPURI, FrozenSIPURI
from sipsimple.notification import Notification, NotificationCenter, NotificationData
from sipsimple.singleton import Singleton
from sipsimple.threading import Future, spawn

if TYPE_CHECKING:
    from sipsimple.account.bonjour import BonjourAccount

__all__ = ["AccountManager"]

log = logging.getLogger("sipsimple.account")

_OBSERVED = (
    "CFGSettingsObjectWasCreated",
    "CFGSettingsObjectWasDeleted",
    "CFGSettingsObjectDidChangeID",
    "CFGSettingsObjectDidChange",
)


def _bonjour_account() -> BonjourAccount | None:
    """The BonjourAccount (in its own module: it needs python-zeroconf, the server accounts do not)."""
    from sipsimple.account.bonjour import BonjourAccount

    return BonjourAccount()


class AccountManager(metaclass=Singleton):
    """Loads and tracks the accounts (see docs/api/account.md)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._accounts: dict[str, Any] = {}  # id -> Account (or the BonjourAccount)
        self._started = False
        self._center = NotificationCenter()

    # --- life cycle ----------------------------------------------------------------

    def start(self) -> None:
        """Load the accounts from the configuration (SIPAccountManagerDidAddAccount each) and start them.

        Raises ConfigurationError when the ConfigurationManager is not
        started, RuntimeError when the AccountManager already is.
        """
        configuration = ConfigurationManager()
        with self._lock:
            if self._started:
                raise RuntimeError("the AccountManager is already started")
            if not configuration.running:
                raise ConfigurationError("start the ConfigurationManager before the AccountManager")
            accounts: list[Any] = []
            for name in configuration.get_names(Account.__group__ or ()):
                try:
                    accounts.append(Account(name))
                except (TypeError, ValueError, ConfigurationError) as error:
                    log.warning("ignoring the stored account %r: %s", name, error)
            bonjour = _bonjour_account()
            if bonjour is not None:
                accounts.append(bonjour)
            self._started = True
            for name in _OBSERVED:
                self._center.add_observer(self, name=name)
            for account in accounts:
                self._accounts[str(account.id)] = account
        for account in accounts:
            self._post("SIPAccountManagerDidAddAccount", account=account)
            account.start()
        self._check_default()

    def stop(self) -> None:
        """Deactivate every account (all at once) and wait for them, at most about STOP_TIMEOUT s."""
        with self._lock:
            if not self._started:
                return
            self._started = False
            self._center.purge_observer(self)
            accounts = list(self._accounts.values())
            self._accounts.clear()
        futures: list[Future[Any]] = [spawn(account.stop) for account in accounts]
        deadline = time.monotonic() + STOP_TIMEOUT + 1.0
        for account, future in zip(accounts, futures, strict=True):
            try:
                future.wait(max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                log.warning("%r did not stop in time", account)
            except Exception:
                log.exception("%r failed to stop", account)

    @property
    def started(self) -> bool:
        return self._started

    # --- queries ---------------------------------------------------------------------

    def has_account(self, id: str) -> bool:
        return self._key(id) in self._accounts

    def get_account(self, id: str) -> Any:
        """The account with this id; KeyError if there is none."""
        try:
            return self._accounts[self._key(id)]
        except KeyError:
            raise KeyError(id) from None

    def get_accounts(self) -> list[Any]:
        return list(self._accounts.values())

    def iter_accounts(self) -> Iterator[Any]:
        return iter(list(self._accounts.values()))

    def find_account(self, contact_uri: SIPURI | FrozenSIPURI) -> Any | None:
        """The enabled account this URI reaches: by its contact's user part, else by its id; None if none."""
        if not isinstance(contact_uri, SIPURI | FrozenSIPURI):
            raise TypeError(f"contact_uri must be a SIPURI, not {type(contact_uri).__name__}")
        user, host = contact_uri.user, (contact_uri.host or "").lower()
        candidates = [account for account in self.iter_accounts() if account.enabled]
        for account in candidates:
            if user and account.contact.username == user:
                return account
        for account in candidates:
            domain = account.id.domain.strip("[]")
            if account.id.username == user and domain == host.strip("[]"):
                return account
        return None

    # --- the default account --------------------------------------------------------------

    @property
    def default_account(self) -> Any | None:
        """The account SIPSimpleSettings.default_account names, if managed; None otherwise."""
        if not ConfigurationManager().running:
            return None
        identifier = SIPSimpleSettings().default_account
        return self._accounts.get(str(identifier)) if identifier is not None else None

    @default_account.setter
    def default_account(self, account: Any) -> None:
        if account is not None:
            if self._accounts.get(str(getattr(account, "id", ""))) is not account:
                raise ValueError(f"{account!r} is not an account of the AccountManager")
            if not getattr(account, "enabled", False):
                raise ValueError(f"{account!r} is not enabled: it cannot be the default account")
        self._set_default(account)

    def _set_default(self, account: Any | None, old: Any | None = None) -> None:
        """Store ``account`` as the default; ``old``: the previous one when it is no longer managed."""
        with self._lock:
            if old is None:
                old = self.default_account
            settings = SIPSimpleSettings()
            new_id = None if account is None else SIPAddress(str(account.id))
            if settings.default_account != new_id:
                settings.default_account = new_id
                settings.save()
        if old is not account:
            self._post("SIPAccountManagerDidChangeDefaultAccount", old_account=old, account=account)

    def _check_default(self) -> None:
        """Keep an enabled default account while there is one: choose another when it went."""
        if not self._started:
            return
        current = self.default_account
        if current is not None and current.enabled:
            return
        replacement = next((account for account in self.iter_accounts() if account.enabled), None)
        if replacement is not current:
            self._set_default(replacement)

    # --- configuration notifications ----------------------------------------------------------

    def handle_notification(self, notification: Notification) -> None:
        sender = notification.sender
        if not isinstance(sender, Account) and (sender is None or sender is not self._bonjour_instance()):
            return
        account: Any = sender
        name = notification.name
        if name == "CFGSettingsObjectWasCreated":
            with self._lock:
                if not self._started or str(account.id) in self._accounts:
                    return
                self._accounts[str(account.id)] = account
            self._post("SIPAccountManagerDidAddAccount", account=account)
            account.start()
            self._check_default()
        elif name == "CFGSettingsObjectWasDeleted":
            with self._lock:
                removed = self._accounts.pop(self._key(str(account.id)), None)
                was_default = removed is not None and SIPSimpleSettings().default_account == str(account.id)
            if removed is None:
                return
            self._post("SIPAccountManagerDidRemoveAccount", account=account)
            if was_default:
                replacement = next((other for other in self.iter_accounts() if other.enabled), None)
                self._set_default(replacement, old=account)
        elif name == "CFGSettingsObjectDidChangeID":
            old_id, new_id = str(notification.data.old_id), str(notification.data.new_id)
            with self._lock:
                if self._accounts.get(old_id) is account:
                    del self._accounts[old_id]
                    self._accounts[new_id] = account
                settings = SIPSimpleSettings()
                if settings.default_account == old_id:
                    settings.default_account = new_id
                    settings.save()
        elif name == "CFGSettingsObjectDidChange" and "enabled" in notification.data.modified:
            self._check_default()

    # --- internals -------------------------------------------------------------------------------

    @staticmethod
    def _key(identifier: object) -> str:
        if not isinstance(identifier, str):
            raise TypeError(f"an account id is a str, not {type(identifier).__name__}")
        text = identifier[4:] if identifier[:4].lower() == "sip:" else identifier
        user, at, domain = text.partition("@")
        return f"{user}@{domain.lower()}" if at else text

    def _bonjour_instance(self) -> BonjourAccount | None:
        for account in self._accounts.values():
            if not isinstance(account, Account):
                return account
        return None

    def _post(self, name: str, **data: Any) -> None:
        self._center.post_notification(name, sender=self, data=NotificationData(**data))
