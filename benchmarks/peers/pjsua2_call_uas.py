"""A pjsua2 peer that answers every incoming INVITE with 200 (``Account.onIncomingCall``).

Same threading as the other pjsua2 peers (``uaConfig.threadCnt = 1``, null audio device).
pjsua2 sets up an audio stream (RTP/RTCP sockets, a conference port) for every call: that
is part of what a call costs with pjsua2, so it is left on. maxCalls, the media ports and
the RTP port range are set large, but pjsua caps simultaneous calls at its compile-time
PJSUA_MAX_CALLS: 512 in the pjsua2 that benchmarks/run builds (deps/pjsip/build_pjsua2.sh,
epoll ioqueue with 8192 handles), 4 in the pjsua2-python wheel. Known limit of that wheel:
each call's RTP/RTCP sockets take two of the select ioqueue's 64 handles, freed only 500 ms
after the call, so about 32 calls within half a second make pjsua abort (ioqueue_select.c:
`!pj_list_empty(&ioqueue->free_list)`); the harness then reports that run as an error.

Line protocol of benchmarks/peers/protocol.py, plus one command: ``RSS`` on stdin is
answered with ``RSS <resident bytes> <calls up now> <calls established so far>``.
"""

from __future__ import annotations

import os
import sys

import pjsua2 as pj

from benchmarks.peers.pjsua2_stack import endpoint_config, exit_without_teardown, start_endpoint
from benchmarks.peers.protocol import CallCounts, announce_ready, parse_peer_args, report, wait_for_stop

# Asked for, but pjsua clamps it to PJSUA_MAX_CALLS (512 in deps/pjsip/build_pjsua2.sh's build, 4
# in pjsua2-python 2.15.1.post1): one more simultaneous INVITE gets 486 Busy Here.
MAX_CALLS = 400


class BenchCall(pj.Call):
    def __init__(self, account: BenchAccount, call_id: int) -> None:
        super().__init__(account, call_id)
        self.account = account
        self.confirmed = False

    def onCallState(self, prm: pj.OnCallStateParam) -> None:
        state = self.getInfo().state
        stats = self.account.stats
        if state == pj.PJSIP_INV_STATE_CONFIRMED and not self.confirmed:
            self.confirmed = True
            stats.established += 1
        elif state == pj.PJSIP_INV_STATE_DISCONNECTED:
            if self.confirmed:
                stats.ended += 1
            # Kept, not deleted: deleting ended Call objects from onIncomingCall made pjsua stop
            # answering after about ten calls (a hang, see benchmarks/README.md).
            self.account.finished.append(self.account.calls.pop(id(self), self))


class BenchAccount(pj.Account):
    def __init__(self, stats: CallCounts) -> None:
        super().__init__()
        self.stats = stats
        self.calls: dict[int, BenchCall] = {}
        self.finished: list[BenchCall] = []
        self.answer = pj.CallOpParam()
        self.answer.statusCode = 200

    def onIncomingCall(self, prm: pj.OnIncomingCallParam) -> None:
        self.stats.incoming += 1
        call = BenchCall(self, prm.callId)
        self.calls[id(call)] = call
        try:
            call.answer(self.answer)
        except pj.Error as exc:
            self.stats.answer_errors += 1
            self.stats.last_error = exc.info()


def main() -> int:
    args = parse_peer_args(__doc__ or "pjsua2 call peer")
    cfg = endpoint_config()
    cfg.uaConfig.maxCalls = MAX_CALLS
    cfg.medConfig.maxMediaPorts = MAX_CALLS + 16
    ep, _, port = start_endpoint(cfg, args.port)  # `ep` stays referenced until the exit
    stats = CallCounts()
    acfg = pj.AccountConfig()
    acfg.idUri = "sip:bench@127.0.0.1"
    acfg.mediaConfig.transportConfig.boundAddress = "127.0.0.1"
    acfg.mediaConfig.transportConfig.port = 20000
    acfg.mediaConfig.transportConfig.portRange = 4 * MAX_CALLS + 100
    account = BenchAccount(stats)
    account.create(acfg, True)
    announce_ready(port)
    reason = wait_for_stop(args.max_seconds, stats.answer_rss)
    report({"peer": "pjsua2", "stop_reason": reason, "pid": os.getpid(), **stats.as_dict()})
    exit_without_teardown()


if __name__ == "__main__":
    sys.exit(main())
