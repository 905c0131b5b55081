"""A pjsua2 peer that answers SIP OPTIONS over UDP (pjsua answers them by itself).

Set up as every pjsua2 peer is (benchmarks/peers/pjsua2_stack.py: one worker thread polls
the stack and calls into Python, ``LogWriter.write`` included; the main thread only waits for
the harness; no media).

With ``--trace``, message logging is on (``logConfig.msgLogging``) with level and console
level 4, the level pjsua logs each received and sent SIP message at, so a Python
``pj.LogWriter`` subclass is called once per message. Calls that carry no SIP message are
counted apart ("other_writes") and are not events.
"""

from __future__ import annotations

import os
import sys

import pjsua2 as pj

from benchmarks.peers.pjsua2_stack import endpoint_config, exit_without_teardown, start_endpoint
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
    cfg = endpoint_config()
    writer: CountingLogWriter | None = None
    if args.trace:
        writer = CountingLogWriter()
        cfg.logConfig.writer = writer
        cfg.logConfig.msgLogging = True
        cfg.logConfig.level = MESSAGE_LOG_LEVEL
        cfg.logConfig.consoleLevel = MESSAGE_LOG_LEVEL
        cfg.logConfig.decor = 0
    ep, _, port = start_endpoint(cfg, args.port)  # `ep` stays referenced until the exit
    announce_ready(port)
    reason = wait_for_stop(args.max_seconds)
    counters: dict[str, object] = {"peer": "pjsua2", "stop_reason": reason, "pid": os.getpid()}
    if writer is not None:
        counters.update(writer.counter.as_dict())
        counters["other_writes"] = writer.other_writes
    report(counters)
    exit_without_teardown()


if __name__ == "__main__":
    sys.exit(main())
