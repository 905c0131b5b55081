"""Threads of the middleware: the middleware thread's green threads, named worker threads, a pool.

The model (docs/architecture.md, "Threads"; reference in docs/api/threading.md):

* **The middleware thread** (``sipsimple-middleware``) runs a green-thread hub.
  Middleware logic runs there, in green threads: cooperative, so code between
  two blocking points runs without interruption by other green threads.
  ``call_in_green_thread`` / ``run_in_green_thread`` / ``spawn`` /
  ``run_in_waitable_green_thread`` get code there from any thread. It starts
  on first use; ``stop_middleware_thread()`` ends it.
* **Named worker threads**: ``call_in_thread(name, ...)`` / ``run_in_thread(name)``
  run calls one at a time, in order, in the OS thread called ``name``.
* **The pool**: ``call_in_thread_pool(func, ...)`` runs a blocking call in an
  OS thread and returns a Future, so a green thread can wait for it without
  blocking the others.

Waiting across threads: ``Future``, ``Channel``, ``Command`` and
``NotificationQueue`` are fed from any thread; waiting on them blocks only
the waiting green thread (or OS thread). ``sleep`` does the same for time.

Nothing here monkey-patches the standard library: a green thread that calls
a blocking function (``time.sleep``, a plain socket) stops every green thread
until it returns; use ``sleep`` and ``call_in_thread_pool`` instead.
"""

from __future__ import annotations

from sipsimple.threading._green import call_in_green_thread, run_in_green_thread, run_in_waitable_green_thread, spawn
from sipsimple.threading._hub import (
    MiddlewareThreadStopped,
    in_green_thread,
    in_middleware_thread,
    middleware_thread,
    sleep,
)
from sipsimple.threading._notifications import NotificationQueue
from sipsimple.threading._primitives import Channel, Command, Future
from sipsimple.threading._workers import call_in_thread, call_in_thread_pool, run_in_thread, stop_thread

__all__ = [
    "Channel",
    "Command",
    "Future",
    "MiddlewareThreadStopped",
    "NotificationQueue",
    "call_in_green_thread",
    "call_in_thread",
    "call_in_thread_pool",
    "in_green_thread",
    "in_middleware_thread",
    "middleware_thread_ident",
    "run_in_green_thread",
    "run_in_thread",
    "run_in_waitable_green_thread",
    "sleep",
    "spawn",
    "start_middleware_thread",
    "stop_middleware_thread",
    "stop_thread",
]


def start_middleware_thread() -> None:
    """Start the middleware thread now (it also starts by itself on first use)."""
    middleware_thread.start()


def stop_middleware_thread(timeout: float | None = None) -> bool:
    """Stop the middleware thread, killing its green threads; False if it had not ended after ``timeout`` s.

    Callbacks queued before the stop run first. A later call that needs the
    thread starts a new one.
    """
    return middleware_thread.stop(timeout)


def middleware_thread_ident() -> int | None:
    """The ``threading.get_ident()`` of the running middleware thread, or None when it is stopped."""
    return middleware_thread.ident
