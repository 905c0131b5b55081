"""Tests for sipsimple.notification."""

from __future__ import annotations

import copy
import gc
import logging
import pickle
import threading
import uuid
import weakref
from collections import deque
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from zope.interface.verify import verifyObject

from sipsimple.notification import (
    Any,
    AnyType,
    INotificationCenter,
    IObserver,
    Notification,
    NotificationCenter,
    NotificationData,
    NotificationHandlerMixin,
)

# --------------------------------------------------------------------------
# Helpers


class Recorder:
    """Observer recording every notification it receives (thread-safe)."""

    def __init__(self, label: str = "") -> None:
        self.label = label
        self.notifications: list[Notification] = []
        self._lock = threading.Lock()

    def handle_notification(self, notification: Notification) -> None:
        with self._lock:
            self.notifications.append(notification)

    @property
    def names(self) -> list[str]:
        return [notification.name for notification in self.notifications]

    def __repr__(self) -> str:
        return f"Recorder({self.label!r})"


class CallbackObserver:
    def __init__(self, callback: Callable[[Notification], None]) -> None:
        self.callback = callback

    def handle_notification(self, notification: Notification) -> None:
        self.callback(notification)


class Sender:
    pass


class SlottedSender:
    """Neither weak-referenceable nor given a custom hash."""

    __slots__ = ("tag",)

    def __init__(self, tag: str) -> None:
        self.tag = tag


class AlwaysEqual:
    """Weak-referenceable; equal to every other AlwaysEqual, same hash."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AlwaysEqual)

    def __hash__(self) -> int:
        return 42


class UnhashableSender:
    def __eq__(self, other: object) -> bool:
        return self is other

    __hash__ = None  # type: ignore[assignment]


def run_in_thread(function: Callable[[], None], timeout: float = 10.0) -> None:
    """Run function in another thread; fail (instead of hanging) on deadlock."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            function()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), "deadlock: function did not return"
    if errors:
        raise errors[0]


def start_and_join(threads: list[threading.Thread], timeout: float = 60.0) -> None:
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
        assert not thread.is_alive(), "thread did not finish"


@pytest.fixture
def center() -> Iterator[NotificationCenter]:
    """A fresh, private center so that tests do not see each other's observers."""
    yield NotificationCenter(f"test-{uuid.uuid4()}")


# --------------------------------------------------------------------------
# Any


def test_any_is_a_singleton_with_repr() -> None:
    assert repr(Any) == "Any"
    assert AnyType() is Any
    assert copy.copy(Any) is Any
    assert copy.deepcopy(Any) is Any
    assert pickle.loads(pickle.dumps(Any)) is Any


# --------------------------------------------------------------------------
# NotificationData and Notification


def test_notification_data_attributes_and_repr() -> None:
    data = NotificationData(code=200, reason="OK")
    assert data.code == 200
    assert data.reason == "OK"
    assert repr(data) == "NotificationData(code=200, reason='OK')"
    assert repr(NotificationData()) == "NotificationData()"
    data.extra = [1]
    assert repr(data) == "NotificationData(code=200, reason='OK', extra=[1])"


def test_notification_data_equality() -> None:
    assert NotificationData(a=1, b=2) == NotificationData(b=2, a=1)
    assert NotificationData(a=1) != NotificationData(a=2)
    assert NotificationData(a=1) != NotificationData(a=1, b=2)
    assert NotificationData() == NotificationData()
    assert NotificationData(a=1) != {"a": 1}
    with pytest.raises(TypeError):
        hash(NotificationData(a=1))


def test_notification_data_pickles_and_copies() -> None:
    data = NotificationData(a=1, nested=NotificationData(b=[1, 2]))
    clone = pickle.loads(pickle.dumps(data))
    assert clone == data and clone is not data
    assert clone.nested.b == [1, 2]
    deep = copy.deepcopy(data)
    assert deep == data and deep.nested.b is not data.nested.b


def test_notification_attributes_and_repr() -> None:
    sender = Sender()
    data = NotificationData(x=1)
    before = datetime.now(UTC)
    notification = Notification("SomethingHappened", sender, data)
    after = datetime.now(UTC)
    assert notification.name == "SomethingHappened"
    assert notification.sender is sender
    assert notification.data is data
    assert notification.datetime.tzinfo is not None
    assert notification.datetime.utcoffset() == timedelta(0)
    assert before <= notification.datetime <= after
    text = repr(notification)
    assert "SomethingHappened" in text and "NotificationData(x=1)" in text
    assert Notification("X").sender is Any
    assert Notification("X").data == NotificationData()


