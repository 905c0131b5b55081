"""Subscriptions and referrals, both sides, through the real stack on loopback.

The Engine subscribes to (and refers) its own address, so every SUBSCRIBE,
NOTIFY and REFER crosses the wire and is handled by the server-side classes.
Behaviour against other implementations is tested with SIPp and Kamailio.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sipsimple.core import Engine, SIPCoreInvalidStateError
from sipsimple.core._core import IncomingReferral, IncomingSubscription, Referral, Subscription
from sipsimple.notification import NotificationCenter
from tests.support.notifications import NotificationRecorder, observe

PIDF = (
    b'<?xml version="1.0"?><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:bob@127.0.0.1">'
    b'<tuple id="t1"><status><basic>open</basic></status></tuple></presence>'
)
PIDF_CLOSED = PIDF.replace(b"open", b"closed")


@pytest.fixture
def engine() -> Iterator[Engine]:
    engine = Engine()
    engine.start(ip_address="127.0.0.1", udp_port=0, incoming_events={"presence"})
    yield engine
    engine.stop()


def _subscription(engine: Engine, event: str = "presence") -> Subscription:
    port = engine.local_udp_port
    return Subscription(
        f"sip:bob@127.0.0.1:{port}",
        "<sip:alice@127.0.0.1>",
        "<sip:bob@127.0.0.1>",
        f"<sip:alice@127.0.0.1:{port}>",
        event,
        None,
        refresh=600,
    )


class Notifier:
    """Answers incoming subscriptions the way a test asks."""

    def __init__(self, action: str) -> None:
        self.action = action
        self.subscriptions: list[IncomingSubscription] = []
        NotificationCenter().add_observer(self, name="SIPIncomingSubscriptionGotSubscribe")

    def handle_notification(self, notification) -> None:
        subscription = notification.sender
        self.subscriptions.append(subscription)
        if self.action == "accept":
            subscription.accept("application/pidf+xml", PIDF)
        elif self.action == "pending":
            subscription.accept_pending()
        elif self.action == "reject":
            subscription.reject(403)


def _client_events(recorder: NotificationRecorder, sender: object) -> list[str]:
    return [n.name for n in recorder.notifications if n.sender is sender]


def test_subscribe_notify_unsubscribe(engine: Engine) -> None:
    notifier = Notifier("accept")
    recorder = observe(
        "SIPSubscriptionDidStart",
        "SIPSubscriptionGotNotify",
        "SIPSubscriptionDidEnd",
        "SIPSubscriptionDidFail",
        "SIPIncomingSubscriptionGotSubscribe",
        "SIPIncomingSubscriptionGotUnsubscribe",
        "SIPIncomingSubscriptionDidEnd",
    )
    subscription = _subscription(engine)
    subscription.subscribe(timeout=5)
    incoming = recorder.wait_named("SIPIncomingSubscriptionGotSubscribe")
    assert incoming.data.event == "presence"
    assert "sip:alice@127.0.0.1" in incoming.data.from_header.body
    first = recorder.wait_named("SIPSubscriptionGotNotify")
    assert first.data.body == PIDF
    assert first.data.content_type == "application/pidf+xml"
    assert first.data.subscription_state == "active"
    assert first.data.event == "presence"
    recorder.wait_named("SIPSubscriptionDidStart")
    assert subscription.state == "ACTIVE"

    server = notifier.subscriptions[0]
    assert server.state == "active"
    server.push_content("application/pidf+xml", PIDF_CLOSED)
    recorder.wait_for(lambda n: n.name == "SIPSubscriptionGotNotify" and n.data.body == PIDF_CLOSED)

    subscription.end(timeout=5)
    recorder.wait_named("SIPIncomingSubscriptionGotUnsubscribe")
    ended = recorder.wait_named("SIPSubscriptionDidEnd")
    assert ended.data.originator == "local"
    recorder.wait_named("SIPIncomingSubscriptionDidEnd")
    assert subscription.state == "TERMINATED"
    assert server.state == "terminated"
    assert not recorder.named("SIPSubscriptionDidFail")


def test_pending_then_active(engine: Engine) -> None:
    notifier = Notifier("pending")
    recorder = observe("SIPSubscriptionGotNotify", "SIPSubscriptionChangedState")
    subscription = _subscription(engine)
    subscription.subscribe()
    pending = recorder.wait_named("SIPSubscriptionGotNotify")
    assert pending.data.subscription_state == "pending"
    recorder.wait_for(lambda n: n.name == "SIPSubscriptionChangedState" and n.data.state == "PENDING")
    notifier.subscriptions[0].accept("application/pidf+xml", PIDF)
    recorder.wait_for(lambda n: n.name == "SIPSubscriptionChangedState" and n.data.state == "ACTIVE")
    subscription.end()


def test_rejected_subscription_fails(engine: Engine) -> None:
    notifier = Notifier("reject")  # noqa: F841 - observers are held weakly
    recorder = observe("SIPSubscriptionDidFail", "SIPSubscriptionDidStart")
    subscription = _subscription(engine)
    subscription.subscribe()
    failed = recorder.wait_named("SIPSubscriptionDidFail")
    assert failed.data.code == 403
    assert not recorder.named("SIPSubscriptionDidStart")
    with pytest.raises(SIPCoreInvalidStateError):
        subscription.subscribe()


def test_unknown_event_package_gets_489(engine: Engine) -> None:
    recorder = observe("SIPSubscriptionDidFail")
    subscription = _subscription(engine, event="message-summary")  # known to the client, not served
    subscription.subscribe()
    assert recorder.wait_named("SIPSubscriptionDidFail").data.code == 489


def test_notifier_end_with_deactivated_makes_the_subscriber_subscribe_again(engine: Engine) -> None:
    notifier = Notifier("accept")
    recorder = observe("SIPSubscriptionGotNotify", "SIPSubscriptionDidEnd", "SIPIncomingSubscriptionGotSubscribe")
    subscription = _subscription(engine)
    subscription.subscribe()
    recorder.wait_named("SIPSubscriptionGotNotify")
    notifier.subscriptions[0].end(reason="deactivated")
    recorder.wait_for(lambda n: n.name == "SIPSubscriptionGotNotify" and n.data.reason == "deactivated")
    # A second SUBSCRIBE (new dialog) arrives and is accepted again.
    recorder.wait_for(lambda n: len(recorder.named("SIPIncomingSubscriptionGotSubscribe")) == 2)
    recorder.wait_for(
        lambda n: (
            len([x for x in recorder.named("SIPSubscriptionGotNotify") if x.data.subscription_state == "active"]) == 2
        )
    )
    assert not recorder.named("SIPSubscriptionDidEnd")
    assert subscription.state == "ACTIVE"
    subscription.end()


def test_referral_both_sides(engine: Engine) -> None:
    recorder = observe(
        "SIPReferralChangedState",
        "SIPReferralGotNotify",
        "SIPReferralDidEnd",
        "SIPReferralDidFail",
        "SIPIncomingReferralGotRefer",
        "SIPIncomingReferralDidEnd",
    )

    class Referee:
        def handle_notification(self, notification) -> None:
            notification.sender.accept()

    referee = Referee()
    NotificationCenter().add_observer(referee, name="SIPIncomingReferralGotRefer")
    port = engine.local_udp_port
    referral = Referral(
        f"sip:bob@127.0.0.1:{port}",
        "<sip:alice@127.0.0.1>",
        "<sip:bob@127.0.0.1>",
        "<sip:carol@127.0.0.1>",
        f"<sip:alice@127.0.0.1:{port}>",
        None,
    )
    referral.send_refer(timeout=5)
    got = recorder.wait_named("SIPIncomingReferralGotRefer")
    assert isinstance(got.sender, IncomingReferral)
    assert "sip:carol@127.0.0.1" in got.data.refer_to_header.body
    trying = recorder.wait_named("SIPReferralGotNotify")
    assert trying.data.content_type == "message/sipfrag"
    assert trying.data.body.startswith(b"SIP/2.0 100")
    got.sender.send_notify(200, "OK")
    final = recorder.wait_for(lambda n: n.name == "SIPReferralGotNotify" and n.data.body.startswith(b"SIP/2.0 200"))
    assert final.data.subscription_state == "terminated"
    recorder.wait_named("SIPReferralDidEnd")
    recorder.wait_named("SIPIncomingReferralDidEnd")
    assert referral.state == "TERMINATED"
    assert not recorder.named("SIPReferralDidFail")


def test_engine_stop_with_an_unanswered_incoming_subscription(engine: Engine) -> None:
    recorder = observe("SIPIncomingSubscriptionGotSubscribe", "SIPIncomingSubscriptionDidEnd", "SIPSubscriptionDidFail")
    subscription = _subscription(engine)
    subscription.subscribe()
    incoming = recorder.wait_named("SIPIncomingSubscriptionGotSubscribe").sender
    engine.stop()
    assert incoming.state == "terminated"
    assert recorder.named("SIPIncomingSubscriptionDidEnd")
    assert subscription.state == "TERMINATED"
    with pytest.raises(SIPCoreInvalidStateError):
        incoming.accept()


def test_unanswered_incoming_subscription_is_refused(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    import sipsimple.core._core as core_module

    monkeypatch.setattr(core_module, "_UNANSWERED_TIMEOUT", 0.3)
    recorder = observe("SIPSubscriptionDidFail")
    _subscription(engine).subscribe()
    assert recorder.wait_named("SIPSubscriptionDidFail").data.code == 480


def test_engine_stop_ends_subscriptions(engine: Engine) -> None:
    notifier = Notifier("accept")  # noqa: F841 - observers are held weakly
    recorder = observe("SIPSubscriptionGotNotify", "SIPSubscriptionDidEnd", "SIPIncomingSubscriptionDidEnd")
    subscription = _subscription(engine)
    subscription.subscribe()
    recorder.wait_named("SIPSubscriptionGotNotify")
    engine.stop()
    assert subscription.state == "TERMINATED"
    assert recorder.named("SIPSubscriptionDidEnd") and recorder.named("SIPIncomingSubscriptionDidEnd")
