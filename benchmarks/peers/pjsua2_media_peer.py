"""A pjsua2 media peer: the caller places calls carrying a looping tone, the callee answers them.

One Endpoint per process with the null audio device (the conference bridge, at 16 kHz as on
the sipsimple side, is clocked by it), ``uaConfig.threadCnt = 1`` and ``medConfig.threadCnt
= 0`` as in the other pjsua2 peers (RTP is polled from the same ioqueue as SIP),
``medConfig.noVad = True`` (sipsimple's AudioTransport has silence detection off), PCMU the
only codec enabled, UDP, no SRTP, no ICE. The caller makes ``--calls`` calls with
``Call.makeCall`` and, from ``onCallMediaState``, transmits one ``AudioMediaPlayer`` (looping
the tone WAV) to each call's audio media; the callee answers each call with 200 from
``Account.onIncomingCall`` and transmits its audio to nothing; it transmits the null
device's capture (silence) to each call, since a pjsua call port that nothing transmits to
sends about one RTP packet a second where sipsimple's stream sends silence at 50 a second. Stream counters come from
``Call.getStreamStat(index).rtcp`` (``rxStat.pkt``, ``rxStat.loss``, ``txStat.pkt``).
See media_common.py for the commands.
"""

from __future__ import annotations

import os
import sys
import threading
import time

import pjsua2 as pj

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
from benchmarks.peers.pjsua2_stack import endpoint_config, exit_without_teardown, start_endpoint
from benchmarks.peers.protocol import announce_ready, report, wait_for_stop

MAX_CALLS = 1024  # pjsua clamps it to PJSUA_MAX_CALLS (512 in deps/pjsip/build_pjsua2.sh's build)


class MediaCall(pj.Call):
    def __init__(self, account: MediaAccount, call_id: int = pj.PJSUA_INVALID_ID) -> None:
        super().__init__(account, call_id)
        self.account = account
        self.audio_index: int | None = None
        self.started = threading.Event()
        self.disconnected = False

    def onCallMediaState(self, prm: pj.OnCallMediaStateParam) -> None:
        try:
            if self.started.is_set():
                return
            info = self.getInfo()
            for index, media in enumerate(info.media):
                if media.type == pj.PJMEDIA_TYPE_AUDIO and media.status == pj.PJSUA_CALL_MEDIA_ACTIVE:
                    self.audio_index = index
                    # The caller transmits the tone; the callee the null device's capture
                    # (silence): a call port that nothing transmits to sends no RTP in pjsua
                    # (about one packet a second), while sipsimple's sends silence at 50/s.
                    self.account.source.startTransmit(self.getAudioMedia(index))
                    self.started.set()
                    return
        except Exception as exc:  # an exception must not cross back into C++
            self.account.error(exc)

    def onCallState(self, prm: pj.OnCallStateParam) -> None:
        try:
            if self.getInfo().state == pj.PJSIP_INV_STATE_DISCONNECTED:
                self.disconnected = True
        except Exception as exc:
            self.account.error(exc)


