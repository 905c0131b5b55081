"""A pjsua2 peer that sends SIP MESSAGEs over UDP to a receiver, a few outstanding at a time.

An account without registration (sip:alice@127.0.0.1) and a ``Buddy`` for the receiver's URI
(no presence subscription); each MESSAGE is ``buddy.sendInstantMessage(prm)`` with a
``SendInstantMessageParam`` (``prm.content``, ``prm.contentType``), and its final response
arrives as the account's ``onInstantMessageStatus`` (``prm.code``).

Threads, as in every pjsua2 peer (pjsua2_stack.py): ``uaConfig.threadCnt = 1``. The main thread sends the first
``--window`` MESSAGEs (pjsua2's SWIG wrapper releases the GIL inside its calls, and the main
thread is registered with pjlib by libCreate); every later one is sent from
``onInstantMessageStatus``, on pjsua's worker thread, which pjlib knows already, so no
libRegisterThread is needed. pjsua2 has no per-MESSAGE timeout: a MESSAGE fails after
Timer F (32 s), and ``--run-timeout`` bounds the whole run.
"""

from __future__ import annotations

import os
import sys

import pjsua2 as pj

from benchmarks.peers.message_common import (
    CONTENT_TYPE,
    HOST,
    RECEIVER_USER,
    SENDER_USER,
    ClosedLoop,
    make_body,
    parse_sender_args,
)
from benchmarks.peers.pjsua2_message_receiver import account_config
from benchmarks.peers.pjsua2_stack import endpoint_config, exit_without_teardown, start_endpoint
from benchmarks.peers.protocol import announce_ready, report, wait_for_stop


class SenderAccount(pj.Account):
    def __init__(self) -> None:
        super().__init__()
        self.loop: ClosedLoop | None = None
        self.callback_errors: list[str] = []

    def onInstantMessageStatus(self, prm: pj.OnInstantMessageStatusParam) -> None:
        try:
            assert self.loop is not None
            code = int(prm.code)
            self.loop.finished(200 <= code < 300, code)
        except Exception as exc:  # an exception must not cross back into C++
            if len(self.callback_errors) < 3:
                self.callback_errors.append(f"{type(exc).__name__}: {exc}")


def main() -> int:
    args = parse_sender_args(__doc__ or "pjsua2 MESSAGE sender")
    ep, _, port = start_endpoint(endpoint_config())  # `ep` stays referenced until the exit
    account = SenderAccount()
    account.create(account_config(SENDER_USER), True)
    bcfg = pj.BuddyConfig()
    bcfg.uri = f"sip:{RECEIVER_USER}@{HOST}:{args.target_port}"
    bcfg.subscribe = False
    buddy = pj.Buddy()
    buddy.create(account, bcfg)

    def send(seq: int) -> None:
        prm = pj.SendInstantMessageParam()
        prm.contentType = CONTENT_TYPE
        prm.content = make_body(seq)
        buddy.sendInstantMessage(prm)

    loop = ClosedLoop(args.count, args.window, send)
    account.loop = loop
    announce_ready(port)
    loop.start()
    loop.wait(args.run_timeout)
    counters: dict[str, object] = {"peer": "pjsua2", "role": "sender", "api": "Buddy", "pid": os.getpid()}
    counters.update(loop.as_dict())
    counters["callback_errors"] = account.callback_errors
    counters["stop_reason"] = wait_for_stop(args.max_seconds)
    report(counters)
    exit_without_teardown()


if __name__ == "__main__":
    sys.exit(main())
