"""Child process of the atomic-save tests: saves the configuration in a loop until it is killed.

    python -m tests.peers.configuration_saver FILENAME loop
    python -m tests.peers.configuration_saver FILENAME block-before-replace

Each save writes SIPSimpleSettings.user_agent = "version-N" and a large
"Bulk" tree made for version N, so that a file mixing two saves is detected
and a kill at a random moment likely lands inside a write. The child prints
``ready N`` once loaded (N: the version found in the file) and ``saved N``
after each save returns. In ``block-before-replace`` mode, ``os.replace``
announces ``replacing <temporary file>`` and blocks forever instead, which
holds the save between writing the temporary file and replacing the old one.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from sipsimple.configuration import ConfigurationManager
from sipsimple.configuration.backend import FileBackend
from sipsimple.configuration.settings import SIPSimpleSettings

BULK_ENTRIES = 3000


def bulk(version: int) -> dict[str, Any]:
    return {
        f"entry-{index:05d}": {"version": version, "text": f"entry {index} of version {version} " + "x" * 40}
        for index in range(BULK_ENTRIES)
    }


def version_of(user_agent: str) -> int:
    prefix = "version-"
    return int(user_agent[len(prefix) :]) if user_agent.startswith(prefix) else 0


def _block(source: str, destination: str) -> None:
    print(f"replacing {source}", flush=True)
    while True:
        time.sleep(60)


def main() -> None:
    filename, mode = sys.argv[1], sys.argv[2]
    manager = ConfigurationManager()
    manager.start(FileBackend(filename))
    settings = SIPSimpleSettings()
    version = version_of(settings.user_agent)
    if mode == "block-before-replace":
        os.replace = _block
    print(f"ready {version}", flush=True)
    while True:
        version += 1
        manager.update(("Bulk",), bulk(version))
        settings.user_agent = f"version-{version}"
        settings.save()
        print(f"saved {version}", flush=True)


if __name__ == "__main__":
    main()
