"""A sipsimple media peer: the caller places calls carrying a looping tone, the callee answers them.

Every call has an RTPTransport (UDP, no SRTP, no ICE) and an AudioTransport offering PCMU
only, on an AudioMixer without sound devices (``AudioMixer(None, None, 16000, 0)``). The
caller connects one looping ``WaveFile`` to every call's mixer slot. The callee answers each
INVITE with 200 from an observer of ``SIPInvitationChangedState`` and starts the stream on
``SIPInvitationGotSDPUpdate``; nothing listens to the stream's slot, and the mixer's slot 0
(the sound devices', none here: silence) is connected to it, as the pjsua2 callee transmits
its null device's capture to each call (no silence detection on either: 50 packets/s).
See media_common.py for the commands.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any

from benchmarks.peers.media_common import (
    CHECK_SECONDS,
    CLOCK_RATE,
    HOST,
    check_paths,
    parse_media_args,
    print_checked,
    print_stats,
    sample,
)
from benchmarks.peers.protocol import announce_ready, report, stop_and_exit, wait_for_stop
from benchmarks.peers.sipsimple_stack import start_engine
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


class CallMedia:
    """One call's RTPTransport and AudioTransport; started on the first successful SDP update."""

    def __init__(self, mixer: AudioMixer) -> None:
        self.mixer = mixer
        self.transport = RTPTransport()
        self.ready = threading.Event()
        self.started = threading.Event()
        self.audio: AudioTransport | None = None
        self.invitation: Invitation | None = None
        NotificationCenter().add_observer(self, name="RTPTransportDidInitialize", sender=self.transport)
        self.transport.set_INIT()

    def handle_notification(self, notification: Any) -> None:
        self.ready.set()

    def local_sdp(self, remote_sdp: Any = None) -> SDPSession:
        # Without ICE set_INIT() reaches INIT at once (the notification comes later, on the
        # Engine's thread, which the callee's observer must not wait for).
        if self.transport.state != "INIT" and not self.ready.wait(10):
            raise RuntimeError("the RTP transport did not initialize")
        self.audio = AudioTransport(self.mixer, self.transport, remote_sdp=remote_sdp, codecs=["PCMU"])
        stream = self.audio.get_local_media(remote_sdp=remote_sdp)
        return SDPSession(HOST, connection=SDPConnection(HOST), media=[stream])