def test_notification_rejects_bad_data() -> None:
    with pytest.raises(TypeError):
        Notification("X", data={"a": 1})  # type: ignore[arg-type]


# --------------------------------------------------------------------------
# Center identity


def test_default_center_is_a_singleton() -> None:
    assert NotificationCenter() is NotificationCenter()
    assert NotificationCenter("default") is NotificationCenter()
    assert NotificationCenter(name="default") is NotificationCenter()
    assert NotificationCenter().name == "default"


def test_named_centers_are_distinct_singletons() -> None:
    first = NotificationCenter("named-a")
    second = NotificationCenter("named-b")
    assert first is not second
    assert first is not NotificationCenter()
    assert NotificationCenter("named-a") is first
    assert first.name == "named-a"


def test_named_centers_do_not_share_observers() -> None:
    first = NotificationCenter(f"iso-{uuid.uuid4()}")
    second = NotificationCenter(f"iso-{uuid.uuid4()}")
    observer = Recorder()
    first.add_observer(observer)
    second.post_notification("OnSecond")
    first.post_notification("OnFirst")
    assert observer.names == ["OnFirst"]


def test_center_identity_across_threads() -> None:
    name = f"threaded-{uuid.uuid4()}"
    n_threads = 16
    barrier = threading.Barrier(n_threads)
    centers: list[NotificationCenter] = []
    lock = threading.Lock()

    def worker() -> None:
        barrier.wait()
        center = NotificationCenter(name)
        with lock:
            centers.append(center)

    start_and_join([threading.Thread(target=worker) for _ in range(n_threads)])
    assert len(centers) == n_threads
    assert all(center is centers[0] for center in centers)


def test_existing_center_is_not_reset(center: NotificationCenter) -> None:
    observer = Recorder()
    center.add_observer(observer)
    assert NotificationCenter(center.name) is center
    center.post_notification("StillThere")
    assert observer.names == ["StillThere"]


def test_center_name_must_be_a_string() -> None:
    with pytest.raises(TypeError):
        NotificationCenter(42)  # type: ignore[arg-type]


def test_interfaces(center: NotificationCenter) -> None:
    assert verifyObject(INotificationCenter, center)

    class Handler(NotificationHandlerMixin):
        pass

    assert IObserver.providedBy(Handler())


# --------------------------------------------------------------------------
# Argument validation


def test_add_observer_rejects_objects_without_handle_notification(center: NotificationCenter) -> None:
    class NoHandler:
        pass

    class NotCallable:
        handle_notification = 5

    with pytest.raises(TypeError):
        center.add_observer(NoHandler())
    with pytest.raises(TypeError):
        center.add_observer(NotCallable())
    assert center.registration_count() == 0


def test_add_observer_rejects_non_weakrefable_observer(center: NotificationCenter) -> None:
    class Slotted:
        __slots__ = ()

        def handle_notification(self, notification: Notification) -> None:
            pass

    with pytest.raises(TypeError, match="weak"):
        center.add_observer(Slotted())
    assert center.registration_count() == 0


def test_add_observer_rejects_bad_name(center: NotificationCenter) -> None:
    with pytest.raises(TypeError):
        center.add_observer(Recorder(), name=5)  # type: ignore[arg-type]


def test_post_rejects_bad_data_and_name(center: NotificationCenter) -> None:
    observer = Recorder()
    center.add_observer(observer)
    with pytest.raises(TypeError):
        center.post_notification("X", data={"a": 1})  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        center.post_notification("X", data=object())  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        center.post_notification(Any)  # type: ignore[arg-type]
    assert observer.notifications == []


def test_post_data_defaults_and_is_passed_through(center: NotificationCenter) -> None:
    observer = Recorder()
    center.add_observer(observer)
    center.post_notification("NoData")
    data = NotificationData(value=3)
    center.post_notification("WithData", data=data)
    first, second = observer.notifications
    assert isinstance(first.data, NotificationData) and first.data == NotificationData()
    assert first.sender is Any
    assert second.data is data


# --------------------------------------------------------------------------
# Matching


