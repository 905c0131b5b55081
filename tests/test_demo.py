"""The README's main job (scripts/demo_call.py) works: the call comes up with
SRTP and ICE and the analysed recording matches the tone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

DEMO = Path(__file__).resolve().parent.parent / "scripts" / "demo_call.py"


@pytest.mark.timeout(120)
@pytest.mark.parametrize("codec", ["PCMU", "opus"])
def test_demo_call(codec: str) -> None:
    result = subprocess.run(
        [sys.executable, str(DEMO), "--codec", codec, "--seconds", "2"], capture_output=True, text=True, timeout=100
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "audio verified" in result.stdout
    assert "SRTP AEAD_AES_256_GCM" in result.stdout and "ICE host 127.0.0.1:" in result.stdout
