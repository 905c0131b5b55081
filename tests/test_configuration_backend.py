"""Tests for the configuration backends: MemoryBackend, and FileBackend's format, errors, permissions and atomicity."""

from __future__ import annotations

import json
import os
import random
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sipsimple.configuration import ConfigurationBackendError, ConfigurationManager
from sipsimple.configuration.backend import ConfigurationBackend, FileBackend, MemoryBackend
from sipsimple.configuration.settings import SIPSimpleSettings
from tests.peers.configuration_saver import bulk, version_of
from tests.support.notifications import observe

REPOSITORY = Path(__file__).resolve().parent.parent


def mode_of(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def temporary_files(filename: Path) -> list[Path]:
    return sorted(filename.parent.glob(f".{filename.name}.saving-*.tmp"))


@pytest.fixture
def manager() -> Iterator[ConfigurationManager]:
    manager = ConfigurationManager()
    manager.stop()
    yield manager
    manager.stop()


# --------------------------------------------------------------------------
# MemoryBackend


def test_memory_backend_keeps_private_copies() -> None:
    initial = {"a": {"b": [1]}}
    backend = MemoryBackend(initial)
    assert isinstance(backend, ConfigurationBackend)
    initial["a"]["b"].append(2)
    loaded = backend.load()
    assert loaded == {"a": {"b": [1]}}
    loaded["a"]["b"].append(3)
    assert backend.load() == {"a": {"b": [1]}}
    saved = {"x": [1]}
    backend.save(saved)
    saved["x"].append(2)
    assert backend.load() == {"x": [1]}
    assert MemoryBackend().load() == {}


def test_backend_interface_is_abstract() -> None:
    with pytest.raises(TypeError):
        ConfigurationBackend()


# --------------------------------------------------------------------------
# FileBackend: format, permissions, errors


def test_missing_file_loads_empty_and_is_not_created(tmp_path: Path) -> None:
    filename = tmp_path / "absent" / "settings.json"
    assert FileBackend(filename).load() == {}
    assert not filename.parent.exists()


def test_file_is_readable_json_and_round_trips(tmp_path: Path) -> None:
    filename = tmp_path / "settings.json"
    data = {"SIPSimpleSettings": {"user_agent": "Ünïcode ✓", "sip": {"udp_port": 5060}}, "A": [1, 2.5, None, True]}
    backend = FileBackend(filename)
    backend.save(data)
    text = filename.read_text(encoding="utf-8")
    assert text.endswith("}\n")
    assert '  "SIPSimpleSettings": {\n' in text and "Ünïcode ✓" in text  # indented, sorted, not escaped
    assert text.index('"A"') < text.index('"SIPSimpleSettings"')
    assert json.loads(text) == data
    assert FileBackend(filename).load() == data
    assert temporary_files(filename) == []


def test_filename_is_user_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    backend = FileBackend("~/conf/settings.json")
    assert backend.filename == str(tmp_path / "conf" / "settings.json")
    assert repr(backend) == f"FileBackend({str(tmp_path / 'conf' / 'settings.json')!r})"


def test_files_are_created_0600_and_missing_directories_0700(tmp_path: Path) -> None:
    existing = tmp_path / "existing"
    existing.mkdir()
    existing.chmod(0o755)
    filename = existing / "new" / "dir" / "settings.json"
    previous = os.umask(0)  # even with a permissive umask
    try:
        FileBackend(filename).save({"password": "secret"})
    finally:
        os.umask(previous)
    assert mode_of(filename) == 0o600
    assert mode_of(filename.parent) == 0o700 and mode_of(filename.parent.parent) == 0o700
    assert mode_of(existing) == 0o755  # an existing directory is left as it was


def test_a_world_readable_file_becomes_0600_when_saved(tmp_path: Path) -> None:
    filename = tmp_path / "settings.json"
    filename.write_text("{}", encoding="utf-8")
    filename.chmod(0o644)
    FileBackend(filename).save({"password": "secret"})
    assert mode_of(filename) == 0o600


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"SIPSimpleSettings": {"user_agent": "x"', "is corrupt: Expecting ',' delimiter at line 1"),
        (b"", "is corrupt: Expecting value at line 1, column 1"),
        (b'{"a": 1}\n{"b": 2}', "is corrupt: Extra data at line 2"),
        (b"[1, 2]", "is corrupt: it holds a JSON list, not an object"),
        (b'"text"', "is corrupt: it holds a JSON str, not an object"),
        (b'{"a": NaN}', "is corrupt: NaN is not a valid value"),
        (b'{"a": "\xff\xfe"}', "is corrupt: not UTF-8 text (byte 7)"),
    ],
    ids=["truncated", "empty", "two documents", "list", "string", "nan", "not utf-8"],
)
def test_a_corrupt_file_is_an_error_not_an_empty_configuration(
    tmp_path: Path, manager: ConfigurationManager, content: bytes, message: str
) -> None:
    filename = tmp_path / "settings.json"
    filename.write_bytes(content)
    with pytest.raises(ConfigurationBackendError) as raised:
        FileBackend(filename).load()
    assert str(filename) in str(raised.value) and message in str(raised.value)
    # The manager refuses to start on it, and can be started once the file is fixed.
    with pytest.raises(ConfigurationBackendError, match="corrupt"):
        manager.start(FileBackend(filename))
    assert not manager.running
    assert filename.read_bytes() == content  # left for the user to inspect
    filename.write_text('{"SIPSimpleSettings": {"user_agent": "fixed"}}', encoding="utf-8")
    manager.start(FileBackend(filename))
    assert SIPSimpleSettings().user_agent == "fixed"