class MediaAccount(pj.Account):
    def __init__(self, source: pj.AudioMedia) -> None:
        super().__init__()
        self.source = source
        self.calls: list[MediaCall] = []
        self.errors: list[str] = []
        self.answer = pj.CallOpParam()
        self.answer.statusCode = 200

    def error(self, exc: Exception) -> None:
        if len(self.errors) < 5:
            self.errors.append(f"{type(exc).__name__}: {exc.info() if isinstance(exc, pj.Error) else exc}")

    def onIncomingCall(self, prm: pj.OnIncomingCallParam) -> None:
        call = MediaCall(self, prm.callId)
        self.calls.append(call)
        try:
            call.answer(self.answer)
        except pj.Error as exc:
            self.error(exc)

    def stats(self) -> None:
        rx_packets = rx_lost = tx_packets = up = 0
        for call in list(self.calls):
            if not call.started.is_set() or call.disconnected or call.audio_index is None:
                continue
            up += 1
            try:
                rtcp = call.getStreamStat(call.audio_index).rtcp
            except pj.Error as exc:
                self.error(exc)
                continue
            rx_packets += int(rtcp.rxStat.pkt)
            rx_lost += int(rtcp.rxStat.loss)
            tx_packets += int(rtcp.txStat.pkt)
        print_stats(up, rx_packets, rx_lost, tx_packets, errors=self.errors)

    def check(self, k: int) -> None:
        """CHECK k: record k of the calls' incoming audio for CHECK_SECONDS (see media_common)."""
        running = [
            call
            for call in list(self.calls)
            if call.started.is_set() and not call.disconnected and call.audio_index is not None
        ]
        chosen = sample(running, k)
        paths = check_paths(len(chosen))
        recorders = []
        for call, path in zip(chosen, paths, strict=True):
            recorders.append((call, pj.AudioMediaRecorder()))
            recorders[-1][1].createRecorder(path)
            call.getAudioMedia(call.audio_index).startTransmit(recorders[-1][1])
        time.sleep(CHECK_SECONDS)
        if recorders:
            for call, recorder in recorders:
                call.getAudioMedia(call.audio_index).stopTransmit(recorder)
            del call, recorder
            # The WAV header gets its sizes when the recorder is destroyed (no reference left).
            recorders.clear()
        print_checked(paths)


def start_media_endpoint(calls: int) -> tuple[pj.Endpoint, int]:
    """The common endpoint with room for the calls, no VAD, the bridge at CLOCK_RATE and PCMU only."""
    cfg = endpoint_config()
    cfg.uaConfig.maxCalls = MAX_CALLS
    cfg.medConfig.noVad = True
    cfg.medConfig.clockRate = CLOCK_RATE
    cfg.medConfig.maxMediaPorts = max(MAX_CALLS, calls) + 16
    ep, _, port = start_endpoint(cfg, only_codec="PCMU/")
    return ep, port


def place_calls(account: MediaAccount, target_port: int, count: int, setup_timeout: float) -> None:
    started = time.monotonic()
    placed: list[MediaCall] = []
    for _ in range(count):
        call = MediaCall(account)
        account.calls.append(call)
        try:
            call.makeCall(f"sip:bob@{HOST}:{target_port}", pj.CallOpParam(True))
        except pj.Error as exc:
            account.error(exc)
            continue
        placed.append(call)
    deadline = started + setup_timeout
    for call in placed:
        call.started.wait(max(0.0, deadline - time.monotonic()))
    up = sum(call.started.is_set() for call in placed)
    print(f"UP {up} {time.monotonic() - started:.3f}", flush=True)


def main() -> int:
    args = parse_media_args(__doc__ or "pjsua2 media peer")
    ep, port = start_media_endpoint(args.calls)  # `ep` stays referenced until os._exit
    if args.role == "caller":
        source = pj.AudioMediaPlayer()
        source.createPlayer(args.wav, 0)  # options 0: loop
    else:
        source = ep.audDevManager().getCaptureDevMedia()
    account = MediaAccount(source)
    acfg = pj.AccountConfig()
    acfg.idUri = f"sip:{'alice' if args.role == 'caller' else 'bob'}@{HOST}"
    acfg.mediaConfig.transportConfig.boundAddress = HOST
    acfg.mediaConfig.transportConfig.port = args.rtp_port
    acfg.mediaConfig.transportConfig.portRange = 4 * max(args.calls, 50) + 100
    account.create(acfg, True)

    def command(line: str) -> None:
        if line == "CALLS" and args.role == "caller":
            place_calls(account, args.target_port, args.calls, args.setup_timeout)
        elif line == "STATS":
            account.stats()
        elif line.startswith("CHECK "):
            account.check(int(line.split()[1]))

    announce_ready(port)
    reason = wait_for_stop(args.max_seconds, command)
    report({"peer": "pjsua2", "role": args.role, "stop_reason": reason, "pid": os.getpid(), "errors": account.errors})
    exit_without_teardown()


if __name__ == "__main__":
    sys.exit(main())
