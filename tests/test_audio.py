"""sipsimple.audio: ports and bridges, tested by the audio that comes out of them.

No sound card: mixers without devices, driven by their own clock. What a
bridge connects is checked twice: in the mixer's connection list, and by
what reaches a recorder or a MixerPort (devkit/audio.py).
"""

from __future__ import annotations

import array
import gc
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devkit.audio import dominant_frequency, pcm_to_samples, read_wav, rms_dbfs, sound_segments, tone, write_wav
from sipsimple.audio import AudioBridge, AudioDevice, AudioPort, IAudioPort, WavePlayer, WaveRecorder
from sipsimple.core import AudioMixer, Engine, MixerPort, SIPCoreInvalidStateError
from sipsimple.notification import NotificationCenter

RATE = 16000
FRAME = RATE // 50
WAIT = 20.0
TONE_DBFS = rms_dbfs(tone(1000, 1.0, RATE, 8000))  # -15.3


@pytest.fixture
def mixer(engine: Engine) -> Iterator[AudioMixer]:
    mixer = AudioMixer(None, None, RATE, 0)
    yield mixer
    mixer.close()


@pytest.fixture
def tone_path(tmp_path: Path) -> Path:
    path = tmp_path / "tone.wav"
    write_wav(path, tone(1000, 0.6, RATE, 8000), RATE)
    return path


class observe:  # used like a function: ``with observe(name, sender) as seen``
    """The notifications ``name`` from ``sender`` posted inside the ``with`` block, in a list."""

    def __init__(self, name: str, sender: object) -> None:
        self.name, self.sender = name, sender
        self.seen: list[Any] = []
        self._lock = threading.Lock()

    def handle_notification(self, notification: Any) -> None:
        with self._lock:
            self.seen.append(notification)

    def __enter__(self) -> list[Any]:
        NotificationCenter().add_observer(self, name=self.name, sender=self.sender)
        return self.seen

    def __exit__(self, *exc_info: object) -> None:
        NotificationCenter().discard_observer(self, name=self.name, sender=self.sender)


