"""A pjsua2 peer that receives SIP MESSAGEs over UDP and checks every body.

pjsua answers each MESSAGE outside a dialog with 200 by itself and calls the account's
``onInstantMessage`` (``prm.msgBody``, already decoded from UTF-8 by SWIG, and
``prm.contentType``); the account is the default one, so it gets every MESSAGE whatever the
To user. The body is checked as in message_common.BodyChecker.

Threading, as in pjsua2_uas.py and to match sipsimple's Engine thread:
``uaConfig.threadCnt = 1``, one pjsua worker thread polls the stack and calls into Python;
the main thread only waits for the harness. No media: the audio device is the null one.
"""

from __future__ import annotations

import os
import sys

import pjsua2 as pj

from benchmarks.peers.message_common import HOST, RECEIVER_USER, BodyChecker, parse_receiver_args
from benchmarks.peers.pjsua2_stack import endpoint_config, exit_without_teardown, start_endpoint
from benchmarks.peers.protocol import announce_ready, report, wait_for_stop


def account_config(user: str) -> pj.AccountConfig:
    """An account without registration, for sip:<user>@127.0.0.1."""
    acfg = pj.AccountConfig()
    acfg.idUri = f"sip:{user}@{HOST}"
    acfg.regConfig.registrarUri = ""
    return acfg


class ReceiverAccount(pj.Account):
    def __init__(self, expect: int) -> None:
        super().__init__()
        self.checker = BodyChecker(expect)
        self.callback_errors: list[str] = []

    def onInstantMessage(self, prm: pj.OnInstantMessageParam) -> None:
        try:
            self.checker.check(prm.msgBody, prm.contentType)
        except Exception as exc:  # an exception must not cross back into C++
            if len(self.callback_errors) < 3:
                self.callback_errors.append(f"{type(exc).__name__}: {exc}")


def main() -> int:
    args = parse_receiver_args(__doc__ or "pjsua2 MESSAGE receiver")
    ep, _, port = start_endpoint(endpoint_config(), args.port)  # `ep` stays referenced until the exit
    account = ReceiverAccount(args.expect)
    account.create(account_config(RECEIVER_USER), True)
    announce_ready(port)
    reason = wait_for_stop(args.max_seconds)
    counters: dict[str, object] = {"peer": "pjsua2", "role": "receiver", "stop_reason": reason, "pid": os.getpid()}
    counters.update(account.checker.as_dict())
    counters["callback_errors"] = account.callback_errors
    report(counters)
    exit_without_teardown()


if __name__ == "__main__":
    sys.exit(main())
