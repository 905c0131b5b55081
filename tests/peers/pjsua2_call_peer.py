"""pjsua2 (PJSIP 2.15) playing the engine's part in the call scenarios.

Run as a subprocess, one pjsua2 Endpoint per process, with the null audio
device (no sound card here):

    python -m tests.peers.pjsua2_call_peer callee|caller [options]

Actions:
  callee  listens on --port (UDP and TCP) and prints "READY <port>"; each
          incoming call is handled as --answer says:
            200     answer at once (after --ring-ms of 180 Ringing if > 0)
            ring    180 Ringing and never answer (the caller cancels)
            486/603 reject with that code
            prack   180 (reliable: 100rel is mandatory for the account), then
                    200 once the PRACK has arrived
            early   183 Session Progress with the SDP answer (early media,
                    unreliable), then 200 (the same SDP) after --ring-ms
          --hold sends the hold re-INVITEs (below) once the call is
          confirmed; --hangup-ms N hangs up N ms after the call is
          confirmed (after the hold steps, with --hold).
          --timer makes the account use session timers (pjsua's default,
          "optional", also answers them).
          A REFER in a call is accepted (202) and the target called, as
          pjsua does by default (the NOTIFYs report that call's progress;
          a call to this callee itself is answered like any other), unless
          --refer-answer CODE refuses it. --transfer URI sends a REFER to
          URI once the call is confirmed; --hangup-ms then counts from its
          final NOTIFY. --defer-reinvite leaves re-INVITEs unanswered
          (OnCallRxReinviteParam.isAsync: pjsua sends 100 Trying, and 487
          when the re-INVITE is cancelled). --take-back cancel|bye sends a
          re-INVITE offering a=sendonly once the call is confirmed and,
          --step-ms after its first 1xx, CANCELs it (see cancel_reinvite)
          or hangs up instead. Runs until --calls calls have ended, stdin
          closes, or --seconds pass.
  caller  calls sip:bob@127.0.0.1:--peer-port (the SIPp UAS) and, once
          confirmed: --hold (the hold re-INVITEs), then hangs up after
          --hangup-ms (-1: wait for the peer's BYE).
          --cancel-ms N hangs up N ms after the first 18x instead (CANCEL).
          --late-offer sends the INVITE without SDP (PJSUA_CALL_NO_SDP_OFFER:
          the offer comes in the 2xx, the answer goes in the ACK).
          --prack optional|mandatory (Require: 100rel; pjsua says 100rel in
          Supported whatever --prack is), --timer (Session-Expires: 90 and
          Min-SE: 90 in the INVITE), --user/--password/--realm for digest
          (401 or 407). --record FILE writes the audio the call receives
          into a WAV file (16-bit PCM at pjsua's clock rate), through the
          conference bridge clocked by the null sound device. --codecs
          PCMA,... offers only the codecs named.

--hold, either side: three re-INVITEs, each sent --step-ms after the last
one's 2xx, offering a=sendonly, a=inactive, then a=sendrecv. pjsua2 has no
call for "inactive": each offer's direction is set with
PJSUA_CALL_SET_MEDIA_DIR (CallSetting.mediaDir: ENCODING, NONE, then
ENCODING_DECODING with PJSUA_CALL_UNHOLD), which reinvite honours
(setHold only offers sendonly).

Both print "RESULT <json>" at the end: the call states pjsua went through,
its last status code, the DTMF digits it received ("dtmf", as one string),
the transfer steps ("transfer": ["refer", Refer-To]
for a REFER received; for our own REFER, [code, reason, final] as pjsua
reports them: the 202 as 100 "Accepted", then each NOTIFY's sipfrag), the
call to a Refer-To target ("referred_call"), the SIP status lines sent and
received, the requests sent and received, and "sdp_sent"/"sdp_received":
for each message with an SDP body, in order, [method or status code, a=
direction ("" if none)], e.g. ["INVITE", "sendonly"], ["200", "recvonly"].
With --trace FILE pjsua's log (SIP messages included) goes there.

The process polls pjsua from its main thread (no worker threads) and ends
with os._exit (see tests/peers/pjsua2_peer.py, whose Peer this reuses).
"""