def test_name_specific_and_any_name(center: NotificationCenter) -> None:
    specific = Recorder("specific")
    everything = Recorder("everything")
    center.add_observer(specific, name="Wanted")
    center.add_observer(everything)
    center.post_notification("Wanted")
    center.post_notification("Unwanted")
    center.post_notification("Wanted", sender=Sender())
    assert specific.names == ["Wanted", "Wanted"]
    assert everything.names == ["Wanted", "Unwanted", "Wanted"]


def test_sender_filtering(center: NotificationCenter) -> None:
    alice, bob = Sender(), Sender()
    from_alice = Recorder("alice")
    from_anyone = Recorder("anyone")
    any_name_from_bob = Recorder("bob")
    center.add_observer(from_alice, name="Ping", sender=alice)
    center.add_observer(from_anyone, name="Ping")
    center.add_observer(any_name_from_bob, sender=bob)
    center.post_notification("Ping", sender=alice)
    center.post_notification("Ping", sender=bob)
    center.post_notification("Pong", sender=bob)
    center.post_notification("Ping")  # sender Any
    assert [n.sender for n in from_alice.notifications] == [alice]
    assert [n.sender for n in from_anyone.notifications] == [alice, bob, Any]
    assert [(n.name, n.sender) for n in any_name_from_bob.notifications] == [("Ping", bob), ("Pong", bob)]


def test_senders_are_compared_by_identity_not_equality(center: NotificationCenter) -> None:
    registered, lookalike = AlwaysEqual(), AlwaysEqual()
    assert registered == lookalike and hash(registered) == hash(lookalike)
    observer = Recorder()
    center.add_observer(observer, sender=registered)
    center.post_notification("X", sender=lookalike)
    assert observer.notifications == []
    center.post_notification("X", sender=registered)
    assert [n.sender for n in observer.notifications] == [registered]


@pytest.mark.parametrize(
    "make_sender",
    [
        lambda: SlottedSender("s"),  # not weak-referenceable, hashable by identity
        lambda: UnhashableSender(),  # weak-referenceable, unhashable
        lambda: [1, 2],  # neither weak-referenceable nor hashable
        lambda: None,
        lambda: "a string",
    ],
    ids=["slotted", "unhashable", "list", "None", "str"],
)
def test_unusual_senders(center: NotificationCenter, make_sender: Callable[[], object]) -> None:
    sender = make_sender()
    other = make_sender() if not isinstance(sender, str) else "another string"
    observer = Recorder()
    center.add_observer(observer, name="X", sender=sender)
    center.post_notification("X", sender=sender)
    if other is not sender:
        center.post_notification("X", sender=other)
    assert [n.sender for n in observer.notifications] == [sender]
    center.remove_observer(observer, name="X", sender=sender)
    assert center.registration_count() == 0


def test_single_delivery_when_several_registrations_match(center: NotificationCenter) -> None:
    sender = Sender()
    observer = Recorder()
    center.add_observer(observer, name="X", sender=sender)
    center.add_observer(observer, name="X")
    center.add_observer(observer, sender=sender)
    center.add_observer(observer)
    assert center.registration_count() == 4
    center.post_notification("X", sender=sender)
    assert observer.names == ["X"]
    center.post_notification("Y")
    assert observer.names == ["X", "Y"]


def test_delivery_follows_registration_order(center: NotificationCenter) -> None:
    sender = Sender()
    order: list[str] = []
    observers = {label: CallbackObserver(lambda n, label=label: order.append(label)) for label in "abcd"}
    center.add_observer(observers["a"], name="X", sender=sender)
    center.add_observer(observers["b"])
    center.add_observer(observers["c"], sender=sender)
    center.add_observer(observers["d"], name="X")
    center.add_observer(observers["a"])  # second registration does not move "a"
    center.add_observer(observers["b"])  # re-adding an existing registration does not move it
    center.post_notification("X", sender=sender)
    assert order == ["a", "b", "c", "d"]


def test_delivery_happens_in_posting_thread(center: NotificationCenter) -> None:
    delivered_in: list[threading.Thread] = []
    observer = CallbackObserver(lambda n: delivered_in.append(threading.current_thread()))
    center.add_observer(observer)
    posted_from: list[threading.Thread] = []

    def post() -> None:
        posted_from.append(threading.current_thread())
        center.post_notification("X")

    run_in_thread(post)
    assert len(delivered_in) == 1
    assert delivered_in == posted_from
    assert delivered_in[0] is not threading.current_thread()