def test_an_unreadable_file_is_an_error(tmp_path: Path) -> None:
    directory = tmp_path / "settings.json"
    directory.mkdir()  # a directory where the file should be
    with pytest.raises(ConfigurationBackendError, match="cannot read the settings file .*Is a directory"):
        FileBackend(directory).load()


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path: Path) -> None:
    filename = tmp_path / "settings.json"
    backend = FileBackend(filename)
    backend.save({"version": 1})
    before = filename.read_bytes()
    with pytest.raises(ConfigurationBackendError, match="cannot be written as JSON"):
        backend.save({"version": 2, "bad": object()})
    with pytest.raises(ConfigurationBackendError, match="cannot be written as JSON"):
        backend.save({"version": 2, "bad": float("inf")})
    assert filename.read_bytes() == before and temporary_files(filename) == []

    blocked = tmp_path / "blocked.json"
    blocked.mkdir()  # os.replace cannot put a file over a directory
    with pytest.raises(ConfigurationBackendError, match="cannot write the settings file .*blocked.json"):
        FileBackend(blocked).save({"version": 1})
    assert temporary_files(blocked) == []


def test_a_failed_write_is_reported_by_settings_objects(tmp_path: Path, manager: ConfigurationManager) -> None:
    filename = tmp_path / "settings.json"
    manager.start(FileBackend(filename))
    settings = SIPSimpleSettings()
    settings.save()
    filename.unlink()
    filename.mkdir()  # every write fails from now on
    recorder = observe("CFGManagerSaveFailed", "CFGSettingsObjectDidChange")
    try:
        settings.sip.udp_port = 5060
        with pytest.raises(ConfigurationBackendError, match="cannot write the settings file"):
            settings.save()
        assert recorder.names == ["CFGManagerSaveFailed"]
        assert isinstance(recorder.notifications[0].data.exception, ConfigurationBackendError)
        filename.rmdir()
        settings.save()
        assert recorder.names == ["CFGManagerSaveFailed", "CFGSettingsObjectDidChange"]
        assert json.loads(filename.read_text(encoding="utf-8")) == {"SIPSimpleSettings": {"sip": {"udp_port": 5060}}}
    finally:
        recorder.close()


def test_a_symbolic_link_is_followed_not_replaced(tmp_path: Path) -> None:
    real = tmp_path / "real" / "settings.json"
    real.parent.mkdir()
    real.write_text("{}", encoding="utf-8")
    link = tmp_path / "settings.json"
    link.symlink_to(real)
    FileBackend(link).save({"a": 1})
    assert link.is_symlink()
    assert json.loads(real.read_text(encoding="utf-8")) == {"a": 1}
    assert FileBackend(link).load() == {"a": 1}


def test_load_removes_temporary_files_left_by_a_crash(tmp_path: Path) -> None:
    filename = tmp_path / "settings.json"
    FileBackend(filename).save({"a": 1})
    leftover = tmp_path / ".settings.json.saving-abc123.tmp"
    leftover.write_text('{"a": 2', encoding="utf-8")
    unrelated = tmp_path / ".other.json.saving-abc123.tmp"
    unrelated.write_text("", encoding="utf-8")
    assert FileBackend(filename).load() == {"a": 1}
    assert not leftover.exists() and unrelated.exists()