from __future__ import annotations

import argparse
import ctypes
import re
import select
import sys
import time

import pjsua2 as pj

from devkit.pjsua2 import prefer_codecs
from tests.peers.pjsua2_peer import Peer, finish, uri


class TrackedCall(pj.Call):
    def __init__(
        self, acc: pj.Account, call_id: int = pj.PJSUA_INVALID_ID, args: argparse.Namespace | None = None
    ) -> None:
        super().__init__(acc, call_id)
        self.acc = acc
        self.args = args
        self.transfer: list[list] = []  # ["refer", Refer-To] received, [code, reason, final] of our own REFER
        self.transfer_sent = False
        self.transfer_done_at: float | None = None
        self.referred: TrackedCall | None = None
        self.reinvites_deferred = 0
        self.proposed = False
        self.taken_back = False
        self.states: list[str] = []
        self.last_code = 0
        self.confirmed_at: float | None = None
        self.early_at: float | None = None
        self.disconnected = False
        self.created = time.monotonic()
        self.held = False
        self.recorder: pj.AudioMediaRecorder | None = None
        self.dtmf: list[str] = []  # digits received (RFC 4733), in order

    def onCallMediaState(self, prm: pj.OnCallMediaStateParam) -> None:
        """With --record FILE: what the call's audio brings in goes into a WAV file (16-bit PCM)."""
        if self.args is None or not self.args.record or self.recorder is not None:
            return
        info = self.getInfo()  # kept: the media list's items point into it
        for index, media in enumerate(info.media):
            if media.type == pj.PJMEDIA_TYPE_AUDIO and media.status == pj.PJSUA_CALL_MEDIA_ACTIVE:
                self.recorder = pj.AudioMediaRecorder()
                self.recorder.createRecorder(self.args.record)
                self.getAudioMedia(index).startTransmit(self.recorder)
                return

    def stop_recording(self) -> None:
        # The WAV header gets its sizes when the recorder is destroyed, and
        # the process ends with os._exit: destroy it first.
        if self.recorder is not None:
            recorder, self.recorder = self.recorder, None
            del recorder

    def onCallState(self, prm: pj.OnCallStateParam) -> None:
        info = self.getInfo()
        self.states.append(info.stateText)
        self.last_code = int(info.lastStatusCode)
        if info.state == pj.PJSIP_INV_STATE_CONFIRMED and self.confirmed_at is None:
            self.confirmed_at = time.monotonic()
        if info.state == pj.PJSIP_INV_STATE_EARLY and self.early_at is None:
            self.early_at = time.monotonic()
        if info.state == pj.PJSIP_INV_STATE_DISCONNECTED:
            self.disconnected = True

    def onCallTransferRequest(self, prm: pj.OnCallTransferRequestParam) -> None:
        """A REFER: pjsua accepts it (202) and calls the target unless --refer-answer says otherwise."""
        self.transfer.append(["refer", prm.dstUri])
        if self.args is not None and self.args.refer_answer:
            prm.statusCode = self.args.refer_answer
        else:
            self.referred = TrackedCall(self.acc)
            prm.newCall = self.referred

    def onCallTransferStatus(self, prm: pj.OnCallTransferStatusParam) -> None:
        self.transfer.append([prm.statusCode, prm.reason, prm.finalNotify])
        if prm.finalNotify:
            self.transfer_done_at = time.monotonic()

    def onCallRxReinvite(self, prm: pj.OnCallRxReinviteParam) -> None:
        if self.args is not None and self.args.defer_reinvite:
            prm.isAsync = True
            self.reinvites_deferred += 1

    def onDtmfDigit(self, prm: pj.OnDtmfDigitParam) -> None:
        self.dtmf.append(prm.digit)

    def summary(self) -> dict:
        result = {
            "states": self.states,
            "last_code": self.last_code,
            "confirmed": self.confirmed_at is not None,
            "disconnected": self.disconnected,
            "transfer": self.transfer,
            "dtmf": "".join(self.dtmf),
            "reinvites_deferred": self.reinvites_deferred,
            "taken_back": self.taken_back,
        }
        if self.referred is not None:
            result["referred_call"] = self.referred.summary()
        return result


