"""Running code in green threads of the middleware thread, from any thread."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from sipsimple.threading._hub import GreenThreadExit, MiddlewareThreadStopped, start_green_thread
from sipsimple.threading._primitives import Future

__all__ = ["call_in_green_thread", "run_in_green_thread", "run_in_waitable_green_thread", "spawn"]

log = logging.getLogger("sipsimple.threading")

P = ParamSpec("P")
T = TypeVar("T")


def _describe(func: Callable[..., Any]) -> str:
    return getattr(func, "__qualname__", None) or repr(func)


def call_in_green_thread(func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """Run ``func(*args, **kwargs)`` in a new green thread; return at once.

    Calls made from one thread start in the order they were made. An
    exception ``func`` raises is logged (logger ``sipsimple.threading``).
    """

    def body() -> None:
        try:
            func(*args, **kwargs)
        except GreenThreadExit:
            pass  # killed by a stop of the middleware thread
        except BaseException:
            log.exception("exception in green thread running %s", _describe(func))

    start_green_thread(body)


def spawn(func: Callable[..., T], *args: Any, **kwargs: Any) -> Future[T]:
    """Run ``func(*args, **kwargs)`` in a new green thread; return a Future of its outcome at once.

    The Future's wait() returns what ``func`` returned or raises what it
    raised (``MiddlewareThreadStopped`` if the green thread was killed by a
    stop of the middleware thread). Nothing is logged: whoever holds the
    Future decides.
    """
    future: Future[T] = Future()

    def body() -> None:
        try:
            result = func(*args, **kwargs)
        except GreenThreadExit:
            future.set_exception(
                MiddlewareThreadStopped(f"{_describe(func)} was killed: the middleware thread stopped")
            )
        except BaseException as exception:
            future.set_exception(exception)
        else:
            future.set_result(result)

    start_green_thread(body)
    return future


def run_in_green_thread(func: Callable[P, Any]) -> Callable[P, None]:
    """Decorator: each call runs ``func`` in a new green thread (as call_in_green_thread) and returns None."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
        call_in_green_thread(func, *args, **kwargs)

    return wrapper


def run_in_waitable_green_thread(func: Callable[P, T]) -> Callable[P, Future[T]]:
    """Decorator: each call runs ``func`` in a new green thread (as spawn) and returns its Future."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Future[T]:
        return spawn(func, *args, **kwargs)

    return wrapper
