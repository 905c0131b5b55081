"""Tests for sipsimple.singleton.Singleton."""

from __future__ import annotations

import threading
import time

import pytest

from sipsimple.singleton import Singleton


def test_same_instance_and_init_runs_once() -> None:
    class Counter(metaclass=Singleton):
        inits = 0

        def __init__(self, value: int = 0) -> None:
            type(self).inits += 1
            self.value = value

    first = Counter(1)
    second = Counter(2)
    third = Counter()
    assert first is second is third
    assert first.value == 1  # later arguments are ignored
    assert Counter.inits == 1
    assert type(first) is Counter


def test_distinct_classes_have_distinct_instances() -> None:
    class A(metaclass=Singleton):
        pass

    class B(metaclass=Singleton):
        pass

    assert A() is A()
    assert B() is B()
    assert A() is not B()


def test_subclass_gets_its_own_instance() -> None:
    class Base(metaclass=Singleton):
        def __init__(self) -> None:
            self.kind = type(self).__name__

    class Child(Base):
        pass

    base = Base()
    child = Child()
    assert child is not base
    assert type(base) is Base and base.kind == "Base"
    assert type(child) is Child and child.kind == "Child"
    assert Child() is child
    assert Base() is base


def test_subclass_created_first_does_not_become_parent_instance() -> None:
    class Base(metaclass=Singleton):
        pass

    class Child(Base):
        pass

    child = Child()
    assert type(Base()) is Base
    assert Base() is not child


def test_concurrent_construction_yields_one_instance() -> None:
    class Slow(metaclass=Singleton):
        inits = 0

        def __init__(self) -> None:
            type(self).inits += 1
            time.sleep(0.05)  # widen the race window

    n_threads = 16
    barrier = threading.Barrier(n_threads)
    results: list[object] = []
    results_lock = threading.Lock()

    def worker() -> None:
        barrier.wait()
        instance = Slow()
        with results_lock:
            results.append(instance)

    threads = [threading.Thread(target=worker) for _ in range(n_threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
        assert not thread.is_alive()
    assert len(results) == n_threads
    assert all(result is results[0] for result in results)
    assert Slow.inits == 1


def test_failed_construction_is_retried() -> None:
    class Flaky(metaclass=Singleton):
        attempts = 0

        def __init__(self) -> None:
            type(self).attempts += 1
            if type(self).attempts == 1:
                raise RuntimeError("first attempt fails")

    with pytest.raises(RuntimeError, match="first attempt fails"):
        Flaky()
    instance = Flaky()
    assert Flaky() is instance
    assert Flaky.attempts == 2


def test_recursive_construction_raises() -> None:
    class Recursive(metaclass=Singleton):
        def __init__(self) -> None:
            Recursive()

    with pytest.raises(RuntimeError, match="recursive construction"):
        Recursive()


def test_singleton_constructing_another_singleton() -> None:
    class Inner(metaclass=Singleton):
        pass

    class Outer(metaclass=Singleton):
        def __init__(self) -> None:
            self.inner = Inner()

    assert Outer().inner is Inner()