def wait_until(predicate: Any, what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"no {what} within {timeout} s"
        time.sleep(0.01)


class PythonPort:
    """An audio port of the test's own around a MixerPort: what Python writes it produces, what it reads it consumes."""

    def __init__(self, mixer: AudioMixer) -> None:
        self.mixer = mixer
        self.port = MixerPort(mixer)
        self.port.start()

    @property
    def consumer_slot(self) -> int | None:
        return self.port.slot

    @property
    def producer_slot(self) -> int | None:
        return self.port.slot

    def receive(self, seconds: float) -> array.array:
        samples = array.array("h")
        while len(samples) < seconds * RATE:
            data = self.port.read(timeout=WAIT)
            assert data, "the bridge delivered nothing"
            samples.extend(pcm_to_samples(data))
        return samples

    def drain(self) -> None:
        self.port.read(timeout=0)


def send_and_hear(sender: PythonPort, listener: PythonPort, signal: array.array) -> tuple[array.array, list]:
    """What ``listener`` hears in the 2 s from when ``sender`` writes ``signal``, and its sound segments.

    The listener's buffer is emptied first, so the 2 s start at the write
    (the bridge's clock runs on while this thread waits: a late write only
    moves the sound later in those 2 s).
    """
    listener.drain()
    sender.port.write(signal.tobytes())
    heard = listener.receive(2.0)
    return heard, sound_segments(heard, RATE, threshold_dbfs=-40, min_gap_ms=100)


def recorded(recorder: WaveRecorder) -> array.array:
    samples, rate = read_wav(Path(recorder.filename))
    assert rate == RATE
    return samples


def play_and_wait(player: WavePlayer) -> list[Any]:
    with observe("WavePlayerDidEnd", sender=player) as ends:
        player.start()
        wait_until(lambda: ends, what="WavePlayerDidEnd", timeout=WAIT)
    return ends


def record_play(mixer: AudioMixer, player: WavePlayer, path: Path) -> array.array:
    """Play ``player`` to its end into a WaveRecorder, both in a bridge; what was recorded."""
    bridge = AudioBridge(mixer)
    recorder = WaveRecorder(mixer, str(path))
    bridge.add(player)
    bridge.add(recorder)
    recorder.start()
    play_and_wait(player)
    recorder.stop()
    bridge.close()
    return recorded(recorder)


# --- AudioDevice ------------------------------------------------------------------------


def test_audio_device_slots_follow_the_mute_flags(mixer: AudioMixer) -> None:
    device = AudioDevice(mixer)
    assert IAudioPort.providedBy(device) and isinstance(device, AudioPort)
    assert (device.consumer_slot, device.producer_slot) == (0, 0)
    with observe("AudioPortDidChangeSlots", sender=device) as changes:
        device.input_muted = True
        device.output_muted = True
        device.output_muted = True  # no change, no notification
        device.input_muted = False
    assert (device.consumer_slot, device.producer_slot) == (None, 0)
    data = [change.data for change in changes]
    assert len(data) == 3
    assert (data[0].producer_slot_changed, data[0].consumer_slot_changed) == (True, False)
    assert (data[0].old_producer_slot, data[0].new_producer_slot) == (0, None)
    assert not hasattr(data[0], "old_consumer_slot")
    assert (data[1].consumer_slot_changed, data[1].old_consumer_slot, data[1].new_consumer_slot) == (True, 0, None)
    assert (data[2].old_producer_slot, data[2].new_producer_slot) == (None, 0)
    muted = AudioDevice(mixer, input_muted=True, output_muted=True)
    assert (muted.consumer_slot, muted.producer_slot) == (None, None)
    with pytest.raises(TypeError):
        AudioDevice("mixer")  # type: ignore[arg-type]


# --- AudioBridge ------------------------------------------------------------------------


def test_a_bridge_connects_producers_to_consumers_and_the_audio_flows(
    mixer: AudioMixer, tone_path: Path, tmp_path: Path
) -> None:
    samples = record_play(mixer, WavePlayer(mixer, str(tone_path)), tmp_path / "out.wav")
    segments = sound_segments(samples, RATE, threshold_dbfs=-40, min_gap_ms=100)
    assert len(segments) == 1, segments
    start, end = segments[0]
    assert abs((end - start) / RATE - 0.6) <= 0.05
    assert abs(dominant_frequency(samples[start:end], RATE) - 1000) <= 10
    assert abs(rms_dbfs(samples[start + FRAME : end - FRAME]) - TONE_DBFS) <= 0.5


def test_a_port_that_consumes_and_produces_is_not_connected_to_itself(mixer: AudioMixer) -> None:
    bridge = AudioBridge(mixer)
    device, python = AudioDevice(mixer), PythonPort(mixer)
    bridge.add(device)
    bridge.add(python)
    slot = python.port.slot
    connections = set(mixer.connected_slots)
    assert {(0, slot), (slot, 0)} <= connections
    assert (0, 0) not in connections and (slot, slot) not in connections
    # Two devices share slot 0: still no sidetone.
    bridge.add(AudioDevice(mixer))
    assert (0, 0) not in mixer.connected_slots
    bridge.close()
    assert mixer.connected_slots == []


def test_add_is_a_set_and_remove_checks(mixer: AudioMixer, engine: Engine) -> None:
    bridge = AudioBridge(mixer)
    device = AudioDevice(mixer)
    bridge.add(device)
    bridge.add(device)
    assert len(bridge) == 1 and device in bridge and bridge.ports == [device]
    other_device = AudioDevice(mixer)
    bridge.add(other_device)
    assert bridge.ports == [device, other_device]
    bridge.remove(other_device)
    bridge.remove(device)
    assert len(bridge) == 0
    with pytest.raises(ValueError):
        bridge.remove(device)
    with pytest.raises(TypeError):
        bridge.add("not a port")
    with pytest.raises(ValueError):
        bridge.add(bridge)
    other = AudioMixer(None, None, RATE, 0)
    try:
        with pytest.raises(ValueError):
            bridge.add(AudioDevice(other))
    finally:
        other.close()
    with pytest.raises(SIPCoreInvalidStateError):
        AudioBridge(other)
    with pytest.raises(TypeError):
        AudioBridge(None)  # type: ignore[arg-type]
    bridge.close()
    with pytest.raises(SIPCoreInvalidStateError):
        bridge.add(device)


def test_a_collected_port_leaves_the_bridge(mixer: AudioMixer) -> None:
    bridge = AudioBridge(mixer)
    first, second = PythonPort(mixer), PythonPort(mixer)
    bridge.add(first)
    bridge.add(second)
    a, b = first.port.slot, second.port.slot
    assert {(a, b), (b, a)} <= set(mixer.connected_slots)
    port = second.port
    del second
    gc.collect()
    assert len(bridge) == 1
    # The connections go from a green thread (the collector may run anywhere).
    wait_until(
        lambda: (a, b) not in mixer.connected_slots and (b, a) not in mixer.connected_slots,
        what="the collected port's connections to go",
    )
    port.stop()
    bridge.close()


def test_a_collected_bridge_lets_its_connections_and_slots_go(mixer: AudioMixer) -> None:
    used = mixer.used_slot_count
    bridge = AudioBridge(mixer)
    first, second = PythonPort(mixer), PythonPort(mixer)
    bridge.add(first)
    bridge.add(second)
    assert mixer.used_slot_count == used + 4  # two relays and the two ports
    del bridge
    gc.collect()
    wait_until(
        lambda: mixer.connected_slots == [] and mixer.used_slot_count == used + 2,
        what="the collected bridge's connections and relays to go",
    )


def test_two_bridges_share_a_connection_until_both_let_it_go(mixer: AudioMixer) -> None:
    first, second = PythonPort(mixer), PythonPort(mixer)
    a, b = first.port.slot, second.port.slot
    one, two = AudioBridge(mixer), AudioBridge(mixer)
    for bridge in (one, two):
        bridge.add(first)
        bridge.add(second)
    one.remove(second)
    assert (a, b) in mixer.connected_slots  # still held by the other bridge
    two.close()
    assert (a, b) not in mixer.connected_slots
    one.close()


def test_bridges_nest_audio_goes_in_and_out_of_the_inner_bridge(mixer: AudioMixer) -> None:
    # outer: source, inner bridge; inner: sink. The source reaches the sink
    # through the inner bridge's inbound relay; the sink's own audio reaches
    # the source through the outbound one, and neither hears itself.
    source, sink = PythonPort(mixer), PythonPort(mixer)
    outer, inner = AudioBridge(mixer), AudioBridge(mixer)
    outer.add(source)
    inner.add(sink)
    outer.add(inner)
    signal = tone(700, 0.5, RATE, 6000)
    source.drain()
    received, segments = send_and_hear(source, sink, signal)
    assert len(segments) == 1, segments
    start, end = segments[0]
    assert abs((end - start) / RATE - 0.5) <= 0.05
    assert abs(dominant_frequency(received[start:end], RATE) - 700) <= 10
    assert rms_dbfs(source.receive(0.5)) == float("-inf")  # its own audio did not come back
    back, segments = send_and_hear(sink, source, tone(400, 0.3, RATE, 6000))
    assert len(segments) == 1, segments
    assert abs(dominant_frequency(back[segments[0][0] : segments[0][1]], RATE) - 400) <= 10
    outer.remove(inner)
    assert send_and_hear(source, sink, signal)[1] == []
    outer.close()
    inner.close()


def test_a_bridge_follows_a_port_whose_slot_changes(mixer: AudioMixer, tone_path: Path, tmp_path: Path) -> None:
    bridge = AudioBridge(mixer)
    recorder = WaveRecorder(mixer, str(tmp_path / "r.wav"))
    python = PythonPort(mixer)
    bridge.add(recorder)
    bridge.add(python)
    assert recorder.consumer_slot is None
    with observe("AudioPortDidChangeSlots", sender=recorder) as changes:
        recorder.start()
    slot = recorder.consumer_slot
    assert changes[0].data.new_consumer_slot == slot and changes[0].data.old_consumer_slot is None
    assert (python.port.slot, slot) in mixer.connected_slots
    recorder.stop()
    assert all(slot not in connection for connection in mixer.connected_slots)
    bridge.close()


# --- WavePlayer ---------------------------------------------------------------------------


def test_wave_player_plays_loop_count_times_pause_time_apart(
    mixer: AudioMixer, tone_path: Path, tmp_path: Path
) -> None:
    bridge = AudioBridge(mixer)
    player = WavePlayer(mixer, str(tone_path), loop_count=3, pause_time=0.3)
    recorder = WaveRecorder(mixer, str(tmp_path / "out.wav"))
    bridge.add(player)
    bridge.add(recorder)
    recorder.start()
    with (
        observe("WavePlayerDidStart", sender=player) as starts,
        observe("AudioPortDidChangeSlots", sender=player) as changes,
    ):
        ends = play_and_wait(player)
    recorder.stop()
    assert len(starts) == 1 and len(ends) == 1
    assert not player.is_active and player.producer_slot is None
    assert ends[0].data.timestamp >= starts[0].data.timestamp
    assert len(changes) == 6  # a slot for each play, and gone after it
    # Measured in the recording, in samples of the mixer's clock: each play is the whole file (0.6 s), and
    # the silences between them last pause_time plus what it takes to notice the end and put the next play on
    # the bridge (a few frames). sound_segments works in 10 ms steps and rounds a sound's edges outwards, so
    # a silence can measure up to 20 ms short. 0.45 s leaves 150 ms for the restart, and fails a pause taken
    # twice (0.6 s) or an end of file noticed only by the player's 0.5 s check.
    segments = sound_segments(recorded(recorder), RATE, threshold_dbfs=-40, min_gap_ms=100)
    assert len(segments) == 3, segments
    for start, end in segments:
        assert abs((end - start) / RATE - 0.6) <= 0.02, segments
    silences = [(start - end) / RATE for (_, end), (start, _) in zip(segments, segments[1:], strict=False)]
    assert all(0.28 <= silence <= 0.45 for silence in silences), silences
    bridge.close()


def test_wave_player_waits_before_the_first_play_without_initial_play(
    mixer: AudioMixer, tone_path: Path, tmp_path: Path
) -> None:
    player = WavePlayer(mixer, str(tone_path), pause_time=0.5, initial_play=False)
    segments = sound_segments(
        record_play(mixer, player, tmp_path / "out.wav"), RATE, threshold_dbfs=-40, min_gap_ms=100
    )
    assert len(segments) == 1 and segments[0][0] / RATE >= 0.45, segments


def test_wave_player_volume(mixer: AudioMixer, tone_path: Path, tmp_path: Path) -> None:
    samples = record_play(mixer, WavePlayer(mixer, str(tone_path), volume=50), tmp_path / "out.wav")
    start, end = sound_segments(samples, RATE, threshold_dbfs=-40, min_gap_ms=100)[0]
    assert abs(rms_dbfs(samples[start + FRAME : end - FRAME]) - (TONE_DBFS - 6.0)) <= 0.5
    with pytest.raises(ValueError):
        WavePlayer(mixer, str(tone_path), volume=201)
    with pytest.raises(ValueError):
        WavePlayer(mixer, str(tone_path), loop_count=-1)
    with pytest.raises(ValueError):
        WavePlayer(mixer, str(tone_path), pause_time=-1)


def test_wave_player_forever_until_stop_and_reusable(mixer: AudioMixer, tone_path: Path) -> None:
    bridge = AudioBridge(mixer)
    player = WavePlayer(mixer, str(tone_path), loop_count=0)
    python = PythonPort(mixer)
    bridge.add(player)
    bridge.add(python)
    with observe("WavePlayerDidStart", sender=player) as starts:
        player.start()
        wait_until(lambda: starts, what="WavePlayerDidStart", timeout=WAIT)
    with pytest.raises(SIPCoreInvalidStateError):
        player.start()
    python.drain()
    heard = python.receive(1.5)  # longer than the file: it loops
    assert len(sound_segments(heard, RATE, threshold_dbfs=-40, min_gap_ms=60)) == 1
    with observe("WavePlayerDidEnd", sender=player) as ends:
        player.stop()
    assert len(ends) == 1 and not player.is_active
    python.drain()
    assert rms_dbfs(python.receive(0.3)[FRAME * 3 :]) == float("-inf")
    player.stop()  # nothing to stop
    player.loop_count = 1  # reusable: plays again, this time once, and ends by itself
    python.drain()
    assert len(play_and_wait(player)) == 1
    heard = pcm_to_samples(python.port.read(timeout=WAIT))  # all it got since the drain (it buffers 2 s)
    assert not player.is_active
    ((start, end),) = sound_segments(heard, RATE, threshold_dbfs=-40, min_gap_ms=60)
    assert abs((end - start) / RATE - 0.6) <= 0.05 and abs(dominant_frequency(heard[start:end], RATE) - 1000) <= 10
    bridge.close()


def test_wave_player_fails_on_a_file_it_cannot_play(mixer: AudioMixer, tmp_path: Path) -> None:
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"this is no RIFF file" * 10)
    player = WavePlayer(mixer, str(bad))
    with observe("WavePlayerDidFail", sender=player) as failures, observe("WavePlayerDidEnd", sender=player) as ends:
        player.start()
        wait_until(lambda: failures, what="WavePlayerDidFail", timeout=WAIT)
    assert isinstance(failures[0].data.error, ValueError) and failures[0].data.timestamp
    assert not player.is_active and ends == []
    missing = WavePlayer(mixer, str(tmp_path / "missing.wav"))
    with observe("WavePlayerDidFail", sender=missing) as failures:
        missing.start()
        wait_until(lambda: failures, what="WavePlayerDidFail", timeout=WAIT)
    assert "No such file" in str(failures[0].data.error)


