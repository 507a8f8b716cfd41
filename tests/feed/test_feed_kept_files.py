"""A local release file read again is found by what the kernel says of it, without reading or
hashing it; a file that changed in any way the kernel records is read again, and a file that
changed too recently to tell is never remembered."""

from __future__ import annotations

import json
import marshal
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import sync.feeds.azure as azure_feed
from sync.core.feed import Release
from sync.feeds.azure import kept
from sync.settings import load_settings

from .conftest import raw_json

PUBLIC = "ServiceTags_Public_20251017.json.xz"


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files whose bytes were read (the real reader runs)."""
    seen: list[str] = []
    real = azure_feed.read_source

    def counted(source: str, option: str = "--source") -> tuple[bytes, str, int]:
        seen.append(source)
        return real(source, option)

    monkeypatch.setattr(azure_feed, "read_source", counted)
    return seen


@pytest.fixture
def settled(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files count as settled at once (the real window is two seconds)."""
    monkeypatch.setattr(kept, "RACY_S", 0.0)


def write(path: Path, payload: dict[str, Any]) -> Path:
    path.write_text(json.dumps(payload), encoding="utf-8")
    return path


def first_prefix(payload: dict[str, Any]) -> list[str]:
    prefixes: list[str] = payload["values"][0]["properties"]["addressPrefixes"]
    return prefixes


@pytest.mark.usefixtures("settled")
def test_a_file_read_again_is_not_read_at_all(
    tmp_path: Path, load: Callable[..., Release], reads: list[str]
) -> None:
    path = write(tmp_path / "release.json", raw_json(PUBLIC))
    first = load(path)
    again = load(path)
    assert reads == [str(path)]
    assert again.tags == first.tags
    assert (again.mark, again.verdict, again.origin) == (first.mark, first.verdict, str(path))
    load(path, min_prefixlen_v4=9)  # other guards: read and checked again
    assert reads == [str(path)] * 2


@pytest.mark.usefixtures("settled")
def test_a_file_rewritten_with_its_size_and_times_restored_is_read_again(
    tmp_path: Path, load: Callable[..., Release], reads: list[str]
) -> None:
    """A writer can restore the size and the modification time, not the change time."""
    payload = raw_json(PUBLIC)
    first_prefix(payload)[0] = "203.0.113.0/24"
    path = write(tmp_path / "release.json", payload)
    load(path)
    status = path.stat()
    first_prefix(payload)[0] = "203.0.114.0/24"  # the same length
    write(path, payload)
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns))
    assert path.stat().st_size == status.st_size
    changed = load(path)
    assert reads == [str(path)] * 2
    assert "203.0.114.0/24" in changed.tags[payload["values"][0]["name"]].address_prefixes


def test_a_file_changed_just_now_is_not_remembered(
    tmp_path: Path, load: Callable[..., Release], reads: list[str]
) -> None:
    """Within the window a change may leave the times as they were: the file is hashed again
    (and found kept by its bytes), and its identity is not written down."""
    path = write(tmp_path / "release.json", raw_json(PUBLIC))
    load(path)
    load(path)
    assert reads == [str(path)] * 2
    assert not (tmp_path / "cache" / kept.FILES_FILE).exists()


@pytest.mark.usefixtures("settled")
def test_remembered_files_others_may_write_are_ignored(
    tmp_path: Path, load: Callable[..., Release], reads: list[str]
) -> None:
    path = write(tmp_path / "release.json", raw_json(PUBLIC))
    load(path)
    (tmp_path / "cache" / kept.FILES_FILE).chmod(0o666)
    load(path)
    assert reads == [str(path)] * 2


@pytest.mark.usefixtures("settled")
@pytest.mark.parametrize(
    "index",
    [b"\x00not marshal", b"", marshal.dumps(["a list"]), marshal.dumps({"x": "not a key"})],
)
def test_a_damaged_index_of_files_is_read_as_empty(
    tmp_path: Path, load: Callable[..., Release], reads: list[str], index: bytes
) -> None:
    path = write(tmp_path / "release.json", raw_json(PUBLIC))
    first = load(path)
    (tmp_path / "cache" / kept.FILES_FILE).write_bytes(index)
    assert load(path).tags == first.tags
    assert reads == [str(path)] * 2  # read again, and remembered afresh
    assert load(path).tags == first.tags
    assert reads == [str(path)] * 2


@pytest.mark.usefixtures("settled")
def test_files_remembered_are_bounded_newest_kept(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    keys = [f"{n:064x}" for n in range(kept.MAX_FILES + 3)]
    for n, key in enumerate(keys):
        kept.remember_file(cache, f"file {n}", key)
    assert kept.file_key(cache, "file 0") is None
    assert kept.file_key(cache, f"file {len(keys) - 1}") == keys[-1]
    assert kept.file_key(cache, f"file {len(keys) - kept.MAX_FILES}") is not None


@pytest.mark.usefixtures("settled")
def test_no_file_is_remembered_where_the_change_time_is_the_creation_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On Windows ``st_ctime`` is when the file was made: a rewrite would keep it."""
    path = write(tmp_path / "release.json", {"values": []})
    settings = load_settings(source=str(path), cache_dir=tmp_path / "cache")
    assert kept.file_identity(path, settings) is not None
    monkeypatch.setattr(kept.os, "name", "nt")
    assert kept.file_identity(path, settings) is None