# --------------------------------------------------------------------------
# Removal


def test_adding_twice_is_one_registration(center: NotificationCenter) -> None:
    observer = Recorder()
    center.add_observer(observer, name="X")
    center.add_observer(observer, name="X")
    assert center.registration_count() == 1
    center.post_notification("X")
    assert observer.names == ["X"]
    center.remove_observer(observer, name="X")
    with pytest.raises(KeyError):
        center.remove_observer(observer, name="X")


def test_remove_observer_removes_exactly_one_registration(center: NotificationCenter) -> None:
    sender = Sender()
    observer = Recorder()
    center.add_observer(observer, name="X")
    center.add_observer(observer, name="Y")
    center.add_observer(observer, name="X", sender=sender)
    center.remove_observer(observer, name="X")
    center.post_notification("X")  # only the (X, Any) registration matched this
    center.post_notification("Y")
    center.post_notification("X", sender=sender)
    assert [(n.name, n.sender) for n in observer.notifications] == [("Y", Any), ("X", sender)]
    assert center.registration_count() == 2


def test_remove_observer_raises_key_error(center: NotificationCenter) -> None:
    observer = Recorder()
    sender = Sender()
    with pytest.raises(KeyError):
        center.remove_observer(observer)
    center.add_observer(observer, name="X", sender=sender)
    with pytest.raises(KeyError):
        center.remove_observer(observer, name="X")  # registered for a specific sender only
    with pytest.raises(KeyError):
        center.remove_observer(observer, name="X", sender=Sender())
    with pytest.raises(KeyError):
        center.remove_observer(observer, sender=sender)
    with pytest.raises(KeyError):
        center.remove_observer(Recorder(), name="X", sender=sender)
    center.remove_observer(observer, name="X", sender=sender)
    assert center.registration_count() == 0


def test_discard_observer(center: NotificationCenter) -> None:
    observer = Recorder()
    center.discard_observer(observer, name="X")  # not registered: no error
    center.add_observer(observer, name="X")
    center.discard_observer(observer, name="X")
    center.discard_observer(observer, name="X")
    center.post_notification("X")
    assert observer.notifications == []
    assert center.registration_count() == 0


def test_purge_observer(center: NotificationCenter) -> None:
    sender = Sender()
    purged = Recorder("purged")
    kept = Recorder("kept")
    for observer in (purged, kept):
        center.add_observer(observer)
        center.add_observer(observer, name="X")
        center.add_observer(observer, name="X", sender=sender)
    center.purge_observer(purged)
    center.purge_observer(purged)  # nothing left: no error
    center.purge_observer(Recorder())  # never registered: no error
    center.post_notification("X", sender=sender)
    assert purged.notifications == []
    assert kept.names == ["X"]
    assert center.registration_count() == 3
    with pytest.raises(KeyError):
        center.remove_observer(purged)


# --------------------------------------------------------------------------
# Weak references


def test_center_does_not_keep_observer_alive(center: NotificationCenter) -> None:
    observer = Recorder()
    center.add_observer(observer, name="X")
    center.add_observer(observer, name="Y", sender=Sender())
    ref = weakref.ref(observer)
    del observer
    gc.collect()
    assert ref() is None
    assert center.registration_count() == 0
    center.post_notification("X")  # no error
    assert center._observers == {} and center._registry == {}  # nothing leaked


def test_dead_observer_is_not_called(center: NotificationCenter) -> None:
    calls: list[str] = []

    class Cyclic:
        def __init__(self) -> None:
            self.me = self  # only collectable by the cyclic collector

        def handle_notification(self, notification: Notification) -> None:
            calls.append(notification.name)

    survivor = Recorder()
    center.add_observer(Cyclic())
    center.add_observer(survivor)
    gc.collect()
    center.post_notification("X")
    assert calls == []
    assert survivor.names == ["X"]
    assert center.registration_count() == 1


def test_registration_dropped_when_sender_dies(center: NotificationCenter) -> None:
    observer = Recorder()
    sender = Sender()
    center.add_observer(observer, name="X", sender=sender)
    center.add_observer(observer, name="Y")
    sender_ref = weakref.ref(sender)
    del sender
    gc.collect()
    assert sender_ref() is None  # the center holds weak-referenceable senders weakly
    assert center.registration_count() == 1
    assert len(center._registry) == 1  # the dead sender's slot has been cleaned up


