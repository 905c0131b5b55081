"""The middleware thread: one OS thread running a green-thread hub.

This is the only module of the SDK that imports eventlet (and greenlet). It
never monkey-patches anything: green threads here cooperate only through the
primitives of this package, and blocking work goes to OS threads
(``call_in_thread_pool``). Replacing eventlet means rewriting this module
and nothing else.

How a call gets in
------------------
Other threads (the Engine thread posting notifications, worker threads, the
application's threads) cannot touch the hub directly: eventlet's hub is not
thread-safe. They append a callback to ``_calls`` and write one byte to a
pipe whose read end the hub watches. When the pipe is readable the hub runs
``_drain`` in its own greenlet, which takes the callbacks in the order they
were queued and runs each one. A callback that starts a green thread
switches into it at once, so green threads start in submission order; each
one runs until it first blocks (or ends) and control comes back to
``_drain`` for the next callback.

Lifetime
--------
``stopped`` --(first call, or start())--> ``running`` --stop()--> ``stopping``
--(hub thread ends)--> ``stopped``. Stopping kills the green threads still
alive (GreenletExit is raised inside them, so ``finally`` blocks run), after
the callbacks queued before the stop request have run.
"""

from __future__ import annotations

import collections
import enum
import logging
import os
import threading
import time
import warnings
from collections.abc import Callable
from typing import Any

with warnings.catch_warnings():
    # eventlet announces at import that new projects should not use it; this
    # module is the single place that depends on it, see the module docstring.
    warnings.simplefilter("ignore")
    import eventlet.event
    import eventlet.greenthread
    import eventlet.hubs
    import greenlet

__all__ = [
    "GreenThreadExit",
    "MiddlewareThreadStopped",
    "in_green_thread",
    "in_middleware_thread",
    "make_green_waiter",
    "middleware_thread",
    "sleep",
    "start_green_thread",
]

log = logging.getLogger("sipsimple.threading")


GreenThreadExit = greenlet.GreenletExit  # what a green thread sees when the hub kills it


class MiddlewareThreadStopped(RuntimeError):
    """A green thread was killed because the middleware thread stopped."""


class _State(enum.Enum):
    STOPPED = "stopped"
    RUNNING = "running"
    STOPPING = "stopping"


class _Stop:
    """The marker queued by stop(); the hub stops when _drain reaches it."""


_STOP = _Stop()


