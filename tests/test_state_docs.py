"""The state diagrams in docs/api/ are the transition tables' (scripts/state_diagrams.py --check)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "state_diagrams.py"


def check(docs: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--check", "--docs", str(docs)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_docs_draw_every_table_as_it_is() -> None:
    result = check(ROOT / "docs" / "api")
    assert result.returncode == 0, result.stderr


def test_a_diagram_that_differs_from_its_table_fails_the_check_naming_the_machine(tmp_path: Path) -> None:
    docs = tmp_path / "api"
    shutil.copytree(ROOT / "docs" / "api", docs)
    page = docs / "invitation.md"
    text = page.read_text(encoding="utf-8")
    edited = text.replace("    connecting --> connected: acknowledged (ACK)\n", "", 1)
    assert edited != text
    page.write_text(edited, encoding="utf-8")
    result = check(docs)
    assert result.returncode == 1
    assert "invitation.md: the diagram of Invitation differs from its table" in result.stderr
    assert "Invitation.sub_state" not in result.stderr


def test_a_table_drawn_nowhere_or_a_block_of_no_table_fails_the_check(tmp_path: Path) -> None:
    docs = tmp_path / "api"
    shutil.copytree(ROOT / "docs" / "api", docs)
    page = docs / "media.md"
    text = page.read_text(encoding="utf-8")
    page.write_text(
        text.replace("<!-- state-machine: AudioTransport -->", "<!-- state-machine: AudioTransprot -->"),
        encoding="utf-8",
    )
    result = check(docs)
    assert result.returncode == 1
    assert "media.md: no state machine AudioTransprot" in result.stderr
    assert "AudioTransport is drawn in no docs/api file" in result.stderr


def test_without_check_the_script_redraws_the_docs(tmp_path: Path) -> None:
    docs = tmp_path / "api"
    shutil.copytree(ROOT / "docs" / "api", docs)
    page = docs / "sound.md"
    original = page.read_text(encoding="utf-8")
    start = original.index("<!-- state-machine: AudioMixer -->\n") + len("<!-- state-machine: AudioMixer -->\n")
    end = original.index("<!-- /state-machine -->", start)
    page.write_text(original[:start] + "hand-drawn\n" + original[end:], encoding="utf-8")
    assert check(docs).returncode == 1
    subprocess.run([sys.executable, str(SCRIPT), "--docs", str(docs)], capture_output=True, timeout=60, check=True)
    assert page.read_text(encoding="utf-8") == original
    assert check(docs).returncode == 0