def test_dead_observer_id_reuse_does_not_match_new_observer(center: NotificationCenter) -> None:
    class Obs:
        def __init__(self) -> None:
            self.names: list[str] = []

        def handle_notification(self, notification: Notification) -> None:
            self.names.append(notification.name)

    observer = Obs()
    old_id = id(observer)
    center.add_observer(observer, name="Old")
    del observer
    candidates = [Obs() for _ in range(1000)]
    reused = next((candidate for candidate in candidates if id(candidate) == old_id), None)
    if reused is None:
        pytest.skip("interpreter did not reuse the id")
    center.add_observer(reused, name="New")
    center.post_notification("Old")
    center.post_notification("New")
    assert reused.names == ["New"]


def test_dead_sender_id_reuse_does_not_match_new_sender(center: NotificationCenter) -> None:
    observer = Recorder()
    sender = Sender()
    old_id = id(sender)
    center.add_observer(observer, sender=sender)
    del sender
    candidates = [Sender() for _ in range(1000)]
    reused = next((candidate for candidate in candidates if id(candidate) == old_id), None)
    if reused is None:
        pytest.skip("interpreter did not reuse the id")
    center.post_notification("X", sender=reused)
    assert observer.notifications == []
    with pytest.raises(KeyError):
        center.remove_observer(observer, sender=reused)


class _IgnoringDeque(deque):  # type: ignore[type-arg]
    """Stands in for the center's dead-reference queue to simulate delayed cleanup."""

    def append(self, item: object) -> None:
        pass


@pytest.mark.parametrize("kind", ["observer", "sender"])
def test_id_reuse_is_safe_even_before_cleanup(center: NotificationCenter, kind: str) -> None:
    # With the weak reference callbacks neutralised, stale registrations stay in
    # the registry; identity checks alone must keep them from matching.
    center._dead = _IgnoringDeque()
    old_observer, old_sender = Recorder("old"), Sender()
    center.add_observer(old_observer, name="X", sender=old_sender)
    if kind == "observer":
        old_id = id(old_observer)
        del old_observer
        candidates: list[object] = [Recorder("new") for _ in range(1000)]
    else:
        old_id = id(old_sender)
        del old_sender
        candidates = [Sender() for _ in range(1000)]
    reused = next((candidate for candidate in candidates if id(candidate) == old_id), None)
    if reused is None:
        pytest.skip("interpreter did not reuse the id")
    if kind == "observer":
        assert isinstance(reused, Recorder)
        center.post_notification("X", sender=old_sender)
        assert reused.notifications == []
        with pytest.raises(KeyError):
            center.remove_observer(reused, name="X", sender=old_sender)
        center.add_observer(reused, name="X", sender=old_sender)  # replaces the stale record
        center.post_notification("X", sender=old_sender)
        assert len(reused.notifications) == 1
    else:
        center.post_notification("X", sender=reused)
        assert old_observer.notifications == []
        with pytest.raises(KeyError):
            center.remove_observer(old_observer, name="X", sender=reused)
        center.add_observer(old_observer, name="X", sender=reused)  # replaces the stale registration
        center.post_notification("X", sender=reused)
        assert [n.sender for n in old_observer.notifications] == [reused]
        assert center.registration_count() == 1


def test_non_weakrefable_sender_is_held_while_registered(center: NotificationCenter) -> None:
    observer = Recorder()
    center.add_observer(observer, name="X", sender=SlottedSender("tmp"))
    gc.collect()
    # Still registered: the sender is held strongly, so its id cannot be reused.
    assert center.registration_count() == 1


# --------------------------------------------------------------------------
# Exceptions


def test_observer_exception_is_isolated_and_logged(
    center: NotificationCenter, caplog: pytest.LogCaptureFixture
) -> None:
    def explode(notification: Notification) -> None:
        raise ValueError("observer blew up")

    before = Recorder("before")
    exploding = CallbackObserver(explode)
    after = Recorder("after")
    center.add_observer(before)
    center.add_observer(exploding)
    center.add_observer(after)
    with caplog.at_level(logging.ERROR, logger="sipsimple.notification"):
        center.post_notification("CallDidFail")  # must not raise
    assert before.names == ["CallDidFail"]
    assert after.names == ["CallDidFail"]
    records = [record for record in caplog.records if record.name == "sipsimple.notification"]
    assert len(records) == 1
    record = records[0]
    assert record.levelno == logging.ERROR
    assert "CallDidFail" in record.getMessage()
    assert record.exc_info is not None and record.exc_info[0] is ValueError
    assert "Traceback" in caplog.text
    assert "observer blew up" in caplog.text
    assert "in explode" in caplog.text


