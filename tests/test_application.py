"""SIPApplication: start/stop order and notifications, settings reaching the running Engine, failures."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devkit.ports import free_port
from devkit.sipp import run_sipp
from sipsimple.application import SIPApplication, SIPApplicationError
from sipsimple.configuration import ConfigurationManager
from sipsimple.configuration.backend import FileBackend, MemoryBackend
from sipsimple.configuration.errors import ConfigurationBackendError
from sipsimple.configuration.settings import SIPSimpleSettings
from sipsimple.core import AudioMixer, Engine
from tests.support.notifications import NotificationRecorder, observe
from tests.support.scenarios import request_scenario

LIFECYCLE = ("SIPApplicationWillStart", "SIPApplicationDidStart", "SIPApplicationWillEnd", "SIPApplicationDidEnd")


def loopback_settings(**sip: object) -> dict[str, object]:
    """A stored SIPSimpleSettings tree: loopback, UDP and TCP on the given (or ephemeral) ports."""
    return {
        "SIPSimpleSettings": {
            "local_ip": "127.0.0.1",
            "sip": {"transport_list": ["udp", "tcp"], **{k: v for k, v in sip.items()}},
        }
    }


@pytest.fixture
def application() -> Iterator[SIPApplication]:
    app = SIPApplication()
    yield app
    app.stop()
    app.wait_stopped(10)
    if ConfigurationManager().running:
        ConfigurationManager().stop()


def start(app: SIPApplication, storage: object, recorder: NotificationRecorder) -> None:
    app.start(storage)
    recorder.wait_for(lambda n: n.name in ("SIPApplicationDidStart", "SIPApplicationDidEnd"), timeout=15)
    assert recorder.named("SIPApplicationDidStart"), recorder.names


def stop(app: SIPApplication, recorder: NotificationRecorder) -> float:
    began = time.monotonic()
    app.stop()
    recorder.wait_named("SIPApplicationDidEnd", timeout=15)
    return time.monotonic() - began


def test_start_and_stop_in_order_on_a_file_storage(application: SIPApplication, tmp_path: Path) -> None:
    config = tmp_path / "config" / "sipsimple.json"
    config.parent.mkdir()
    config.write_text(json.dumps(loopback_settings(udp_port=0, tcp_port=0)))
    recorder = observe(*LIFECYCLE, "SIPEngineDidStart", "SIPEngineDidEnd")
    assert application.state is None or application.state == "stopped"
    assert not application.running

    start(application, FileBackend(str(config)), recorder)
    assert application.running and application.state == "started"
    assert recorder.names == ["SIPApplicationWillStart", "SIPEngineDidStart", "SIPApplicationDidStart"]
    for notification in recorder.notifications:
        if notification.name.startswith("SIPApplication"):
            assert notification.data.timestamp is not None
    engine = Engine()
    assert engine.is_running and application.engine is engine
    assert engine.ip_address == "127.0.0.1"
    assert engine.local_udp_port and engine.local_tcp_port and engine.local_tls_port is None
    # The settings' codec list reached the Engine.
    assert engine.codecs == list(SIPSimpleSettings().rtp.audio_codec_list)
    # The mixers run without a sound card.
    assert isinstance(application.voice_audio_mixer, AudioMixer)
    assert isinstance(application.alert_audio_mixer, AudioMixer)
    # The Engine answers on the port it reports.
    result = run_sipp(request_scenario("OPTIONS", 200), f"127.0.0.1:{engine.local_udp_port}")
    assert result.returncode == 0, result.explain()

    elapsed = stop(application, recorder)
    assert recorder.names[3:] == ["SIPApplicationWillEnd", "SIPEngineDidEnd", "SIPApplicationDidEnd"]
    assert elapsed < 5
    assert not application.running and application.state == "stopped"
    assert not engine.is_running
    assert application.voice_audio_mixer is None and application.alert_audio_mixer is None
    assert not ConfigurationManager().running
    recorder.clear()

    # A stopped application starts again on the same storage.
    start(application, FileBackend(str(config)), recorder)
    assert Engine().is_running
    stop(application, recorder)


def test_subclasses_share_the_applications_state(application: SIPApplication) -> None:
    class ExampleApplication(SIPApplication):
        def __init__(self, greeting: str) -> None:
            SIPApplication.__init__(self)
            self.greeting = greeting

    example = ExampleApplication("hello")
    assert example is not application and example.greeting == "hello"
    recorder = observe(*LIFECYCLE)
    start(example, MemoryBackend(loopback_settings()), recorder)
    assert application.running and application.state == "started"
    assert application.engine is example.engine is Engine()
    assert recorder.named("SIPApplicationDidStart")[0].sender is example
    # The library's view (SIPApplication()) can stop the subclass's application.
    stop(application, recorder)
    assert not example.running


def test_a_corrupt_configuration_raises_and_the_application_can_start_again(
    application: SIPApplication, tmp_path: Path
) -> None:
    config = tmp_path / "sipsimple.json"
    config.write_text("{ not json")
    recorder = observe(*LIFECYCLE)
    with pytest.raises(ConfigurationBackendError):
        application.start(FileBackend(str(config)))
    assert not application.running
    assert recorder.names == []
    assert not Engine().is_running
    config.write_text(json.dumps(loopback_settings()))
    start(application, FileBackend(str(config)), recorder)
    assert Engine().is_running


def test_start_twice_is_refused_and_stop_when_stopped_does_nothing(application: SIPApplication) -> None:
    application.stop()  # nothing to stop
    recorder = observe(*LIFECYCLE)
    start(application, MemoryBackend(loopback_settings()), recorder)
    with pytest.raises(SIPApplicationError):
        application.start(MemoryBackend(loopback_settings()))
    stop(application, recorder)
    application.stop()
    time.sleep(0.2)
    assert recorder.names.count("SIPApplicationDidEnd") == 1


def test_an_engine_that_cannot_start_is_fatal(application: SIPApplication) -> None:
    blocker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    blocker.bind(("127.0.0.1", 0))
    try:
        port = blocker.getsockname()[1]
        recorder = observe(*LIFECYCLE, "SIPApplicationDidFail")
        application.start(MemoryBackend(loopback_settings(udp_port=port)))
        recorder.wait_named("SIPApplicationDidEnd", timeout=15)
    finally:
        blocker.close()
    assert recorder.names == [
        "SIPApplicationWillStart",
        "SIPApplicationDidFail",
        "SIPApplicationWillEnd",
        "SIPApplicationDidEnd",
    ]
    assert recorder.named("SIPApplicationDidFail")[0].data.error is not None
    assert not application.running and not Engine().is_running


def test_tls_that_cannot_start_is_reported_and_the_engine_runs_without_it(
    application: SIPApplication, tmp_path: Path
) -> None:
    bogus = tmp_path / "not-a-certificate.pem"
    bogus.write_text("this is not PEM\n")
    tree = loopback_settings()
    tree["SIPSimpleSettings"]["sip"]["transport_list"] = ["udp", "tls"]  # type: ignore[index]
    tree["SIPSimpleSettings"]["tls"] = {"certificate": str(bogus)}  # type: ignore[index]
    recorder = observe(*LIFECYCLE, "SIPApplicationFailedToStartTLS")
    start(application, MemoryBackend(tree), recorder)
    failed = recorder.named("SIPApplicationFailedToStartTLS")
    assert len(failed) == 1 and failed[0].data.error is not None and failed[0].data.timestamp is not None
    engine = Engine()
    assert engine.is_running and engine.local_udp_port and engine.local_tls_port is None


def test_settings_changed_at_run_time_reach_the_engine(application: SIPApplication, tls_files) -> None:
    recorder = observe(*LIFECYCLE, "SIPEngineTransportsDidChange")
    start(application, MemoryBackend(loopback_settings()), recorder)
    engine = Engine()
    settings = SIPSimpleSettings()
    old_port = engine.local_udp_port

    # A new UDP port: the Engine listens there now, and no longer on the old one.
    new_port = free_port()
    settings.sip.udp_port = new_port
    settings.save()
    assert engine.local_udp_port == new_port
    assert run_sipp(request_scenario("OPTIONS", 200), f"127.0.0.1:{new_port}").returncode == 0
    assert run_sipp(request_scenario("OPTIONS", 200), f"127.0.0.1:{old_port}", timeout=2).returncode != 0
    changed = recorder.wait_named("SIPEngineTransportsDidChange")
    assert ("udp", "127.0.0.1", new_port) in changed.data.transports

    # Transports come and go with the transport list.
    settings.sip.transport_list = ["udp"]
    settings.save()
    assert engine.local_tcp_port is None
    tls_certificate = tls_files.cert_file.parent / "both.pem"
    tls_certificate.write_text(tls_files.cert_file.read_text() + tls_files.key_file.read_text())
    settings.tls.certificate = str(tls_certificate)
    settings.sip.transport_list = ["udp", "tcp", "tls"]
    settings.save()
    assert engine.local_tcp_port and engine.local_tls_port

    # Codecs, RTP ports, user agent and traces.
    settings.rtp.audio_codec_list = ["PCMA", "PCMU"]
    settings.rtp.port_range = (40000, 40100)
    settings.user_agent = "changed-at-run-time/1.0"
    settings.logs.trace_sip = True
    settings.save()
    assert engine.codecs == ["PCMA", "PCMU"]
    assert engine.rtp_port_range == (40000, 40100)
    assert engine.user_agent == "changed-at-run-time/1.0"
    assert engine.trace_sip is True
    result = run_sipp(request_scenario("OPTIONS", 200), f"127.0.0.1:{new_port}")
    assert "changed-at-run-time/1.0" in result.messages

    # None of this restarted the Engine.
    assert recorder.names.count("SIPApplicationDidStart") == 1


def test_a_setting_the_engine_refuses_is_reported_not_raised_into_save(application: SIPApplication) -> None:
    recorder = observe(*LIFECYCLE, "SIPApplicationFailedToApplySettings")
    start(application, MemoryBackend(loopback_settings()), recorder)
    blocker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    blocker.bind(("127.0.0.1", 0))
    try:
        settings = SIPSimpleSettings()
        port = Engine().local_udp_port
        settings.sip.udp_port = blocker.getsockname()[1]
        settings.save()  # does not raise: the settings are stored, the Engine could not follow
        failure = recorder.wait_named("SIPApplicationFailedToApplySettings")
        assert failure.data.modified == ["sip.udp_port"]
        assert Engine().is_running and Engine().local_udp_port == port
    finally:
        blocker.close()


def test_changing_local_ip_restarts_the_engine_on_the_new_address(application: SIPApplication) -> None:
    recorder = observe(*LIFECYCLE, "SIPEngineDidStart", "SIPEngineDidEnd")
    start(application, MemoryBackend(loopback_settings()), recorder)
    settings = SIPSimpleSettings()
    settings.local_ip = "127.0.0.2"
    settings.save()
    recorder.wait_for(lambda n: n.name == "SIPEngineDidStart" and recorder.names.count(n.name) == 2, 15)
    engine = Engine()
    assert engine.is_running and engine.ip_address == "127.0.0.2"
    assert run_sipp(request_scenario("OPTIONS", 200), f"127.0.0.2:{engine.local_udp_port}").returncode == 0
    assert recorder.names.count("SIPEngineDidStart") == 2
    assert application.state == "started"


def test_the_audio_bridges_carry_audio_and_survive_a_device_change(application: SIPApplication, tmp_path: Path) -> None:
    from devkit.audio import dominant_frequency, read_wav, sound_segments, tone, write_wav
    from sipsimple.audio import AudioBridge, AudioDevice, WavePlayer, WaveRecorder

    recorder = observe(*LIFECYCLE, "SIPApplicationDidChangeAudioDevices", "WavePlayerDidEnd")
    start(application, MemoryBackend(loopback_settings()), recorder)
    for kind in ("voice", "alert"):
        mixer = getattr(application, f"{kind}_audio_mixer")
        device, bridge = getattr(application, f"{kind}_audio_device"), getattr(application, f"{kind}_audio_bridge")
        assert isinstance(device, AudioDevice) and isinstance(bridge, AudioBridge)
        assert device.mixer is mixer and bridge.mixer is mixer and device in bridge
    mixer = application.voice_audio_mixer
    assert mixer is not None and mixer.sample_rate == 48000

    def play_through_the_voice_bridge(name: str) -> None:
        # A player and a recorder in the application's bridge hear each other.
        bridge = application.voice_audio_bridge
        assert bridge is not None and bridge.mixer is application.voice_audio_mixer
        path = tmp_path / f"{name}.wav"
        write_wav(path, tone(800, 0.4, 16000, 8000), 16000)
        player = WavePlayer(bridge.mixer, str(path))
        wave_recorder = WaveRecorder(bridge.mixer, str(tmp_path / f"{name}-heard.wav"))
        bridge.add(player)
        bridge.add(wave_recorder)
        wave_recorder.start()
        recorder.clear()
        player.start()
        recorder.wait_for(lambda n: n.name == "WavePlayerDidEnd" and n.sender is player, timeout=15)
        wave_recorder.stop()
        samples, rate = read_wav(tmp_path / f"{name}-heard.wav")
        ((begin, end),) = sound_segments(samples, rate, threshold_dbfs=-40, min_gap_ms=100)
        assert abs(dominant_frequency(samples[begin:end], rate) - 800) <= 10

    play_through_the_voice_bridge("first")
    # A device setting: the same mixer and bridge switch devices (none here).
    bridge = application.voice_audio_bridge
    settings = SIPSimpleSettings()
    settings.audio.output_device = None
    settings.save()
    recorder.wait_named("SIPApplicationDidChangeAudioDevices")
    assert application.voice_audio_mixer is mixer and application.voice_audio_bridge is bridge
    play_through_the_voice_bridge("after-device-change")
    # Another sample rate: new mixers, each with its device in a new bridge.
    recorder.clear()
    settings.audio.sample_rate = 16000
    settings.save()
    recorder.wait_named("SIPApplicationDidChangeAudioDevices")
    assert application.voice_audio_mixer is not mixer and application.voice_audio_mixer.sample_rate == 16000
    assert application.voice_audio_device in application.voice_audio_bridge
    assert application.voice_audio_bridge.mixer is application.voice_audio_mixer
    assert mixer.state == "closed"
    play_through_the_voice_bridge("after-rate-change")
    stop(application, recorder)
    assert application.voice_audio_bridge is None and application.voice_audio_device is None
    assert application.alert_audio_bridge is None and application.alert_audio_device is None
