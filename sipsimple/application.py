"""SIPApplication: starts and stops the middleware's components in order.

States (``SIPApplication.state``): the table APPLICATION_STATES (sipsimple/_states.py),
drawn in docs/api/application.md. None (never started), "starting",
"started", "stopping" (components going down, bounded in time), "stopped"
(startable again). Only ``_change_state`` changes the state.

``start(storage)`` starts the ConfigurationManager on ``storage`` in the
caller's thread, so a bad or corrupt configuration raises there and the
application can be started again. Everything else happens in a green thread
of the middleware thread (sipsimple.threading), in this order, each step's
failure being fatal except TLS:

1. ``SIPApplicationWillStart``;
2. the Engine, from SIPSimpleSettings (a TLS listener that cannot start is
   dropped, reported by ``SIPApplicationFailedToStartTLS``, and the Engine
   starts without it);
3. the audio mixers: ``voice_audio_mixer`` on the configured input and output
   devices and ``alert_audio_mixer`` on the alert device (falling back to no
   device when a configured one cannot be opened: a machine without a sound
   card still runs calls through the bridge), each with its AudioDevice
   (``voice_audio_device``, ``alert_audio_device``) in an AudioBridge
   (``voice_audio_bridge``, ``alert_audio_bridge``; sipsimple.audio);
4. the NetworkMonitor (``network_monitor``, sipsimple.network), which posts
   ``SystemIPAddressDidChange``, ``SystemDidLoseNetwork``,
   ``SystemDidGainNetwork`` and ``SystemInterfaceAddressesDidChange``;
5. the AccountManager (accounts activate and start registering);
6. ``SIPApplicationDidStart``.

``stop()`` posts ``SIPApplicationWillEnd`` at once and then, in a green
thread, undoes the steps in reverse: the NetworkMonitor, the AccountManager
(accounts unregister, given at most ``ACCOUNTS_STOP_TIMEOUT`` seconds), the
mixers, the Engine; then ``SIPApplicationDidEnd``. A fatal error while starting posts
``SIPApplicationDidFail`` (with ``error``) followed by the same stop sequence.

While the application runs, changes to SIPSimpleSettings reach the Engine
without a restart (ports, transports, TLS, codecs, RTP port range, user
agent, SIP and PJSIP traces; see ``_apply_settings``). Only ``local_ip``
needs the Engine restarted, which the application does itself (calls in
progress end; accounts deactivate and activate again around it).

When the system's default address changes (``SystemIPAddressDidChange``)
and the Engine listens on all interfaces (``local_ip`` None), the address
its transports publish (PJSIP fixes it when a transport starts) is stale:
the application restarts each listening transport
(``Engine.restart_transports()``), which posts
``SIPEngineTransportsDidChange``, and the accounts register their new
contact (they also re-register on the monitor's notifications).

Like the seed's SIPApplication, the class is a singleton whose subclasses
share its state: an application written as ``class MyApp(SIPApplication)``
and the library code asking ``SIPApplication()`` see the same ``running``,
``state`` and mixers, because those attributes are stored once, in
descriptors on SIPApplication, whichever class's instance sets them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any, Generic, TypeVar, overload

from sipsimple._states import APPLICATION_STATES
from sipsimple.account import AccountManager
from sipsimple.audio import AudioBridge, AudioDevice
from sipsimple.configuration import ConfigurationManager
from sipsimple.configuration.settings import SIPSimpleSettings
from sipsimple.core import AudioMixer, Engine
from sipsimple.network import NetworkMonitor, is_unspecified
from sipsimple.notification import Notification, NotificationCenter, NotificationData, NotificationHandlerMixin
from sipsimple.singleton import Singleton
from sipsimple.threading import Future, call_in_green_thread, call_in_thread_pool, spawn

__all__ = ["APPLICATION_STATES", "SIPApplication", "SIPApplicationError"]

log = logging.getLogger("sipsimple.application")

T = TypeVar("T")

# Upper bounds for the stop sequence: stop() must finish even when the network
# is gone (the seed: "the SIPApplication could hang indefinitely" otherwise).
ACCOUNTS_STOP_TIMEOUT = 3.0
ENGINE_STOP_TIMEOUT = 1.5

# Settings whose change the Engine applies while running (dotted names as in
# CFGSettingsObjectDidChange's data.modified).
_TLS_KEYS = frozenset({"tls.ca_list", "tls.certificate", "tls.verify_server", "tls.timeout"})
_AUDIO_KEYS = frozenset(
    {
        "audio.input_device",
        "audio.output_device",
        "audio.alert_device",
        "audio.sample_rate",
        "audio.echo_canceller.enabled",
        "audio.echo_canceller.tail_length",
    }
)


class SIPApplicationError(Exception):
    """start() or stop() called in a state that does not allow it."""


class ApplicationAttribute(Generic[T]):
    """One value shared by SIPApplication and all its subclasses' instances."""

    def __init__(self, value: T) -> None:
        self.value = value
        self.lock = threading.Lock()

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, objtype: type | None = None) -> ApplicationAttribute[T]: ...

    @overload
    def __get__(self, obj: object, objtype: type | None = None) -> T: ...

    def __get__(self, obj: object | None, objtype: type | None = None) -> T | ApplicationAttribute[T]:
        if obj is None:
            return self
        return self.value

    def __set__(self, obj: object, value: T) -> None:
        self.value = value

    def __delete__(self, obj: object) -> None:
        raise AttributeError(f"{self.name} cannot be deleted")


