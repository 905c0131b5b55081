"""The Engine: a singleton that runs the PJSIP stack on a thread of its own.

States::

    stopped --start()--> running --stop()--> stopping --(thread ends)--> stopped
                            |
                            +--(poll fails)--> SIPEngineDidFail, then stopped

``start()`` builds the stack in the calling thread, so configuration errors
(a port in use, a bad certificate) raise there and then; only when the stack
is up does the Engine thread start polling it. Notifications are posted from
the Engine thread, with the Engine as sender, after each poll: observers run
with no PJSIP lock held (see docs/architecture.md).
"""

from __future__ import annotations

import atexit
import contextlib
import ipaddress
import logging
import os
import ssl
import threading
from collections.abc import Iterable, Iterator
from typing import Any

from sipsimple.core._core import DEFAULT_EVENTS, PJSIP_VERSION, PJSIPUA, SIPCoreInvalidStateError
from sipsimple.notification import NotificationCenter, NotificationData
from sipsimple.singleton import Singleton

__all__ = ["Engine"]

log = logging.getLogger("sipsimple.core")

DEFAULT_CODECS = ("opus", "G722", "speex", "GSM", "PCMU", "PCMA")

# Every option start() accepts, with its default.
_DEFAULT_OPTIONS: dict[str, Any] = {
    "ip_address": None,
    "udp_port": 0,
    "tcp_port": None,
    "tls_port": None,
    "tls_verify_server": False,
    "tls_ca_file": None,
    "tls_cert_file": None,
    "tls_privkey_file": None,
    "tls_timeout": 3000,
    "user_agent": "sipsimple",
    "log_level": 0,
    "trace_sip": False,
    "rtp_port_range": (50000, 50500),
    "codecs": DEFAULT_CODECS,
    "incoming_requests": frozenset(),
    "events": None,  # None: sipsimple.core.DEFAULT_EVENTS
    "incoming_events": frozenset(),
}

# Methods the core answers itself; the application cannot take them over.
_CORE_METHODS = frozenset(["INVITE", "ACK", "CANCEL", "BYE", "PRACK", "UPDATE", "OPTIONS", "MESSAGE"])

# How long one poll of the stack may block. Other threads wake the Engine
# thread when they queue events or call stop() (PJSIPUA.wake), so this only
# bounds how late anything that does not wake it is noticed.
_POLL_TIMEOUT_MS = 10


def _check_port(name: str, value: object, allow_none: bool = True) -> int | None:
    if value is None:
        if allow_none:
            return None
        raise TypeError(f"{name} must be an int, not None")
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int or None, not {type(value).__name__}")
    if not 0 <= value <= 65535:
        raise ValueError(f"{name} must be between 0 and 65535, got {value}")
    return value


def _check_file(name: str, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str | os.PathLike):
        raise TypeError(f"{name} must be a path or None, not {type(value).__name__}")
    path = os.fspath(value)
    if not os.path.isfile(path):
        raise ValueError(f"{name}: no such file: {path}")
    return path


