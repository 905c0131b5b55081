"""The main job: an audio call between two user agents on loopback, no server.

This process is the caller; it starts the callee as a second process (two
Engines: the Engine is one per process). The call uses SRTP (SDES, keys in
the SDP) and ICE (host candidates). The caller plays a WAV file with a
1 kHz tone into the call; the callee records what it receives, and the
recording is analysed: its dominant frequency and level must be the tone's.
Then the call's codec, SRTP suite, ICE candidates and RTP statistics are
printed, from both sides.

    python scripts/demo_call.py [--codec PCMU] [--seconds 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from devkit.audio import dominant_frequency, read_wav, rms_dbfs, tone, write_wav
from sipsimple.core import (
    SIPURI,
    AudioMixer,
    AudioTransport,
    ContactHeader,
    Engine,
    FromHeader,
    Invitation,
    RecordingWaveFile,
    RTPTransport,
    SDPConnection,
    SDPSession,
    ToHeader,
    WaveFile,
)
from sipsimple.notification import NotificationCenter

HOST = "127.0.0.1"
RATE = 32000
TONE_HZ = 1000
TONE_LEVEL = 8000  # peak, of 32767: -12.2 dBFS, so an RMS of -15.2 dBFS


class CallMedia:
    """One side's media: an SRTP+ICE RTPTransport and the AudioTransport on it, started on the first SDP update."""

    def __init__(self, mixer: AudioMixer, codec: str) -> None:
        self.srtp_cipher: str | None = None
        self.statistics: dict[str, Any] | None = None
        self.mixer = mixer
        self.codec = codec
        self.transport = RTPTransport(encryption="sdes_mandatory", use_ice=True)
        self.audio: AudioTransport | None = None
        self.invitation: Invitation | None = None
        self.ready = threading.Event()
        self.started = threading.Event()
        self.ended = threading.Event()
        self.ice: dict[str, Any] = {}
        center = NotificationCenter()
        center.add_observer(self, name="RTPTransportDidInitialize", sender=self.transport)
        center.add_observer(self, name="RTPTransportICENegotiationDidSucceed", sender=self.transport)
        center.add_observer(self, name="SIPInvitationGotSDPUpdate")
        center.add_observer(self, name="SIPInvitationChangedState")
        self.transport.set_INIT()

    def local_sdp(self, remote_sdp: Any = None) -> SDPSession:
        if not self.ready.wait(10):
            raise RuntimeError("the RTP transport did not initialize")
        self.audio = AudioTransport(self.mixer, self.transport, remote_sdp=remote_sdp, codecs=[self.codec])
        stream = self.audio.get_local_media(remote_sdp=remote_sdp)
        return SDPSession(HOST, connection=SDPConnection(HOST), media=[stream])

    def handle_notification(self, notification: Any) -> None:
        name, data = notification.name, notification.data
        if name == "RTPTransportDidInitialize":
            self.ready.set()
        elif name == "RTPTransportICENegotiationDidSucceed":
            self.ice = {"local": tuple(data.chosen_local_candidate), "remote": tuple(data.chosen_remote_candidate)}
        elif notification.sender is not self.invitation or self.invitation is None:
            return
        elif name == "SIPInvitationGotSDPUpdate" and data.succeeded and not self.started.is_set():
            self.audio.start(data.local_sdp, data.remote_sdp, 0)
            self.srtp_cipher = self.transport.srtp_cipher
            self.started.set()
        elif name == "SIPInvitationChangedState" and data.state == "disconnected":
            if self.audio is not None and self.audio.state != "STOPPED":
                self.statistics = self.audio.statistics
                self.audio.stop()
            self.ended.set()

    def report(self) -> dict[str, Any]:
        """What the call was, for printing: taken before stop() (it closes the transport)."""
        statistics = self.statistics or (self.audio.statistics if self.audio else None) or {}
        received = statistics.get("rx", {})
        return {
            "codec": f"{self.audio.codec}/{self.audio.sample_rate}",
            "srtp": self.srtp_cipher,
            "ice": {side: list(candidate) for side, candidate in self.ice.items()},
            "rtp_sent": statistics.get("tx", {}).get("packets"),
            "rtp_received": received.get("packets"),
            "lost": received.get("packets_lost"),
            "jitter_us": received.get("jitter", {}).get("avg"),
        }