def _engine_options(settings: SIPSimpleSettings, with_tls: bool) -> dict[str, Any]:
    """Engine.start() options from SIPSimpleSettings."""
    transports = settings.sip.transport_list
    options: dict[str, Any] = {
        "ip_address": settings.local_ip,
        "udp_port": int(settings.sip.udp_port) if "udp" in transports else None,
        "tcp_port": int(settings.sip.tcp_port) if "tcp" in transports else None,
        "tls_port": None,
        "user_agent": settings.user_agent,
        "log_level": int(settings.logs.pjsip_level) if settings.logs.trace_pjsip else 0,
        "trace_sip": bool(settings.logs.trace_sip),
        "rtp_port_range": (settings.rtp.port_range.start, settings.rtp.port_range.end),
        "codecs": list(settings.rtp.audio_codec_list),
    }
    if with_tls and "tls" in transports:
        options.update(("tls_" + name, value) for name, value in _tls_options(settings).items())
        options["tls_port"] = int(settings.sip.tls_port)
    return options


def _tls_options(settings: SIPSimpleSettings) -> dict[str, Any]:
    """TLS settings in the shape of Engine.set_tls_options() (without the port)."""
    certificate = settings.tls.certificate.normalized if settings.tls.certificate else None
    return {
        "verify_server": bool(settings.tls.verify_server),
        "ca_file": settings.tls.ca_list.normalized if settings.tls.ca_list else None,
        # The certificate setting names one PEM file holding both the
        # certificate and its private key.
        "cert_file": certificate,
        "privkey_file": certificate,
        "timeout": max(1, int(float(settings.tls.timeout) * 1000)),
    }


class _Forwarder:
    """An observer that hands each notification to one method of the application.

    A separate object, not the application itself, so that a subclass that
    observes every notification (or defines its own _NH_ handlers) neither
    receives these twice nor overrides how the application handles them.
    """

    def __init__(self, handler: Callable[[Notification], None]) -> None:
        self.handler = handler

    def handle_notification(self, notification: Notification) -> None:
        self.handler(notification)


