"""BonjourAccount: the peer-to-peer account, announced and discovered on the LAN over mDNS/DNS-SD.

The account talks to no server. While it is active it announces its contact
address with multicast DNS service discovery (RFC 6762/6763, "Bonjour"), one
service per SIP transport the Engine listens on and the account's
``sip.transport_list`` allows (``_sip._udp``, ``_sip._tcp``, ``_sips._tcp`` in
``local.``), and browses the same service types, reporting the other
accounts it finds as neighbours (docs/api/bonjour.md).

Threads. python-zeroconf runs its own asyncio loop in a thread of its own and
calls the browser's handlers in another. Everything that changes what is
announced (activation, re-announcing, deactivation) runs in order in the named
worker thread ``sipsimple-bonjour`` (``call_in_thread``), so no green thread
ever waits for the network; the browser's thread resolves the services it
hears of and posts the neighbour notifications itself. When the Engine's
transports move (``SIPEngineTransportsDidChange``), it restarts, or the
NetworkMonitor reports that the host's addresses changed, the
account re-announces.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import itertools
import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from zeroconf import (
    InterfaceChoice,
    IPVersion,
    ServiceBrowser,
    ServiceInfo,
    ServiceStateChange,
    Zeroconf,
)

from sipsimple.account.contact import ContactURI, contact_host, random_contact_user
from sipsimple.account.settings import RTPSettings, TLSSettings
from sipsimple.configuration.datatypes import (
    MSRPTransport,
    SIPAddress,
    SIPTransportList,
)
from sipsimple.configuration.objects import Group, SettingsGroup, SettingsObject
from sipsimple.configuration.setting import Setting
from sipsimple.core import SIPURI, Credentials, Engine, FrozenSIPURI
from sipsimple.network import interface_ipv4_addresses, is_unspecified, primary_ipv4_address
from sipsimple.notification import Notification, NotificationCenter, NotificationData
from sipsimple.threading import Future, call_in_thread

__all__ = ["BonjourAccount", "BonjourNeighbour", "BonjourServiceDescription", "SERVICE_TYPES"]

log = logging.getLogger("sipsimple.account.bonjour")

# The DNS-SD service type announced and browsed for each SIP transport.
SERVICE_TYPES: Final = {"udp": "_sip._udp.local.", "tcp": "_sip._tcp.local.", "tls": "_sips._tcp.local."}
_TRANSPORT_OF_TYPE: Final = {service_type: transport for transport, service_type in SERVICE_TYPES.items()}

_WORKER: Final = "sipsimple-bonjour"
_STOP_TIMEOUT: Final = 2.0  # seconds stop() waits for the goodbyes and the close
_RESOLVE_TIMEOUT_MS: Final = 2000  # how long the browser's thread waits for a service's SRV/TXT/A records
_CALL_TIMEOUT: Final = 2.0  # seconds a call into zeroconf's loop may take before it is given up
# What the account follows of the Engine: it announces the Engine's transports.
_ENGINE_NOTIFICATIONS: Final = (
    "SIPEngineDidStart",
    "SIPEngineWillEnd",
    "SIPEngineDidEnd",
    "SIPEngineDidFail",
    "SIPEngineTransportsDidChange",
)
# What the account follows of the NetworkMonitor (any sender): the host's addresses are in what it announces.
_NETWORK_NOTIFICATIONS: Final = (
    "SystemIPAddressDidChange",
    "SystemInterfaceAddressesDidChange",
    "SystemDidGainNetwork",
)
_TXT_VERSION: Final = "1"
_MAX_TXT_ENTRY: Final = 255  # bytes in one TXT string (RFC 6763 6.1)
# Each registration or update of a service carries the next number in its TXT record ("serial"), so that no
# two different announcements, nor the goodbyes withdrawing them, are ever the same packet. python-zeroconf
# drops a packet identical to one it received less than 0.8 s before, even when other packets came in
# between: an account disabled, enabled and disabled again within that time would send a second goodbye that
# its neighbours discard as a repeat of the first, and they would list it (back in between) until its
# records expired, minutes later. Likewise an announcement identical to one of the previous activation.
_SERIALS: Final = itertools.count(1)

# One instance id and one contact user part per process: the account is a singleton, and a new
# settings object after a restart of the ConfigurationManager is still the same account on the LAN.
_INSTANCE_ID: Final = uuid.uuid4()
_CONTACT_USER: Final = random_contact_user()


# --------------------------------------------------------------------------
# Settings


class BonjourSIPSettings(SettingsGroup):
    # The transports announced and browsed, among those the Engine listens on; the order is the preference.
    transport_list = Setting(type=SIPTransportList, default=SIPTransportList(["udp", "tcp", "tls"]))


class BonjourMSRPSettings(SettingsGroup):
    transport = Setting(type=MSRPTransport, default=MSRPTransport("tcp"))


# --------------------------------------------------------------------------
# Neighbours


@dataclass(frozen=True)
class BonjourServiceDescription:
    """Identifies a DNS-SD service instance: ``name`` (the instance label), ``type`` and ``domain``.

    Hashable and stable for as long as the service is announced: the key of
    ``BonjourAccount.neighbours`` and the ``neighbour`` of the notifications.
    """

    name: str
    type: str
    domain: str = "local."

    @classmethod
    def from_service(cls, service_type: str, full_name: str) -> BonjourServiceDescription:
        suffix = "." + service_type
        name = full_name[: -len(suffix)] if full_name.endswith(suffix) else full_name
        kind, _, domain = service_type.partition("._")
        protocol, _, domain = domain.partition(".")
        return cls(name=name, type=f"{kind}._{protocol}", domain=domain or "local.")

    @property
    def transport(self) -> str:
        return _TRANSPORT_OF_TYPE.get(f"{self.type}.{self.domain}", "udp")

    def __str__(self) -> str:
        return f"{self.name}.{self.type}.{self.domain}"


@dataclass(frozen=True)
class BonjourNeighbour:
    """What is known of a neighbour: the data of its notifications (``uri`` kept frozen here)."""

    display_name: str | None
    host: str
    uri: FrozenSIPURI
    transport: str
    instance_id: str | None

    def notification_data(self, neighbour: BonjourServiceDescription) -> NotificationData:
        return NotificationData(
            neighbour=neighbour,
            display_name=self.display_name,
            host=self.host,
            uri=SIPURI.new(self.uri),
            transport=self.transport,
            instance_id=self.instance_id,
        )


class _Session:
    """One activation: its zeroconf instance, what it announces and the browser listening for neighbours."""

    def __init__(self, zeroconf: Zeroconf) -> None:
        self.zeroconf = zeroconf
        # service type -> what is announced for it, and the info registered for that (its goodbye uses it)
        self.published: dict[str, tuple[_Service, ServiceInfo]] = {}
        self.browser: ServiceBrowser | None = None
        self.browsed_types: frozenset[str] = frozenset()
        self.closed = False

    def run(self, coroutine: Any) -> Any:
        """Run a coroutine of zeroconf in its loop and return its result (for the worker thread)."""
        loop = self.zeroconf.loop
        assert loop is not None
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(_CALL_TIMEOUT)


@dataclass(frozen=True)
class _Service:
    """What is announced for one service type; equal values need no new announcement."""

    type: str
    name: str
    server: str
    port: int | None
    addresses: tuple[str, ...]
    properties: tuple[tuple[str, str], ...]

    def service_info(self, serial: int) -> ServiceInfo:
        """The records to register, the TXT record carrying ``serial`` (see _SERIALS)."""
        return ServiceInfo(
            self.type,
            self.name,
            port=self.port,
            properties={**dict(self.properties), "serial": str(serial)},
            server=self.server,
            parsed_addresses=list(self.addresses),
        )


# --------------------------------------------------------------------------
# Addresses


def _truncate_utf8(text: str, limit: int) -> str:
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text
    return encoded[:limit].decode("utf-8", errors="ignore")


def _text(properties: dict[bytes, bytes | None], key: str) -> str | None:
    value = properties.get(key.encode("ascii"))
    if value is None:
        return None
    return value.decode("utf-8", errors="replace")


# --------------------------------------------------------------------------
# The account


class BonjourAccount(SettingsObject):
    """The peer-to-peer account, ``bonjour@local``: announces its contact with mDNS and finds the others.

    ``start()`` (called by the AccountManager once the configuration is
    loaded) makes it follow its ``enabled`` setting and the Engine: it is
    active while both are on, and then announces itself and reports
    neighbours. ``stop()`` withdraws the announcements (within 2 seconds)
    and leaves it inactive until the next ``start()``.
    """

    __id__ = "bonjour@local"

    enabled = Setting(type=bool, default=True)
    display_name = Setting(type=str, default=None, nullable=True)

    sip: Group[BonjourSIPSettings] = BonjourSIPSettings
    rtp: Group[RTPSettings] = RTPSettings  # the same as an Account's
    msrp: Group[BonjourMSRPSettings] = BonjourMSRPSettings
    tls: Group[TLSSettings] = TLSSettings

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._started = False
        self._engine_ending = False  # between SIPEngineWillEnd and the next SIPEngineDidStart
        self._active = False  # worker thread only
        self._session: _Session | None = None  # set by the worker thread, read by the others
        self._neighbours: dict[BonjourServiceDescription, BonjourNeighbour] = {}
        self._neighbours_lock = threading.RLock()
        self._credentials: Credentials | None = None
        self._credentials_key: tuple[str, str | None] | None = None

    # -- attributes ----------------------------------------------------------

    @property
    def id(self) -> SIPAddress:
        return SIPAddress("bonjour@local")

    @property
    def contact(self) -> ContactURI:
        """``<random user>@<the Engine's address>``; index it by transport for a SIPURI."""
        return ContactURI(f"{_CONTACT_USER}@{contact_host(primary_ipv4_address)}")

    @property
    def credentials(self) -> Credentials:
        """Credentials for the contact's user part, with an empty password (no server to authenticate to)."""
        key = (_CONTACT_USER, self.display_name)
        if self._credentials is None or self._credentials_key != key:
            self._credentials = Credentials(_CONTACT_USER, "")
            self._credentials_key = key
        return self._credentials

    @property
    def uri(self) -> SIPURI:
        """The address to put in From headers: the contact's user and host, without a port.

        ``sip:bonjour@local`` (the ``id``) reaches nobody; a neighbour that
        answers or writes back uses the address it discovered instead.
        """
        contact = self.contact
        host = contact.domain[1:-1] if contact.domain.startswith("[") else contact.domain
        return SIPURI(user=contact.username, host=host)

    @property
    def instance_id(self) -> str:
        """The id announced in the TXT records (``urn:uuid:...``), the same for the whole process."""
        return _INSTANCE_ID.urn

    @property
    def service_name(self) -> str:
        """The DNS-SD instance label under which this account is announced (stable for the process)."""
        return f"sipsimple-{_INSTANCE_ID.hex}"

    @property
    def is_active(self) -> bool:
        return self._active

    @property
    def neighbours(self) -> dict[BonjourServiceDescription, BonjourNeighbour]:
        """A snapshot of the neighbours known now."""
        with self._neighbours_lock:
            return dict(self._neighbours)

    # -- life ----------------------------------------------------------------

    def start(self) -> None:
        """Follow ``enabled`` and the Engine from now on: activate now if both are on."""
        if self._started:
            return
        self._started = True
        center = NotificationCenter()
        center.add_observer(self, name="CFGSettingsObjectDidChange", sender=self)
        engine = Engine()
        for name in _ENGINE_NOTIFICATIONS:
            center.add_observer(self, name=name, sender=engine)
        for name in _NETWORK_NOTIFICATIONS:
            center.add_observer(self, name=name)
        self._schedule_update()

    def stop(self) -> None:
        """Deactivate: withdraw the announcements and close mDNS; returns within 2 seconds."""
        if not self._started:
            return
        self._started = False
        NotificationCenter().purge_observer(self)  # everything start() observed
        if threading.current_thread().name == _WORKER:  # from an observer of SIPAccountDidActivate, say
            self._update()
            return
        done: Future[None] = Future()
        self._schedule_update(done)
        try:
            done.wait(timeout=_STOP_TIMEOUT)
        except TimeoutError:
            log.warning("BonjourAccount: the mDNS announcements were not withdrawn within %.0f s", _STOP_TIMEOUT)

    def handle_notification(self, notification: Notification) -> None:
        if notification.name == "CFGSettingsObjectDidChange":
            modified: dict[str, Any] = getattr(notification.data, "modified", {})
            if {"enabled", "display_name", "sip.transport_list"} & set(modified):
                self._schedule_update()
        elif notification.name == "SIPEngineDidStart":
            self._engine_ending = False
            self._schedule_update()
        elif notification.name == "SIPEngineWillEnd":
            self._engine_ending = True
            self._schedule_update()
        else:  # SIPEngineTransportsDidChange, SIPEngineDidEnd, SIPEngineDidFail, the network's: re-announce
            self._schedule_update()

    # -- the worker thread ---------------------------------------------------

    def _schedule_update(self, done: Future[None] | None = None) -> None:
        call_in_thread(_WORKER, self._update, done)

    def _update(self, done: Future[None] | None = None) -> None:
        """Bring the account to the state its settings and the Engine ask for (worker thread)."""
        try:
            engine = Engine()
            wanted = self._started and self.enabled and engine.is_running and not self._engine_ending
            if wanted and not self._active:
                self._activate()
            elif not wanted and self._active:
                self._deactivate()
            if self._active and self._session is not None:
                self._refresh(self._session)
        finally:
            if done is not None and not done.done():
                done.set_result(None)

    def _activate(self) -> None:
        self._active = True
        self._notify("SIPAccountDidActivate")
        if not self._active:  # an observer called stop(), which deactivated at once
            return
        address = Engine().ip_address
        try:
            if is_unspecified(address):
                zeroconf = Zeroconf(interfaces=InterfaceChoice.All, ip_version=IPVersion.V4Only, use_asyncio=False)
            else:
                version = IPVersion.V6Only if ipaddress.ip_address(str(address)).version == 6 else IPVersion.V4Only
                zeroconf = Zeroconf(interfaces=[str(address)], ip_version=version, use_asyncio=False)
        except Exception as error:
            log.warning("BonjourAccount: mDNS could not start: %s", error)
            self._notify("BonjourAccountDiscoveryDidFail", reason=f"mDNS could not start: {error}")
            return
        session = _Session(zeroconf)
        self._session = session

    def _deactivate(self) -> None:
        self._active = False
        session = self._session
        self._session = None
        if session is not None:
            self._drop_neighbours(lambda neighbour: True)
            self._close(session)
        self._notify("SIPAccountDidDeactivate")

    def _close(self, session: _Session) -> None:
        session.closed = True
        try:
            if session.browser is not None:
                session.browser.cancel()
            session.zeroconf.close()  # sends the goodbyes of what is registered
        except Exception as error:
            log.warning("BonjourAccount: closing mDNS failed: %s", error)

    def _refresh(self, session: _Session) -> None:
        """Announce what should be announced now and browse the matching service types."""
        try:
            wanted = self._services()
            for service_type, (_, registered) in list(session.published.items()):
                if service_type not in wanted:
                    session.run(session.zeroconf.async_unregister_service(registered))
                    del session.published[service_type]
            for service_type, service in wanted.items():
                current = session.published.get(service_type)
                if current is not None and current[0] == service:
                    continue
                info = service.service_info(next(_SERIALS))
                if current is None:
                    session.run(session.zeroconf.async_register_service(info, cooperating_responders=True))
                else:
                    session.run(session.zeroconf.async_update_service(info))
                session.published[service_type] = (service, info)
            types = frozenset(wanted)
            if types != session.browsed_types:
                if session.browser is not None:
                    session.browser.cancel()
                    session.browser = None
                self._drop_neighbours(lambda neighbour: f"{neighbour.type}.{neighbour.domain}" not in types)
                session.browsed_types = types
                if types:
                    handler = functools.partial(self._service_changed, session)
                    session.browser = ServiceBrowser(session.zeroconf, sorted(types), handlers=[handler])
        except Exception as error:
            log.warning("BonjourAccount: announcing on mDNS failed: %s", error)
            self._session = None
            self._drop_neighbours(lambda neighbour: True)
            self._close(session)
            self._notify("BonjourAccountDiscoveryDidFail", reason=f"announcing on mDNS failed: {error}")

    def _services(self) -> dict[str, _Service]:
        """What to announce for each service type, from the Engine's transports now."""
        engine = Engine()
        address = engine.ip_address
        addresses = [str(address)] if not is_unspecified(address) else interface_ipv4_addresses()
        contact = self.contact
        server = f"{self.service_name}.local."
        display_name = self.display_name or ""
        services = {}
        transports = self.sip.transport_list
        for transport in transports:
            try:
                uri = contact[transport]
            except KeyError:  # the Engine does not listen on it
                continue
            service_type = SERVICE_TYPES[transport]
            properties = {
                "txtvers": _TXT_VERSION,
                "display_name": _truncate_utf8(display_name, _MAX_TXT_ENTRY - len("display_name=")),
                "contact": str(uri),
                "instance_id": self.instance_id,
            }
            services[service_type] = _Service(
                type=service_type,
                name=f"{self.service_name}.{service_type}",
                server=server,
                port=uri.port,
                addresses=tuple(addresses),
                properties=tuple(properties.items()),
            )
        return services

    # -- neighbours (the browser's thread) -----------------------------------

    def _service_changed(
        self, session: _Session, zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange
    ) -> None:
        if session.closed or self._session is not session:
            return
        description = BonjourServiceDescription.from_service(service_type, name)
        if state_change is ServiceStateChange.Removed:
            with self._neighbours_lock:
                if self._session is session and self._neighbours.pop(description, None) is not None:
                    self._notify("BonjourAccountDidRemoveNeighbour", neighbour=description)
            return
        info = zeroconf.get_service_info(service_type, name, timeout=_RESOLVE_TIMEOUT_MS)
        if info is None:
            log.debug("BonjourAccount: %s did not resolve", name)
            return
        neighbour = self._neighbour_from(info, service_type)
        if neighbour is None:
            return
        with self._neighbours_lock:
            if self._session is not session or session.closed:
                return
            previous = self._neighbours.get(description)
            if previous == neighbour:
                return
            self._neighbours[description] = neighbour
            name = "BonjourAccountDidAddNeighbour" if previous is None else "BonjourAccountDidUpdateNeighbour"
            self._notify_data(name, neighbour.notification_data(description))

    def _neighbour_from(self, info: ServiceInfo, service_type: str) -> BonjourNeighbour | None:
        """The neighbour a resolved service describes; None for this account's own services or unusable ones."""
        properties = info.properties
        instance_id = _text(properties, "instance_id")
        if instance_id == self.instance_id or info.name.startswith(self.service_name + "."):
            return None
        addresses = info.parsed_addresses(IPVersion.V4Only) or info.parsed_addresses()
        if not addresses or not info.port:
            return None
        host = addresses[0]
        transport = _TRANSPORT_OF_TYPE[service_type]
        user = None
        contact = _text(properties, "contact")
        if contact:
            try:
                user = SIPURI.parse(contact).user
            except Exception:  # a foreign or broken TXT record: reach the host without a user part
                user = None
        parameters = {} if transport == "udp" else {"transport": transport}
        uri = FrozenSIPURI(host=host, user=user, port=info.port, parameters=parameters)
        display_name = _text(properties, "display_name") or None
        return BonjourNeighbour(
            display_name=display_name, host=host, uri=uri, transport=transport, instance_id=instance_id
        )

    def _drop_neighbours(self, which: Callable[[BonjourServiceDescription], bool]) -> None:
        with self._neighbours_lock:
            for description in [d for d in self._neighbours if which(d)]:
                del self._neighbours[description]
                self._notify("BonjourAccountDidRemoveNeighbour", neighbour=description)

    # -- notifications -------------------------------------------------------

    def _notify(self, name: str, **data: Any) -> None:
        self._notify_data(name, NotificationData(**data))

    def _notify_data(self, name: str, data: NotificationData) -> None:
        NotificationCenter().post_notification(name, sender=self, data=data)