# --- WaveRecorder ---------------------------------------------------------------------------


def test_wave_recorder_creates_directories_and_is_reusable(mixer: AudioMixer, tone_path: Path, tmp_path: Path) -> None:
    bridge = AudioBridge(mixer)
    player = WavePlayer(mixer, str(tone_path))
    recorder = WaveRecorder(mixer, str(tmp_path / "a" / "b" / "first.wav"))
    bridge.add(player)
    bridge.add(recorder)
    assert not recorder.is_active and recorder.producer_slot is None
    recorder.start()
    assert recorder.is_active
    with pytest.raises(SIPCoreInvalidStateError):
        recorder.start()
    play_and_wait(player)
    recorder.stop()
    recorder.stop()
    assert len(sound_segments(recorded(recorder), RATE, threshold_dbfs=-40, min_gap_ms=100)) == 1
    first = recorder.filename
    recorder.filename = str(tmp_path / "second.wav")
    recorder.start()
    recorder.stop()
    assert rms_dbfs(recorded(recorder)) == float("-inf")  # nothing played meanwhile
    assert len(sound_segments(read_wav(Path(first))[0], RATE, threshold_dbfs=-40, min_gap_ms=100)) == 1
    blocked = tmp_path / "file"
    blocked.write_text("")
    with pytest.raises(ValueError):
        WaveRecorder(mixer, str(blocked / "x.wav")).start()
    bridge.close()