class SIPApplication(NotificationHandlerMixin, metaclass=Singleton):
    """The application's lifetime: configuration, Engine, audio mixers, accounts."""

    state: ApplicationAttribute[str | None] = ApplicationAttribute(None)
    storage: ApplicationAttribute[Any] = ApplicationAttribute(None)
    engine: ApplicationAttribute[Engine | None] = ApplicationAttribute(None)
    voice_audio_mixer: ApplicationAttribute[AudioMixer | None] = ApplicationAttribute(None)
    voice_audio_device: ApplicationAttribute[AudioDevice | None] = ApplicationAttribute(None)
    voice_audio_bridge: ApplicationAttribute[AudioBridge | None] = ApplicationAttribute(None)
    alert_audio_mixer: ApplicationAttribute[AudioMixer | None] = ApplicationAttribute(None)
    alert_audio_device: ApplicationAttribute[AudioDevice | None] = ApplicationAttribute(None)
    alert_audio_bridge: ApplicationAttribute[AudioBridge | None] = ApplicationAttribute(None)
    # Set when the start sequence has finished (successfully or not), so that
    # a stop() arriving meanwhile waits for it instead of racing it.
    _start_done: ApplicationAttribute[Future[None] | None] = ApplicationAttribute(None)
    _stop_done: ApplicationAttribute[Future[None] | None] = ApplicationAttribute(None)
    _settings: ApplicationAttribute[SIPSimpleSettings | None] = ApplicationAttribute(None)
    _settings_observer: ApplicationAttribute[_Forwarder | None] = ApplicationAttribute(None)
    network_monitor: ApplicationAttribute[NetworkMonitor | None] = ApplicationAttribute(None)
    _network_observer: ApplicationAttribute[_Forwarder | None] = ApplicationAttribute(None)

    # -- public API ----------------------------------------------------------

    @property
    def running(self) -> bool:
        """True from start() until stop() (or a fatal error), as the seed defines it."""
        return self.state in ("starting", "started")

    def start(self, storage: Any) -> None:
        """Start every component; returns once the configuration is loaded.

        Errors loading the configuration propagate and leave the application
        startable again; later failures are reported by notifications
        (SIPApplicationDidFail, then WillEnd and DidEnd).
        """
        with SIPApplication.state.lock:
            APPLICATION_STATES.require(self.state, "start", SIPApplicationError)
            ConfigurationManager().start(storage)
            self.storage = storage
            self._change_state("start")
            self._start_done = Future()
            self._stop_done = Future()
        call_in_green_thread(self._run_start)

    def stop(self) -> None:
        """Stop every component; returns at once, SIPApplicationDidEnd tells when done."""
        with SIPApplication.state.lock:
            if not APPLICATION_STATES.allows(self.state, "stop"):
                return
            self._change_state("stop")
        self._post("SIPApplicationWillEnd")
        call_in_green_thread(self._run_stop)

    def wait_stopped(self, timeout: float | None = None) -> None:
        """Block the calling thread (or green thread) until the stop sequence has finished."""
        done = self._stop_done
        if done is None:
            return
        done.wait(timeout)

    def _change_state(self, event: str) -> None:
        """The one place where the state changes: to where APPLICATION_STATES says ``event`` leads."""
        self.state = APPLICATION_STATES.next(self.state, event)

    # -- start and stop sequences (green threads) ----------------------------

    def _run_start(self) -> None:
        start_done = self._start_done
        assert start_done is not None
        try:
            self._post("SIPApplicationWillStart")
            settings = SIPSimpleSettings()
            self._settings = settings
            self._start_engine(settings)
            self._open_mixers(settings)
            self._settings_observer = _Forwarder(self._settings_did_change)
            NotificationCenter().add_observer(
                self._settings_observer, name="CFGSettingsObjectDidChange", sender=settings
            )
            self._start_network_monitor()
            AccountManager().start()
        except BaseException as error:
            log.exception("SIPApplication failed to start")
            start_done.set_result(None)
            self._post("SIPApplicationDidFail", error=error)
            self.stop()
            return
        start_done.set_result(None)
        with SIPApplication.state.lock:
            started = self.state == "starting"
            if started:
                self._change_state("started")
        if started:
            self._post("SIPApplicationDidStart")

    def _start_engine(self, settings: SIPSimpleSettings) -> None:
        engine = Engine()
        self.engine = engine
        try:
            call_in_thread_pool(engine.start, **_engine_options(settings, with_tls=True)).wait()
        except Exception as error:
            if "tls" not in settings.sip.transport_list:
                raise
            # The Engine refuses to start when the TLS listener cannot be set
            # up (bad certificate, port taken): start without TLS and say so.
            call_in_thread_pool(engine.start, **_engine_options(settings, with_tls=False)).wait()
            self._post("SIPApplicationFailedToStartTLS", error=error)

    def _open_mixers(self, settings: SIPSimpleSettings) -> None:
        audio = settings.audio
        tail = _echo_tail(audio)
        rate = int(audio.sample_rate)
        self.voice_audio_mixer = _open_mixer(audio.input_device, audio.output_device, rate, tail)
        self.alert_audio_mixer = _open_mixer(None, audio.alert_device, rate, 0)
        # Each mixer's devices, always part of its bridge (sipsimple.audio).
        self.voice_audio_device = AudioDevice(self.voice_audio_mixer)
        self.voice_audio_bridge = AudioBridge(self.voice_audio_mixer)
        self.voice_audio_bridge.add(self.voice_audio_device)
        self.alert_audio_device = AudioDevice(self.alert_audio_mixer)
        self.alert_audio_bridge = AudioBridge(self.alert_audio_mixer)
        self.alert_audio_bridge.add(self.alert_audio_device)

    def _run_stop(self) -> None:
        start_done = self._start_done
        if start_done is not None:
            start_done.wait()
        if self._settings_observer is not None:
            NotificationCenter().purge_observer(self._settings_observer)
            self._settings_observer = None
        try:
            self._stop_network_monitor()
            self._stop_accounts()
            self._close_mixers()
            self._stop_engine()
            ConfigurationManager().stop()
        finally:
            self.engine = None
            self._settings = None
            with SIPApplication.state.lock:
                self._change_state("stopped")
            self._post("SIPApplicationDidEnd")
            stop_done = self._stop_done
            if stop_done is not None:
                stop_done.set_result(None)

    def _stop_accounts(self) -> None:
        """Deactivate the accounts (they unregister), waiting at most ACCOUNTS_STOP_TIMEOUT."""
        try:
            spawn(AccountManager().stop).wait(ACCOUNTS_STOP_TIMEOUT)
        except TimeoutError:
            log.warning("accounts did not stop within %.1f s; going on", ACCOUNTS_STOP_TIMEOUT)
        except Exception:
            log.exception("stopping the AccountManager failed")

    def _stop_engine(self) -> None:
        """Stop the Engine (in the pool: it blocks), waiting at most ENGINE_STOP_TIMEOUT."""
        engine = self.engine
        if engine is None:
            return
        try:
            call_in_thread_pool(engine.stop).wait(ENGINE_STOP_TIMEOUT)
        except TimeoutError:
            log.warning("the Engine did not stop within %.1f s", ENGINE_STOP_TIMEOUT)
        except Exception:
            log.exception("stopping the Engine failed")

    def _close_mixers(self) -> None:
        for name in ("voice_audio_bridge", "alert_audio_bridge"):
            bridge = getattr(self, name)
            setattr(self, name, None)
            if bridge is not None:
                bridge.close()
        self.voice_audio_device = self.alert_audio_device = None
        for name in ("voice_audio_mixer", "alert_audio_mixer"):
            mixer = getattr(self, name)
            setattr(self, name, None)
            if mixer is not None:
                try:
                    mixer.close()
                except Exception:
                    log.exception("closing the %s failed", name)

    def _start_network_monitor(self) -> None:
        monitor = NetworkMonitor()
        self.network_monitor = monitor
        self._network_observer = _Forwarder(self._network_did_change)
        NotificationCenter().add_observer(self._network_observer, name="SystemIPAddressDidChange", sender=monitor)
        monitor.start()

    def _stop_network_monitor(self) -> None:
        monitor, self.network_monitor = self.network_monitor, None
        observer, self._network_observer = self._network_observer, None
        if observer is not None:
            NotificationCenter().purge_observer(observer)
        if monitor is not None:
            try:
                monitor.stop()
            except Exception:
                log.exception("stopping the network monitor failed")

    # -- the network changed while running -----------------------------------

    def _network_did_change(self, notification: Notification) -> None:
        """The default address changed: restart the transports that published the old one."""
        if self.state != "started":
            return
        engine = self.engine
        if engine is None or not engine.is_running:
            return
        address = engine.ip_address
        if not is_unspecified(address):
            return  # bound to one address: what it publishes is that address
        family = 6 if address is not None and ":" in address else 4
        if getattr(notification.data, "family", 4) != family:
            return
        try:
            # PJSIP named the transports after the old address (Via): start them again. Each account
            # registers its new contact on the SIPEngineTransportsDidChange this posts.
            engine.restart_transports()
        except Exception as error:
            log.exception("restarting the transports after a network change failed")
            self._post("SIPApplicationFailedToApplySettings", error=error, modified=[])

    # -- settings changed while running --------------------------------------

    def _settings_did_change(self, notification: Notification) -> None:
        if self.state != "started":
            return
        settings = self._settings
        if settings is None or notification.sender is not settings:
            return
        try:
            self._apply_settings(settings, set(notification.data.modified))
        except Exception as error:
            # A value the Engine refuses (a port in use) must not break the
            # save that posted this; report it instead.
            log.exception("applying changed settings failed")
            self._post("SIPApplicationFailedToApplySettings", error=error, modified=sorted(notification.data.modified))

    def _apply_settings(self, settings: SIPSimpleSettings, modified: set[str]) -> None:
        engine = self.engine
        if engine is None or not engine.is_running:
            return
        if "local_ip" in modified:
            # The listening address is fixed when the Engine starts.
            call_in_green_thread(self._restart_engine)
            return
        transports = settings.sip.transport_list
        if modified & {"sip.transport_list", "sip.udp_port"}:
            wanted = int(settings.sip.udp_port) if "udp" in transports else None
            if _needs_rebind(wanted, engine.local_udp_port):
                engine.set_udp_port(wanted)
        if modified & {"sip.transport_list", "sip.tcp_port"}:
            wanted = int(settings.sip.tcp_port) if "tcp" in transports else None
            if _needs_rebind(wanted, engine.local_tcp_port):
                engine.set_tcp_port(wanted)
        if modified & ({"sip.transport_list", "sip.tls_port"} | _TLS_KEYS):
            wanted = int(settings.sip.tls_port) if "tls" in transports else None
            if modified & _TLS_KEYS or _needs_rebind(wanted, engine.local_tls_port):
                engine.set_tls_options(port=wanted, **_tls_options(settings))
        if "rtp.port_range" in modified:
            engine.rtp_port_range = (settings.rtp.port_range.start, settings.rtp.port_range.end)
        if "rtp.audio_codec_list" in modified:
            engine.codecs = list(settings.rtp.audio_codec_list)
        if "user_agent" in modified:
            engine.user_agent = settings.user_agent
        if "logs.trace_sip" in modified:
            engine.trace_sip = bool(settings.logs.trace_sip)
        if modified & {"logs.trace_pjsip", "logs.pjsip_level"}:
            engine.log_level = int(settings.logs.pjsip_level) if settings.logs.trace_pjsip else 0
        if modified & _AUDIO_KEYS:
            call_in_green_thread(self._reopen_mixers)

    def _reopen_mixers(self) -> None:
        settings = self._settings
        if settings is None or self.state != "started":
            return
        audio = settings.audio
        voice, alert = self.voice_audio_mixer, self.alert_audio_mixer
        if voice is not None and alert is not None and voice.sample_rate == int(audio.sample_rate):
            # Same rate: switch the devices under the running mixers, so that
            # the bridges and whatever is in them (a call's audio) stay.
            tail = _echo_tail(audio)
            _switch_devices(voice, audio.input_device, audio.output_device, tail)
            _switch_devices(alert, None, audio.alert_device, 0)
        else:
            # Another rate needs other mixers: new ones, with new bridges.
            self._close_mixers()
            self._open_mixers(settings)
        self._post("SIPApplicationDidChangeAudioDevices")

    def _restart_engine(self) -> None:
        settings = self._settings
        if settings is None or self.engine is None or self.state != "started":
            return
        self._stop_accounts()
        self._close_mixers()
        self._stop_engine()
        try:
            self._start_engine(settings)
            self._open_mixers(settings)
            AccountManager().start()
        except Exception as error:
            log.exception("restarting the Engine failed")
            self._post("SIPApplicationDidFail", error=error)
            self.stop()

    # -- helpers -------------------------------------------------------------

    def _post(self, name: str, **data: Any) -> None:
        NotificationCenter().post_notification(
            name, sender=self, data=NotificationData(timestamp=datetime.now(), **data)
        )


