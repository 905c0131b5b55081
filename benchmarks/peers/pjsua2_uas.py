"""A pjsua2 peer that answers SIP OPTIONS over UDP (pjsua answers them by itself).

Threading, chosen to match sipsimple: sipsimple's Engine runs one thread of its own that
polls the pjsip stack and posts notifications from it, while the Python main thread stays
free. The comparable pjsua2 setting is ``uaConfig.threadCnt = 1``: pjsua2 starts one worker
thread that polls the stack and calls into Python (``LogWriter.write``) from it, and the
main thread only waits for the harness. No media is used: the audio device is the null one.

With ``--trace``, message logging is on (``logConfig.msgLogging``) with level and console
level 4, the level pjsua logs each received and sent SIP message at, so a Python
``pj.LogWriter`` subclass is called once per message. Calls that carry no SIP message are
counted apart ("other_writes") and are not events.
"""

from __future__ import annotations

import os
import sys

import pjsua2 as pj

from benchmarks.peers.protocol import EventCounter, announce_ready, parse_peer_args, report, wait_for_stop

MESSAGE_LOG_LEVEL = 4


class CountingLogWriter(pj.LogWriter):
    def __init__(self) -> None:
        super().__init__()
        self.counter = EventCounter()
        self.other_writes = 0

    def write(self, entry: pj.LogEntry) -> None:
        msg = entry.msg
        if "RX " in msg[:64]:
            self.counter.hit(True)
        elif "TX " in msg[:64]:
            self.counter.hit(False)
        else:
            self.other_writes += 1


def main() -> int:
    args = parse_peer_args(__doc__ or "pjsua2 peer")
    ep = pj.Endpoint()
    ep.libCreate()
    cfg = pj.EpConfig()
    cfg.uaConfig.threadCnt = 1
    cfg.uaConfig.mainThreadOnly = False
    cfg.uaConfig.userAgent = "bench-pjsua2"
    cfg.medConfig.threadCnt = 0
    writer: CountingLogWriter | None = None
    if args.trace:
        writer = CountingLogWriter()
        cfg.logConfig.writer = writer
        cfg.logConfig.msgLogging = True
        cfg.logConfig.level = MESSAGE_LOG_LEVEL
        cfg.logConfig.consoleLevel = MESSAGE_LOG_LEVEL
        cfg.logConfig.decor = 0
    else:
        cfg.logConfig.msgLogging = False
        cfg.logConfig.level = 0
        cfg.logConfig.consoleLevel = 0
    ep.libInit(cfg)
    ep.audDevManager().setNullDev()
    tcfg = pj.TransportConfig()
    tcfg.boundAddress = "127.0.0.1"
    tcfg.port = args.port
    tid = ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, tcfg)
    ep.libStart()
    port = int(ep.transportGetInfo(tid).localName.rsplit(":", 1)[1])
    announce_ready(port)
    reason = wait_for_stop(args.max_seconds)
    counters: dict[str, object] = {"peer": "pjsua2", "stop_reason": reason, "pid": os.getpid()}
    if writer is not None:
        counters.update(writer.counter.as_dict())
        counters["other_writes"] = writer.other_writes
    report(counters)
    sys.stdout.flush()
    # Tearing pjsua down is not measured; skip it so a slow shutdown cannot stall the run.
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