# --------------------------------------------------------------------------
# Atomic saves: a child process killed with SIGKILL in the middle of save()


def start_saver(filename: Path, mode: str) -> tuple[subprocess.Popen[str], int]:
    """Start the saving child; return it and the version it found in the file once it is ready."""
    environment = dict(os.environ, PYTHONPATH=str(REPOSITORY))
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.peers.configuration_saver", str(filename), mode],
        cwd=REPOSITORY,
        env=environment,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    line = child.stdout.readline()
    assert line.startswith("ready "), f"the saver did not start: {line!r}"
    return child, int(line.split()[1])


def kill(child: subprocess.Popen[str]) -> list[str]:
    """SIGKILL the child; return the lines it printed that were not read yet."""
    os.kill(child.pid, signal.SIGKILL)
    assert child.stdout is not None
    remaining = child.stdout.read().splitlines()
    child.wait()
    assert child.returncode == -signal.SIGKILL
    return remaining


def read_version(filename: Path) -> int:
    """Parse the file as a fresh process would and check that it holds one whole save; return its version."""
    assert mode_of(filename) == 0o600
    with open(filename, encoding="utf-8") as file:
        data = json.load(file)
    version = version_of(data["SIPSimpleSettings"]["user_agent"])
    assert data["Bulk"] == bulk(version), "the file mixes two saves"
    return version


def write_initial_file(filename: Path) -> None:
    manager = ConfigurationManager()
    manager.stop()
    manager.start(FileBackend(filename))
    try:
        manager.update(("Bulk",), bulk(0))
        settings = SIPSimpleSettings()
        settings.user_agent = "version-0"
        settings.save()
    finally:
        manager.stop()


def test_kill_between_writing_and_replacing_keeps_the_old_file(tmp_path: Path) -> None:
    filename = tmp_path / "settings.json"
    write_initial_file(filename)
    child, version = start_saver(filename, "block-before-replace")
    try:
        assert version == 0
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line.startswith("replacing ")
        temporary = Path(line.split(" ", 1)[1].strip())
        # The new content is complete and on disk; the old file has not been touched yet.
        assert temporary.parent == filename.parent and temporary in temporary_files(filename)
        assert mode_of(temporary) == 0o600
        with open(temporary, encoding="utf-8") as file:
            assert version_of(json.load(file)["SIPSimpleSettings"]["user_agent"]) == 1
        assert read_version(filename) == 0
    finally:
        kill(child)
    assert read_version(filename) == 0
    assert version_of(FileBackend(filename).load()["SIPSimpleSettings"]["user_agent"]) == 0
    assert temporary_files(filename) == []  # the load cleaned up after the crash


def test_kills_at_random_moments_never_corrupt_or_lose_the_file(tmp_path: Path) -> None:
    filename = tmp_path / "settings.json"
    write_initial_file(filename)
    chooser = random.Random(20240229)
    kills = 40
    mid_write = 0  # kills that left a temporary file behind: they landed inside a save
    partial = 0  # ... of which the temporary file was incomplete: they landed inside the write itself
    last = 0
    for _ in range(kills):
        child, ready = start_saver(filename, "loop")
        assert ready == last
        os.sched_yield()
        delay = chooser.uniform(0.0, 0.25)
        try:
            child.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            pass
        assert child.returncode is None, "the saver stopped by itself"
        lines = kill(child)
        saved = [int(line.split()[1]) for line in lines if line.startswith("saved ")]
        completed = saved[-1] if saved else ready
        # Every save that returned is in the file; a save under way when killed may be there as a whole, or not.
        version = read_version(filename)
        assert version in (completed, completed + 1), (version, completed)
        leftovers = temporary_files(filename)
        if leftovers:
            mid_write += 1
            try:
                json.loads(leftovers[0].read_text(encoding="utf-8"))
            except ValueError:
                partial += 1
        last = version
    print(f"{kills} kills: {mid_write} inside a save, {partial} inside the write itself; last version {last}")
    assert last > 0, "no save ever completed"
    assert mid_write > 0 and partial > 0, f"no kill landed inside a save ({mid_write} in a save, {partial} in a write)"
    assert FileBackend(filename).load()["SIPSimpleSettings"]["user_agent"] == f"version-{last}"
    assert temporary_files(filename) == []
