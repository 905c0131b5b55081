"""Audio calls between two Engines (this process and tests/peers/sipsimple_agent.py):
Invitation for the offer/answer, RTPTransport + AudioTransport for the media.

What is checked on the wire: the negotiated codec and SRTP suite, RTP both
ways, DTMF (RFC 4733) in order, hold and unhold by re-INVITE stopping and
restarting the audio, RTCP statistics (RTT). The audio itself: a 1 kHz tone
played into our stream, recorded by the peer and analysed (dominant frequency
and level, devkit/audio.py) for every codec, SRTP off and on, ICE off
and on; through a TURN relay; tone, silence, tone across hold and unhold;
SIPp's RTP reaching our recording; DTMF from SIPp (RFC 4733 from pcaps) reaching us.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devkit.audio import dominant_frequency, read_wav, rms_dbfs, sound_segments, tone_bursts, write_wav
from sipsimple.core import SIPURI, Engine, SDPConnection, SDPSession
from sipsimple.core._core import AudioMixer, AudioTransport, RTPTransport, WaveFile
from sipsimple.notification import NotificationCenter
from tests.peers.sipsimple_agent import SipsimpleAgent
from tests.support.media_calls import AudioCall
from tests.support.notifications import observe

pytestmark = pytest.mark.timeout(120)

CODECS = [
    ("opus", "opus", 48000),
    ("G722", "G722", 16000),
    ("speex/8000", "speex", 8000),
    ("speex/16000", "speex", 16000),
    ("speex/32000", "speex", 32000),
    ("GSM", "GSM", 8000),
    ("PCMU", "PCMU", 8000),
    ("PCMA", "PCMA", 8000),
]
SRTP = [None, "AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32"]


@pytest.fixture(scope="module")
def agent() -> Iterator[SipsimpleAgent]:
    peer = SipsimpleAgent()
    yield peer
    peer.close()


@pytest.fixture
def mixer(engine: Engine) -> AudioMixer:
    return AudioMixer(None, None, 32000, 0)


def wait_until(predicate, timeout: float = 10.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def agent_stats(agent: SipsimpleAgent) -> dict:
    agent.command("audio_stats")
    return agent.wait_for("audio_stats")["statistics"]


def call_agent(
    engine: Engine,
    agent: SipsimpleAgent,
    mixer: AudioMixer,
    *,
    codec: str | None = None,
    srtp_suite: str | None = None,
    use_ice: bool = False,
) -> AudioCall:
    encryption = "sdes_mandatory" if srtp_suite else None
    suites = [srtp_suite] if srtp_suite else None
    codecs = [codec] if codec else None
    agent.command("audio_answer", encryption=encryption, srtp_suites=suites, use_ice=use_ice, codecs=codecs)
    call = AudioCall(mixer, encryption=encryption, srtp_suites=suites, use_ice=use_ice, codecs=codecs)
    offer = call.offer()
    call.place(engine, SIPURI(user="bob", host="127.0.0.1", port=agent.udp_port), offer)
    assert call.started.wait(10), "our stream did not start"
    return call


def hang_up(call: AudioCall, agent: SipsimpleAgent) -> None:
    call.invitation.end()
    agent.wait_for("call", where=lambda event: event["state"] == "disconnected")
    wait_until(lambda: call.audio.state == "STOPPED", what="our stream to stop")


@pytest.mark.parametrize("srtp_suite", SRTP, ids=lambda value: value or "rtp")
@pytest.mark.parametrize(("codec", "name", "rate"), CODECS, ids=[entry[0] for entry in CODECS])
def test_audio_call(
    engine: Engine, agent: SipsimpleAgent, mixer: AudioMixer, codec: str, name: str, rate: int, srtp_suite: str | None
) -> None:
    call = call_agent(engine, agent, mixer, codec=codec, srtp_suite=srtp_suite)
    started = agent.wait_for("audio_started")
    assert (call.audio.codec, call.audio.sample_rate) == (name, rate)
    assert (started["codec"], started["sample_rate"]) == (name, rate)
    assert call.transport.srtp_active is bool(srtp_suite)
    assert call.transport.srtp_cipher == srtp_suite
    assert started["srtp_cipher"] == srtp_suite
    assert call.transport.remote_rtp_address == "127.0.0.1"
    assert call.audio.slot is not None
    # RTP both ways (the mixer clocks both streams even with nothing connected).
    wait_until(lambda: call.audio.statistics["rx"]["packets"] >= 10, what="RTP from the peer")
    wait_until(lambda: agent_stats(agent)["rx"]["packets"] >= 10, what="RTP at the peer")
    # DTMF, in order.
    for digit in "1#9":
        call.audio.send_dtmf(digit)
    assert [agent.wait_for("dtmf")["digit"] for _ in range(3)] == ["1", "#", "9"]
    hang_up(call, agent)
    assert call.transport.state == "INVALID"


def test_dtmf_from_the_peer(engine: Engine, agent: SipsimpleAgent, mixer: AudioMixer) -> None:
    call = call_agent(engine, agent, mixer, codec="opus")
    agent.wait_for("audio_started")
    agent.command("audio_dtmf", digits="0123456789*#ABCD")
    wait_until(lambda: len(call.digits) == 16, what="16 digits")
    assert "".join(call.digits) == "0123456789*#ABCD"
    hang_up(call, agent)


def reinvite(call: AudioCall, agent: SipsimpleAgent, direction: str) -> None:
    """Our re-INVITE offering `direction`; returns once both streams follow it."""
    count = len(call.directions)
    sdp = SDPSession.new(call.invitation.local_sdp)
    sdp.version += 1
    sdp.media[0].direction = direction
    call.invitation.send_reinvite(sdp=sdp)
    wait_until(lambda: len(call.directions) > count, what=f"the answer to {direction}")
    agent.wait_for("audio_direction", where=lambda event: event["direction"] == MIRROR[direction])


def test_hold_and_unhold(engine: Engine, agent: SipsimpleAgent, mixer: AudioMixer) -> None:
    """Our re-INVITE sendonly: the peer stops sending (its answer is recvonly); sendrecv brings it back."""
    call = call_agent(engine, agent, mixer, codec="PCMU")
    agent.wait_for("audio_started")
    wait_until(lambda: call.audio.statistics["rx"]["packets"] >= 10, what="RTP from the peer")

    reinvite(call, agent, "sendonly")
    assert call.audio.direction == "sendonly"
    held_at = call.audio.statistics["rx"]["packets"]
    peer_rx = agent_stats(agent)["rx"]["packets"]
    # While the peer goes on receiving 50 more of our packets (one second of
    # audio), it sends us nothing (a packet or two in flight at most).
    wait_until(lambda: agent_stats(agent)["rx"]["packets"] >= peer_rx + 50, what="the peer to receive our audio")
    assert call.audio.statistics["rx"]["packets"] - held_at <= 2

    reinvite(call, agent, "sendrecv")
    assert call.audio.direction == "sendrecv"
    resumed_at = call.audio.statistics["rx"]["packets"]
    wait_until(lambda: call.audio.statistics["rx"]["packets"] >= resumed_at + 25, what="the peer's audio again")
    hang_up(call, agent)


MIRROR = {"sendonly": "recvonly", "recvonly": "sendonly", "inactive": "inactive", "sendrecv": "sendrecv"}


def test_rtcp_statistics(engine: Engine, agent: SipsimpleAgent, mixer: AudioMixer) -> None:
    call = call_agent(engine, agent, mixer, codec="G722")
    agent.wait_for("audio_started")
    # The first RTCP report goes out about 5 s into the call (PJMEDIA_RTCP_INTERVAL).
    statistics = wait_until(
        lambda: (s := call.audio.statistics)["rtt"]["count"] > 0 and s, timeout=20, what="an RTT from RTCP"
    )
    assert statistics["rx"]["packets"] > 0 and statistics["rx"]["bytes"] > 0
    assert statistics["tx"]["packets"] > 0 and statistics["tx"]["bytes"] > 0
    assert statistics["rtt"]["last"] >= 0 and statistics["rx"]["packets_lost"] == 0
    hang_up(call, agent)


def test_no_rtp_is_reported(engine: Engine, mixer: AudioMixer) -> None:
    """A stream whose peer never sends: RTPAudioTransportDidNotGetRTP after `timeout` seconds."""
    recorder = observe("RTPAudioTransportDidNotGetRTP", "RTPTransportDidInitialize")
    ours, silent = RTPTransport(), RTPTransport()
    ours.set_INIT()
    silent.set_INIT()
    audio = AudioTransport(mixer, ours, codecs=["PCMU"])
    local = SDPSession("127.0.0.1", connection=SDPConnection("127.0.0.1"), media=[audio.get_local_media()])
    remote = SDPSession.new(local)
    remote.media[0].port = silent.local_rtp_port
    audio.start(local, remote, 0, timeout=1)
    notification = recorder.wait_for(lambda n: n.name == "RTPAudioTransportDidNotGetRTP" and n.sender is audio)
    assert notification.data.got_any is False
    audio.stop()
    silent.close()
    assert (ours.state, silent.state, audio.state) == ("INVALID", "INVALID", "STOPPED")


def test_rtp_ports_from_the_range(engine: Engine) -> None:
    engine.rtp_port_range = (43000, 43004)
    first, second, third = RTPTransport(), RTPTransport(), RTPTransport()
    first.set_INIT()
    second.set_INIT()
    assert sorted([first.local_rtp_port, second.local_rtp_port]) == [43000, 43002]
    with pytest.raises(Exception, match="No free RTP/RTCP port pair"):
        third.set_INIT()
    first.close()
    third = RTPTransport()
    third.set_INIT()
    assert third.local_rtp_port == 43000
    second.close()
    third.close()
    engine.rtp_port_range = (50000, 50500)


@pytest.mark.parametrize("srtp_suite", [None, "AES_CM_128_HMAC_SHA1_80"], ids=["rtp", "srtp"])
def test_audio_call_with_ice(engine: Engine, agent: SipsimpleAgent, mixer: AudioMixer, srtp_suite: str | None) -> None:
    """ICE with host candidates on both sides: the check list completes and RTP flows on the pair it chose."""
    ice_results: list = []

    class ICEObserver:
        def handle_notification(self, notification) -> None:
            ice_results.append(notification)

    observer = ICEObserver()
    center = NotificationCenter()
    center.add_observer(observer, name="RTPTransportICENegotiationDidSucceed")
    center.add_observer(observer, name="RTPTransportICENegotiationDidFail")
    call = call_agent(engine, agent, mixer, codec="PCMU", srtp_suite=srtp_suite, use_ice=True)
    # Candidates on loopback only: the tests send nothing anywhere else.
    candidates = [a.value.split() for a in call.invitation.local_sdp.media[0].attributes if a.name == "candidate"]
    assert candidates and all(c[4] == "127.0.0.1" for c in candidates), candidates
    started = agent.wait_for("audio_started")
    assert started["ice_active"] or agent.wait_for("ice")["succeeded"]
    wait_until(lambda: any(n.sender is call.transport for n in ice_results), what="ICE to end")
    ours = next(n for n in ice_results if n.sender is call.transport)
    assert ours.name == "RTPTransportICENegotiationDidSucceed", ours.data
    assert ours.data.chosen_local_candidate.type == "host" and ours.data.chosen_remote_candidate.type == "host"
    assert call.transport.ice_active
    wait_until(lambda: call.audio.statistics["rx"]["packets"] >= 10, what="RTP from the peer")
    wait_until(lambda: agent_stats(agent)["rx"]["packets"] >= 10, what="RTP at the peer")
    assert call.transport.srtp_active is bool(srtp_suite)
    hang_up(call, agent)


# --- audio that really flows: a tone across the call, analysed in the peer's recording ------------


@pytest.fixture(scope="module")
def tone_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tone") / "tone-1000.wav"
    write_wav(path, tone_bursts(1000, 3.0, 32000, amplitude=8000), 32000)
    return path


# The level of one second of the played bursts (a whole number of 250 ms
# periods, so any one-second window of the recording has it): -16.2 dBFS.
BURSTS_LEVEL_DBFS = rms_dbfs(tone_bursts(1000, 1.0, 32000, amplitude=8000))


def record_at_peer(agent: SipsimpleAgent, path: Path, seconds: float) -> tuple:
    agent.command("audio_record", path=str(path))
    agent.wait_for("audio_recording")
    time.sleep(seconds)
    agent.command("audio_record_stop", path=str(path))
    agent.wait_for("audio_recorded")
    return read_wav(path)


def play_into(mixer: AudioMixer, call: AudioCall, tone_file: Path) -> WaveFile:
    player = WaveFile(mixer, str(tone_file))
    player.start(loop=True)
    mixer.connect_slots(player.slot, call.audio.slot)
    return player


def assert_tone(
    samples, rate: int, frequency: float = 1000, level_dbfs: float = BURSTS_LEVEL_DBFS, tolerance_db: float = 4
) -> None:
    # Skip the first 300 ms (jitter buffer filling), analyse the next second.
    steady = samples[int(rate * 0.3) : int(rate * 1.3)]
    assert abs(dominant_frequency(steady, rate) - frequency) <= 10
    assert abs(rms_dbfs(steady) - level_dbfs) <= tolerance_db, rms_dbfs(steady)


def wait_for_silence_at_peer(agent: SipsimpleAgent, packets: int = 25) -> None:
    """Half a second of our silence decoded by the peer before the tone starts.

    The first packets of a call can be lost (the peer's stream is not yet
    there); a predictive codec's decoder that misses the start of what its
    encoder saw is out of step with it, and speex, out of step on a steady
    tone, drifts ~10-13 dB too loud and stays there (docs/api/media.md).
    Silence on both sides brings them back in step; the gaps between the
    tone's bursts do the same for a frame lost later in the call.
    """
    wait_until(lambda: agent_stats(agent)["rx"]["packets"] >= packets, what="our silence at the peer")


# Every codec, with SRTP off and on, with ICE off and on (host candidates):
# AES_CM_128_HMAC_SHA1_80 without ICE, AES_CM_128_HMAC_SHA1_32 with it.
TONE_MATRIX = [(codec, srtp, ice) for codec in CODECS for ice in (False, True) for srtp in (False, True)]


@pytest.mark.parametrize(
    ("codec", "srtp", "ice"),
    TONE_MATRIX,
    ids=[f"{c[0]}-{'srtp' if s else 'rtp'}-{'ice' if i else 'noice'}" for c, s, i in TONE_MATRIX],
)
def test_tone_across_the_call(
    engine: Engine,
    agent: SipsimpleAgent,
    mixer: AudioMixer,
    tone_file: Path,
    tmp_path: Path,
    codec: tuple,
    srtp: bool,
    ice: bool,
) -> None:
    """A 1 kHz tone played into our stream is what the peer records: frequency and level, every codec."""
    codec_name, name, rate = codec
    srtp_suite = ("AES_CM_128_HMAC_SHA1_32" if ice else "AES_CM_128_HMAC_SHA1_80") if srtp else None
    call = call_agent(engine, agent, mixer, codec=codec_name, srtp_suite=srtp_suite, use_ice=ice)
    started = agent.wait_for("audio_started")
    assert (call.audio.codec, call.audio.sample_rate) == (name, rate)
    assert started["srtp_cipher"] == srtp_suite and call.transport.srtp_cipher == srtp_suite
    if ice:
        wait_until(lambda: call.transport.ice_active, what="ICE to complete")
    else:
        assert not call.transport.ice_active
    wait_for_silence_at_peer(agent)
    player = play_into(mixer, call, tone_file)
    samples, recorded_rate = record_at_peer(agent, tmp_path / "received.wav", 1.6)
    player.stop()
    assert_tone(samples, recorded_rate)
    hang_up(call, agent)


def test_hold_silences_the_recording(
    engine: Engine, agent: SipsimpleAgent, mixer: AudioMixer, tone_file: Path, tmp_path: Path
) -> None:
    """Tone, then hold (inactive) by re-INVITE, then unhold: the peer's recording has tone, silence, tone."""
    call = call_agent(engine, agent, mixer, codec="PCMU")
    agent.wait_for("audio_started")
    player = play_into(mixer, call, tone_file)
    path = tmp_path / "received.wav"
    agent.command("audio_record", path=str(path))
    agent.wait_for("audio_recording")
    time.sleep(1.0)
    reinvite(call, agent, "inactive")
    time.sleep(1.2)
    reinvite(call, agent, "sendrecv")
    time.sleep(1.0)
    agent.command("audio_record_stop", path=str(path))
    agent.wait_for("audio_recorded")
    player.stop()
    samples, rate = read_wav(path)
    segments = sound_segments(samples, rate, threshold_dbfs=-40, min_gap_ms=200)
    assert len(segments) == 2, segments
    (_, first_end), (second_start, second_end) = segments
    assert (second_start - first_end) / rate >= 0.8  # the hold, silent
    resumed = samples[second_start + rate // 10 : second_end - rate // 20]
    assert abs(dominant_frequency(resumed, rate) - 1000) <= 10
    hang_up(call, agent)


def test_rtp_from_sipp_reaches_our_recording(engine: Engine, mixer: AudioMixer, tmp_path: Path) -> None:
    """SIPp answers and streams a mu-law 1 kHz tone (rtp_stream); our AudioTransport's slot, recorded, has it."""
    from devkit.g711 import tone_samples, write_pcmu_wav
    from devkit.sipp import SippServer
    from sipsimple.core._core import RecordingWaveFile
    from tests.support.scenarios import SCENARIOS

    played = write_pcmu_wav(tmp_path / "tone.pcmu.wav", tone_samples(1000, 1.0, level=0.5))
    sipp = SippServer(
        SCENARIOS / "calls" / "call_rtp_stream_uas.xml",
        timeout=20,
        files={"tone.pcmu.wav": played},
        extra=["-set", "play_ms", "2000"],
    )
    call = AudioCall(mixer, codecs=["PCMU"])
    recorder = RecordingWaveFile(mixer, str(tmp_path / "received.wav"))
    call.place(engine, SIPURI(user="bob", host=sipp.host, port=sipp.port))
    assert call.started.wait(10), "our stream did not start"
    recorder.start()
    mixer.connect_slots(call.audio.slot, recorder.slot)
    wait_until(lambda: call.audio.state == "STOPPED", what="SIPp's BYE", timeout=15)
    recorder.stop()
    run = sipp.finish()
    assert run.succeeded, run.explain()
    samples, rate = read_wav(tmp_path / "received.wav")
    steady = samples[int(rate * 0.5) : int(rate * 1.5)]
    assert abs(dominant_frequency(steady, rate) - 1000) <= 10
    assert abs(rms_dbfs(steady) - -9.0) <= 3  # a sine peaking at -6 dBFS: RMS -9 dBFS


# --- ICE through a TURN relay (coturn) ---------------------------------------------------


def test_media_through_the_turn_relay(
    engine: Engine, agent: SipsimpleAgent, mixer: AudioMixer, tone_file: Path, tmp_path: Path
) -> None:
    """Both sides offer only relayed candidates (coturn on loopback): ICE picks relay/relay; the tone gets through."""
    from tests.peers.coturn import Coturn, check_installation

    if check_installation() is not None:
        pytest.fail(check_installation())
    with Coturn(tmp_path / "coturn", users={"alice": "alice-secret", "bob": "bob-secret"}) as turn:

        def options(user: str) -> dict:
            return {
                "ice_turn_address": turn.host,
                "ice_turn_port": turn.port,
                "ice_turn_username": user,
                "ice_turn_password": f"{user}-secret",
                "ice_relay_only": True,
            }

        results: list = []

        class ICEObserver:
            def handle_notification(self, notification) -> None:
                results.append(notification)

        observer = ICEObserver()
        NotificationCenter().add_observer(observer, name="RTPTransportICENegotiationDidSucceed")
        NotificationCenter().add_observer(observer, name="RTPTransportICENegotiationDidFail")
        agent.command("audio_answer", use_ice=True, codecs=["PCMU"], transport_options=options("bob"))
        call = AudioCall(mixer, use_ice=True, codecs=["PCMU"], transport_options=options("alice"))
        offer = call.offer()
        candidates = [a.value.split() for a in offer.media[0].attributes if a.name == "candidate"]
        assert candidates and all(c[7] == "relay" and c[4] == "127.0.0.1" for c in candidates), candidates
        call.place(engine, SIPURI(user="bob", host="127.0.0.1", port=agent.udp_port), offer)
        assert call.started.wait(10), "our stream did not start"
        agent.wait_for("audio_started")
        wait_until(lambda: any(n.sender is call.transport for n in results), what="ICE to end")
        ours = next(n for n in results if n.sender is call.transport)
        assert ours.name == "RTPTransportICENegotiationDidSucceed", ours.data
        assert ours.data.chosen_local_candidate.type == "relay"
        assert ours.data.chosen_remote_candidate.type == "relay"
        # (The agent lives for the whole module: skip what earlier ICE calls reported.)
        peer_ice = agent.wait_for("ice", where=lambda event: event.get("local", [None])[0] == "relay")
        assert peer_ice["succeeded"] and peer_ice["remote"][0] == "relay"
        player = play_into(mixer, call, tone_file)
        samples, rate = record_at_peer(agent, tmp_path / "received.wav", 1.6)
        player.stop()
        assert_tone(samples, rate)
        hang_up(call, agent)
        assert turn.allocations_seen() >= 2


def test_dtmf_to_baresip(engine: Engine, mixer: AudioMixer, tmp_path: Path) -> None:
    """Digits we send (RFC 4733) arrive at baresip, in order, as its CALL_DTMF_START events."""
    from tests.peers.baresip import Baresip

    with Baresip(tmp_path / "baresip") as bob:
        call = AudioCall(mixer, codecs=["PCMU"])
        call.place(engine, SIPURI.parse(bob.uri))
        assert call.started.wait(10), "our stream did not start"
        assert bob.wait_established()
        for digit in "147#":
            call.audio.send_dtmf(digit)
            time.sleep(0.3)  # one at a time: each event ends before the next starts
        wait_until(
            lambda: len([e for e in bob.events if e.get("type") == "CALL_DTMF_START"]) >= 4,
            what="baresip to report the digits",
        )
        digits = [e.get("param") for e in bob.events if e.get("type") == "CALL_DTMF_START"]
        assert digits == ["1", "4", "7", "#"], digits
        call.invitation.end()
        assert bob.wait_closed() is not None


def test_dtmf_from_sipp(engine: Engine, mixer: AudioMixer) -> None:
    """SIPp calls us and plays RFC 4733 events (payload type 101, Debian's pcaps): RTPAudioStreamGotDTMF, in order."""
    from devkit.ports import free_port
    from devkit.sipp import run_sipp
    from tests.support.scenarios import SCENARIOS

    call = AudioCall(mixer, codecs=["PCMU"])
    answers: list = []
    negotiated: list = []

    class Answerer:
        def handle_notification(self, notification) -> None:
            data = notification.data
            if notification.name == "SIPInvitationGotSDPUpdate":
                negotiated.append(data.local_sdp)
            elif data.state == "incoming" and data.prev_state == "NULL":
                call.invitation = notification.sender
                answers.append(call.answer(notification.sender.proposed_remote_sdp))
                notification.sender.send_response(200, sdp=answers[0])

    answerer = Answerer()
    for name in ("SIPInvitationChangedState", "SIPInvitationGotSDPUpdate"):
        NotificationCenter().add_observer(answerer, name=name)
    try:
        result = run_sipp(
            SCENARIOS / "calls" / "call_dtmf_pcap_uac.xml",
            f"127.0.0.1:{engine.local_udp_port}",
            local_port=free_port(),
            timeout=20,
            extra=["-s", "bob", "-mp", str(free_port())],
        )
    finally:
        for name in ("SIPInvitationChangedState", "SIPInvitationGotSDPUpdate"):
            NotificationCenter().remove_observer(answerer, name=name)
    assert result.succeeded, result.stderr[-3000:] + result.log
    assert "DTMF-SENT 1479*#" in result.log
    # The negotiated answer numbers telephone-event as the offer did (101).
    assert negotiated and "a=rtpmap:101 telephone-event/8000" in str(negotiated[0]), negotiated
    wait_until(lambda: call.audio is not None and call.audio.state == "STOPPED", what="SIPp's BYE")
    assert "".join(call.digits) == "1479*#"
