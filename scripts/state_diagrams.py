#!/usr/bin/env python3
"""Write the state machines' diagrams into docs/api/*.md from their transition tables.

Each machine is drawn between its markers in the docs:

    <!-- state-machine: Invitation -->
    (generated: a Mermaid diagram and the table of operations)
    <!-- /state-machine -->

The key after "state-machine:" is the machine's key (its name, with
".sub_state" for a second machine of the same object). Without arguments
the blocks are rewritten; with --check nothing is written and the exit
status is 1 when a block differs from its table, a machine has no block,
or a block names no machine (each named on stderr).

The tables are read without the core extension: sipsimple/_states.py
(middleware) and sipsimple/core/_states.py (loaded from its file, since
importing the sipsimple.core package would load the extension).
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "api"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sipsimple.statemachine import StateMachine  # noqa: E402

BLOCK = re.compile(
    r"(?P<open><!-- state-machine: (?P<key>[^ ]+) -->\n)(?P<body>.*?)(?P<close><!-- /state-machine -->)", re.S
)


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def machines() -> dict[str, StateMachine]:
    """Every table, by key."""
    core = _load(ROOT / "sipsimple" / "core" / "_states.py", "_sipsimple_core_states")
    middleware = _load(ROOT / "sipsimple" / "_states.py", "_sipsimple_middleware_states")
    found: dict[str, StateMachine] = {}
    for machine in (*core.MACHINES, *middleware.MACHINES):
        if machine.key in found:
            raise SystemExit(f"two state machines with the key {machine.key}")
        found[machine.key] = machine
    return found


def render(text: str, tables: dict[str, StateMachine]) -> tuple[str, list[str], list[str]]:
    """``text`` with each block redrawn; the keys found, and the keys no table has."""
    found: list[str] = []
    unknown: list[str] = []

    def redraw(match: re.Match[str]) -> str:
        key = match.group("key")
        found.append(key)
        machine = tables.get(key)
        if machine is None:
            unknown.append(key)
            return match.group(0)
        return match.group("open") + machine.diagram() + match.group("close")

    return BLOCK.sub(redraw, text), found, unknown


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="write nothing; fail when the docs disagree")
    parser.add_argument("--docs", type=Path, default=DOCS, help="the folder of Markdown files (docs/api)")
    options = parser.parse_args(argv)
    tables = machines()
    drawn: set[str] = set()
    problems: list[str] = []
    for path in sorted(options.docs.glob("*.md")):
        text = path.read_text(encoding="utf-8")
        new, found, unknown = render(text, tables)
        for key in found:
            if key in drawn:
                problems.append(f"{path.name}: {key} is drawn twice")
            drawn.add(key)
        problems.extend(f"{path.name}: no state machine {key}" for key in unknown)
        if new != text:
            if options.check:
                stale = [key for key in found if key in tables and _block(text, key) != tables[key].diagram()]
                problems.extend(f"{path.name}: the diagram of {key} differs from its table" for key in stale)
            else:
                path.write_text(new, encoding="utf-8")
                print(f"updated {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    problems.extend(f"{key} is drawn in no docs/api file (add its markers)" for key in tables if key not in drawn)
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


def _block(text: str, key: str) -> str | None:
    for match in BLOCK.finditer(text):
        if match.group("key") == key:
            return match.group("body")
    return None


if __name__ == "__main__":
    sys.exit(main())