def op(code: int = 0) -> pj.CallOpParam:
    prm = pj.CallOpParam(True)
    if code:
        prm.statusCode = code
    return prm


HOLD_STEPS = (
    ("sendonly", pj.PJMEDIA_DIR_ENCODING),
    ("inactive", pj.PJMEDIA_DIR_NONE),
    ("sendrecv", pj.PJMEDIA_DIR_ENCODING_DECODING),
)


def invite_oks(peer: Peer) -> int:
    """How many 2xx responses to INVITEs (initial or re-INVITE) pjsua has received."""
    return sum(line.startswith("SIP/2.0 2") for line in peer.trace.responses("RX", "INVITE"))


def hold_and_resume(peer: Peer, call: TrackedCall, args: argparse.Namespace) -> None:
    """The --hold re-INVITEs, each once the last got its 2xx; stops at one that gets none."""
    for name, direction in HOLD_STEPS:
        before = invite_oks(peer)
        prm = op()
        prm.opt.flag |= pj.PJSUA_CALL_SET_MEDIA_DIR | (pj.PJSUA_CALL_UNHOLD if name == "sendrecv" else 0)
        prm.opt.mediaDir = pj.IntVector([direction])
        call.reinvite(prm)
        peer.run_until(lambda before=before: invite_oks(peer) > before or call.disconnected, args.seconds)
        if invite_oks(peer) == before:
            return
        peer.run_for(args.step_ms / 1000)


class PjStr(ctypes.Structure):
    _fields_ = [("ptr", ctypes.c_char_p), ("slen", ctypes.c_ssize_t)]


def pj_str(text: str) -> PjStr:
    data = text.encode()
    return PjStr(data, len(data))


def pjsip_library() -> ctypes.CDLL:
    """The PJSIP linked into pjsua2's extension module, for what the binding does not wrap."""
    lib = ctypes.CDLL(sys.modules["pjsua2._pjsua2"].__file__)
    lib.pjsip_ua_find_dialog.restype = ctypes.c_void_p
    lib.pjsip_ua_find_dialog.argtypes = [ctypes.POINTER(PjStr)] * 3 + [ctypes.c_int]
    lib.pjsip_dlg_get_inv_session.restype = ctypes.c_void_p
    lib.pjsip_dlg_get_inv_session.argtypes = [ctypes.c_void_p]
    lib.pjsip_inv_cancel_reinvite.restype = ctypes.c_int
    lib.pjsip_inv_cancel_reinvite.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p)]
    lib.pjsip_inv_send_msg.restype = ctypes.c_int
    lib.pjsip_inv_send_msg.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    lib.pjsip_dlg_dec_lock.restype = None
    lib.pjsip_dlg_dec_lock.argtypes = [ctypes.c_void_p]
    return lib


def header_value(message: str, name: str) -> str:
    found = re.search(rf"^{name}:\s*(.*?)\s*$", message, re.MULTILINE | re.IGNORECASE)
    return found.group(1) if found else ""


