"""The conference bridge and what plays into it, tested by what comes out.

No sound card is needed: a mixer without devices is driven by its own clock
thread. Audio is checked by analysis (devkit/audio.py) of what a
RecordingWaveFile wrote or a MixerPort received, never by timing: every wait
is for a notification or for an amount of audio, with a generous limit.
"""

from __future__ import annotations

import array
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import sipsimple.core._engine as engine_module
from devkit.audio import (
    dominant_frequency,
    dtmf_sequence,
    pcm_to_samples,
    read_wav,
    rms_dbfs,
    samples_to_pcm,
    sound_segments,
    tone,
    write_wav,
)
from sipsimple.core import (
    AudioMixer,
    Engine,
    MixerPort,
    RecordingWaveFile,
    SIPCoreError,
    SIPCoreInvalidStateError,
    ToneGenerator,
    WaveFile,
)
from tests.support.notifications import observe

RATE = 16000
FRAME = RATE // 50  # samples in the bridge's 20 ms frame
TONEGEN_DBFS = -11.53  # PJMEDIA's tone generator: amplitude 12288
WAIT = 20.0  # seconds allowed for anything that takes well under one


@pytest.fixture
def mixer(engine: Engine) -> Iterator[AudioMixer]:
    mixer = AudioMixer(None, None, RATE, 0)
    yield mixer
    mixer.close()


def tone_file(path: Path, frequency: float, seconds: float, rate: int = RATE, amplitude: float = 8000) -> array.array:
    samples = tone(frequency, seconds, rate, amplitude)
    write_wav(path, samples, rate)
    return samples


def steady_file(path: Path, frequency: float, seconds: float) -> array.array:
    """A tone on a DC offset: no sample is 0, so silence and sound are told apart sample by sample."""
    samples = array.array("h", (3000 + sample for sample in tone(frequency, seconds, RATE, 2000)))
    write_wav(path, samples, RATE)
    return samples


def receive(port: MixerPort, count: int) -> array.array:
    """At least `count` samples from a MixerPort."""
    samples = array.array("h")
    while len(samples) < count:
        data = port.read(timeout=WAIT)
        assert data, "the bridge delivered nothing"
        samples.extend(pcm_to_samples(data))
    return samples


def receive_until_sound(port: MixerPort) -> array.array:
    """Samples from a MixerPort up to and including the first frame that is not silent."""
    samples = array.array("h")
    while not any(samples[-FRAME:]):
        samples.extend(receive(port, FRAME))
        assert len(samples) < 10 * RATE, "no sound arrived"
    return samples


def find_samples(haystack: array.array, needle: array.array) -> int:
    """Index of `needle` in `haystack` as a contiguous run of samples, or -1."""
    big, small = haystack.tobytes(), needle.tobytes()
    index = big.find(small)
    while index >= 0 and index % 2:
        index = big.find(small, index + 1)
    return index // 2 if index >= 0 else -1


def pool_usage(engine: Engine) -> tuple[int, int]:
    """(pools, bytes) the stack has taken from its pool factory."""
    return engine._ua.pool_usage  # type: ignore[union-attr]


def resident_kib() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


# --- devices and the mixer itself --------------------------------------------


def test_device_lists_without_a_sound_card(engine: Engine) -> None:
    inputs, outputs = engine.input_devices, engine.output_devices
    assert all(isinstance(name, str) for name in inputs + outputs)
    # PJMEDIA's null device runs no clock: it is not offered.
    assert "null device" not in inputs + outputs
    assert engine.default_input_device in [None, *inputs]
    assert engine.default_output_device in [None, *outputs]
    engine.refresh_sound_devices()
    assert engine.input_devices == inputs
    mixer = AudioMixer("system_default", "system_default", RATE, 0)
    try:
        assert mixer.input_device == engine.default_input_device
        assert mixer.output_device == engine.default_output_device
    finally:
        mixer.close()
    with pytest.raises(ValueError, match="No input sound device named 'no such card'"):
        AudioMixer("no such card", None, RATE, 0)
    with pytest.raises(ValueError, match="No output sound device"):
        AudioMixer(None, "no such card", RATE, 0)


