"""Which SIPp scenarios a test proved in this run, so that a check of coverage cannot pass on skipped proofs.

A proof (a test that ran a scenario against a peer known to behave and checked what
happened) calls the ``proven`` fixture with the scenario once its checks have passed. The coverage test at
the end of a self-check module then asserts that every scenario file was proven by a
test that ran, and passed, in the same session: a skipped or failed proof leaves its
scenario unproven.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.scenarios import SCENARIOS

# scenario (its path under tests/scenarios/) -> the first test that proved it in this session
PROVEN: dict[str, str] = {}


def scenario_name(scenario: str | Path) -> str:
    path = Path(scenario)
    return str(path.relative_to(SCENARIOS)) if path.is_absolute() else str(path)


def record_proof(scenario: str | Path, test: str) -> None:
    PROVEN.setdefault(scenario_name(scenario), test)


def scenario_files(folder: Path) -> list[str]:
    """Every scenario file in `folder` (not below it): the .xml ones and the .xml.in templates."""
    return sorted(scenario_name(path) for pattern in ("*.xml", "*.xml.in") for path in folder.glob(pattern))


def unproven(folder: Path) -> list[str]:
    """The scenario files of `folder` that no test proved in this session."""
    return [name for name in scenario_files(folder) if name not in PROVEN]


Prove = Callable[[str | Path], None]


@pytest.fixture
def proven(request: pytest.FixtureRequest) -> Prove:
    """Call it with a scenario once the test's checks have passed: the coverage test counts it as proven.

    A bare name is taken in the test module's SCENARIO_FOLDER (tests/scenarios/ when it has none).
    """
    folder = getattr(request.module, "SCENARIO_FOLDER", SCENARIOS)
    return lambda scenario: record_proof(folder / scenario, request.node.nodeid)
