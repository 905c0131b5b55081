"""What type checkers see of settings and notification data: the values, not the descriptors.

mypy over sipsimple/ (scripts/check) passes whether a setting types as its value or as Any; this
checks that it is the value, with ``assert_type``, which mypy refuses for Any, and that every group
of the SDK's settings classes is declared so that it can be.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import sipsimple
from sipsimple.configuration.objects import SettingsGroup, SettingsObject, _GroupAttribute

REPO = Path(__file__).resolve().parent.parent

CHECKS = """
from typing import Any, assert_type

from sipsimple.account import Account
from sipsimple.account.settings import AuthSettings
from sipsimple.configuration import Setting
from sipsimple.configuration.datatypes import Port, SIPProxyAddress
from sipsimple.configuration.settings import AudioSettings, EchoCancellerSettings, SIPSettings, SIPSimpleSettings
from sipsimple.notification import Notification


def check(settings: SIPSimpleSettings, account: Account, notification: Notification) -> None:
    assert_type(settings.audio, AudioSettings)
    assert_type(settings.audio.echo_canceller, EchoCancellerSettings)
    assert_type(settings.audio.echo_canceller.enabled, bool)
    assert_type(settings.audio.input_device, str | None)
    assert_type(settings.sip.udp_port, Port)
    assert_type(SIPSimpleSettings.sip, type[SIPSettings])
    assert_type(SIPSimpleSettings.sip.udp_port, Setting[Port])
    assert_type(account.auth, AuthSettings)
    assert_type(account.auth.password, str)
    assert_type(account.sip.outbound_proxy, SIPProxyAddress | None)
    assert_type(notification.data.code, Any)
    notification.data.reason = "set after posting"
    assert_type(settings.sip.udp_port, int)  # WRONG: a Port is an int, but not the same type
"""


def test_settings_and_notification_data_type_as_their_values(tmp_path: Path) -> None:
    checks = tmp_path / "checks.py"
    checks.write_text(CHECKS)
    # From the repository, where mypy finds sipsimple and the project's configuration.
    completed = subprocess.run(
        [sys.executable, "-m", "mypy", str(checks)], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    errors = [line for line in completed.stdout.splitlines() if ": error:" in line]
    wrong_line = next(number for number, line in enumerate(CHECKS.splitlines(), 1) if "# WRONG" in line)
    # The one deliberately wrong assertion is reported, so the harness can fail; nothing else is.
    assert len(errors) == 1 and re.search(
        rf"checks\.py:{wrong_line}: error: Expression is of type \"Port\"", errors[0]
    ), completed.stdout + completed.stderr
    assert completed.returncode == 1


def _subclasses(cls: type) -> Iterator[type]:
    for subclass in cls.__subclasses__():
        yield subclass
        yield from _subclasses(subclass)


def test_every_group_of_the_sdk_is_declared_with_its_type() -> None:
    # An undeclared group ("video = VideoSettings") still works, but types as the class, so that every
    # setting read through it types as a Setting: the checks above would not notice a new one.
    for module in pkgutil.walk_packages(sipsimple.__path__, "sipsimple."):
        importlib.import_module(module.name)
    containers = [
        cls
        for base in (SettingsObject, SettingsGroup)
        for cls in _subclasses(base)
        if cls.__module__.startswith("sipsimple.")
    ]
    assert len(containers) > 10
    groups = 0
    for cls in containers:
        for name, attribute in vars(cls).items():
            if isinstance(attribute, _GroupAttribute):
                groups += 1
                expected = f"Group[{attribute.group.__name__}]"
                assert cls.__annotations__.get(name) == expected, f"{cls.__qualname__}.{name}: annotate it {expected}"
    assert groups >= 20
