"""MESSAGE transactions per second between two user agents of the same stack (UDP, 127.0.0.1).

No SIPp here: each run starts two fresh peer processes of one side, a receiver and a sender
(benchmarks/peers/*_message_receiver.py and *_message_sender.py; what they share is in
peers/message_common.py). The sender sends MESSAGES out-of-dialog MESSAGEs through the public
API, at most WINDOW outstanding, each next one sent from the final-response callback on the
stack's thread (a closed loop); the receiver's stack answers 200 by itself and hands the
MESSAGE to Python, which checks the body.

* sipsimple: ``sipsimple.core.Message`` (or, while that is not importable, the core
  ``Request`` it is built on) and ``SIPEngineGotMessage`` notifications on the receiver;
* pjsua2: ``Buddy.sendInstantMessage`` with ``Account.onInstantMessageStatus``, and
  ``Account.onInstantMessage`` on the receiver.

Every body is about 100 bytes of non-ASCII UTF-8 carrying a sequence number; the receiver
checks that each one is exactly what was sent and not a duplicate.

Rate = successful MESSAGEs / time from the sender's first send to its last final response,
best of settings.repeats runs per side. CPU per MESSAGE: the sender's CPU time (all threads)
over that same span, and the receiver's from its first MESSAGE to the last expected one,
each divided by the successful MESSAGEs. settings.count and settings.limit (SIPp's) do not
apply; MESSAGES, WINDOW and the timeouts below do.
"""

from __future__ import annotations

from typing import Any

from benchmarks.harness import (
    PEER_MODULES,
    SIDES,
    BenchmarkError,
    BenchmarkResult,
    Figure,
    Peer,
    Settings,
    SidedRuns,
    alternate,
    best,
)

NAME = "message"
DESCRIPTION = "MESSAGE transactions per second between two user agents (UDP, 127.0.0.1), closed loop"

MESSAGES = 5000  # per run
WINDOW = 50  # most MESSAGEs outstanding at once
MESSAGE_TIMEOUT_S = 10.0  # one MESSAGE fails after this long (sipsimple's send(timeout=); pjsua2: Timer F, 32 s)
RUN_TIMEOUT_S = 60.0  # the sender gives up on the rest after this long
READY_TIMEOUT_S = 30.0

# (receiver, sender) for each stack
MESSAGE_PEERS = {
    "sipsimple": ("benchmarks.peers.sipsimple_message_receiver", "benchmarks.peers.sipsimple_message_sender"),
    "pjsua2": ("benchmarks.peers.pjsua2_message_receiver", "benchmarks.peers.pjsua2_message_sender"),
}


class MessagePeer(Peer):
    """A Peer (same line protocol, same handling) started from a module and arguments of our own."""

    def __init__(self, settings: Settings, side: str, module: str, arguments: list[str], cpu_index: int) -> None:
        super().__init__(settings, side, trace=False, ready_timeout_s=READY_TIMEOUT_S)
        self.module = module
        max_seconds = RUN_TIMEOUT_S * 2 + 60
        self.argv = [settings.python, "-m", module, "--max-seconds", str(max_seconds), *arguments]
        self.cpu = settings.cpus[cpu_index] if settings.cpus else None


def stack_of(settings: Settings, side: str) -> str:
    """Which stack's peers to run for `side` ("sipsimple*" stand-in runs use pjsua2's)."""
    return "pjsua2" if settings.peers[side] == PEER_MODULES["pjsua2"] else "sipsimple"


