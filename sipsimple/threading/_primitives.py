"""Waiting across threads: Future, Channel and Command.

Each of these is set (or fed) from any thread and waited on from any thread
but the middleware thread's hub: a green thread that waits blocks only
itself (the other green threads keep running), an OS thread blocks as usual.
"""

from __future__ import annotations

import collections
import enum
import threading
import time
from typing import Any, Generic, Protocol, TypeVar

from sipsimple.threading._hub import in_middleware_thread, make_green_waiter

__all__ = ["Channel", "Command", "Future"]

T = TypeVar("T")


class _Waiter(Protocol):
    def wait(self, timeout: float | None) -> bool: ...

    def wake(self) -> None: ...


class _ThreadWaiter:
    """Blocks one OS thread until woken, from any thread."""

    __slots__ = ("_event",)

    def __init__(self) -> None:
        self._event = threading.Event()

    def wait(self, timeout: float | None) -> bool:
        return self._event.wait(timeout)

    def wake(self) -> None:
        self._event.set()


def _make_waiter() -> _Waiter:
    # In the middleware thread this is a green waiter, or RuntimeError in the hub's own greenlet.
    return make_green_waiter() if in_middleware_thread() else _ThreadWaiter()


class _FutureState(enum.Enum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Future(Generic[T]):
    """The outcome of something running elsewhere, set once, waited on any number of times.

    ``pending`` --set_result()--> ``succeeded``; ``pending`` --set_exception()--> ``failed``.
    """

    __slots__ = ("__weakref__", "_exception", "_lock", "_state", "_value", "_waiters")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state = _FutureState.PENDING
        self._value: T | None = None
        self._exception: BaseException | None = None
        self._waiters: list[_Waiter] = []

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._state.value}>"

    def done(self) -> bool:
        return self._state is not _FutureState.PENDING

    def set_result(self, value: T) -> None:
        """Succeed with ``value``; RuntimeError if the outcome is already set."""
        self._settle(_FutureState.SUCCEEDED, value, None)

    def set_exception(self, exception: BaseException) -> None:
        """Fail with ``exception`` (raised by every wait()); RuntimeError if the outcome is already set."""
        self._settle(_FutureState.FAILED, None, exception)

    def wait(self, timeout: float | None = None) -> T:
        """Return the result or raise the exception, blocking until there is one.

        ``TimeoutError`` if ``timeout`` seconds pass first (the outcome may still come later).
        """
        with self._lock:
            if self._state is _FutureState.PENDING:
                waiter = _make_waiter()
                self._waiters.append(waiter)
            else:
                waiter = None
        if waiter is not None and not waiter.wait(timeout):
            with self._lock:
                if self._state is _FutureState.PENDING:
                    self._waiters.remove(waiter)
                    raise TimeoutError(f"no outcome within {timeout} s")
        if self._state is _FutureState.FAILED:
            assert self._exception is not None
            raise self._exception
        return self._value  # type: ignore[return-value]

    def _settle(self, state: _FutureState, value: T | None, exception: BaseException | None) -> None:
        with self._lock:
            if self._state is not _FutureState.PENDING:
                raise RuntimeError(f"the outcome of {self!r} is already set")
            self._value, self._exception = value, exception
            self._state = state
            waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            waiter.wake()


class Channel(Generic[T]):
    """A FIFO queue: put() from any thread never blocks; get() blocks only its caller (a green thread or not)."""

    __slots__ = ("__weakref__", "_items", "_lock", "_waiters")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: collections.deque[T] = collections.deque()
        self._waiters: collections.deque[_Waiter] = collections.deque()

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def put(self, item: T) -> None:
        with self._lock:
            self._items.append(item)
            waiter = self._waiters.popleft() if self._waiters else None
        if waiter is not None:
            waiter.wake()

    def get(self, timeout: float | None = None) -> T:
        """The oldest item, waiting for one if there is none; ``TimeoutError`` after ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._lock:
                if self._items:
                    return self._items.popleft()
                waiter = _make_waiter()
                self._waiters.append(waiter)
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            if waiter.wait(remaining):
                continue  # an item was put (another getter may have taken it first: then wait again)
            with self._lock:
                try:
                    self._waiters.remove(waiter)
                except ValueError:
                    pass  # a put() woke this waiter just as it timed out: its item is still queued
                if self._items:
                    return self._items.popleft()
            raise TimeoutError(f"nothing received within {timeout} s")

    def get_nowait(self) -> T:
        """The oldest item; ``LookupError`` if there is none."""
        with self._lock:
            if not self._items:
                raise LookupError("the channel is empty")
            return self._items.popleft()


class Command:
    """A request sent (usually through a Channel) to whoever serves it, who answers with signal().

    The sender waits for the answer with wait(). The keyword arguments become attributes::

        command = Command("register", expires=600)
        commands.put(command)
        result = command.wait()       # in the server: command.signal(result)
    """

    def __init__(self, name: str, **attributes: Any) -> None:
        self.name = name
        self.__dict__.update(attributes)
        self._outcome: Future[Any] = Future()

    def __repr__(self) -> str:
        return f"<Command {self.name!r}>"

    def signal(self, result: Any = None) -> None:
        self._outcome.set_result(result)

    def signal_error(self, exception: BaseException) -> None:
        self._outcome.set_exception(exception)

    def done(self) -> bool:
        return self._outcome.done()

    def wait(self, timeout: float | None = None) -> Any:
        return self._outcome.wait(timeout)
