"""The public names of sipsimple.core: one list (_core.__all__), which the package and the stub follow.

_core.pyx lists the core's public names once, in __all__; sipsimple.core
re-exports exactly those and adds its pure-Python modules' names. The stub
(_core.pyi) must declare the same __all__ and a definition for each name
(mypy.stubtest then checks every definition against the extension).
"""

from __future__ import annotations

import ast
from pathlib import Path

import sipsimple.core as core
from sipsimple.core import _core

STUB = Path(core.__file__).parent / "_core.pyi"

# Public in _core for the rest of sipsimple.core, not part of its API: the
# Engine's handle on the stack (sipsimple/core/_engine.py) and the type of the
# `headers` of received messages, documented in docs/api/requests.md.
CORE_INTERNALS = {"PJSIPUA", "ReceivedHeaders"}
PURE_PYTHON = ["DEFAULT_CODECS", "Engine", "Message", "Publication", "Registration"]


def _stub() -> ast.Module:
    return ast.parse(STUB.read_text(), str(STUB))


def _stub_all(tree: ast.Module) -> list[str]:
    for node in tree.body:
        targets = [target.id for target in getattr(node, "targets", []) if isinstance(target, ast.Name)]
        if isinstance(node, ast.Assign) and targets == ["__all__"]:
            return list(ast.literal_eval(node.value))
    raise AssertionError("_core.pyi declares no __all__")


def _stub_public_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.Assign):
            names.update(target.id for target in node.targets if isinstance(target, ast.Name))
    return {name for name in names if not name.startswith("_")}


def test_the_stub_declares_the_same_all() -> None:
    assert _stub_all(_stub()) == list(_core.__all__)


def test_the_stub_declares_every_public_name_and_no_other() -> None:
    assert _stub_public_names(_stub()) == set(_core.__all__) | CORE_INTERNALS


def test_the_list_has_no_duplicates_and_names_only_what_exists() -> None:
    assert len(set(_core.__all__)) == len(_core.__all__)
    assert [name for name in _core.__all__ if not hasattr(_core, name)] == []
    assert CORE_INTERNALS.isdisjoint(_core.__all__)


def test_the_package_exports_the_core_list_and_its_python_names() -> None:
    assert core.__all__ == [*_core.__all__, *PURE_PYTHON]
    for name in _core.__all__:
        assert getattr(core, name) is getattr(_core, name)
    for name in PURE_PYTHON:
        assert getattr(core, name) is not None
    namespace: dict[str, object] = {}
    exec("from sipsimple.core import *", namespace)
    assert set(namespace) - {"__builtins__"} == set(core.__all__)


def test_test_only_parsers_do_not_ship() -> None:
    # The tests read PJSIP's parsing through ReceivedHeaders, as the Engine does.
    for name in ("_pjsip_parse_uri", "_pjsip_parse_header", "_pjsip_parse_message_headers"):
        assert not hasattr(_core, name)
        assert name not in STUB.read_text()