def measure(settings: Settings, side: str) -> dict[str, Any]:
    receiver_module, sender_module = MESSAGE_PEERS[stack_of(settings, side)]
    # With --pin, the sender gets the CPU SIPp gets elsewhere and the receiver the peer's.
    receiver = MessagePeer(settings, side, receiver_module, ["--expect", str(MESSAGES)], cpu_index=1)
    sender: MessagePeer | None = None
    try:
        receiver.start()
        settings.log(f"{side} receiver ready on UDP port {receiver.port}")
        sender_arguments = [
            "--target-port", str(receiver.port),
            "--count", str(MESSAGES),
            "--window", str(WINDOW),
            "--message-timeout", str(MESSAGE_TIMEOUT_S),
            "--run-timeout", str(RUN_TIMEOUT_S),
        ]  # fmt: skip
        sender = MessagePeer(settings, side, sender_module, sender_arguments, cpu_index=0)
        sender.start()
        settings.log(f"{side} sender ready on UDP port {sender.port}, sending {MESSAGES} MESSAGEs")
        # The sender reads STOP only once it is done (or gave up after RUN_TIMEOUT_S).
        sent = sender.stop(timeout_s=RUN_TIMEOUT_S + 30)
        received = receiver.stop()
    finally:
        if sender is not None:
            sender.kill()
        receiver.kill()
    if sent.get("timed_out"):
        raise BenchmarkError(
            f"the sender did not finish {MESSAGES} MESSAGEs in {RUN_TIMEOUT_S:.0f} s: {sent.get('succeeded')}"
            f" succeeded, {sent.get('failed')} failed, {sent.get('outstanding')} outstanding;"
            f" the receiver got {received.get('received')}"
        )
    succeeded = int(sent.get("succeeded", 0))
    sender_cpu = sent.get("load_cpu_s")
    receiver_cpu = received.get("load_cpu_s")
    if receiver_cpu is None:  # not all MESSAGEs arrived: READY to STOP instead
        receiver_cpu = received.get("cpu_s")
    return {
        "api": sent.get("api"),
        "successful": succeeded,
        "failed": int(sent.get("failed", 0)),
        "elapsed_s": sent.get("elapsed_s"),
        "messages_per_s": sent.get("messages_per_s"),
        "sender_cpu_us_per_message": float(sender_cpu) / succeeded * 1e6 if sender_cpu and succeeded else None,
        "receiver_cpu_us_per_message": float(receiver_cpu) / succeeded * 1e6 if receiver_cpu and succeeded else None,
        "received": int(received.get("received", 0)),
        "mismatches": int(received.get("mismatches", 0)),
        "duplicates": int(received.get("duplicates", 0)),
        "missing": succeeded - int(received.get("distinct", 0)),
        "bad_content_types": int(received.get("bad_content_types", 0)),
        "sender": sent,
        "receiver": received,
    }


def _total(runs: list[dict[str, Any]], key: str) -> float | None:
    return float(sum(run[key] for run in runs)) if runs else None


def run(settings: Settings) -> BenchmarkResult:
    # run_both_sides would also run the SIPp OPTIONS reference and compare rates with it,
    # which says nothing about this benchmark; the rest is the same.
    errors: list[str] = []
    runs = alternate(settings, lambda side: measure(settings, side), errors)
    chosen = {side: best(runs[side], "messages_per_s") for side in SIDES}
    failed = {side: _total(runs[side], "failed") for side in SIDES}
    notes: list[str] = []
    for side in SIDES:
        apis = sorted({str(run.get("api")) for run in runs[side]})
        if side == "sipsimple" and "Request" in apis:
            notes.append(f"{NAME}, {side}: sent with the core Request (sipsimple.core.Message is not importable)")
        for key, what in (
            ("duplicates", "MESSAGEs delivered twice"),
            ("missing", "answered MESSAGEs the receiver did not see"),
            ("bad_content_types", "MESSAGEs with a Content-Type other than text/plain"),
        ):
            total = _total(runs[side], key)
            if total:
                notes.append(f"{NAME}, {side}: {total:.0f} {what}, all runs")
    sides = SidedRuns(runs, chosen, failed, errors, notes)
    figures = [
        sides.figure("MESSAGEs completed", "per s", "messages_per_s"),
        sides.figure("sender CPU per MESSAGE", "us", "sender_cpu_us_per_message", higher_is_better=False),
        sides.figure("receiver CPU per MESSAGE", "us", "receiver_cpu_us_per_message", higher_is_better=False),
        sides.failed_figure("failed MESSAGEs"),
        Figure(
            "body mismatches",
            "all runs, must be 0",
            {side: _total(runs[side], "mismatches") for side in SIDES},
            higher_is_better=None,
            is_count=True,
        ),
    ]
    return sides.result(NAME, DESCRIPTION, figures)