def start_engine(rtp_port_range: tuple[int, int]) -> Engine:
    # Each side its own RTP ports, so that the two processes never race for one.
    engine = Engine()
    engine.start(ip_address=HOST, udp_port=0, rtp_port_range=rtp_port_range)
    return engine


def callee(codec: str, recording: Path) -> None:
    """Answer one call, record it, print what it got as one JSON line, exit."""
    engine = start_engine((52000, 52998))
    mixer = AudioMixer(None, None, RATE, 0)
    media = CallMedia(mixer, codec)
    recorder = RecordingWaveFile(mixer, str(recording))

    class Answerer:
        def handle_notification(self, notification: Any) -> None:
            invitation = notification.sender
            if notification.data.state == "incoming" and media.invitation is None:
                media.invitation = invitation
                invitation.send_response(200, sdp=media.local_sdp(remote_sdp=invitation.proposed_remote_sdp))

    answerer = Answerer()
    NotificationCenter().add_observer(answerer, name="SIPInvitationChangedState")
    print(json.dumps({"ready": engine.local_udp_port}), flush=True)
    media.started.wait(30)
    recorder.start()
    mixer.connect_slots(media.audio.slot, recorder.slot)
    media.ended.wait(60)
    recorder.stop()
    print(json.dumps({"callee": media.report()}), flush=True)
    engine.stop()


def caller(codec: str, seconds: float) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="sipsimple-demo-"))
    played, recording = workdir / "tone.wav", workdir / "received.wav"
    write_wav(played, tone(TONE_HZ, seconds + 1, RATE, amplitude=TONE_LEVEL), RATE)
    peer = subprocess.Popen(
        [sys.executable, __file__, "--callee", "--codec", codec, "--record", str(recording)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        callee_port = json.loads(peer.stdout.readline())["ready"]
        engine = start_engine((51000, 51998))
        mixer = AudioMixer(None, None, RATE, 0)
        media = CallMedia(mixer, codec)
        media.invitation = Invitation()
        media.invitation.send_invite(
            FromHeader(SIPURI(user="alice", host=HOST)),
            ToHeader(SIPURI(user="bob", host=HOST, port=callee_port)),
            None,
            ContactHeader(SIPURI(user="alice", host=HOST, port=engine.local_udp_port)),
            sdp=media.local_sdp(),
            timeout=10,
        )
        if not media.started.wait(15):
            raise RuntimeError("the call did not start")
        print(f"call up: {HOST} -> {HOST}:{callee_port}, playing {TONE_HZ} Hz for {seconds} s", flush=True)
        player = WaveFile(mixer, str(played))
        player.start()
        mixer.connect_slots(player.slot, media.audio.slot)
        threading.Event().wait(seconds)
        media.invitation.end()
        media.ended.wait(10)
        ours = media.report()
        theirs = json.loads(peer.stdout.readline())["callee"]
        peer.wait(15)
        engine.stop()
    finally:
        if peer.poll() is None:
            peer.kill()
    samples, rate = read_wav(recording)
    steady = samples[int(rate * 0.5) : int(rate * (seconds - 0.2))]
    frequency, level = dominant_frequency(steady, rate), rms_dbfs(steady)
    for side, report in (("caller", ours), ("callee", theirs)):
        ice = report["ice"]
        pair = " <-> ".join("{} {}:{}".format(*ice[end]) for end in ("local", "remote")) if ice else "off"
        print(
            f"{side}: codec {report['codec']}, SRTP {report['srtp']}, ICE {pair}; RTP packets sent "
            f"{report['rtp_sent']}, received {report['rtp_received']}, lost {report['lost']}, "
            f"jitter {report['jitter_us']} us"
        )
    print(
        f"callee's recording ({recording}): dominant frequency {frequency:.0f} Hz, level {level:.1f} dBFS "
        f"(sent: {TONE_HZ} Hz at {-15.2:.1f} dBFS)"
    )
    good = abs(frequency - TONE_HZ) <= 10 and abs(level - -15.2) <= 4
    print("audio verified" if good else "AUDIO DOES NOT MATCH", flush=True)
    return 0 if good else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--codec", default="PCMU", help="opus, G722, speex, GSM, PCMU or PCMA (default PCMU)")
    parser.add_argument("--seconds", type=float, default=3.0, help="how long the tone plays")
    parser.add_argument("--callee", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--record", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.callee:
        callee(args.codec, args.record)
        return 0
    return caller(args.codec, args.seconds)


if __name__ == "__main__":
    sys.exit(main())
