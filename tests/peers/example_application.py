"""An application written the way the seed's example is: a SIPApplication subclass observing notifications.

Run as ``python -m tests.peers.example_application CONFIG_FILE``: it starts
on a FileBackend at CONFIG_FILE (which holds SIPSimpleSettings and the
accounts), prints each notification it observes as one JSON line on stdout,
and stops when it reads ``stop`` on stdin (or stdin closes), printing the
time stop() took to reach SIPApplicationDidEnd before it exits.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any

from sipsimple.account import AccountManager
from sipsimple.application import SIPApplication
from sipsimple.configuration.backend import FileBackend
from sipsimple.notification import Notification, NotificationCenter


def report(event: str, **data: Any) -> None:
    sys.stdout.write(json.dumps({"event": event, **data}) + "\n")
    sys.stdout.flush()


def describe_route(route: Any) -> str | None:
    return None if route is None else f"{route.transport}:{route.address}:{route.port}"


class ExampleApplication(SIPApplication):
    def __init__(self) -> None:
        SIPApplication.__init__(self)
        self.ended = threading.Event()
        NotificationCenter().add_observer(self)

    def _NH_SIPApplicationWillStart(self, notification: Notification) -> None:
        report("SIPApplicationWillStart")

    def _NH_SIPApplicationDidStart(self, notification: Notification) -> None:
        account = AccountManager().default_account
        report("SIPApplicationDidStart", default_account=None if account is None else str(account.id))

    def _NH_SIPApplicationDidFail(self, notification: Notification) -> None:
        report("SIPApplicationDidFail", error=repr(notification.data.error))

    def _NH_SIPAccountDidActivate(self, notification: Notification) -> None:
        report("SIPAccountDidActivate", account=str(notification.sender.id))

    def _NH_SIPAccountRegistrationDidSucceed(self, notification: Notification) -> None:
        data = notification.data
        report(
            "SIPAccountRegistrationDidSucceed",
            account=str(notification.sender.id),
            code=data.code,
            reason=data.reason,
            contact_uri=str(data.contact_uri),
            contact_uri_list=[str(uri) for uri in data.contact_uri_list],
            expires=data.expires,
        )

    def _NH_SIPAccountRegistrationDidFail(self, notification: Notification) -> None:
        data = notification.data
        report(
            "SIPAccountRegistrationDidFail",
            account=str(notification.sender.id),
            code=getattr(data, "code", None),
            reason=data.reason,
            next_route=describe_route(data.next_route),
            delay=data.delay,
        )

    def _NH_SIPAccountRegistrationDidEnd(self, notification: Notification) -> None:
        report(
            "SIPAccountRegistrationDidEnd",
            account=str(notification.sender.id),
            code=getattr(notification.data, "code", None),
        )

    def _NH_SIPApplicationWillEnd(self, notification: Notification) -> None:
        report("SIPApplicationWillEnd")

    def _NH_SIPApplicationDidEnd(self, notification: Notification) -> None:
        report("SIPApplicationDidEnd")
        self.ended.set()


def main() -> None:
    application = ExampleApplication()
    application.start(FileBackend(sys.argv[1]))
    for line in sys.stdin:
        if line.strip() == "stop":
            break
    began = time.monotonic()
    application.stop()
    ended = application.ended.wait(30)
    report("stopped", seconds=time.monotonic() - began, ended=ended)


if __name__ == "__main__":
    main()
