"""What the MESSAGE peers share: the bodies, the arguments, the receiver's check and the sender's loop.

The MESSAGE peers come in pairs, a receiver and a sender of the same stack, each a process of
its own speaking the line protocol of ``protocol.py``:

* the receiver prints ``READY <udp-port>``, counts and checks the MESSAGEs it gets until
  ``STOP``, then prints its counters;
* the sender is started with the receiver's port, prints ``READY <its udp-port>`` and at
  once sends ``--count`` MESSAGEs, at most ``--window`` outstanding (a closed loop: each final
  response sends the next one), for at most ``--run-timeout`` seconds; only then does it read
  ``STOP`` (the harness writes it right away) and print its counters.

Every body is ``#<6-digit sequence number> `` followed by non-ASCII text, about 100 bytes of
UTF-8, so the receiver can tell exactly what each body should have been.
"""

from __future__ import annotations

import argparse
import resource
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

CONTENT_TYPE = "text/plain"
FILLER = " ".join(["Grüße ✓"] * 8)  # 8 x 11 bytes of UTF-8 and 7 spaces: 95 bytes
SENDER_USER = "alice"
RECEIVER_USER = "bob"
HOST = "127.0.0.1"


def make_body(seq: int) -> str:
    """The body of MESSAGE number `seq`: 103 bytes of UTF-8, 71 characters."""
    return f"#{seq:06d} {FILLER}"


def parse_receiver_args(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--port", type=int, default=0, help="UDP port to listen on (0: pick a free one)")
    parser.add_argument("--expect", type=int, default=0, help="MESSAGEs expected (for the CPU window); 0: unknown")
    parser.add_argument("--max-seconds", type=float, default=300.0, help="stop by itself after this long")
    return parser.parse_args()


def parse_sender_args(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--target-port", type=int, required=True, help="the receiver's UDP port on 127.0.0.1")
    parser.add_argument("--count", type=int, default=5000, help="MESSAGEs to send")
    parser.add_argument("--window", type=int, default=50, help="most MESSAGEs outstanding at once")
    parser.add_argument("--message-timeout", type=float, default=10.0, help="seconds before one MESSAGE fails")
    parser.add_argument("--run-timeout", type=float, default=60.0, help="seconds for all MESSAGEs")
    parser.add_argument("--max-seconds", type=float, default=300.0, help="stop by itself after this long")
    return parser.parse_args()


def cpu_s() -> float:
    """CPU time (user + system) of this process, all threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class BodyChecker:
    """The receiver's count: every body must be make_body(n) for a number n not seen before.

    Runs once per MESSAGE on the stack's thread. It samples the process's CPU time at the
    first MESSAGE and at the `expect`-th good one, so that the receiver's CPU per MESSAGE
    leaves out the time spent idle before and after the load.
    """

    def __init__(self, expect: int) -> None:
        self.expect = expect
        self.received = 0
        self.mismatches = 0
        self.duplicates = 0
        self.bad_content_types = 0
        self.seen: set[int] = set()
        self.samples: list[str] = []  # the first few bodies that did not match
        self.first = self.last = 0.0
        self.cpu_first: float | None = None
        self.cpu_last: float | None = None

    def check(self, body: str | None, content_type: str | None) -> None:
        now = time.monotonic()
        if not self.received:
            self.first = now
            self.cpu_first = cpu_s()
        self.last = now
        self.received += 1
        if content_type != CONTENT_TYPE:
            self.bad_content_types += 1
        seq = -1
        if body is not None and body[:1] == "#":
            try:
                seq = int(body[1:7])
            except ValueError:
                seq = -1
        if seq < 0 or body != make_body(seq):
            self.mismatches += 1
            if len(self.samples) < 3:
                self.samples.append(repr(body)[:200])
            return
        if seq in self.seen:
            self.duplicates += 1
            return
        self.seen.add(seq)
        if len(self.seen) == self.expect:
            self.cpu_last = cpu_s()

    def as_dict(self) -> dict[str, Any]:
        load_cpu = None
        if self.cpu_first is not None and self.cpu_last is not None:
            load_cpu = self.cpu_last - self.cpu_first
        return {
            "received": self.received,
            "distinct": len(self.seen),
            "mismatches": self.mismatches,
            "duplicates": self.duplicates,
            "bad_content_types": self.bad_content_types,
            "mismatch_samples": self.samples,
            "receive_window_s": self.last - self.first,
            "load_cpu_s": load_cpu,
        }


class ClosedLoop:
    """Sends `count` MESSAGEs through `send(seq)`, at most `window` outstanding.

    ``start()`` sends the first `window` from the calling thread; after that the stack's
    thread calls ``finished()`` for each final response, which sends the next MESSAGE from
    that same thread. `send` starts one MESSAGE and returns; it may raise, which counts as a
    failure. The rate is successful MESSAGEs / time from the first send to the last final
    response, the CPU time over the same span (all threads of the process).
    """

    def __init__(self, count: int, window: int, send: Callable[[int], None]) -> None:
        self.count = count
        self.window = max(1, min(window, count))
        self._send = send
        self._lock = threading.Lock()
        self._done = threading.Event()
        self.next_seq = 0
        self.succeeded = 0
        self.failed = 0
        self.codes: Counter[int] = Counter()
        self.send_errors: list[str] = []
        self.started = self.ended = 0.0
        self.cpu_started = self.cpu_ended = 0.0

    def start(self) -> None:
        self.cpu_started = cpu_s()
        self.started = time.monotonic()
        if not self.count:
            self._finish()
            return
        for _ in range(self.window):
            self._send_next()

    def wait(self, timeout_s: float) -> bool:
        return self._done.wait(timeout_s)

    def finished(self, ok: bool, code: int | None) -> None:
        """One MESSAGE got its final response (or failed without one)."""
        if self._record(ok, code):
            self._send_next()

    def _record(self, ok: bool, code: int | None) -> bool:
        """Count one outcome; True if more MESSAGEs are to be sent."""
        with self._lock:
            if ok:
                self.succeeded += 1
            else:
                self.failed += 1
            self.codes[code if code is not None else 0] += 1
            completed = self.succeeded + self.failed
            more = self.next_seq < self.count
        if completed >= self.count and not self._done.is_set():
            self._finish()
        return more

    def _finish(self) -> None:
        self.ended = time.monotonic()
        self.cpu_ended = cpu_s()
        self._done.set()

    def _send_next(self) -> None:
        # A loop, not recursion: a send that raises is a failure and the next one is tried.
        while True:
            with self._lock:
                if self.next_seq >= self.count:
                    return
                seq = self.next_seq
                self.next_seq += 1
            try:
                self._send(seq)
                return
            except Exception as exc:  # counted, and reported in the counters
                if len(self.send_errors) < 3:
                    self.send_errors.append(f"{type(exc).__name__}: {exc}")
                if not self._record(False, None):
                    return

    def as_dict(self) -> dict[str, Any]:
        done = self._done.is_set()
        elapsed = (self.ended if done else time.monotonic()) - self.started
        with self._lock:
            succeeded, failed, sent = self.succeeded, self.failed, self.next_seq
            codes = {str(code): number for code, number in sorted(self.codes.items())}
        return {
            "count": self.count,
            "window": self.window,
            "sent": sent,
            "succeeded": succeeded,
            "failed": failed,
            "outstanding": sent - succeeded - failed,
            "codes": codes,
            "send_errors": list(self.send_errors),
            "timed_out": not done,
            "elapsed_s": elapsed,
            "messages_per_s": succeeded / elapsed if done and elapsed > 0 else None,
            "load_cpu_s": (self.cpu_ended - self.cpu_started) if done else None,
        }