def cancel_reinvite(peer: Peer) -> int:
    """CANCEL our last re-INVITE with PJSIP's own pjsip_inv_cancel_reinvite(); its status (0: sent).

    pjsua2 has no call for it (hanging up sends BYE), so the invite session
    is found by its dialog (Call-ID and tags from the re-INVITE pjsua sent)
    and PJSIP builds the CANCEL from the INVITE transaction (same branch,
    CSeq number) and sends it in the dialog, as it does for an initial INVITE.
    """
    reinvite = peer.trace.sent("INVITE ")[-1]
    tag = re.compile(r";\s*tag=([^;>\s]+)")
    call_id = pj_str(header_value(reinvite, "Call-ID"))
    local_tag = pj_str(tag.search(header_value(reinvite, "From")).group(1))
    remote_tag = pj_str(tag.search(header_value(reinvite, "To")).group(1))
    lib = pjsip_library()
    dialog = lib.pjsip_ua_find_dialog(ctypes.byref(call_id), ctypes.byref(local_tag), ctypes.byref(remote_tag), 1)
    if not dialog:
        return -1
    try:
        session = lib.pjsip_dlg_get_inv_session(dialog)
        tdata = ctypes.c_void_p()
        status = lib.pjsip_inv_cancel_reinvite(session, ctypes.byref(tdata))
        if status == 0 and tdata.value:  # None: PJSIP sends it once a 1xx comes
            status = lib.pjsip_inv_send_msg(session, tdata)
        return status
    finally:
        lib.pjsip_dlg_dec_lock(dialog)


def provisional_responses(peer: Peer) -> int:
    """How many 1xx responses to INVITEs pjsua has received."""
    return sum(line.startswith("SIP/2.0 1") for line in peer.trace.responses("RX", "INVITE"))


def propose_and_take_back(peer: Peer, call: TrackedCall, args: argparse.Namespace) -> None:
    """--take-back: a re-INVITE offering a=sendonly, withdrawn --step-ms after its first 1xx."""
    before = provisional_responses(peer)
    prm = op()
    prm.opt.flag |= pj.PJSUA_CALL_SET_MEDIA_DIR
    prm.opt.mediaDir = pj.IntVector([pj.PJMEDIA_DIR_ENCODING])
    call.reinvite(prm)
    if not peer.run_until(lambda: provisional_responses(peer) > before or call.disconnected, args.seconds):
        return
    peer.run_for(args.step_ms / 1000)
    if args.take_back == "cancel":
        call.taken_back = cancel_reinvite(peer) == 0
    else:
        hang_up(call)
        call.taken_back = True


def hang_up(call: TrackedCall) -> None:
    try:
        call.hangup(op())
    except pj.Error:
        pass


class CalleeAccount(pj.Account):
    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__()
        self.args = args
        self.calls: list[TrackedCall] = []

    def onIncomingCall(self, prm: pj.OnIncomingCallParam) -> None:
        call = TrackedCall(self, prm.callId, self.args)
        self.calls.append(call)
        answer = self.args.answer
        if answer in ("486", "603"):
            call.answer(op(int(answer)))
        elif answer == "early":
            call.answer(op(183))
        elif answer in ("ring", "prack") or self.args.ring_ms > 0:
            call.answer(op(180))
        else:
            call.answer(op(200))


def config(peer: Peer, args: argparse.Namespace, id_uri: str) -> pj.AccountConfig:
    acfg = pj.AccountConfig()
    acfg.idUri = id_uri
    if args.action == "caller":
        # Bound to --transport. The callee's account is not bound: it answers
        # on the transport each call came in on and sends its own requests
        # (re-INVITE, BYE) there too.
        acfg.sipConfig.transportId = peer.transports[args.transport]
    acfg.callConfig.prackUse = {
        "no": pj.PJSUA_100REL_NOT_USED,
        "optional": pj.PJSUA_100REL_OPTIONAL,
        "mandatory": pj.PJSUA_100REL_MANDATORY,
    }[args.prack]
    if args.timer:
        acfg.callConfig.timerUse = pj.PJSUA_SIP_TIMER_ALWAYS
        acfg.callConfig.timerSessExpiresSec = 90
        acfg.callConfig.timerMinSESec = 90
    return acfg


