"""OS worker threads: named threads that serialize the calls given to them, and a pool for blocking calls."""

from __future__ import annotations

import functools
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

from sipsimple.threading._primitives import Future

__all__ = ["call_in_thread", "call_in_thread_pool", "run_in_thread", "stop_thread"]

log = logging.getLogger("sipsimple.threading")

P = ParamSpec("P")
T = TypeVar("T")

_Call = tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]


class _Stop:
    pass


_STOP = _Stop()


class _NamedThread:
    """One daemon thread running the calls queued for it, one at a time, in order."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.queue: queue.SimpleQueue[_Call | _Stop] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _run(self) -> None:
        while True:
            item = self.queue.get()
            if isinstance(item, _Stop):
                return
            func, args, kwargs = item
            try:
                func(*args, **kwargs)
            except BaseException:
                log.exception("exception in thread %r running %s", self.name, getattr(func, "__qualname__", func))
            del item, func, args, kwargs  # do not keep the last call's objects alive while idle


_threads_lock = threading.Lock()
_threads: dict[str, _NamedThread] = {}


def call_in_thread(name: str, func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """Queue ``func(*args, **kwargs)`` for the worker thread called ``name`` (started on first use); return at once.

    The thread runs its calls one at a time in the order they were queued.
    An exception ``func`` raises is logged (logger ``sipsimple.threading``).
    """
    with _threads_lock:
        worker = _threads.get(name)
        if worker is None:
            worker = _threads[name] = _NamedThread(name)
            worker.thread.start()
        worker.queue.put((func, args, kwargs))


def run_in_thread(name: str) -> Callable[[Callable[P, Any]], Callable[P, None]]:
    """Decorator: each call runs the function in the worker thread ``name`` (as call_in_thread) and returns None."""

    def decorator(func: Callable[P, Any]) -> Callable[P, None]:
        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
            call_in_thread(name, func, *args, **kwargs)

        return wrapper

    return decorator


def stop_thread(name: str, timeout: float | None = None) -> bool:
    """End the worker thread ``name`` after the calls already queued; wait for it (unless called from it).

    Returns False if it was still running after ``timeout`` seconds. A later
    call_in_thread(name, ...) starts a new thread of that name.
    """
    with _threads_lock:
        worker = _threads.pop(name, None)
        if worker is None:
            return True
        worker.queue.put(_STOP)
    if worker.thread is threading.current_thread():
        return True
    worker.thread.join(timeout)
    return not worker.thread.is_alive()


_POOL_SIZE = 8
_pool_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def call_in_thread_pool(func: Callable[..., T], *args: Any, **kwargs: Any) -> Future[T]:
    """Run the blocking ``func(*args, **kwargs)`` in a pool thread; return a Future of its outcome at once.

    This is how a green thread does blocking work (DNS queries, file I/O)
    without stopping the other green threads: ``call_in_thread_pool(f).wait()``.
    The pool has a fixed number of threads; calls beyond that wait their turn.
    """
    global _pool
    future: Future[T] = Future()

    def job() -> None:
        try:
            result = func(*args, **kwargs)
        except BaseException as exception:
            future.set_exception(exception)
        else:
            future.set_result(result)

    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=_POOL_SIZE, thread_name_prefix="sipsimple-pool")
        _pool.submit(job)
    return future