class Calls:
    """Observer of every Invitation's notifications; answers incoming ones when `answer` is set."""

    def __init__(self, mixer: AudioMixer, answer: bool) -> None:
        self.mixer = mixer
        self.answer = answer
        self.media: dict[int, CallMedia] = {}  # id(invitation) -> its media
        self.lock = threading.Lock()
        self.started = 0
        self.ended = 0
        self.errors: list[str] = []
        center = NotificationCenter()
        center.add_observer(self, name="SIPInvitationChangedState")
        center.add_observer(self, name="SIPInvitationGotSDPUpdate")

    def handle_notification(self, notification: Any) -> None:
        name, data, invitation = notification.name, notification.data, notification.sender
        try:
            if name == "SIPInvitationChangedState" and data.state == "incoming" and self.answer:
                media = CallMedia(self.mixer)
                media.invitation = invitation
                self.media[id(invitation)] = media
                invitation.send_response(200, sdp=media.local_sdp(remote_sdp=invitation.proposed_remote_sdp))
                return
            media = self.media.get(id(invitation))
            if media is None:
                return
            if name == "SIPInvitationGotSDPUpdate" and data.succeeded and not media.started.is_set():
                assert media.audio is not None
                media.audio.start(data.local_sdp, data.remote_sdp, 0)
                if self.answer:
                    # Slot 0, the sound devices' (none here: silence), into the call, as the
                    # pjsua2 callee transmits its null device's capture.
                    self.mixer.connect_slots(0, media.audio.slot)
                media.started.set()
                with self.lock:
                    self.started += 1
            elif name == "SIPInvitationChangedState" and data.state == "disconnected":
                with self.lock:
                    self.ended += 1
        except Exception as exc:  # counted and reported; the run goes on
            if len(self.errors) < 5:
                self.errors.append(f"{name}: {type(exc).__name__}: {exc}")

    def stats(self) -> None:
        rx_packets = rx_lost = tx_packets = 0
        for media in list(self.media.values()):
            statistics = media.audio.statistics if media.audio is not None and media.started.is_set() else None
            if not statistics:
                continue
            rx_packets += int(statistics["rx"]["packets"])
            rx_lost += int(statistics["rx"]["packets_lost"])
            tx_packets += int(statistics["tx"]["packets"])
        print_stats(self.started - self.ended, rx_packets, rx_lost, tx_packets, errors=self.errors)

    def check(self, k: int) -> None:
        """CHECK k: record k of the calls' incoming audio for CHECK_SECONDS (see media_common)."""
        running = [
            media
            for media in list(self.media.values())
            if media.audio is not None and media.started.is_set() and media.audio.state == "STARTED"
        ]
        chosen = sample(running, k)
        paths = check_paths(len(chosen))
        recorders = []
        for media, path in zip(chosen, paths, strict=True):
            assert media.audio is not None
            recorder = RecordingWaveFile(self.mixer, path)
            recorder.start()
            self.mixer.connect_slots(media.audio.slot, recorder.slot)
            recorders.append(recorder)
        time.sleep(CHECK_SECONDS)
        for recorder in recorders:
            recorder.stop()
        print_checked(paths)


def place_calls(calls: Calls, mixer: AudioMixer, player: WaveFile, engine: Engine, args: Any) -> None:
    started = time.monotonic()
    from_header = FromHeader(SIPURI(user="alice", host=HOST))
    to_header = ToHeader(SIPURI(user="bob", host=HOST, port=args.target_port))
    contact = ContactHeader(SIPURI(user="alice", host=HOST, port=engine.local_udp_port))
    placed: list[CallMedia] = []
    for _ in range(args.calls):
        media = CallMedia(mixer)
        media.invitation = Invitation()
        calls.media[id(media.invitation)] = media
        media.invitation.send_invite(from_header, to_header, None, contact, sdp=media.local_sdp(), timeout=10)
        placed.append(media)
    deadline = started + args.setup_timeout
    for media in placed:
        media.started.wait(max(0.0, deadline - time.monotonic()))
    up = [media for media in placed if media.started.is_set()]
    for media in up:
        assert media.audio is not None
        mixer.connect_slots(player.slot, media.audio.slot)
    print(f"UP {len(up)} {time.monotonic() - started:.3f}", flush=True)


def main() -> int:
    args = parse_media_args(__doc__ or "sipsimple media peer")
    engine = start_engine(rtp_port_range=(args.rtp_port, args.rtp_port + 4 * max(args.calls, 50) + 100))
    mixer = AudioMixer(None, None, CLOCK_RATE, 0, slot_count=max(254, args.calls + 16))
    calls = Calls(mixer, answer=args.role == "callee")
    player: WaveFile | None = None
    if args.role == "caller":
        player = WaveFile(mixer, args.wav)
        player.start(loop=True)

    def command(line: str) -> None:
        if line == "CALLS" and player is not None:
            place_calls(calls, mixer, player, engine, args)
        elif line == "STATS":
            calls.stats()
        elif line.startswith("CHECK "):
            calls.check(int(line.split()[1]))

    announce_ready(engine.local_udp_port)
    reason = wait_for_stop(args.max_seconds, command)
    report({"peer": "sipsimple", "role": args.role, "stop_reason": reason, "pid": os.getpid(), "errors": calls.errors})
    stop_and_exit(engine.stop, timeout=5)


if __name__ == "__main__":
    sys.exit(main())