def sdp_directions(peer: Peer, direction: str) -> list[list[str]]:
    """[method or status code, a= direction ("" if none)] of each message with SDP sent (TX) or received (RX)."""
    found = []
    for d, message in peer.trace.messages:
        head, _, body = message.partition("\r\n\r\n")
        if d == direction and body.startswith("v=0"):
            first = head.split(" ", 2)
            kind = first[1] if first[0] == "SIP/2.0" else first[0]
            attribute = re.search(r"^a=(sendrecv|sendonly|recvonly|inactive)\s*$", body, re.MULTILINE)
            found.append([kind, attribute.group(1) if attribute else ""])
    return found


def trace_summary(peer: Peer) -> dict:
    requests = [m.split(" ", 1)[0] for d, m in peer.trace.messages if d == "RX" and not m.startswith("SIP/2.0")]
    sent = [m.split(" ", 1)[0] for d, m in peer.trace.messages if d == "TX" and not m.startswith("SIP/2.0")]
    return {
        "requests_received": requests,
        "requests_sent": sent,
        "sdp_sent": sdp_directions(peer, "TX"),
        "sdp_received": sdp_directions(peer, "RX"),
        "invite_responses_sent": peer.trace.responses("TX", "INVITE"),
        "invite_responses_received": peer.trace.responses("RX", "INVITE"),
        "errors": peer.trace.errors[-5:],
    }


def do_callee(peer: Peer, args: argparse.Namespace) -> None:
    if args.answer == "prack":
        args.prack = "mandatory"
    acc = CalleeAccount(args)
    acc.create(config(peer, args, uri(args.host, peer.local_port, "bob")), True)
    print(f"READY {peer.local_port}", flush=True)
    answered: set[int] = set()
    hung_up: set[int] = set()
    provisional_first = args.answer in ("ring", "prack", "early") or args.ring_ms > 0
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        peer.ep.libHandleEvents(20)
        now = time.monotonic()
        for index, call in enumerate(acc.calls):
            if call.disconnected:
                continue
            if (
                index not in answered
                and args.answer in ("200", "prack", "early")
                and provisional_first
                and call.confirmed_at is None
            ):
                ready = (now - call.created) * 1000 >= args.ring_ms
                if args.answer == "prack":
                    ready = bool(peer.trace.received("PRACK "))
                if ready:
                    answered.add(index)
                    call.answer(op(200))
            if args.transfer and call.confirmed_at is not None and not call.transfer_sent:
                call.transfer_sent = True
                call.xfer(args.transfer, op())
            if args.take_back and call.confirmed_at is not None and not call.proposed:
                call.proposed = True
                propose_and_take_back(peer, call, args)
            if args.hold and call.confirmed_at is not None and not call.held:
                call.held = True
                hold_and_resume(peer, call, args)
                call.confirmed_at = time.monotonic()  # --hangup-ms counts from the last hold step
            # With --transfer, --hangup-ms counts from the final NOTIFY.
            since = call.transfer_done_at if args.transfer else call.confirmed_at
            if (
                args.hangup_ms >= 0
                and since is not None
                and index not in hung_up
                and (now - since) * 1000 >= args.hangup_ms
            ):
                hung_up.add(index)
                hang_up(call)
        if len(acc.calls) >= args.calls and all(c.disconnected for c in acc.calls):
            peer.run_for(0.3)
            break
        readable, _, _ = select.select([sys.stdin], [], [], 0)
        if readable and not sys.stdin.readline():
            break
    finish({"calls": [c.summary() for c in acc.calls], **trace_summary(peer)}, peer)


