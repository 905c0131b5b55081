"""sipsimple.streams: IMediaStream, the MediaStreamRegistry and the MediaStreamRegistrar metaclass."""

from __future__ import annotations

import abc
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from zope.interface import implementer

from sipsimple.core import FrozenSDPSession
from sipsimple.streams import IMediaStream, InvalidStreamError, MediaStreamRegistrar, MediaStreamRegistry

OFFER = (
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=message 2855 TCP/MSRP *\r\na=accept-types:text/plain\r\n"
    "m=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
)


class _Stream:
    """Every IMediaStream method, doing only what the registry tests need (accepting its own media type)."""

    type: str | None = None
    priority = 0
    media: str = ""
    hold_supported = False
    on_hold_by_local = False
    on_hold_by_remote = False
    on_hold = False

    def __init__(self, account: object = None) -> None:
        self.account = account

    @classmethod
    def new_from_sdp(cls, account: object, remote_sdp: FrozenSDPSession, stream_index: int) -> _Stream | None:
        return cls(account) if remote_sdp.media[stream_index].media == cls.media else None

    def get_local_media(self, for_offer: bool) -> Any:
        return None

    def initialize(self, session: object, direction: str) -> None: ...

    def start(self, local_sdp: object, remote_sdp: object, stream_index: int) -> None: ...

    def validate_update(self, remote_sdp: object, stream_index: int) -> bool:
        return True

    def update(self, local_sdp: object, remote_sdp: object, stream_index: int) -> None: ...

    def hold(self) -> None: ...

    def unhold(self) -> None: ...

    def deactivate(self) -> None: ...

    def end(self) -> None: ...


@pytest.fixture
def registry() -> Iterator[MediaStreamRegistry]:
    """The registry, left as the test found it (it is a process-wide singleton)."""
    registry = MediaStreamRegistry()
    before = list(registry)
    yield registry
    for cls in list(registry):
        if cls not in before:
            registry.remove(cls)
    assert list(registry) == before


def _stream_class(name: str, stream_type: str | None, priority: object, media: str = "audio") -> type:
    return implementer(IMediaStream)(
        type(name, (_Stream,), {"type": stream_type, "priority": priority, "media": media})
    )


def test_the_registry_is_one_object() -> None:
    assert MediaStreamRegistry() is MediaStreamRegistry()


def test_classes_come_out_highest_priority_first_equal_ones_in_the_order_added(
    registry: MediaStreamRegistry,
) -> None:
    low = _stream_class("Low", "low", 1)
    first_mid = _stream_class("FirstMid", "mid", 5)
    second_mid = _stream_class("SecondMid", "mid", 5)
    high = _stream_class("High", "high", 10)
    for cls in (low, first_mid, high, second_mid):
        registry.add(cls)
    ours = [cls for cls in registry if cls in (low, first_mid, second_mid, high)]
    assert ours == [high, first_mid, second_mid, low]
    registry.add(high)  # again: nothing changes
    assert [cls for cls in registry if cls is high] == [high]
    assert high in registry and len(registry) >= 4


def test_an_incoming_offer_is_matched_by_the_first_class_that_accepts_its_stream(
    registry: MediaStreamRegistry,
) -> None:
    chat = _stream_class("Chat", "chat", 20, media="message")
    audio = _stream_class("Audio", "audio", 10, media="audio")
    registry.add(audio)
    registry.add(chat)
    offer = FrozenSDPSession.parse(OFFER)
    account = object()
    chosen = []
    for index in range(len(offer.media)):
        stream = next(s for s in (cls.new_from_sdp(account, offer, index) for cls in registry) if s is not None)
        chosen.append((type(stream), stream.account))
    assert chosen == [(chat, account), (audio, account)]