def test_each_failing_observer_is_logged(center: NotificationCenter, caplog: pytest.LogCaptureFixture) -> None:
    def fail(notification: Notification) -> None:
        raise RuntimeError("nope")

    failing = [CallbackObserver(fail) for _ in range(3)]
    for observer in failing:
        center.add_observer(observer, name="Boom")
    with caplog.at_level(logging.ERROR, logger="sipsimple.notification"):
        center.post_notification("Boom")
    assert len([r for r in caplog.records if r.name == "sipsimple.notification"]) == 3


def test_base_exceptions_propagate(center: NotificationCenter) -> None:
    def interrupt(notification: Notification) -> None:
        raise KeyboardInterrupt

    observer = CallbackObserver(interrupt)
    center.add_observer(observer)
    with pytest.raises(KeyboardInterrupt):
        center.post_notification("X")


# --------------------------------------------------------------------------
# Re-entrancy


def test_observer_can_post_notifications(center: NotificationCenter) -> None:
    order: list[str] = []

    def chain(notification: Notification) -> None:
        order.append(f"chain:{notification.name}")
        if notification.name == "First":
            center.post_notification("Second", data=NotificationData(cause=notification))

    chainer = CallbackObserver(chain)
    recorder = Recorder()
    center.add_observer(chainer)
    center.add_observer(recorder)
    run_in_thread(lambda: center.post_notification("First"))
    # The nested post is delivered completely before the outer one continues.
    assert order == ["chain:First", "chain:Second"]
    assert recorder.names == ["Second", "First"]
    assert recorder.notifications[0].data.cause.name == "First"


def test_observer_can_remove_itself_during_delivery(center: NotificationCenter) -> None:
    calls: list[str] = []

    class OneShot:
        def handle_notification(self, notification: Notification) -> None:
            calls.append(notification.name)
            center.remove_observer(self, name="X")

    one_shot = OneShot()
    other = Recorder()
    center.add_observer(one_shot, name="X")
    center.add_observer(other, name="X")
    run_in_thread(lambda: center.post_notification("X"))
    center.post_notification("X")
    assert calls == ["X"]
    assert other.names == ["X", "X"]


def test_observer_can_add_observers_during_delivery(center: NotificationCenter) -> None:
    late = Recorder("late")

    def add_late(notification: Notification) -> None:
        center.add_observer(late)
        center.purge_observer(adder)

    adder = CallbackObserver(add_late)
    center.add_observer(adder)
    run_in_thread(lambda: center.post_notification("First"))
    center.post_notification("Second")
    # Delivery works on a snapshot: the observer added during "First" gets only "Second".
    assert late.names == ["Second"]


def test_lock_not_held_while_observers_run(center: NotificationCenter) -> None:
    """Another thread can use the center while an observer is running."""
    other_thread_done = threading.Event()
    late = Recorder("late")

    def use_center_from_other_thread(notification: Notification) -> None:
        if notification.name != "Outer":
            return

        def other() -> None:
            center.add_observer(late, name="Inner")
            center.post_notification("Inner")
            center.remove_observer(late, name="Inner")
            other_thread_done.set()

        thread = threading.Thread(target=other, daemon=True)
        thread.start()
        thread.join(5)  # would time out if the poster still held the center's lock

    observer = CallbackObserver(use_center_from_other_thread)
    center.add_observer(observer)
    run_in_thread(lambda: center.post_notification("Outer"), timeout=20)
    assert other_thread_done.is_set()
    assert late.names == ["Inner"]


def test_finalizer_calling_center_does_not_deadlock(center: NotificationCenter) -> None:
    finalized = Recorder("finalized")
    center.add_observer(finalized, name="SenderFinalized")

    class FinalizingSender:
        __slots__ = ()  # not weak-referenceable: the center holds it strongly

        def __del__(self) -> None:
            center.post_notification("SenderFinalized")

    observer = Recorder()
    center.add_observer(observer, name="X", sender=FinalizingSender())
    assert center.registration_count() == 2  # the sender is alive, held by the center
    assert finalized.notifications == []
    # Purging drops the center's reference, the last one, to the sender.
    run_in_thread(lambda: center.purge_observer(observer))
    assert finalized.names == ["SenderFinalized"]
    assert center.registration_count() == 1