def test_device_lists_need_a_running_engine() -> None:
    with pytest.raises(SIPCoreInvalidStateError):
        Engine().input_devices  # noqa: B018
    with pytest.raises(SIPCoreInvalidStateError):
        Engine().refresh_sound_devices()


def test_mixer_needs_a_running_engine() -> None:
    with pytest.raises(SIPCoreInvalidStateError, match="Engine is not running"):
        AudioMixer(None, None, RATE, 0)


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ((None, None, 12345, 0), ValueError, "sample_rate must be one of"),
        ((None, None, "16000", 0), TypeError, "sample_rate must be an int"),
        ((None, None, RATE, -1), ValueError, "ec_tail_length must be between"),
        ((None, None, RATE, 0, 1), ValueError, "slot_count must be between"),
        ((None, None, RATE, 0, 100000), ValueError, "slot_count must be between"),
        ((3, None, RATE, 0), TypeError, "input_device must be a device name"),
        ((None, b"x", RATE, 0), TypeError, "output_device must be a device name"),
    ],
)
def test_mixer_arguments(engine: Engine, arguments: tuple, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        AudioMixer(*arguments)


@pytest.mark.parametrize("rate", [8000, 16000, 32000, 44100, 48000])
def test_mixer_rates(engine: Engine, rate: int) -> None:
    mixer = AudioMixer(None, None, rate, 0)
    try:
        generator, port = ToneGenerator(mixer), MixerPort(mixer)
        generator.start()
        port.start()
        mixer.connect_slots(generator.slot, port.slot)
        generator.play_tones([(1000, 0, 400)])
        samples = receive_until_sound(port)
        samples = samples[len(samples) - rate // 50 :]
        samples.extend(receive(port, rate // 5))
        assert abs(dominant_frequency(samples[: rate // 5], rate) - 1000) < 3
    finally:
        mixer.close()


def test_slots_and_connections(engine: Engine) -> None:
    mixer = AudioMixer(None, None, RATE, 0, slot_count=4)
    try:
        assert (mixer.slot_count, mixer.sample_rate, mixer.used_slot_count) == (4, RATE, 1)
        assert (mixer.input_device, mixer.output_device, mixer.connected_slots) == (None, None, [])
        ports = [MixerPort(mixer) for _ in range(4)]
        for port in ports[:3]:
            port.start()
        assert mixer.used_slot_count == 4
        assert sorted(port.slot for port in ports[:3]) == [1, 2, 3]
        with pytest.raises(SIPCoreError, match="All 4 slots"):
            ports[3].start()
        assert ports[3].state == "new" and ports[3].slot is None
        a, b, c = (port.slot for port in ports[:3])
        mixer.connect_slots(a, b)
        mixer.connect_slots(a, b)  # already connected: nothing changes
        mixer.connect_slots(b, 0)
        mixer.connect_slots(c, c)
        assert mixer.connected_slots == sorted([(a, b), (b, 0), (c, c)])
        mixer.disconnect_slots(c, c)
        mixer.disconnect_slots(c, a)  # not connected: nothing happens
        assert mixer.connected_slots == sorted([(a, b), (b, 0)])
        ports[2].stop()
        with pytest.raises(ValueError, match=f"src: slot {c} is not in use"):
            mixer.connect_slots(c, a)
        ports[1].stop()  # its connections go with it
        assert mixer.connected_slots == []
        assert mixer.used_slot_count == 2
        with pytest.raises(ValueError, match="src must be between 0 and 3"):
            mixer.connect_slots(4, 0)
        with pytest.raises(TypeError, match="dst must be an int"):
            mixer.connect_slots(0, "1")
        ports[3].start()  # a slot is free again
        assert ports[3].slot in (b, c)
    finally:
        mixer.close()


def test_muted_and_volumes(mixer: AudioMixer) -> None:
    assert (mixer.muted, mixer.input_volume, mixer.output_volume) == (False, 100, 100)
    mixer.muted = True
    mixer.input_volume = 0
    mixer.output_volume = 200
    assert (mixer.muted, mixer.input_volume, mixer.output_volume) == (True, 0, 200)
    for name, value, error in [
        ("input_volume", 201, ValueError),
        ("output_volume", -1, ValueError),
        ("output_volume", 1.5, TypeError),
    ]:
        with pytest.raises(error):
            setattr(mixer, name, value)
    # Slot 0 settings stay when the devices change.
    mixer.set_sound_devices(None, None, 0)
    assert (mixer.muted, mixer.input_volume, mixer.output_volume) == (True, 0, 200)
    mixer.muted = False
    assert mixer.muted is False


def test_changing_devices_keeps_slots_and_connections(mixer: AudioMixer) -> None:
    generator, port = ToneGenerator(mixer), MixerPort(mixer)
    generator.start()
    port.start()
    mixer.connect_slots(generator.slot, port.slot)
    with pytest.raises(ValueError, match="No input sound device"):
        mixer.set_sound_devices("no such card", None, 0)
    mixer.set_sound_devices(None, None, 64)
    assert mixer.ec_tail_length == 64
    assert mixer.connected_slots == [(generator.slot, port.slot)]
    generator.play_tones([(750, 0, 300)])
    samples = receive_until_sound(port)[-FRAME:]
    samples.extend(receive(port, RATE // 10))
    assert abs(dominant_frequency(samples, RATE) - 750) < 3


def test_close(engine: Engine) -> None:
    mixer = AudioMixer(None, None, RATE, 0)
    generator, recorder = ToneGenerator(mixer), MixerPort(mixer)
    generator.start()
    recorder.start()
    assert mixer in engine._ua._live_objects  # type: ignore[union-attr]
    mixer.close()
    mixer.close()
    assert (mixer.state, mixer.is_active, mixer.used_slot_count) == ("closed", False, 0)
    assert (generator.state, generator.slot, recorder.state) == ("stopped", None, "stopped")
    assert not engine._ua._live_objects  # type: ignore[union-attr]
    for call in (
        lambda: mixer.connect_slots(0, 0),
        generator.start,
        lambda: setattr(mixer, "muted", True),
        lambda: mixer.set_sound_devices(None, None, 0),
    ):
        with pytest.raises(SIPCoreInvalidStateError, match=r"AudioMixer\.use\(\) is not possible in state 'closed'"):
            call()


# --- tones -----------------------------------------------------------------


def test_tone_is_recorded(mixer: AudioMixer, tmp_path: Path) -> None:
    notifications = observe("ToneGeneratorDidFinishPlaying")
    generator, recorder = ToneGenerator(mixer), RecordingWaveFile(mixer, tmp_path / "tone.wav")
    recorder.start()
    generator.start()
    assert not generator.is_busy
    mixer.connect_slots(generator.slot, recorder.slot)
    generator.play_tones([(1000, 0, 600)])
    assert generator.is_busy
    assert notifications.wait_named("ToneGeneratorDidFinishPlaying", WAIT).sender is generator
    assert not generator.is_busy
    recorder.stop()
    generator.stop()
    samples, rate = read_wav(tmp_path / "tone.wav")
    assert rate == RATE
    [(start, end)] = sound_segments(samples, rate)
    assert abs((end - start) / rate - 0.6) <= 0.03
    steady = samples[start + FRAME : end - FRAME]
    assert abs(dominant_frequency(steady, rate) - 1000) < 2
    assert abs(rms_dbfs(steady) - TONEGEN_DBFS) < 0.5


def test_dtmf_is_recorded(mixer: AudioMixer, tmp_path: Path) -> None:
    notifications = observe("ToneGeneratorDidFinishPlaying")
    generator, recorder = ToneGenerator(mixer), RecordingWaveFile(mixer, tmp_path / "dtmf.wav")
    generator.start()
    recorder.start()
    mixer.connect_slots(generator.slot, recorder.slot)
    digits = "159#0*Dd"
    for digit in digits:
        generator.play_dtmf(digit)
    notifications.wait_named("ToneGeneratorDidFinishPlaying", WAIT)
    recorder.stop()
    samples, rate = read_wav(tmp_path / "dtmf.wav")
    assert dtmf_sequence(samples, rate) == digits.upper()
    segments = sound_segments(samples, rate)
    assert all(abs((end - start) / rate - 0.2) <= 0.03 for start, end in segments)
    start, end = segments[0]
    # Two tones of half the amplitude each.
    assert abs(rms_dbfs(samples[start + FRAME : end - FRAME]) - (TONEGEN_DBFS - 3.01)) < 0.5
    assert len(notifications.named("ToneGeneratorDidFinishPlaying")) == 1


def test_tone_sequence_with_a_pause(mixer: AudioMixer, tmp_path: Path) -> None:
    notifications = observe("ToneGeneratorDidFinishPlaying")
    generator, recorder = ToneGenerator(mixer), RecordingWaveFile(mixer, tmp_path / "tones.wav")
    generator.start()
    recorder.start()
    mixer.connect_slots(generator.slot, recorder.slot)
    generator.play_tones([(440, 0, 300), (0, 0, 200), (2000, 0, 300), (697, 1209, 300)])
    notifications.wait_named("ToneGeneratorDidFinishPlaying", WAIT)
    recorder.stop()
    samples, rate = read_wav(tmp_path / "tones.wav")
    first, second = sound_segments(samples, rate)
    assert abs((second[0] - first[1]) / rate - 0.2) <= 0.02
    assert abs(dominant_frequency(samples[first[0] + FRAME : first[0] + 6 * FRAME], rate) - 440) < 2
    assert abs(dominant_frequency(samples[second[0] + FRAME : second[0] + 6 * FRAME], rate) - 2000) < 2
    assert dtmf_sequence(samples[second[0] + 16 * FRAME : second[1]], rate) == "1"


def test_tone_generator_arguments_and_states(mixer: AudioMixer) -> None:
    generator = ToneGenerator(mixer)
    assert (generator.state, generator.slot, generator.is_active, generator.is_busy) == ("new", None, False, False)
    with pytest.raises(SIPCoreInvalidStateError, match=r"ToneGenerator\.use\(\) is not possible in state 'new'"):
        generator.play_tones([(1000, 0, 100)])
    with pytest.raises(SIPCoreInvalidStateError):
        generator.play_dtmf("1")
    generator.stop()  # not started: nothing to do
    generator.start()
    with pytest.raises(SIPCoreInvalidStateError, match=r"ToneGenerator\.start\(\) is not possible in state 'started'"):
        generator.start()
    for tones, error in [
        ("1000", TypeError),
        ([], ValueError),
        ([(1000, 0)], TypeError),
        ([(1000, 0, 0)], ValueError),
        ([(-5, 0, 100)], ValueError),
        ([(8000, 0, 100)], ValueError),  # at the Nyquist frequency of 16 kHz
        ([(1000, 0, 40000)], ValueError),
        ([(1000.5, 0, 100)], TypeError),
        ([(1000, 0, 100)] * 33, ValueError),
    ]:
        with pytest.raises(error):
            generator.play_tones(tones)
    for digit, error in [("x", ValueError), ("12", ValueError), ("", ValueError), (1, TypeError)]:
        with pytest.raises(error):
            generator.play_dtmf(digit)
    # Not connected: the bridge pulls nothing from it, so tones stay queued
    # and the queue of 32 fills up.
    generator.play_tones([(1000, 0, 100)] * 20)
    with pytest.raises(ValueError, match="at most 32 tones"):
        generator.play_tones([(1000, 0, 100)] * 13)
    assert generator.is_busy
    generator.stop()
    assert (generator.state, generator.is_busy, generator.slot) == ("stopped", False, None)
    generator.start()  # again, with an empty queue
    generator.play_tones([(1000, 0, 100)] * 32)
    generator.stop()


# --- files -----------------------------------------------------------------


def test_wave_file_plays_into_a_recording(mixer: AudioMixer, tmp_path: Path) -> None:
    notifications = observe("WaveFileDidFinishPlaying")
    played = tone_file(tmp_path / "in.wav", 700, 0.5)
    player, recorder = WaveFile(mixer, tmp_path / "in.wav"), RecordingWaveFile(mixer, str(tmp_path / "out.wav"))
    assert (player.filename, recorder.filename) == (str(tmp_path / "in.wav"), str(tmp_path / "out.wav"))
    recorder.start()
    player.start()
    assert player.is_active and not player.loop
    mixer.connect_slots(player.slot, recorder.slot)
    notification = notifications.wait_named("WaveFileDidFinishPlaying", WAIT)
    assert notification.sender is player
    # At the end the player left the mixer.
    assert (player.state, player.is_active, player.slot) == ("stopped", False, None)
    assert mixer.connected_slots == []
    recorder.stop()
    recorded, rate = read_wav(tmp_path / "out.wav")
    # One source at the mixer's rate: the bridge passes the samples unchanged.
    assert find_samples(recorded, played) >= 0
    [(start, end)] = sound_segments(recorded, rate)
    assert abs((end - start) / rate - 0.5) <= 0.03
    assert len(notifications.named("WaveFileDidFinishPlaying")) == 1


def test_wave_file_at_another_rate_is_resampled(mixer: AudioMixer, tmp_path: Path) -> None:
    notifications = observe("WaveFileDidFinishPlaying")
    tone_file(tmp_path / "8k.wav", 1200, 0.6, rate=8000, amplitude=10000)
    player, recorder = WaveFile(mixer, tmp_path / "8k.wav"), RecordingWaveFile(mixer, tmp_path / "out.wav")
    recorder.start()
    player.start()
    mixer.connect_slots(player.slot, recorder.slot)
    notifications.wait_named("WaveFileDidFinishPlaying", WAIT)
    recorder.stop()
    recorded, rate = read_wav(tmp_path / "out.wav")
    [(start, end)] = sound_segments(recorded, rate)
    assert abs((end - start) / rate - 0.6) <= 0.04
    steady = recorded[start + 2 * FRAME : end - 2 * FRAME]
    assert abs(dominant_frequency(steady, rate) - 1200) < 2
    assert abs(rms_dbfs(steady) - rms_dbfs(tone(1200, 0.6, 8000, 10000))) < 0.5


def test_looping_wave_file_plays_on(mixer: AudioMixer, tmp_path: Path) -> None:
    notifications = observe("WaveFileDidFinishPlaying")
    played = steady_file(tmp_path / "short.wav", 500, 0.3)
    player, port = WaveFile(mixer, tmp_path / "short.wav"), MixerPort(mixer)
    port.start()
    player.start(loop=True)
    assert player.loop
    mixer.connect_slots(player.slot, port.slot)
    received = receive_until_sound(port)
    received.extend(receive(port, 4 * len(played)))
    start = next(index for index, sample in enumerate(received) if sample)
    # Three times the file back to back, with no gap.
    assert find_samples(received[start:], played * 3) == 0
    assert player.is_active
    assert not notifications.named("WaveFileDidFinishPlaying")
    player.stop()
    assert player.state == "stopped"


def test_pause_and_resume(mixer: AudioMixer, tmp_path: Path) -> None:
    played = steady_file(tmp_path / "long.wav", 600, 0.4)
    player, port = WaveFile(mixer, tmp_path / "long.wav"), MixerPort(mixer)
    port.start()
    player.start(loop=True)
    mixer.connect_slots(player.slot, port.slot)
    before = receive_until_sound(port)
    before.extend(receive(port, 5 * FRAME))
    player.pause()
    player.pause()
    assert player.paused and player.is_active
    before.extend(pcm_to_samples(port.read(timeout=0)))  # what arrived until the pause
    silence = receive(port, 10 * FRAME)
    assert not any(silence)
    player.resume()
    assert not player.paused
    after = receive_until_sound(port)
    resumed = after[next(index for index, sample in enumerate(after) if sample) :]
    resumed.extend(receive(port, 2 * FRAME))
    tail = before[: max(index for index, sample in enumerate(before) if sample) + 1]
    # The file went on where it stopped: the audio joins up.
    assert find_samples(played * 3, tail[-FRAME:] + resumed[:FRAME]) >= 0
    player.stop()
    with pytest.raises(SIPCoreInvalidStateError):
        player.pause()
    with pytest.raises(SIPCoreInvalidStateError):
        player.resume()


def test_disconnecting_silences_the_recording(mixer: AudioMixer, tmp_path: Path) -> None:
    generator, recorder, port = ToneGenerator(mixer), RecordingWaveFile(mixer, tmp_path / "rec.wav"), MixerPort(mixer)
    for item in (generator, recorder, port):
        item.start()
    mixer.connect_slots(generator.slot, recorder.slot)
    mixer.connect_slots(generator.slot, port.slot)
    generator.play_tones([(900, 0, 20000)])
    # The MixerPort gets the same frames as the recorder, tick by tick.
    receive_until_sound(port)
    receive(port, RATE // 4)
    mixer.disconnect_slots(generator.slot, recorder.slot)
    assert mixer.connected_slots == [(generator.slot, port.slot)]
    port.read(timeout=0)
    after = receive(port, RATE // 4)
    assert rms_dbfs(after) > -20  # the generator still plays
    recorder.stop()
    recorded, rate = read_wav(tmp_path / "rec.wav")
    [(start, end)] = sound_segments(recorded, rate)
    assert (end - start) / rate >= 0.25
    assert abs(dominant_frequency(recorded[start + FRAME : end - FRAME], rate) - 900) < 2
    assert len(recorded) - end >= RATE // 4 - FRAME
    assert not any(recorded[end:])


def test_recording_runs_on_with_nothing_connected(mixer: AudioMixer, tmp_path: Path) -> None:
    recorder, port = RecordingWaveFile(mixer, tmp_path / "silence.wav"), MixerPort(mixer)
    port.start()
    recorder.start()
    receive(port, RATE // 2)
    recorder.stop()
    recorded, rate = read_wav(tmp_path / "silence.wav")
    assert rate == RATE and len(recorded) >= RATE // 2 - 2 * FRAME and not any(recorded)


def test_file_arguments_and_states(mixer: AudioMixer, tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="mixer must be an AudioMixer"):
        WaveFile(object(), tmp_path / "x.wav")
    with pytest.raises(TypeError, match="filename must be a path"):
        WaveFile(mixer, 42)
    with pytest.raises(ValueError, match="No such file"):
        WaveFile(mixer, tmp_path / "missing.wav")
    with pytest.raises(ValueError, match="No such directory"):
        RecordingWaveFile(mixer, tmp_path / "missing" / "out.wav")
    with pytest.raises(ValueError, match="is a directory"):
        RecordingWaveFile(mixer, tmp_path)
    (tmp_path / "text.wav").write_text("not a wave file at all, but long enough to be read as one" * 10)
    with pytest.raises(ValueError, match="Cannot play"):
        WaveFile(mixer, tmp_path / "text.wav").start()
    write_wav(tmp_path / "stereo.wav", tone(440, 0.2, RATE) * 2, RATE, channels=2)
    stereo = WaveFile(mixer, tmp_path / "stereo.wav")
    with pytest.raises(ValueError, match="2 channels"):
        stereo.start()
    assert (stereo.state, stereo.slot) == ("new", None)
    tone_file(tmp_path / "ok.wav", 440, 0.2)
    player = WaveFile(mixer, tmp_path / "ok.wav")
    os.unlink(tmp_path / "ok.wav")
    with pytest.raises(ValueError, match="No such file"):
        player.start()
    tone_file(tmp_path / "ok.wav", 440, 0.2)
    player.start()
    with pytest.raises(SIPCoreInvalidStateError, match=r"WaveFile\.start\(\) is not possible in state 'started'"):
        player.start()
    recorder = RecordingWaveFile(mixer, tmp_path / "out.wav")
    recorder.start()
    with pytest.raises(SIPCoreInvalidStateError):
        recorder.start()
    recorder.stop()
    recorder.stop()
    assert recorder.state == "stopped"
    # No file handle, pool or slot is left behind by the failures above.
    assert mixer.used_slot_count == 2
    player.stop()


# --- MixerPort -------------------------------------------------------------


def test_mixer_port_round_trip(mixer: AudioMixer) -> None:
    source, sink = MixerPort(mixer), MixerPort(mixer)
    source.start()
    sink.start()
    assert source.buffer_ms == 2000
    mixer.connect_slots(source.slot, sink.slot)
    sent = tone(1500, 1.0, RATE, 12000)
    assert source.write(samples_to_pcm(sent)) == 2 * len(sent)
    received = receive_until_sound(sink)
    received.extend(receive(sink, len(sent) + FRAME))
    assert find_samples(received, sent) >= 0
    start = find_samples(received, sent)
    assert not any(received[start + len(sent) :])  # silence once the queue is empty
    # Written in pieces that are not whole frames, it arrives the same.
    more = tone(333, 0.3, RATE, 9000)
    data = samples_to_pcm(more)
    for offset in range(0, len(data), 998):
        source.write(data[offset : offset + 998])
    received = receive_until_sound(sink)
    received.extend(receive(sink, len(more)))
    assert find_samples(received, more) >= 0


def test_mixer_port_buffers_and_arguments(mixer: AudioMixer) -> None:
    with pytest.raises(ValueError, match="buffer_ms"):
        MixerPort(mixer, buffer_ms=10)
    port = MixerPort(mixer, buffer_ms=100)
    with pytest.raises(SIPCoreInvalidStateError):
        port.read()
    with pytest.raises(SIPCoreInvalidStateError):
        port.write(b"\0\0")
    port.start()
    with pytest.raises(TypeError):
        port.write("text")
    with pytest.raises(ValueError, match="whole 16-bit samples"):
        port.write(b"\0\0\0")
    with pytest.raises(ValueError, match="timeout must be >= 0"):
        port.read(timeout=-1)
    with pytest.raises(TypeError, match="timeout"):
        port.read(timeout="1")
    assert port.write(b"") == 0
    # Not connected to anything: nobody takes the queued audio, so the
    # buffer (100 ms) fills and a write that may not wait is cut short.
    assert port.write(bytes(RATE * 2), timeout=0) == RATE // 10 * 2
    assert port.write(bytes(200), timeout=0.05) == 0
    # What reaches the slot (silence: nothing is connected) is kept up to
    # 100 ms: while another port receives 500 ms, this one overflows.
    clock = MixerPort(mixer)
    clock.start()
    port.read(timeout=0)
    clock.read(timeout=0)
    receive(clock, RATE // 2)
    assert len(port.read(timeout=0)) == RATE // 10 * 2
    # stop() releases a writer waiting for room.
    results: list[object] = []

    def write() -> None:
        try:
            results.append(port.write(bytes(RATE * 2)))
        except SIPCoreInvalidStateError as error:
            results.append(error)

    writer = threading.Thread(target=write)
    writer.start()
    writer.join(0.2)
    port.stop()
    writer.join(WAIT)
    assert not writer.is_alive()
    assert results and (results[0] == 0 or isinstance(results[0], SIPCoreInvalidStateError))
    with pytest.raises(SIPCoreInvalidStateError):
        port.read(timeout=0)


# --- the Engine --------------------------------------------------------------


def test_clock_thread_events_wake_the_engine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # With a poll timeout of ten minutes, the end of a file is only
    # reported in time because the clock thread wakes the Engine thread.
    monkeypatch.setattr(engine_module, "_POLL_TIMEOUT_MS", 600000)
    notifications = observe("WaveFileDidFinishPlaying", "ToneGeneratorDidFinishPlaying")
    engine = Engine()
    engine.start(ip_address="127.0.0.1", udp_port=0)
    try:
        mixer = AudioMixer(None, None, RATE, 0)
        tone_file(tmp_path / "short.wav", 440, 0.1)
        player, generator, port = WaveFile(mixer, tmp_path / "short.wav"), ToneGenerator(mixer), MixerPort(mixer)
        for item in (port, player, generator):
            item.start()
        mixer.connect_slots(player.slot, port.slot)
        mixer.connect_slots(generator.slot, port.slot)
        generator.play_dtmf("5")
        notifications.wait_named("WaveFileDidFinishPlaying", WAIT)
        notifications.wait_named("ToneGeneratorDidFinishPlaying", WAIT)
    finally:
        engine.stop()  # wakes the Engine thread too
    assert not engine.is_running


def test_engine_stop_with_active_objects(tmp_path: Path) -> None:
    engine = Engine()
    engine.start(ip_address="127.0.0.1", udp_port=0)
    mixer = AudioMixer(None, None, RATE, 0)
    tone_file(tmp_path / "loop.wav", 440, 0.2)
    player, recorder = WaveFile(mixer, tmp_path / "loop.wav"), RecordingWaveFile(mixer, tmp_path / "out.wav")
    generator, port, idle = ToneGenerator(mixer), MixerPort(mixer), MixerPort(mixer, buffer_ms=40)
    for item in (player, recorder, generator, port, idle):
        item.start()
    mixer.connect_slots(player.slot, recorder.slot)
    mixer.connect_slots(generator.slot, port.slot)
    generator.play_tones([(1000, 0, 10000)] * 10)
    receive_until_sound(port)
    done = threading.Event()

    def read_until_stopped() -> None:
        try:
            while True:
                port.read()
        except SIPCoreInvalidStateError:
            done.set()

    def write_until_stopped() -> None:
        idle.write(bytes(RATE * 4))  # 40 ms fit, then it waits for room for ever
        done.set()

    reader = threading.Thread(target=read_until_stopped)
    writer = threading.Thread(target=write_until_stopped)
    reader.start()
    writer.start()
    engine.stop()
    reader.join(WAIT)
    writer.join(WAIT)
    assert not reader.is_alive() and not writer.is_alive()
    assert mixer.state == "closed"
    for item in (player, recorder, generator, port, idle):
        assert (item.state, item.slot, item.is_active) == ("stopped", None, False)
    assert not generator.is_busy
    recorded, rate = read_wav(tmp_path / "out.wav")  # a complete file: the recorder was closed
    assert rate == RATE and any(recorded)
    # A new run of the Engine, a new mixer; the old objects stay stopped.
    engine.start(ip_address="127.0.0.1", udp_port=0)
    with pytest.raises(SIPCoreInvalidStateError):
        player.start()
    new_mixer = AudioMixer(None, None, RATE, 0)
    WaveFile(new_mixer, tmp_path / "loop.wav").start()
    engine.stop()
    assert new_mixer.state == "closed"


def test_start_stop_cycles_leave_nothing_behind(engine: Engine, tmp_path: Path) -> None:
    tone_file(tmp_path / "in.wav", 440, 0.1)
    descriptors = Path("/proc/self/fd")
    threads = Path("/proc/self/task")

    def cycle(mixer: AudioMixer, index: int) -> None:
        player = WaveFile(mixer, tmp_path / "in.wav")
        recorder = RecordingWaveFile(mixer, tmp_path / "out.wav")
        generator, port = ToneGenerator(mixer), MixerPort(mixer)
        for item in (player, recorder, generator, port):
            item.start()
        mixer.connect_slots(player.slot, recorder.slot)
        mixer.connect_slots(generator.slot, port.slot)
        generator.play_dtmf("1")
        port.write(bytes(640))
        if index % 2:
            for item in (player, recorder, generator, port):
                item.stop()

    def run(count: int) -> None:
        for index in range(count):
            mixer = AudioMixer(None, None, RATE, 0)
            for _ in range(5):
                cycle(mixer, index)
            mixer.close()  # stops what is still started

    run(2)
    baseline = (pool_usage(engine), len(list(descriptors.iterdir())), len(list(threads.iterdir())))
    memory = resident_kib()
    run(40)
    # Every pool back (to the byte), every file closed, every clock thread gone.
    assert (pool_usage(engine), len(list(descriptors.iterdir())), len(list(threads.iterdir()))) == baseline
    assert not engine._ua._live_objects  # type: ignore[union-attr]
    # 200 cycles on 40 mixers: the resident size stays about flat.
    assert resident_kib() - memory < 4096