def test_the_mixer_closing_stops_the_ports(engine: Engine, tone_path: Path, tmp_path: Path) -> None:
    mixer = AudioMixer(None, None, RATE, 0)
    bridge = AudioBridge(mixer)
    recorder = WaveRecorder(mixer, str(tmp_path / "out.wav"))
    bridge.add(recorder)
    recorder.start()
    mixer.close()
    assert not recorder.is_active and recorder.consumer_slot is None
    assert bridge.consumer_slot is None and bridge.producer_slot is None
    bridge.close()
    NotificationCenter()  # nothing left observing a dead bridge raises


def test_a_wave_player_ends_when_its_mixer_closes(engine: Engine, tone_path: Path) -> None:
    mixer = AudioMixer(None, None, RATE, 0)
    bridge = AudioBridge(mixer)
    player = WavePlayer(mixer, str(tone_path), loop_count=0)
    python = PythonPort(mixer)
    bridge.add(player)
    bridge.add(python)
    with observe("WavePlayerDidStart", sender=player) as starts, observe("WavePlayerDidEnd", sender=player) as ends:
        player.start()
        wait_until(lambda: starts, what="WavePlayerDidStart")
        mixer.close()
        wait_until(lambda: ends, what="WavePlayerDidEnd after the mixer closed")
    assert not player.is_active and player.producer_slot is None
    with observe("WavePlayerDidEnd", sender=player) as ends:  # started on a closed mixer: ends at once
        player.start()
        wait_until(lambda: ends, what="WavePlayerDidEnd on a closed mixer")
    bridge.close()


def test_bridges_and_players_made_and_dropped_leave_nothing_behind(mixer: AudioMixer, tone_path: Path) -> None:
    def resident_kib() -> int:
        import os

        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024

    used = mixer.used_slot_count
    device = AudioDevice(mixer)

    def round_of(count: int) -> None:
        for _ in range(count):
            bridge = AudioBridge(mixer)
            player = WavePlayer(mixer, str(tone_path), loop_count=0)
            bridge.add(device)
            bridge.add(player)
            with observe("WavePlayerDidStart", sender=player) as starts:
                player.start()
                wait_until(lambda: starts, what="WavePlayerDidStart")  # waited for in this loop
            player.stop()
            bridge.close()

    round_of(50)
    before = resident_kib()
    round_of(200)
    grown = resident_kib() - before
    assert mixer.used_slot_count == used and mixer.connected_slots == []
    assert grown < 2048, f"{grown} KiB more after 200 bridges and players"