def do_caller(peer: Peer, args: argparse.Namespace) -> None:
    acfg = config(peer, args, uri(args.host, peer.local_port, args.user))
    if args.password:
        cred = pj.AuthCredInfo("digest", args.realm, args.user, 0, args.password)
        acfg.sipConfig.authCreds.append(cred)
    acc = pj.Account()
    acc.create(acfg)
    if args.codecs:
        # Only these codecs in the offer (names as in SDP: PCMU, PCMA, ...).
        prefer_codecs(peer.ep, set(args.codecs.split(",")))
    call = TrackedCall(acc, args=args)
    prm = op()
    if args.late_offer:
        prm.opt.flag |= pj.PJSUA_CALL_NO_SDP_OFFER
    call.makeCall(uri(args.host, args.peer_port, "bob", args.transport), prm)
    result: dict = {}
    if args.cancel_ms >= 0:
        peer.run_until(lambda: call.early_at is not None or call.disconnected, args.seconds)
        peer.run_for(args.cancel_ms / 1000)
        hang_up(call)
        peer.run_until(lambda: call.disconnected, args.seconds)
    else:
        result["confirmed"] = (
            peer.run_until(lambda: call.confirmed_at is not None or call.disconnected, args.seconds)
            and call.confirmed_at is not None
        )
        if result["confirmed"] and args.hold:
            hold_and_resume(peer, call, args)
        if result["confirmed"]:
            if args.hangup_ms >= 0:
                peer.run_for(args.hangup_ms / 1000)
                if not call.disconnected:
                    hang_up(call)
            peer.run_until(lambda: call.disconnected, args.seconds)
    peer.run_for(args.linger_ms / 1000)
    call.stop_recording()
    finish({**call.summary(), **result, **trace_summary(peer)}, peer)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["callee", "caller"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--peer-port", type=int, default=0, help="SIPp's port (caller)")
    parser.add_argument("--transport", choices=["udp", "tcp"], default="udp", help="the caller's transport")
    parser.add_argument("--answer", choices=["200", "ring", "486", "603", "prack", "early"], default="200")
    parser.add_argument("--ring-ms", type=int, default=0)
    parser.add_argument("--hangup-ms", type=int, default=-1)
    parser.add_argument("--cancel-ms", type=int, default=-1)
    parser.add_argument("--linger-ms", type=int, default=300, help="keep running after the call ended")
    parser.add_argument("--hold", action="store_true", help="re-INVITEs: sendonly, inactive, sendrecv")
    parser.add_argument("--step-ms", type=int, default=200, help="pause after each hold step's 2xx")
    parser.add_argument("--late-offer", action="store_true", help="INVITE without SDP (caller)")
    parser.add_argument("--timer", action="store_true")
    parser.add_argument("--prack", choices=["no", "optional", "mandatory"], default="no")
    parser.add_argument("--calls", type=int, default=1)
    parser.add_argument("--transfer", default="", help="callee: once confirmed, REFER the caller to this URI")
    parser.add_argument("--refer-answer", type=int, default=0, help="callee: answer a REFER with this code")
    parser.add_argument("--defer-reinvite", action="store_true", help="callee: leave re-INVITEs unanswered")
    parser.add_argument(
        "--take-back",
        choices=["cancel", "bye"],
        help="callee: re-INVITE a=sendonly, then CANCEL it (or hang up instead)",
    )
    parser.add_argument("--user", default="alice")
    parser.add_argument("--password", default="")
    parser.add_argument("--realm", default="sipsimple.test")
    parser.add_argument("--seconds", type=float, default=20.0, help="bound on each wait")
    parser.add_argument("--trace", help="write pjsua's log (SIP messages included) here")
    parser.add_argument("--record", default="", help="caller: record the call's incoming audio into this WAV file")
    parser.add_argument("--codecs", default="", help="caller: offer only these codecs (comma-separated names)")
    args = parser.parse_args()

    peer = Peer(args.trace)
    peer.local_port = peer.listen(args.host, args.port)
    peer.start()
    {"callee": do_callee, "caller": do_caller}[args.action](peer, args)


if __name__ == "__main__":
    main()