# --------------------------------------------------------------------------
# Threads


def test_concurrent_posting(center: NotificationCenter) -> None:
    n_threads, n_posts = 8, 2_000
    senders = [Sender() for _ in range(n_threads)]

    class Counter:
        def __init__(self) -> None:
            self.count = 0
            self.lock = threading.Lock()

        def handle_notification(self, notification: Notification) -> None:
            with self.lock:
                self.count += 1

    total = Counter()
    per_sender = [Counter() for _ in range(n_threads)]
    center.add_observer(total, name="Tick")
    for sender, counter in zip(senders, per_sender, strict=True):
        center.add_observer(counter, name="Tick", sender=sender)
    barrier = threading.Barrier(n_threads)

    def worker(sender: Sender) -> None:
        barrier.wait()
        for _ in range(n_posts):
            center.post_notification("Tick", sender=sender)

    start_and_join([threading.Thread(target=worker, args=(sender,)) for sender in senders])
    assert total.count == n_threads * n_posts
    assert [counter.count for counter in per_sender] == [n_posts] * n_threads


def test_concurrent_add_remove_while_posting(center: NotificationCenter, caplog: pytest.LogCaptureFixture) -> None:
    n_posters, n_churners, n_posts, n_rounds = 4, 4, 2_000, 500
    stable = Recorder("stable")
    center.add_observer(stable, name="Tick")
    errors: list[BaseException] = []
    barrier = threading.Barrier(n_posters + n_churners)
    sender = Sender()

    def poster() -> None:
        try:
            barrier.wait()
            for _ in range(n_posts):
                center.post_notification("Tick", sender=sender)
        except BaseException as exc:
            errors.append(exc)

    def churner() -> None:
        try:
            barrier.wait()
            for round_number in range(n_rounds):
                observer = Recorder("churn")
                center.add_observer(observer, name="Tick")
                center.add_observer(observer, sender=sender)
                center.add_observer(observer)
                if round_number % 3 == 0:
                    center.remove_observer(observer, name="Tick")
                    center.discard_observer(observer, sender=sender)
                    center.remove_observer(observer)
                elif round_number % 3 == 1:
                    center.purge_observer(observer)
                # else: dropped without removal; the weak reference cleans up
                del observer
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=poster) for _ in range(n_posters)]
    threads += [threading.Thread(target=churner) for _ in range(n_churners)]
    with caplog.at_level(logging.ERROR, logger="sipsimple.notification"):
        start_and_join(threads)
    assert errors == []
    assert not [r for r in caplog.records if r.name == "sipsimple.notification"]
    assert len(stable.notifications) == n_posters * n_posts
    gc.collect()
    assert center.registration_count() == 1


def test_concurrent_add_observer(center: NotificationCenter) -> None:
    n_threads, per_thread = 8, 250
    keep: list[Recorder] = []
    keep_lock = threading.Lock()
    barrier = threading.Barrier(n_threads)

    def worker() -> None:
        mine = [Recorder() for _ in range(per_thread)]
        with keep_lock:
            keep.extend(mine)
        barrier.wait()
        for observer in mine:
            center.add_observer(observer, name="X")

    start_and_join([threading.Thread(target=worker) for _ in range(n_threads)])
    assert center.registration_count() == n_threads * per_thread
    center.post_notification("X")
    assert all(observer.names == ["X"] for observer in keep)


# --------------------------------------------------------------------------
# NotificationHandlerMixin


def test_handler_mixin_dispatches_by_name(center: NotificationCenter) -> None:
    class Engine(NotificationHandlerMixin):
        def __init__(self) -> None:
            self.started: list[Notification] = []

        def _NH_SIPEngineDidStart(self, notification: Notification) -> None:
            self.started.append(notification)

    engine = Engine()
    center.add_observer(engine)
    center.post_notification("SIPEngineDidStart", data=NotificationData(port=5060))
    center.post_notification("SIPEngineDidFail")  # no handler: ignored
    assert len(engine.started) == 1
    assert engine.started[0].data.port == 5060
