"""sipsimple.threading: where each call runs, in which order, what happens to exceptions, and waiting across threads.

Every wait in these tests has a generous limit that only turns a hang into
a failure; no assertion is about how long something took.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from sipsimple.core import Engine
from sipsimple.notification import NotificationCenter
from sipsimple.threading import (
    Channel,
    Command,
    Future,
    MiddlewareThreadStopped,
    NotificationQueue,
    call_in_green_thread,
    call_in_thread,
    call_in_thread_pool,
    in_green_thread,
    in_middleware_thread,
    middleware_thread_ident,
    run_in_green_thread,
    run_in_thread,
    run_in_waitable_green_thread,
    sleep,
    spawn,
    start_middleware_thread,
    stop_middleware_thread,
    stop_thread,
)
from sipsimple.threading._hub import middleware_thread
from tests.support.messages import message_to_bob

LIMIT = 10.0  # seconds; only ever reached when something hangs


def where() -> tuple[int, str, bool]:
    return threading.get_ident(), threading.current_thread().name, in_green_thread()


class LogCatcher(logging.Handler):
    """Collects the records of the sipsimple.threading logger; a test can wait for one."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []
        self.arrived = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.arrived.set()


@pytest.fixture
def log_catcher() -> Iterator[LogCatcher]:
    catcher = LogCatcher()
    logger = logging.getLogger("sipsimple.threading")
    logger.addHandler(catcher)
    yield catcher
    logger.removeHandler(catcher)


# --- where things run -------------------------------------------------------------------


def test_nothing_is_monkey_patched() -> None:
    start_middleware_thread()
    assert socket.socket.__module__ == "socket"
    assert time.sleep.__module__ == "time"
    assert threading.Lock.__module__ == "_thread"
    assert threading.current_thread().name == "MainThread"


def test_call_in_green_thread_runs_in_a_green_thread_of_the_middleware_thread() -> None:
    result: Future[tuple[int, str, bool]] = Future()
    call_in_green_thread(lambda: result.set_result(where()))
    ident, name, green = result.wait(LIMIT)
    assert ident == middleware_thread_ident() != threading.get_ident()
    assert name == "sipsimple-middleware" and green
    assert not in_green_thread() and not in_middleware_thread()


def test_the_green_thread_decorators() -> None:
    results: Future[tuple[int, str, bool]] = Future()

    @run_in_green_thread
    def fire_and_forget(value: int) -> int:
        results.set_result(where())
        return value

    @run_in_waitable_green_thread
    def waitable(value: int) -> tuple[int, tuple[int, str, bool]]:
        return value * 2, where()

    assert fire_and_forget(1) is None
    assert results.wait(LIMIT) == (middleware_thread_ident(), "sipsimple-middleware", True)
    doubled, place = waitable(21).wait(LIMIT)
    assert doubled == 42 and place == (middleware_thread_ident(), "sipsimple-middleware", True)
    assert fire_and_forget.__name__ == "fire_and_forget" and waitable.__name__ == "waitable"


def test_run_in_thread_runs_in_the_named_thread() -> None:
    results: Future[tuple[int, str, bool]] = Future()

    @run_in_thread("test-worker")
    def work() -> None:
        results.set_result(where())

    try:
        assert work() is None
        ident, name, green = results.wait(LIMIT)
        assert name == "test-worker" and not green
        assert ident not in (threading.get_ident(), middleware_thread_ident())
    finally:
        assert stop_thread("test-worker", LIMIT)


def test_call_in_thread_pool_runs_elsewhere_and_the_result_reaches_a_green_thread() -> None:
    def body() -> tuple[tuple[int, str, bool], int]:
        return call_in_thread_pool(where).wait(), threading.get_ident()

    (pool_ident, pool_name, green), caller = spawn(body).wait(LIMIT)
    assert caller == middleware_thread_ident()
    assert pool_ident not in (caller, threading.get_ident())
    assert pool_name.startswith("sipsimple-pool") and not green


# --- order ------------------------------------------------------------------------------


def test_green_threads_start_in_the_order_they_were_requested() -> None:
    started: list[int] = []
    done = Channel[None]()

    def record(index: int) -> None:
        started.append(index)
        sleep(0)  # let the others run: starting order must not depend on finishing order
        if index == 199:
            done.put(None)

    for index in range(200):
        call_in_green_thread(record, index)
    done.get(LIMIT)
    assert started == list(range(200))