def _needs_rebind(wanted: int | None, current: int | None) -> bool:
    """Whether a transport must be restarted: off vs on, or a specific port other than the bound one.

    Port 0 means "any port", which the bound one already is; rebinding the
    port a transport holds would fail with "address in use".
    """
    if wanted is None or current is None:
        return wanted != current
    return wanted != 0 and wanted != current


def _echo_tail(audio: Any) -> int:
    """The echo canceller's tail in ms for the voice mixer (SIPSimpleSettings.audio); 0: off."""
    return int(audio.echo_canceller.tail_length) if audio.echo_canceller.enabled else 0


def _switch_devices(mixer: AudioMixer, input_device: str | None, output_device: str | None, tail: int) -> None:
    try:
        mixer.set_sound_devices(input_device, output_device, tail)
    except Exception as error:
        # As when opening: devices that cannot be opened leave the mixer on none.
        log.warning("cannot switch to audio devices %r/%r (%s); using no device", input_device, output_device, error)
        mixer.set_sound_devices(None, None, tail)


def _open_mixer(input_device: str | None, output_device: str | None, rate: int, tail: int) -> AudioMixer:
    try:
        return AudioMixer(input_device, output_device, rate, tail)
    except Exception as error:
        if input_device is None and output_device is None:
            raise
        # A machine without the configured (or any) sound card: the bridge
        # still runs on its own clock, so calls, recordings and tones work.
        log.warning("cannot open audio devices %r/%r (%s); using no device", input_device, output_device, error)
        return AudioMixer(None, None, rate, tail)
