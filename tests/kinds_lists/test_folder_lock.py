"""The folder registry's lock: a killed save's lock is broken at once, a live one is waited
for and then reported as not saved, and breaking never removes a fresh lock."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sync.state import folderlock
from sync.state.folderlock import Busy, locked, read_holder
from sync.state.ownership import Conflict, FolderRegistry, Record, record_name

ID = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg"
    "/providers/Microsoft.Storage/storageAccounts/sto1"
)


def _save(folder: FolderRegistry, owned: frozenset[str] = frozenset()) -> str:
    """A first save of the record of ``ID``."""
    return folder.save(ID, Record(owned, None))


def _lock_of(folder: Path) -> Path:
    return (folder / record_name(ID)).with_suffix(".lock")


def _hold(lock: Path, pid: int, *, host: str | None = None, age_s: float = 0.0) -> None:
    """A lock file as a save writes it, held by ``pid`` since ``age_s`` ago."""
    body = {
        "pid": pid,
        "host": host or socket.gethostname(),
        "created": time.time() - age_s,
        "token": f"t{pid}",
    }
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text(json.dumps(body))


def _dead_pid() -> int:
    """The id of a process that has ended (a save killed mid-way)."""
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)  # fmt: skip
    return int(child.stdout)


def test_the_lock_of_a_killed_save_is_broken_at_once(tmp_path: Path) -> None:
    folder = FolderRegistry(tmp_path)
    _hold(_lock_of(tmp_path), _dead_pid())  # seconds old, far from any age limit
    _save(folder, frozenset({"20.1.0.0/24"}))
    assert folder.load(ID).owned == frozenset({"20.1.0.0/24"})
    assert not _lock_of(tmp_path).exists()


def test_a_live_owners_lock_is_busy_not_a_conflict_and_nothing_is_saved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(folderlock, "WAIT_S", 0.2)
    folder = FolderRegistry(tmp_path)
    _hold(_lock_of(tmp_path), os.getpid())
    with pytest.raises(Busy, match="not saved") as caught:
        _save(folder, frozenset({"20.1.0.0/24"}))
    assert not isinstance(caught.value, Conflict)  # "reload and retry" would not help
    assert f"process {os.getpid()}" in str(caught.value)
    assert not folder.load(ID).exists
    assert _lock_of(tmp_path).exists()  # still the owner's


@pytest.mark.parametrize(
    ("host", "age_s", "broken"),
    [
        ("elsewhere", 10.0, False),  # another host's owner cannot be asked: wait
        ("elsewhere", folderlock.STALE_LOCK_S + 1, True),  # too old, whoever holds it
    ],
)
def test_another_hosts_lock_is_broken_by_age_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host: str, age_s: float, broken: bool
) -> None:
    monkeypatch.setattr(folderlock, "WAIT_S", 0.2)
    _hold(_lock_of(tmp_path), os.getpid(), host=host, age_s=age_s)
    folder = FolderRegistry(tmp_path)
    if broken:
        _save(folder)
        assert folder.load(ID).exists
    else:
        with pytest.raises(Busy):
            _save(folder)


def test_an_unreadable_lock_is_broken_once_old(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(folderlock, "WAIT_S", 0.2)
    lock = _lock_of(tmp_path)
    lock.touch()  # a lock being written, or left empty by an older version
    with pytest.raises(Busy):
        _save(FolderRegistry(tmp_path))
    past = time.time() - folderlock.UNREADABLE_LOCK_S - 1
    os.utime(lock, (past, past))
    _save(FolderRegistry(tmp_path))


def test_breaking_never_removes_a_lock_taken_meanwhile(tmp_path: Path) -> None:
    lock = tmp_path / "r.lock"
    _hold(lock, _dead_pid())
    judged = read_holder(lock)
    assert judged is not None
    _hold(lock, os.getpid())  # a fresh save took the lock after the look
    folderlock._break(lock, judged)
    now = read_holder(lock)
    assert now is not None
    assert now.pid == os.getpid()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.lock"]


def test_a_save_knows_when_its_lock_was_taken_from_it(tmp_path: Path) -> None:
    lock = tmp_path / "r.lock"
    with locked(lock, "record r") as still_ours:
        assert still_ours()
        _hold(lock, os.getpid())  # someone broke ours and took the place
        assert not still_ours()
    assert lock.exists()  # not ours: left alone