def _check_tls_files(ca_file: str | None, cert_file: str | None, privkey_file: str | None) -> None:
    """Refuse unusable TLS files now, not at the first handshake.

    PJSIP opens the listener without reading them and only fails each
    connection later; loading them once with OpenSSL (Python's ssl module)
    catches files that are not PEM, a key that does not match its
    certificate, or a CA file with no certificate.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    if cert_file is not None:
        try:
            context.load_cert_chain(cert_file, privkey_file)
        except (ssl.SSLError, OSError) as error:
            raise ValueError(f"tls_cert_file/tls_privkey_file: not a usable certificate and key: {error}") from None
    if ca_file is not None:
        try:
            context.load_verify_locations(cafile=ca_file)
        except (ssl.SSLError, OSError) as error:
            raise ValueError(f"tls_ca_file: not a usable PEM CA list: {error}") from None


def _check_ip_address(value: object) -> str:
    if value is None:
        return "0.0.0.0"
    if not isinstance(value, str):
        raise TypeError(f"ip_address must be a str or None, not {type(value).__name__}")
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise ValueError(f"ip_address must be an IPv4 or IPv6 address, got {value!r}") from None


def _check_rtp_port_range(value: object) -> tuple[int, int]:
    if not isinstance(value, tuple | list) or len(value) != 2:
        raise TypeError("rtp_port_range must be a (start, end) pair")
    start, end = value
    for port in (start, end):
        _check_port("rtp_port_range", port, allow_none=False)
    if not (1024 <= start < end) or (end - start) < 2:
        raise ValueError(f"rtp_port_range must be 1024 <= start < end with room for RTP and RTCP, got {value!r}")
    return int(start), int(end)


def _check_codecs(value: object) -> list[str]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise TypeError("codecs must be a list of codec names")
    codecs = list(value)
    for codec in codecs:
        if not isinstance(codec, str):
            raise TypeError(f"codec names must be str, not {type(codec).__name__}")
    return codecs


def _check_log_level(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"log_level must be an int, not {type(value).__name__}")
    if not 0 <= value <= 6:
        raise ValueError(f"log_level must be between 0 and 6, got {value}")
    return value


def _check_incoming_requests(value: object) -> frozenset[str]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise TypeError("incoming_requests must be a set of method names")
    methods = set()
    for method in value:
        if not isinstance(method, str):
            raise TypeError(f"method names must be str, not {type(method).__name__}")
        if not method or not method.isascii() or not method.replace("-", "").isalnum():
            raise ValueError(f"invalid SIP method name {method!r}")
        if method.upper() in _CORE_METHODS:
            raise ValueError(f"{method.upper()} is handled by the core and cannot be an incoming request")
        methods.add(method.upper())
    return frozenset(methods)


def _check_events(value: object) -> dict[str, list[str]]:
    if value is None:
        return {event: list(types) for event, types in DEFAULT_EVENTS.items()}
    if not isinstance(value, dict):
        raise TypeError("events must be a dict of event package name -> list of content types")
    events = {}
    for event, types in value.items():
        if not isinstance(event, str) or not event or " " in event:
            raise ValueError(f"invalid event package name {event!r}")
        if event == "refer":
            raise ValueError("the refer event package is built in (Referral, IncomingReferral)")
        if isinstance(types, str) or not isinstance(types, Iterable):
            raise TypeError(f"the content types of {event!r} must be a list of str")
        types = list(types)
        for content_type in types:
            if not isinstance(content_type, str) or "/" not in content_type:
                raise ValueError(f"invalid content type {content_type!r} for event {event!r}")
        events[event] = types
    return events


def _check_incoming_events(value: object, events: dict[str, list[str]]) -> frozenset[str]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise TypeError("incoming_events must be a set of event package names")
    incoming = frozenset(value)
    unknown = incoming - set(events)
    if unknown:
        raise ValueError(f"incoming_events names unknown event packages: {', '.join(sorted(unknown))}")
    return incoming


def _validate(options: dict[str, Any]) -> dict[str, Any]:
    unknown = set(options) - set(_DEFAULT_OPTIONS)
    if unknown:
        raise TypeError(f"unknown Engine option(s): {', '.join(sorted(unknown))}")
    merged = dict(_DEFAULT_OPTIONS, **options)
    merged["ip_address"] = _check_ip_address(merged["ip_address"])
    for name in ("udp_port", "tcp_port", "tls_port"):
        merged[name] = _check_port(name, merged[name])
    for name in ("tls_ca_file", "tls_cert_file", "tls_privkey_file"):
        merged[name] = _check_file(name, merged[name])
    if merged["tls_port"] is not None and bool(merged["tls_cert_file"]) != bool(merged["tls_privkey_file"]):
        raise ValueError("tls_cert_file and tls_privkey_file must be given together")
    if merged["tls_port"] is not None:
        _check_tls_files(merged["tls_ca_file"], merged["tls_cert_file"], merged["tls_privkey_file"])
    timeout = merged["tls_timeout"]
    if isinstance(timeout, bool) or not isinstance(timeout, int):
        raise TypeError(f"tls_timeout must be an int (milliseconds), not {type(timeout).__name__}")
    if timeout <= 0:
        raise ValueError(f"tls_timeout must be positive, got {timeout}")
    if not isinstance(merged["user_agent"], str):
        raise TypeError(f"user_agent must be a str, not {type(merged['user_agent']).__name__}")
    merged["log_level"] = _check_log_level(merged["log_level"])
    merged["trace_sip"] = bool(merged["trace_sip"])
    merged["tls_verify_server"] = bool(merged["tls_verify_server"])
    merged["rtp_port_range"] = _check_rtp_port_range(merged["rtp_port_range"])
    merged["codecs"] = _check_codecs(merged["codecs"])
    merged["incoming_requests"] = _check_incoming_requests(merged["incoming_requests"])
    merged["events"] = _check_events(merged["events"])
    merged["incoming_events"] = _check_incoming_events(merged["incoming_events"], merged["events"])
    return merged


def _tls_options(options: dict[str, Any]) -> dict[str, Any]:
    return {
        "verify_server": options["tls_verify_server"],
        "ca_file": options["tls_ca_file"],
        "cert_file": options["tls_cert_file"],
        "privkey_file": options["tls_privkey_file"],
        "timeout": options["tls_timeout"],
    }


class Engine(metaclass=Singleton):
    """Owns the PJSIP stack and the thread that drives it."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._ua: PJSIPUA | None = None
        self._thread: threading.Thread | None = None
        self._stop_requested = threading.Event()
        self._options: dict[str, Any] = dict(_DEFAULT_OPTIONS)
        self._notification_center = NotificationCenter()
        atexit.register(self._stop_at_exit)

    # --- lifetime ------------------------------------------------------------

    def start(self, **options: Any) -> None:
        """Start the stack with the given options (see docs/api/engine.md).

        Raises TypeError or ValueError for invalid options and SIPCoreError
        (PJSIPError) when PJSIP cannot start, e.g. a port already in use.
        """
        with self._lock:
            if self._thread is not None:
                raise SIPCoreInvalidStateError("Engine is already running")
            settings = _validate(options)
            self._post("SIPEngineWillStart")
            try:
                ua = PJSIPUA(
                    ip_address=settings["ip_address"],
                    udp_port=settings["udp_port"],
                    tcp_port=settings["tcp_port"],
                    tls_port=settings["tls_port"],
                    tls_options=_tls_options(settings),
                    user_agent=settings["user_agent"],
                    log_level=settings["log_level"],
                    trace_sip=settings["trace_sip"],
                    codecs=settings["codecs"],
                    incoming_requests=settings["incoming_requests"],
                    events=settings["events"],
                    incoming_events=settings["incoming_events"],
                )
            except BaseException as error:
                self._post("SIPEngineDidFail", NotificationData(error=error))
                raise
            self._options = settings
            self._ua = ua
            self._stop_requested.clear()
            self._thread = threading.Thread(target=self._run, name="sipsimple-engine", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the stack: pending transactions end, transports close.

        Blocks until the Engine thread has finished, except when called from
        the Engine thread itself (from an observer), where it returns at once
        and the stack stops after the current poll.
        """
        with self._lock:
            thread = self._thread
            if thread is None or self._stop_requested.is_set():
                return
            self._post("SIPEngineWillEnd")
            self._stop_requested.set()
            ua = self._ua
            if ua is not None:
                ua.wake()
        if thread is not threading.current_thread():
            thread.join()

    def _stop_at_exit(self) -> None:
        # PJSIP callbacks must not run while the interpreter finalizes.
        try:
            self.stop()
        except Exception:  # pragma: no cover - best effort at exit
            log.exception("stopping the Engine at exit failed")

    @property
    def is_running(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive() and not self._stop_requested.is_set()

    def _run(self) -> None:
        ua = self._ua
        assert ua is not None
        failure: BaseException | None = None
        self._post("SIPEngineDidStart")
        try:
            while not self._stop_requested.is_set():
                ua.poll(_POLL_TIMEOUT_MS)
                self._deliver(ua)
        except BaseException as error:
            failure = error
            log.exception("the Engine thread failed")
        finally:
            with self._lock:
                try:
                    ua.destroy()
                except BaseException as error:  # pragma: no cover - destroy is not expected to fail
                    failure = failure or error
                self._deliver(ua)
                self._ua = None
                self._thread = None
                self._stop_requested.clear()
            if failure is not None:
                self._post("SIPEngineDidFail", NotificationData(error=failure))
            self._post("SIPEngineDidEnd")

    def _deliver(self, ua: PJSIPUA) -> None:
        # What _post does, without a call per event: under load every
        # MESSAGE, response and call state change comes through here.
        post = self._notification_center.post_notification
        for name, sender, data in ua.pop_events():
            post(name, sender=self if sender is None else sender, data=NotificationData(**data))

    def _post(self, name: str, data: NotificationData | None = None, sender: object = None) -> None:
        self._notification_center.post_notification(
            name, sender=self if sender is None else sender, data=data or NotificationData()
        )

    # --- the running stack --------------------------------------------------

    def _running_ua(self) -> PJSIPUA:
        ua = self._ua
        if ua is None or not ua.is_alive:
            raise SIPCoreInvalidStateError("Engine is not running")
        return ua

    @property
    def pjsip_version(self) -> str:
        return PJSIP_VERSION

    @property
    def ip_address(self) -> str | None:
        ua = self._ua
        return ua.ip_address if ua is not None else None

    @property
    def local_udp_port(self) -> int | None:
        ua = self._ua
        return ua.local_udp_port if ua is not None else None

    @property
    def local_tcp_port(self) -> int | None:
        ua = self._ua
        return ua.local_tcp_port if ua is not None else None

    @property
    def local_tls_port(self) -> int | None:
        ua = self._ua
        return ua.local_tls_port if ua is not None else None

    @property
    def transports(self) -> list[tuple[str, str, int]]:
        """The listening transports as (name, address, port), e.g. ("udp", "127.0.0.1", 5060)."""
        ua = self._ua
        return ua.transports if ua is not None else []

    def set_udp_port(self, port: int | None) -> None:
        port = _check_port("udp_port", port)
        with self._changing_transports() as ua:
            ua.set_udp_port(port)
            self._options["udp_port"] = port

    def set_tcp_port(self, port: int | None) -> None:
        port = _check_port("tcp_port", port)
        with self._changing_transports() as ua:
            ua.set_tcp_port(port)
            self._options["tcp_port"] = port

    def restart_transports(self) -> None:
        """Start every listening transport again, so that PJSIP names it after the default address of now.

        PJSIP names a transport bound to all interfaces after the host's
        default address when the transport starts; that name goes into Via
        and ``transports``. After a network change it is stale, and only a
        new socket (UDP) or listener (TCP, TLS) is named again. A transport
        started on a given port is stopped and started again on it; one
        started on port 0 (any) moves to another free port. One
        SIPEngineTransportsDidChange reports the whole change. A port that
        cannot be bound again raises PJSIPError; the transports restarted
        before it stay restarted.
        """
        with self._changing_transports() as ua:
            if ua.local_udp_port is not None:
                port = self._options["udp_port"] or 0
                if port:
                    ua.set_udp_port(None)
                ua.set_udp_port(port)
            if ua.local_tcp_port is not None:
                port = self._options["tcp_port"] or 0
                if port:
                    ua.set_tcp_port(None)
                ua.set_tcp_port(port)
            if ua.local_tls_port is not None:
                ua.set_tls_port(self._options["tls_port"] or 0)

    @contextlib.contextmanager
    def _changing_transports(self) -> Iterator[PJSIPUA]:
        """The running stack, to change its transports under the Engine's lock.

        Accounts re-register their contact and the Bonjour account
        re-announces it when a transport moves: SIPEngineTransportsDidChange
        follows a change that completed and altered the listening
        transports, posted in the caller's thread after the lock is
        released.
        """
        with self._lock:
            ua = self._running_ua()
            before = ua.transports
            yield ua
            after = ua.transports
        if before != after:
            self._post("SIPEngineTransportsDidChange", NotificationData(old_transports=before, transports=after))

    def set_tls_options(
        self,
        port: int | None = None,
        verify_server: bool = False,
        ca_file: str | None = None,
        cert_file: str | None = None,
        privkey_file: str | None = None,
        timeout: int = 3000,
    ) -> None:
        """Restart the TLS listener on `port` (None: no TLS) with new TLS settings."""
        settings = _validate(
            {
                "tls_port": port,
                "tls_verify_server": verify_server,
                "tls_ca_file": ca_file,
                "tls_cert_file": cert_file,
                "tls_privkey_file": privkey_file,
                "tls_timeout": timeout,
            }
        )
        with self._changing_transports() as ua:
            ua.set_tls_port(settings["tls_port"], _tls_options(settings))
            for name in (
                "tls_port",
                "tls_verify_server",
                "tls_ca_file",
                "tls_cert_file",
                "tls_privkey_file",
                "tls_timeout",
            ):
                self._options[name] = settings[name]

    @property
    def available_codecs(self) -> list[str]:
        return self._running_ua().available_codecs

    @property
    def codec_variants(self) -> list[tuple[str, int, int, int]]:
        """Every codec variant as (name, clock rate, channels, priority); priority 0 means disabled."""
        return self._running_ua().codec_ids

    @property
    def codecs(self) -> list[str]:
        ua = self._ua
        return ua.codecs if ua is not None else list(self._options["codecs"])

    @codecs.setter
    def codecs(self, value: Iterable[str]) -> None:
        codecs = _check_codecs(value)
        with self._lock:
            ua = self._running_ua()
            ua.set_codecs(codecs)
            self._options["codecs"] = ua.codecs

    @property
    def log_level(self) -> int:
        return self._options["log_level"]

    @log_level.setter
    def log_level(self, value: int) -> None:
        level = _check_log_level(value)
        with self._lock:
            self._running_ua().set_log_level(level)
            self._options["log_level"] = level

    @property
    def trace_sip(self) -> bool:
        return self._options["trace_sip"]

    @trace_sip.setter
    def trace_sip(self, value: bool) -> None:
        with self._lock:
            self._running_ua().set_trace_sip(bool(value))
            self._options["trace_sip"] = bool(value)

    @property
    def user_agent(self) -> str:
        return self._options["user_agent"]

    @user_agent.setter
    def user_agent(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError(f"user_agent must be a str, not {type(value).__name__}")
        with self._lock:
            self._running_ua().set_user_agent(value)
            self._options["user_agent"] = value

    @property
    def rtp_port_range(self) -> tuple[int, int]:
        return self._options["rtp_port_range"]

    @rtp_port_range.setter
    def rtp_port_range(self, value: tuple[int, int]) -> None:
        # Read by media transports when they allocate ports, so a change
        # applies to the next call.
        self._options["rtp_port_range"] = _check_rtp_port_range(value)

    # --- sound devices (the null device left out; see docs/api/sound.md) -------

    @property
    def input_devices(self) -> list[str]:
        """Names of the sound devices that can capture; [] with no sound card."""
        return self._running_ua().input_devices

    @property
    def output_devices(self) -> list[str]:
        """Names of the sound devices that can play; [] with no sound card."""
        return self._running_ua().output_devices

    @property
    def default_input_device(self) -> str | None:
        """The input device AudioMixer's "system_default" stands for, or None."""
        return self._running_ua().default_input_device

    @property
    def default_output_device(self) -> str | None:
        """The output device AudioMixer's "system_default" stands for, or None."""
        return self._running_ua().default_output_device

    def refresh_sound_devices(self) -> None:
        """Enumerate the sound devices again (after one was plugged in or out).

        Posts AudioDevicesDidChange (old_input_devices, old_output_devices,
        input_devices, output_devices) when the lists changed.
        """
        with self._lock:
            self._running_ua().refresh_sound_devices()

    @property
    def incoming_requests(self) -> frozenset[str]:
        """Methods whose requests outside a dialog reach the application as IncomingRequest."""
        return self._options["incoming_requests"]

    @property
    def events(self) -> dict[str, list[str]]:
        """Event packages the Engine subscribes to, with the body types their NOTIFYs may carry."""
        return {event: list(types) for event, types in self._options["events"].items()}

    @property
    def incoming_events(self) -> frozenset[str]:
        """Event packages whose SUBSCRIBEs reach the application as IncomingSubscription."""
        return self._options["incoming_events"]

    @property
    def allowed_methods(self) -> list[str]:
        """Methods announced in Allow (what the Engine answers outside a dialog)."""
        return self._running_ua().allowed_methods

    @property
    def accepted_types(self) -> list[str]:
        return self._running_ua().accepted_types

    @property
    def supported_extensions(self) -> list[str]:
        return self._running_ua().supported_extensions
