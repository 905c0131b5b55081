"""The high-level audio API: ports that produce and consume audio, and bridges that connect them.

An audio port (IAudioPort) has a mixer and up to two slots in it: the
slot it consumes audio from (``consumer_slot``) and the slot it produces
audio into (``producer_slot``), either None when it does not play that
role right now. A port whose slots change posts AudioPortDidChangeSlots.

An AudioBridge connects its ports in a full mesh: every producer to every
consumer, never a slot to itself. It is a port too, so bridges nest: its
consumer slot takes audio in from outside and gives it to every member; its
producer slot gives out the mix of its members (each is a RelayPort of the
core, a slot that sends on what it is sent one 20 ms frame later).

The mixer's connections are shared by every bridge on it: two bridges that
both connect slot a to slot b hold that connection together, and it goes
when the last of them lets it go (_SlotConnections).

Threads: every method may be called from any thread. Bridges react to
AudioPortDidChangeSlots in the thread that posts it. A WavePlayer plays in a
green thread of the middleware thread, which is where its notifications
(and the slot changes it causes) are posted from; stop() acts at once, in
the caller's thread.

WavePlayer's states (``is_active`` is True in all but idle): idle, waiting
(pause_time before a play), playing; the table WAVE_PLAYER_STATES in
sipsimple/_states.py (drawn in docs/api/audio.md), through which alone
WavePlayer._change_state() changes them.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections import Counter
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from zope.interface import Attribute, Interface, implementer

from sipsimple._states import WAVE_PLAYER_STATES
from sipsimple.core import AudioMixer, RecordingWaveFile, RelayPort, SIPCoreInvalidStateError, WaveFile
from sipsimple.notification import Notification, NotificationCenter, NotificationData
from sipsimple.threading import Channel, call_in_green_thread

__all__ = [
    "AudioBridge",
    "AudioDevice",
    "AudioPort",
    "IAudioPort",
    "WavePlayer",
    "WaveRecorder",
]


class IAudioPort(Interface):
    """An object that produces and/or consumes audio in a mixer's slots.

    Posts AudioPortDidChangeSlots (consumer_slot_changed, producer_slot_changed,
    old_consumer_slot, new_consumer_slot, old_producer_slot, new_producer_slot)
    when a slot changes.
    """

    mixer = Attribute("The AudioMixer the slots belong to")
    consumer_slot = Attribute("The slot audio is consumed from, or None")
    producer_slot = Attribute("The slot audio is produced into, or None")


@runtime_checkable
class AudioPort(Protocol):
    """Static-typing counterpart of IAudioPort."""

    @property
    def mixer(self) -> AudioMixer: ...

    @property
    def consumer_slot(self) -> int | None: ...

    @property
    def producer_slot(self) -> int | None: ...


def _post_slots_changed(
    port: object,
    old_consumer: int | None,
    new_consumer: int | None,
    old_producer: int | None,
    new_producer: int | None,
) -> None:
    if old_consumer == new_consumer and old_producer == new_producer:
        return
    data = NotificationData(
        consumer_slot_changed=old_consumer != new_consumer, producer_slot_changed=old_producer != new_producer
    )
    if old_consumer != new_consumer:
        data.old_consumer_slot, data.new_consumer_slot = old_consumer, new_consumer
    if old_producer != new_producer:
        data.old_producer_slot, data.new_producer_slot = old_producer, new_producer
    NotificationCenter().post_notification("AudioPortDidChangeSlots", sender=port, data=data)


def _check_mixer(mixer: object) -> AudioMixer:
    if not isinstance(mixer, AudioMixer):
        raise TypeError(f"mixer must be an AudioMixer, not {type(mixer).__name__}")
    return mixer


# --- the mixer's connections, shared by the bridges on it ------------------------------


class _SlotConnections:
    """How many bridges hold each connection of a mixer; the mixer has those held at least once."""

    _lock = threading.RLock()
    _held: weakref.WeakKeyDictionary[AudioMixer, Counter[tuple[int, int]]] = weakref.WeakKeyDictionary()

    @classmethod
    def acquire(cls, mixer: AudioMixer, connection: tuple[int, int]) -> bool:
        """Hold ``connection``; False if the mixer refused it (a slot no longer in use, a closed mixer)."""
        with cls._lock:
            held = cls._held.setdefault(mixer, Counter())
            if held[connection] == 0:
                try:
                    mixer.connect_slots(*connection)
                except (ValueError, SIPCoreInvalidStateError):
                    return False
            held[connection] += 1
            return True

    @classmethod
    def release(cls, mixer: AudioMixer, connection: tuple[int, int]) -> None:
        with cls._lock:
            held = cls._held.get(mixer)
            if held is None or held[connection] == 0:
                return
            held[connection] -= 1
            if held[connection] == 0:
                del held[connection]
                try:
                    mixer.disconnect_slots(*connection)
                except (ValueError, SIPCoreInvalidStateError):
                    pass  # the slot left the mixer (its connections went with it), or the mixer closed


# --- AudioDevice ----------------------------------------------------------------------


@implementer(IAudioPort)
class AudioDevice:
    """The sound devices of a mixer (slot 0): the input device produces, the output device consumes."""

    def __init__(self, mixer: AudioMixer, input_muted: bool = False, output_muted: bool = False) -> None:
        self.mixer = _check_mixer(mixer)
        self._input_muted = bool(input_muted)
        self._output_muted = bool(output_muted)

    @property
    def consumer_slot(self) -> int | None:
        return None if self._output_muted else 0

    @property
    def producer_slot(self) -> int | None:
        return None if self._input_muted else 0

    @property
    def input_muted(self) -> bool:
        """True: the input device produces nothing for the bridges this device is in."""
        return self._input_muted

    @input_muted.setter
    def input_muted(self, value: bool) -> None:
        old = self.producer_slot
        self._input_muted = bool(value)
        _post_slots_changed(self, self.consumer_slot, self.consumer_slot, old, self.producer_slot)

    @property
    def output_muted(self) -> bool:
        """True: nothing from the bridges this device is in reaches the output device."""
        return self._output_muted

    @output_muted.setter
    def output_muted(self, value: bool) -> None:
        old = self.consumer_slot
        self._output_muted = bool(value)
        _post_slots_changed(self, old, self.consumer_slot, self.producer_slot, self.producer_slot)

    def __repr__(self) -> str:
        return f"<AudioDevice input_muted={self._input_muted} output_muted={self._output_muted}>"


# --- AudioBridge ----------------------------------------------------------------------


def _close_bridge_later(mixer: AudioMixer, relays: tuple[RelayPort, RelayPort], held: set[tuple[int, int]]) -> None:
    # A collected bridge: the collector may run in any thread, at any point,
    # with any lock held, so the cleanup waits for a green thread.
    call_in_green_thread(_close_bridge, mixer, relays, held)


def _close_bridge(mixer: AudioMixer, relays: tuple[RelayPort, RelayPort], held: set[tuple[int, int]]) -> None:
    # The bridge is closed or gone: its connections and relays go too.
    for connection in list(held):
        _SlotConnections.release(mixer, connection)
    held.clear()
    for relay in relays:
        try:
            relay.stop()
        except SIPCoreInvalidStateError:
            pass


@implementer(IAudioPort)
class AudioBridge:
    """Connects the audio ports added to it in a full mesh; a port itself, so it can be part of another bridge.

    Ports are held weakly: one that is collected leaves the bridge. A port that
    both consumes and produces (or two ports sharing a slot) is never connected
    to itself.
    """

    def __init__(self, mixer: AudioMixer) -> None:
        self.mixer = _check_mixer(mixer)
        self._lock = threading.RLock()
        self._ports: dict[int, weakref.ref[Any]] = {}
        self._held: set[tuple[int, int]] = set()
        self._inbound = RelayPort(mixer)  # our consumer slot: audio from outside, for every member
        self._outbound = RelayPort(mixer)  # our producer slot: the members' mix, for outside
        self._inbound.start()
        try:
            self._outbound.start()
        except BaseException:
            self._inbound.stop()
            raise
        self._closed = False
        self._finalizer = weakref.finalize(
            self, _close_bridge_later, mixer, (self._inbound, self._outbound), self._held
        )
        self._finalizer.atexit = False  # at exit the mixer goes with the Engine anyway
        NotificationCenter().add_observer(self, name="AudioPortDidChangeSlots")

    @property
    def consumer_slot(self) -> int | None:
        return self._inbound.slot

    @property
    def producer_slot(self) -> int | None:
        return self._outbound.slot

    @property
    def ports(self) -> list[Any]:
        """The ports in the bridge, in the order they were added."""
        with self._lock:
            return [port for port in (ref() for ref in self._ports.values()) if port is not None]

    def __contains__(self, port: object) -> bool:
        with self._lock:
            ref = self._ports.get(id(port))
            return ref is not None and ref() is port

    def __len__(self) -> int:
        return len(self.ports)

    def add(self, port: Any) -> None:
        """Add ``port`` and connect it with every port already here; adding it again changes nothing."""
        if not isinstance(port, AudioPort):
            raise TypeError(f"{type(port).__name__} is not an audio port (mixer, consumer_slot, producer_slot)")
        if port is self:
            raise ValueError("an AudioBridge cannot be added to itself")
        if port.mixer is not self.mixer:
            raise ValueError("the port's mixer is not the bridge's: slots of two mixers cannot be connected")
        with self._lock:
            if self._closed:
                raise SIPCoreInvalidStateError("the AudioBridge is closed")
            if port in self:
                return
            key = id(port)
            self_ref = weakref.ref(self)

            def gone(_: weakref.ref[Any], key: int = key) -> None:
                # Collector context (any thread, any lock held): reconnect later.
                bridge = self_ref()
                if bridge is not None:
                    call_in_green_thread(bridge._forget, key)

            self._ports[key] = weakref.ref(port, gone)
            self._reconnect()

    def remove(self, port: Any) -> None:
        """Take ``port`` out, with its connections; ValueError if it is not in the bridge."""
        with self._lock:
            if port not in self:
                raise ValueError(f"{port!r} is not in this AudioBridge")
            del self._ports[id(port)]
            self._reconnect()

    def close(self) -> None:
        """Disconnect everything and leave the mixer (also done when the bridge is collected)."""
        NotificationCenter().discard_observer(self, name="AudioPortDidChangeSlots")
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._ports.clear()
            if self._finalizer.detach() is not None:
                _close_bridge(self.mixer, (self._inbound, self._outbound), self._held)

    def handle_notification(self, notification: Notification) -> None:
        if notification.sender in self:
            with self._lock:
                self._reconnect()

    def _forget(self, key: int) -> None:
        with self._lock:
            ref = self._ports.get(key)
            if ref is not None and ref() is None:
                del self._ports[key]
                self._reconnect()

    def _wanted(self) -> set[tuple[int, int]]:
        inbound, outbound = self._inbound.slot, self._outbound.slot
        members = self.ports
        wanted: set[tuple[int, int]] = set()
        for producer in members:
            source = producer.producer_slot
            if source is None:
                continue
            if outbound is not None:
                wanted.add((source, outbound))
            for consumer in members:
                destination = consumer.consumer_slot
                if consumer is not producer and destination is not None and destination != source:
                    wanted.add((source, destination))
        if inbound is not None:
            wanted.update((inbound, m.consumer_slot) for m in members if m.consumer_slot is not None)
        return wanted

    def _reconnect(self) -> None:
        # Called with the lock held: make the mixer's connections what the members' slots ask for now.
        if self._closed:
            return
        wanted = self._wanted()
        for connection in self._held - wanted:
            _SlotConnections.release(self.mixer, connection)
            self._held.discard(connection)
        for connection in wanted - self._held:
            if _SlotConnections.acquire(self.mixer, connection):
                self._held.add(connection)

    def __repr__(self) -> str:
        return f"<AudioBridge slots in={self.consumer_slot} out={self.producer_slot} ports={len(self)}>"


# --- WaveRecorder ---------------------------------------------------------------------


@implementer(IAudioPort)
class WaveRecorder:
    """Records what the bridges it is in send it to a WAV file (mono, 16-bit, the mixer's rate).

    Reusable: start() again overwrites the file (or writes the new filename).
    """

    def __init__(self, mixer: AudioMixer, filename: str | os.PathLike[str]) -> None:
        self.mixer = _check_mixer(mixer)
        self.filename = os.fspath(filename)
        self._lock = threading.RLock()
        self._recording: RecordingWaveFile | None = None

    @property
    def consumer_slot(self) -> int | None:
        recording = self._recording
        return recording.slot if recording is not None else None

    @property
    def producer_slot(self) -> None:
        return None

    @property
    def is_active(self) -> bool:
        recording = self._recording
        return recording is not None and recording.is_active

    def start(self) -> None:
        """Start writing the file, creating its directories if possible. ValueError if it cannot be created."""
        with self._lock:
            if self.is_active:
                raise SIPCoreInvalidStateError("the WaveRecorder is already recording")
            directory = os.path.dirname(os.path.abspath(self.filename))
            try:
                os.makedirs(directory, exist_ok=True)
            except OSError:
                pass  # RecordingWaveFile says what is wrong with the path
            recording = RecordingWaveFile(self.mixer, self.filename)
            recording.start()
            self._recording = recording
            _post_slots_changed(self, None, recording.slot, None, None)

    def stop(self) -> None:
        """Stop and complete the file. Does nothing when not recording."""
        with self._lock:
            recording, self._recording = self._recording, None
            if recording is None:
                return
            slot = recording.slot
            recording.stop()
            _post_slots_changed(self, slot, None, None, None)

    def __repr__(self) -> str:
        return f"<WaveRecorder {self.filename!r} active={self.is_active}>"


# --- WavePlayer -----------------------------------------------------------------------


_STOP = object()
_END_CHECK_INTERVAL = 0.5  # seconds between checks that the file still plays


@implementer(IAudioPort)
class WavePlayer:
    """Plays a WAV file into the bridges it is in, ``loop_count`` times (0: until stop()), ``pause_time`` apart.

    Reusable: start() after it ended plays again. Notifications (sender: the
    player): WavePlayerDidStart (timestamp) when the first play begins,
    WavePlayerDidEnd (timestamp) after the last play or stop(),
    WavePlayerDidFail (timestamp, error) when the file cannot be played.
    """

    def __init__(
        self,
        mixer: AudioMixer,
        filename: str | os.PathLike[str],
        volume: int = 100,
        loop_count: int = 1,
        pause_time: float = 0,
        initial_play: bool = True,
    ) -> None:
        self.mixer = _check_mixer(mixer)
        if isinstance(volume, bool) or not isinstance(volume, int) or not 0 <= volume <= 200:
            raise ValueError(f"volume must be an int from 0 to 200 (percent), got {volume!r}")
        if isinstance(loop_count, bool) or not isinstance(loop_count, int) or loop_count < 0:
            raise ValueError(f"loop_count must be an int >= 0 (0: for ever), got {loop_count!r}")
        if isinstance(pause_time, bool) or not isinstance(pause_time, (int, float)) or not pause_time >= 0:
            raise ValueError(f"pause_time must be a number of seconds >= 0, got {pause_time!r}")
        self.filename = os.fspath(filename)
        self.volume = volume
        self.loop_count = loop_count
        self.pause_time = pause_time
        self.initial_play = bool(initial_play)
        self._lock = threading.RLock()
        self._run = 0  # the current start()'s number; a green thread of an older one stops
        self._state = WAVE_PLAYER_STATES.initial
        self._wave: WaveFile | None = None
        self._events: Channel[object] | None = None

    @property
    def consumer_slot(self) -> None:
        return None

    @property
    def producer_slot(self) -> int | None:
        wave = self._wave
        return wave.slot if wave is not None else None

    @property
    def state(self) -> str:
        """idle, waiting (before a play) or playing."""
        state = self._state
        assert state is not None
        return state

    @property
    def is_active(self) -> bool:
        return self._state != WAVE_PLAYER_STATES.initial

    def start(self) -> None:
        """Start playing (after pause_time when initial_play is False)."""
        with self._lock:
            WAVE_PLAYER_STATES.require(self._state, "start", SIPCoreInvalidStateError)
            self._change_state("start")
            self._run += 1
            self._events = Channel()
            call_in_green_thread(self._play, self._run, self._events)

    def stop(self) -> None:
        """Stop at once. Does nothing when not playing."""
        with self._lock:
            if not WAVE_PLAYER_STATES.allows(self._state, "stop"):
                return
            self._finish("stop")
            assert self._events is not None
            self._events.put(_STOP)

    def _change_state(self, event: str) -> None:
        """The one place where the state changes (with the lock held): where WAVE_PLAYER_STATES says."""
        self._state = WAVE_PLAYER_STATES.next(self._state, event)

    def _stopped(self, run: int) -> bool:
        """Whether the green thread of start() number ``run`` is to stop: stopped, or started again."""
        return run != self._run or not self.is_active

    def handle_notification(self, notification: Notification) -> None:
        # Engine thread: our WaveFile reached its end.
        events = self._events
        if events is not None:
            events.put(notification.sender)

    def _play(self, run: int, events: Channel[object]) -> None:
        plays = 0
        forever = self.loop_count == 0 and self.pause_time == 0
        if not self.initial_play and not self._pause(run, events):
            return
        while True:
            with self._lock:
                if self._stopped(run):
                    return
                if self.mixer.state != "running":
                    self._finish("stop")  # the mixer closed (during a pause): nothing more to play on
                    return
                wave: WaveFile | None = None
                try:
                    wave = WaveFile(self.mixer, self.filename, volume=self.volume)
                    NotificationCenter().add_observer(self, name="WaveFileDidFinishPlaying", sender=wave)
                    # Played for ever without pauses: one seamless loop of the file.
                    wave.start(loop=forever)
                except Exception as error:
                    if wave is not None:
                        NotificationCenter().discard_observer(self, name="WaveFileDidFinishPlaying", sender=wave)
                    self._change_state("fail")
                    self._post("WavePlayerDidFail", error=error)
                    return
                self._wave = wave
                self._change_state("play")
                slot = wave.slot
                _post_slots_changed(self, None, None, None, slot)
                if plays == 0:
                    self._post("WavePlayerDidStart")
            while True:
                try:
                    event = events.get(timeout=_END_CHECK_INTERVAL)
                except TimeoutError:
                    event = None
                # A file stopped without telling us: its mixer closed (no
                # notification comes then), or the end's is on its way.
                if event is _STOP or event is wave or not wave.is_active:
                    break
            with self._lock:
                if self._stopped(run):
                    return
                if self.mixer.state != "running":
                    self._finish("stop")
                    return
                NotificationCenter().discard_observer(self, name="WaveFileDidFinishPlaying", sender=wave)
                self._wave = None
                _post_slots_changed(self, None, None, slot, None)
                plays += 1
                if self.loop_count and plays >= self.loop_count:
                    self._finish("finish")
                    return
                self._change_state("played")
            if not self._pause(run, events):
                return

    def _pause(self, run: int, events: Channel[object]) -> bool:
        """Wait pause_time; False if stop() (or a newer start()) came meanwhile."""
        if self.pause_time > 0:
            try:
                while events.get(timeout=self.pause_time) is not _STOP:
                    pass
            except TimeoutError:
                pass
        with self._lock:
            return not self._stopped(run)

    def _finish(self, event: str) -> None:
        # With the lock held: stop the file, report the slot gone and the end.
        wave, self._wave = self._wave, None
        self._change_state(event)
        if wave is not None:
            NotificationCenter().discard_observer(self, name="WaveFileDidFinishPlaying", sender=wave)
            slot = wave.slot
            wave.stop()
            _post_slots_changed(self, None, None, slot, None)
        self._post("WavePlayerDidEnd")

    def _post(self, name: str, **data: object) -> None:
        NotificationCenter().post_notification(
            name, sender=self, data=NotificationData(timestamp=datetime.now(), **data)
        )

    def __repr__(self) -> str:
        return f"<WavePlayer {self.filename!r} {self._state}>"