def test_a_named_thread_runs_its_calls_one_at_a_time_in_order() -> None:
    lock = threading.Lock()
    running = 0
    overlaps = 0
    order: list[tuple[str, int]] = []
    done: Future[None] = Future()

    def task(source: str, index: int) -> None:
        nonlocal running, overlaps
        with lock:
            running += 1
            overlaps += running > 1
        time.sleep(0.0005)
        order.append((source, index))
        with lock:
            running -= 1

    def producer(source: str) -> None:
        for index in range(50):
            call_in_thread("test-serial", task, source, index)

    threads = [threading.Thread(target=producer, args=(f"p{n}",)) for n in range(3)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(LIMIT)
        call_in_thread("test-serial", done.set_result, None)
        done.wait(LIMIT)
        assert overlaps == 0 and len(order) == 150
        for source in ("p0", "p1", "p2"):  # each producer's calls ran in the order it made them
            assert [index for name, index in order if name == source] == list(range(50))
    finally:
        assert stop_thread("test-serial", LIMIT)


# --- exceptions -------------------------------------------------------------------------


def test_an_exception_in_a_fire_and_forget_green_thread_is_logged(log_catcher: LogCatcher) -> None:
    def fail() -> None:
        raise ValueError("green failure")

    call_in_green_thread(fail)
    assert log_catcher.arrived.wait(LIMIT)
    [record] = log_catcher.records
    assert record.exc_info is not None and isinstance(record.exc_info[1], ValueError)
    assert "fail" in record.getMessage()
    # The middleware thread goes on.
    assert spawn(lambda: 7).wait(LIMIT) == 7


def test_an_exception_in_a_named_thread_is_logged_and_the_thread_goes_on(log_catcher: LogCatcher) -> None:
    after: Future[str] = Future()

    def fail() -> None:
        raise KeyError("worker failure")

    try:
        call_in_thread("test-failing", fail)
        call_in_thread("test-failing", lambda: after.set_result(threading.current_thread().name))
        assert after.wait(LIMIT) == "test-failing"
        [record] = log_catcher.records
        assert record.exc_info is not None and isinstance(record.exc_info[1], KeyError)
    finally:
        assert stop_thread("test-failing", LIMIT)


def test_exceptions_reach_whoever_waits(log_catcher: LogCatcher) -> None:
    error = RuntimeError("for the waiter")

    def fail() -> None:
        raise error

    with pytest.raises(RuntimeError) as raised:
        spawn(fail).wait(LIMIT)
    assert raised.value is error
    with pytest.raises(RuntimeError) as raised:
        call_in_thread_pool(fail).wait(LIMIT)
    assert raised.value is error
    assert log_catcher.records == []  # handed over, not logged


# --- waiting -----------------------------------------------------------------------------


def test_a_waiting_green_thread_does_not_block_the_others() -> None:
    # A green thread waits on a pool thread that waits for a second green thread: if the first wait
    # blocked the hub, the second green thread could never run and the pool thread would give up.
    signal = threading.Event()

    def first() -> bool:
        return call_in_thread_pool(signal.wait, LIMIT).wait()

    waiting = spawn(first)
    call_in_green_thread(signal.set)
    assert waiting.wait(LIMIT) is True


def test_sleep_in_a_green_thread_lets_the_others_run() -> None:
    flag = threading.Event()

    def sleeper() -> int:
        for rounds in range(10000):
            if flag.is_set():
                return rounds
            sleep(0.001)
        return -1

    sleeping = spawn(sleeper)
    call_in_green_thread(flag.set)
    assert sleeping.wait(LIMIT) >= 0
    sleep(0)  # outside the middleware thread it is time.sleep


def test_channel_between_threads() -> None:
    channel: Channel[int] = Channel()

    def consumer() -> list[int]:
        return [channel.get() for _ in range(100)]

    received = spawn(consumer)
    for value in range(100):
        channel.put(value)
    assert received.wait(LIMIT) == list(range(100))
    with pytest.raises(TimeoutError):
        spawn(channel.get, 0.05).wait(LIMIT)
    with pytest.raises(TimeoutError):
        channel.get(0.01)  # from an OS thread too
    with pytest.raises(LookupError):
        channel.get_nowait()
    channel.put(5)
    assert len(channel) == 1 and channel.get_nowait() == 5


def test_command_served_by_a_green_thread() -> None:
    commands: Channel[Command] = Channel()

    def server() -> None:
        while True:
            command = commands.get()
            if command.name == "stop":
                command.signal("stopped")
                return
            if command.name == "add":
                command.signal(command.a + command.b)
            else:
                command.signal_error(ValueError(f"unknown command {command.name}"))

    spawn(server)
    add = Command("add", a=2, b=3)
    commands.put(add)
    assert add.wait(LIMIT) == 5 and add.done()
    bad = Command("divide")
    commands.put(bad)
    with pytest.raises(ValueError, match="unknown command divide"):
        bad.wait(LIMIT)

    def green_client() -> str:
        stop = Command("stop")
        commands.put(stop)
        return stop.wait()

    assert spawn(green_client).wait(LIMIT) == "stopped"


def test_future_is_set_once_and_waited_on_by_many() -> None:
    future: Future[str] = Future()
    green_waiters = [spawn(future.wait) for _ in range(5)]
    thread_results: list[str] = []
    threads = [threading.Thread(target=lambda: thread_results.append(future.wait(LIMIT))) for _ in range(3)]
    for thread in threads:
        thread.start()
    with pytest.raises(TimeoutError):
        future.wait(0.01)
    threading.Thread(target=future.set_result, args=("value",)).start()
    assert [waiter.wait(LIMIT) for waiter in green_waiters] == ["value"] * 5
    for thread in threads:
        thread.join(LIMIT)
    assert thread_results == ["value"] * 3
    with pytest.raises(RuntimeError):
        future.set_result("again")
    with pytest.raises(RuntimeError):
        future.set_exception(ValueError())


def test_the_hub_itself_cannot_block() -> None:
    outcome: Future[str] = Future()

    def in_the_hub() -> None:  # runs in the hub's own greenlet, not in a green thread
        try:
            Future().wait(1)
        except RuntimeError as error:
            outcome.set_result(str(error))
        else:
            outcome.set_result("no error")

    middleware_thread.submit(in_the_hub)
    assert "green thread" in outcome.wait(LIMIT)


# --- the Engine thread and green threads -----------------------------------------------------


def test_engine_notifications_reach_a_waiting_green_thread() -> None:
    """A green thread starts the Engine and sends a MESSAGE to it, waiting for what the Engine thread posts."""

    def scenario() -> tuple[str, str, str, bytes]:
        engine = Engine()
        with NotificationQueue("SIPEngineDidStart", sender=engine) as started:
            engine.start(ip_address="127.0.0.1", udp_port=0, tcp_port=0)
            did_start = started.wait(LIMIT)
        uri = f"sip:bob@127.0.0.1:{engine.local_udp_port}"
        with NotificationQueue("SIPEngineGotMessage", "SIPRequestDidSucceed") as notifications:
            request = message_to_bob(uri, "hello")
            request.send(timeout=LIMIT)
            got = notifications.wait_for(lambda n: n.name == "SIPEngineGotMessage", LIMIT)
            succeeded = notifications.wait_for(
                lambda n: n.name == "SIPRequestDidSucceed" and n.sender is request, LIMIT
            )
        engine.stop()
        return did_start.name, got.name, succeeded.name, got.data.body

    assert spawn(scenario).wait(3 * LIMIT) == (
        "SIPEngineDidStart",
        "SIPEngineGotMessage",
        "SIPRequestDidSucceed",
        b"hello",
    )


def test_engine_thread_observers_hand_work_to_green_threads_without_deadlock() -> None:
    """The Engine thread's observer hops to a green thread that calls back into the core, while another green
    thread waits for the result: nobody blocks the Engine thread, so the second MESSAGE goes through too."""
    engine = Engine()
    engine.start(ip_address="127.0.0.1", udp_port=0, tcp_port=0)
    uri = f"sip:bob@127.0.0.1:{engine.local_udp_port}"
    bodies: Channel[tuple[bytes, bool, int]] = Channel()

    class Relay:
        def handle_notification(self, notification) -> None:  # type: ignore[no-untyped-def]
            # In the Engine thread.
            self.answer(notification.data.body, threading.get_ident())

        @run_in_green_thread
        def answer(self, body: bytes, engine_thread: int) -> None:
            bodies.put((body, in_green_thread(), engine_thread))
            if body == b"first":
                send(b"second")  # back into the core, from the middleware thread

    def send(body: bytes) -> None:
        message_to_bob(uri, body.decode()).send(timeout=LIMIT)

    relay = Relay()
    NotificationCenter().add_observer(relay, name="SIPEngineGotMessage")
    try:
        waiter = spawn(lambda: [bodies.get(), bodies.get()])
        send(b"first")
        received = waiter.wait(3 * LIMIT)
    finally:
        NotificationCenter().discard_observer(relay, name="SIPEngineGotMessage")
        engine.stop()
    assert [body for body, _, _ in received] == [b"first", b"second"]
    assert all(green for _, green, _ in received)
    assert all(
        engine_thread not in (threading.get_ident(), middleware_thread_ident()) for _, _, engine_thread in received
    )


# --- stopping -----------------------------------------------------------------------------


def test_stopping_kills_green_threads_and_a_later_call_starts_it_again() -> None:
    cleaned_up = threading.Event()

    def blocked() -> None:
        try:
            Future().wait()
        finally:
            cleaned_up.set()

    running = Channel[None]()
    future = spawn(lambda: (running.put(None), blocked()))
    running.get(LIMIT)
    assert stop_middleware_thread(LIMIT)
    assert middleware_thread.state == "stopped" and middleware_thread_ident() is None
    assert cleaned_up.is_set()
    with pytest.raises(MiddlewareThreadStopped):
        future.wait(LIMIT)
    assert spawn(lambda: in_green_thread()).wait(LIMIT) is True
    assert middleware_thread.state == "running"


def test_a_green_thread_can_stop_the_middleware_thread() -> None:
    start_middleware_thread()
    [thread] = [t for t in threading.enumerate() if t.ident == middleware_thread_ident()]
    # From inside, the stop is only requested (a thread cannot join itself): it returns at once.
    assert spawn(stop_middleware_thread).wait(LIMIT) is True
    thread.join(LIMIT)
    assert not thread.is_alive() and middleware_thread.state == "stopped"