@pytest.mark.parametrize(
    ("candidate", "message"),
    [
        (_Stream(), "must be a class"),
        (type("Undeclared", (_Stream,), {"type": "audio", "priority": 1}), "does not implement IMediaStream"),
        (_stream_class("NoType", None, 1), "type must be a non-empty string"),
        (_stream_class("EmptyType", "", 1), "type must be a non-empty string"),
        (_stream_class("BoolPriority", "audio", True), "priority must be an int"),
        (_stream_class("TextPriority", "audio", "high"), "priority must be an int"),
    ],
    ids=["instance", "undeclared", "no-type", "empty-type", "bool-priority", "text-priority"],
)
def test_what_is_not_a_usable_stream_class_is_refused(
    registry: MediaStreamRegistry, candidate: Any, message: str
) -> None:
    with pytest.raises(InvalidStreamError, match=message):
        registry.add(candidate)
    assert candidate not in registry


def test_a_class_missing_a_method_of_the_interface_is_refused_naming_it(registry: MediaStreamRegistry) -> None:
    @implementer(IMediaStream)
    class NoEnd:
        type = "audio"
        priority = 1
        hold_supported = on_hold_by_local = on_hold_by_remote = on_hold = False
        new_from_sdp = _Stream.new_from_sdp
        get_local_media = _Stream.get_local_media
        initialize, start, validate_update, update = (
            _Stream.initialize,
            _Stream.start,
            _Stream.validate_update,
            _Stream.update,
        )
        hold, unhold, deactivate = _Stream.hold, _Stream.unhold, _Stream.deactivate

    with pytest.raises(InvalidStreamError, match="end"):
        registry.add(NoEnd)


def test_an_abstract_class_is_refused(registry: MediaStreamRegistry) -> None:
    @implementer(IMediaStream)
    class Abstract(_Stream, abc.ABC):
        type = "audio"

        @abc.abstractmethod
        def codecs(self) -> list[str]: ...

    with pytest.raises(InvalidStreamError, match="abstract"):
        registry.add(Abstract)


def test_removing_a_class_that_is_not_registered_is_an_error(registry: MediaStreamRegistry) -> None:
    with pytest.raises(ValueError, match="not registered"):
        registry.remove(_stream_class("Never", "audio", 1))


def test_the_registrar_declares_and_registers_concrete_classes_not_their_bases(registry: MediaStreamRegistry) -> None:
    class MSRPBase(_Stream, metaclass=MediaStreamRegistrar):
        type = None  # a shared base: declared, not registered

    class Chat(MSRPBase):
        type = "chat"
        priority = 3
        media = "message"

    assert IMediaStream.implementedBy(MSRPBase) and IMediaStream.implementedBy(Chat)
    assert MSRPBase not in registry
    assert Chat in registry
    assert IMediaStream.providedBy(Chat())


def test_the_registrar_refuses_a_broken_class_where_it_is_defined(registry: MediaStreamRegistry) -> None:
    with pytest.raises(InvalidStreamError, match="priority must be an int"):

        class Broken(_Stream, metaclass=MediaStreamRegistrar):
            type = "audio"
            priority = 2.5


def test_iterating_is_not_disturbed_by_classes_added_meanwhile(registry: MediaStreamRegistry) -> None:
    registry.add(_stream_class("One", "one", 1))
    seen = []
    for index, cls in enumerate(registry):
        seen.append(cls)
        if index == 0:
            registry.add(_stream_class("Two", "two", 100))
    assert len(seen) == len(registry) - 1


def test_classes_added_from_many_threads_are_each_registered_once(registry: MediaStreamRegistry) -> None:
    classes = [_stream_class(f"Threaded{n}", "audio", n % 7) for n in range(40)]
    start = threading.Barrier(8)

    def add_all() -> None:
        start.wait()
        for cls in classes:
            registry.add(cls)

    threads = [threading.Thread(target=add_all) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ours = [cls for cls in registry if cls in classes]
    assert sorted(ours, key=id) == sorted(classes, key=id)
    priorities = [cls.priority for cls in ours]
    assert priorities == sorted(priorities, reverse=True)