class _MiddlewareThread:
    """The OS thread owning the hub, its call queue and its green threads."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._state = _State.STOPPED
        self._thread: threading.Thread | None = None
        self._ident: int | None = None
        self._calls: collections.deque[Callable[[], None] | _Stop] = collections.deque()
        self._wakeup_pending = False
        self._read_fd = -1
        self._write_fd = -1
        # Touched only in the hub thread:
        self._hub: Any = None
        self._stop_event: Any = None
        self._green_threads: set[greenlet.greenlet] = set()

    # -- any thread --------------------------------------------------------

    @property
    def state(self) -> str:
        with self._condition:
            return self._state.value

    @property
    def ident(self) -> int | None:
        """The thread identifier of the running middleware thread, else None."""
        with self._condition:
            return self._ident if self._state is not _State.STOPPED else None

    def is_current(self) -> bool:
        return self._ident is not None and threading.get_ident() == self._ident

    def start(self) -> None:
        """Start the thread if it is stopped (waiting for a stop in progress to finish)."""
        with self._condition:
            self._wait_out_stop_locked()
            if self._state is _State.STOPPED:
                self._start_locked()

    def submit(self, callback: Callable[[], None]) -> None:
        """Queue ``callback`` to run in the hub's greenlet (it must not block); start the thread if needed."""
        with self._condition:
            self._wait_out_stop_locked()
            if self._state is _State.STOPPED:
                self._start_locked()
            self._enqueue_locked(callback)

    def submit_if_running(self, callback: Callable[[], None]) -> bool:
        """Like submit(), but only while the thread is running (False, and nothing queued, otherwise)."""
        with self._condition:
            if self._state is not _State.RUNNING:
                return False
            self._enqueue_locked(callback)
            return True

    def stop(self, timeout: float | None = None) -> bool:
        """Stop the thread: kill its green threads, end the hub, join the thread.

        Returns False if the thread was still alive after ``timeout`` seconds
        (it is then still stopping). Called from the middleware thread itself,
        the stop is only requested (a thread cannot join itself).
        """
        with self._condition:
            if self._state is _State.RUNNING:
                self._state = _State.STOPPING
                self._enqueue_locked(_STOP)
            thread = self._thread
        if thread is None or thread is threading.current_thread():
            return True
        thread.join(timeout)
        return not thread.is_alive()

    # -- internals (lock held) ---------------------------------------------

    def _wait_out_stop_locked(self) -> None:
        while self._state is _State.STOPPING:
            if self.is_current():
                raise RuntimeError("the middleware thread is stopping")
            self._condition.wait()

    def _start_locked(self) -> None:
        read_fd, write_fd = os.pipe()
        os.set_blocking(read_fd, False)
        os.set_blocking(write_fd, False)
        self._read_fd, self._write_fd = read_fd, write_fd
        self._calls.clear()
        self._wakeup_pending = False
        self._state = _State.RUNNING
        self._thread = threading.Thread(target=self._main, name="sipsimple-middleware", daemon=True)
        self._thread.start()
        self._ident = self._thread.ident

    def _enqueue_locked(self, item: Callable[[], None] | _Stop) -> None:
        self._calls.append(item)
        if not self._wakeup_pending:
            self._wakeup_pending = True
            try:
                os.write(self._write_fd, b"\0")
            except BlockingIOError:  # cannot happen with one byte pending at most; the byte there wakes the hub
                pass

    # -- the hub thread ----------------------------------------------------

    def _main(self) -> None:
        self._ident = threading.get_ident()
        hub = eventlet.hubs.get_hub()
        self._hub = hub
        self._stop_event = eventlet.event.Event()
        listener = hub.add(hub.READ, self._read_fd, self._on_readable, self._on_listener_error, None)
        try:
            self._stop_event.wait()  # the thread's main greenlet hands control to the hub until stop
            self._kill_green_threads()
        except BaseException:
            log.exception("the middleware thread failed")
        finally:
            try:
                hub.remove(listener)
                hub.abort(wait=True)
            except Exception:
                log.exception("error while ending the middleware thread's hub")
            self._hub = None
            self._stop_event = None
            with self._condition:
                os.close(self._read_fd)
                os.close(self._write_fd)
                self._read_fd = self._write_fd = -1
                self._calls.clear()
                self._ident = None
                self._thread = None
                self._state = _State.STOPPED
                self._condition.notify_all()

    def _on_listener_error(self, *args: object) -> None:
        log.error("the middleware thread's wakeup pipe failed: %r", args)

    def _on_readable(self, fileno: int) -> None:
        # Runs in the hub's greenlet.
        try:
            os.read(fileno, 4096)
        except BlockingIOError:
            pass
        with self._condition:
            self._wakeup_pending = False
            calls = list(self._calls)
            self._calls.clear()
        for call in calls:
            if isinstance(call, _Stop):
                if not self._stop_event.ready():
                    self._stop_event.send(None)
                return  # nothing is queued after the stop marker (the state is STOPPING)
            try:
                call()
            except Exception:
                log.exception("exception in a callback run by the middleware thread")

    def _kill_green_threads(self) -> None:
        for green_thread in list(self._green_threads):
            if not green_thread.dead:
                eventlet.greenthread.kill(green_thread)

    def spawn_now(self, body: Callable[[], None]) -> None:
        """In the hub greenlet: run ``body`` in a new green thread now (until it first blocks)."""
        hub = self._hub

        def run() -> None:
            try:
                body()
            finally:
                self._green_threads.discard(green_thread)

        green_thread = greenlet.greenlet(run, parent=hub.greenlet)
        self._green_threads.add(green_thread)
        green_thread.switch()


middleware_thread = _MiddlewareThread()


def start_green_thread(body: Callable[[], None]) -> None:
    """From any thread: run ``body`` (which must handle its own exceptions) in a new green thread."""
    middleware_thread.submit(lambda: middleware_thread.spawn_now(body))


def in_middleware_thread() -> bool:
    return middleware_thread.is_current()


def in_green_thread() -> bool:
    """True in a green thread of the middleware thread (where blocking the green thread is allowed)."""
    hub = middleware_thread._hub
    return middleware_thread.is_current() and hub is not None and greenlet.getcurrent() is not hub.greenlet


def sleep(seconds: float = 0) -> None:
    """Pause the calling green thread (letting others run), or the calling OS thread outside the middleware thread."""
    if in_green_thread():
        eventlet.sleep(seconds)
    elif in_middleware_thread():
        raise RuntimeError("sleep() cannot block the middleware thread's hub (call it from a green thread)")
    else:
        time.sleep(seconds)


class _GreenWaiter:
    """Blocks one green thread until woken, from any thread."""

    __slots__ = ("_event",)

    def __init__(self) -> None:
        self._event = eventlet.event.Event()

    def wait(self, timeout: float | None) -> bool:
        # eventlet's Event.wait returns None when the timeout fires first; wake() sends True.
        return self._event.wait(timeout) is not None

    def wake(self) -> None:
        if middleware_thread.is_current():
            self._wake_in_hub()
        else:
            # Not running: the waiting green thread has been killed with its hub.
            middleware_thread.submit_if_running(self._wake_in_hub)

    def _wake_in_hub(self) -> None:
        if not self._event.ready():
            self._event.send(True)


def make_green_waiter() -> _GreenWaiter:
    """A waiter for the calling green thread; RuntimeError in the hub's own greenlet."""
    if not in_green_thread():
        raise RuntimeError("cannot block the middleware thread's hub (wait from a green thread)")
    return _GreenWaiter()
