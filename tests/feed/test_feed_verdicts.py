"""Release verdicts: a release's prefixes are checked once per content and guards, never trusted
for other bytes, and a release that failed or needed rewriting is never kept as good."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sync.core import feed
from sync.core.feed import Release
from sync.errors import FeedError
from sync.feeds.azure import parse as parse_module
from sync.feeds.azure.kept import PARSED_PREFIX, VERDICTS_FILE, read_known, read_verdicts
from sync.feeds.azure.parse import VERDICT_VERSION, parse_release

from .conftest import DATA, PUBLIC, raw_json, release_bytes

PREVIOUS = "ServiceTags_Public_20251010.json.xz"


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the runs of the release-wide prefix check (the real one runs)."""
    calls: list[int] = []
    real = feed.all_canonical

    def counted(prefixes: Any, **bounds: int) -> bool:
        calls.append(len(prefixes))
        return real(prefixes, **bounds)

    monkeypatch.setattr(feed, "all_canonical", counted)
    return calls


def write(path: Path, payload: dict[str, Any]) -> Path:
    path.write_text(json.dumps(payload), encoding="utf-8")
    return path


def tags_of(release: Release) -> dict[str, list[str]]:
    return {name: tag.address_prefixes for name, tag in release.tags.items()}


def test_second_load_of_the_same_release_skips_the_check(
    tmp_path: Path, load: Callable[..., Release], checks: list[int]
) -> None:
    path = tmp_path / "release.json"
    path.write_bytes(release_bytes(PUBLIC))
    first = load(path)
    assert len(checks) == 1
    assert checks[0] > 50_000  # every distinct prefix of the release
    assert first.verdict is not None
    assert read_verdicts(tmp_path / "cache") == [first.verdict]

    second = load(path)
    assert len(checks) == 1  # not checked again
    assert second.verdict == first.verdict
    assert tags_of(second) == tags_of(first)


def test_changed_content_is_checked_again(
    tmp_path: Path, load: Callable[..., Release], checks: list[int]
) -> None:
    payload = raw_json(PUBLIC)
    first = load(write(tmp_path / "release.json", payload))
    payload["values"][0]["properties"]["addressPrefixes"].append("198.51.100.0/24")
    second = load(write(tmp_path / "release.json", payload))
    assert len(checks) == 2
    assert second.verdict not in (None, first.verdict)
    assert read_verdicts(tmp_path / "cache") == [first.verdict, second.verdict]


def test_a_tampered_file_is_not_trusted(
    tmp_path: Path, load: Callable[..., Release], checks: list[int]
) -> None:
    payload = raw_json(PUBLIC)
    good = load(write(tmp_path / "release.json", payload))
    payload["values"][0]["properties"]["addressPrefixes"].append("0.0.0.0/0")
    with pytest.raises(FeedError, match=r"prefix 0\.0\.0\.0/0 is broader than /8"):
        load(write(tmp_path / "release.json", payload))
    assert len(checks) == 2
    assert read_verdicts(tmp_path / "cache") == [good.verdict]


def test_a_release_whose_prefixes_were_rewritten_is_not_kept(
    tmp_path: Path,
    load: Callable[..., Release],
    checks: list[int],
    caplog: pytest.LogCaptureFixture,
) -> None:
    payload = raw_json(PUBLIC)
    payload["values"][0]["properties"]["addressPrefixes"].append("198.51.100.1/24")
    path = write(tmp_path / "release.json", payload)
    for _ in range(2):
        with caplog.at_level(logging.WARNING, logger="sync.core.feed"):
            release = load(path)
        assert release.verdict is None
        assert "198.51.100.0/24" in release.tags[payload["values"][0]["name"]].address_prefixes
        assert "has host bits set" in caplog.text  # warned on every run, not only the first
        caplog.clear()
    assert len(checks) == 2
    assert read_verdicts(tmp_path / "cache") == []


def test_stricter_guards_check_again(
    tmp_path: Path, load: Callable[..., Release], checks: list[int]
) -> None:
    payload = raw_json(PUBLIC)
    payload["values"][0]["properties"]["addressPrefixes"].append("11.0.0.0/9")
    path = write(tmp_path / "release.json", payload)
    assert load(path).verdict is not None
    with pytest.raises(FeedError, match="broader than /10"):
        load(path, min_prefixlen_v4=10)
    assert len(checks) == 2


def test_a_verdicts_file_others_may_write_is_ignored(
    tmp_path: Path, load: Callable[..., Release], checks: list[int]
) -> None:
    path = tmp_path / "release.json"
    path.write_bytes(release_bytes(PUBLIC))
    load(path)
    (tmp_path / "cache" / VERDICTS_FILE).chmod(0o666)
    for kept in (tmp_path / "cache").glob(f"{PARSED_PREFIX}*"):
        kept.unlink()
    assert read_verdicts(tmp_path / "cache") == []
    load(path)
    assert checks == [checks[0]] * 2  # every prefix, again


def test_a_new_release_is_checked_for_the_prefixes_it_adds(
    tmp_path: Path, load: Callable[..., Release], checks: list[int]
) -> None:
    """The last release that passed is kept with its guards: the next release checks only
    the prefixes its changed tags did not hold; other guards, or a file others may write, check
    all."""
    before, after = tmp_path / "before.json", tmp_path / "after.json"
    before.write_bytes(release_bytes(PREVIOUS))
    after.write_bytes(release_bytes(PUBLIC))
    load(before)
    release = load(after)
    assert release.verdict is not None
    old, new = (dict(load(p).tags) for p in (before, after))
    changed = [name for name, tag in new.items() if old.get(name) != tag]
    added = (
        set()
        .union(*(new[n].address_prefixes for n in changed))
        .difference(*(old[n].address_prefixes for n in changed if n in old))
    )
    assert 0 < len(added) < 1_000 < len(changed) * 100  # about 100 tags changed in a week
    assert checks[1:] == [len(added)]
    payload = raw_json(PUBLIC)
    payload["values"][0]["properties"]["addressPrefixes"].append("10.1.0.0/16")
    with pytest.raises(FeedError, match=r"10\.1\.0\.0/16 overlaps reserved 10\.0\.0\.0/8"):
        load(write(tmp_path / "bad.json", payload))
    load(write(tmp_path / "stricter.json", raw_json(PREVIOUS)), min_prefixlen_v4=9)
    assert checks[-1] == checks[0]  # other guards: every prefix
    assert read_known(tmp_path / "cache", (VERDICT_VERSION, 8, 16)) is not None
    for kept in (tmp_path / "cache").glob(f"{PARSED_PREFIX}*"):
        kept.chmod(0o666)
    assert read_known(tmp_path / "cache", (VERDICT_VERSION, 8, 16)) is None


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Counts the parses of a release's bytes (the real parser runs)."""
    calls: list[str] = []

    def counted(data: bytes, **options: Any) -> Release:
        calls.append(options["origin"])
        return parse_release(data, **options)

    monkeypatch.setattr(parse_module, "parse_release", counted)
    return calls


def test_the_same_bytes_are_read_parsed_the_next_time(
    tmp_path: Path, load: Callable[..., Release], parses: list[str]
) -> None:
    first_path = tmp_path / "release.json.xz"
    first_path.write_bytes((DATA / PUBLIC).read_bytes())
    first = load(first_path)
    copy = tmp_path / "copy.json.xz"
    copy.write_bytes(first_path.read_bytes())
    second = load(copy)
    assert parses == [str(first_path)]  # the copy was not decoded again
    assert second.origin == str(copy)
    assert (second.cloud, second.change_number, second.kind) == (
        first.cloud,
        first.change_number,
        first.kind,
    )
    assert second.tags == first.tags
    load(copy, min_prefixlen_v4=9)  # other guards: parsed (and checked) again
    assert len(parses) == 2


def test_a_kept_release_others_may_write_is_not_used(
    tmp_path: Path, load: Callable[..., Release], parses: list[str]
) -> None:
    path = tmp_path / "release.json.xz"
    path.write_bytes((DATA / PUBLIC).read_bytes())
    load(path)
    (kept,) = (tmp_path / "cache").glob(f"{PARSED_PREFIX}*")
    kept.chmod(0o666)
    load(path)
    assert len(parses) == 2


def test_a_changed_byte_is_parsed_again(
    tmp_path: Path, load: Callable[..., Release], parses: list[str]
) -> None:
    payload = raw_json(PUBLIC)
    load(write(tmp_path / "release.json", payload))
    payload["values"][0]["properties"]["addressPrefixes"].append("198.51.100.0/24")
    changed = load(write(tmp_path / "release.json", payload))
    assert len(parses) == 2
    assert "198.51.100.0/24" in changed.tags[payload["values"][0]["name"]].address_prefixes


def test_core_trusts_only_the_key_of_the_same_bytes_and_guards(checks: list[int]) -> None:
    data = release_bytes(PUBLIC)
    verdict = parse_release(data, origin="a").verdict
    assert verdict is not None
    assert parse_release(data, origin="b", trusted={verdict}).verdict == verdict
    assert len(checks) == 1
    assert parse_release(data + b"\n", origin="c", trusted={verdict}).verdict != verdict
    assert parse_release(data, origin="d", cloud="Public", trusted={verdict}).verdict != verdict
    assert len(checks) == 3


def test_verdicts_in_a_folder_others_may_write_are_ignored(
    tmp_path: Path, load: Callable[..., Release], checks: list[int]
) -> None:
    path = tmp_path / "release.json"
    path.write_bytes(release_bytes(PUBLIC))
    load(path)
    (tmp_path / "cache").chmod(0o777)  # another user could have replaced the file
    assert read_verdicts(tmp_path / "cache") == []
    load(path)
    assert len(checks) == 2


def test_a_kept_release_decodes_each_tag_when_asked(
    tmp_path: Path, load: Callable[..., Release], parses: list[str]
) -> None:
    """Tags are kept apart: damage to one tag's bytes spoils that tag alone, named clearly;
    a kept file cut short is not used at all."""
    path = tmp_path / "release.json.xz"
    path.write_bytes((DATA / PUBLIC).read_bytes())
    first = load(path)
    (kept,) = (tmp_path / "cache").glob(f"{PARSED_PREFIX}*")
    data = bytearray(kept.read_bytes())
    data[-40:] = b"\xff" * 40  # inside the last tag's bytes
    kept.write_bytes(bytes(data))
    damaged = load(path)
    assert parses == [str(path)]
    last = list(first.tags)[-1]
    assert list(damaged.tags) == list(first.tags)
    assert damaged.find("Storage.WestEurope") == first.tags["Storage.WestEurope"]
    with pytest.raises(FeedError, match="the kept release is damaged; delete it"):
        damaged.tags[last]
    kept.write_bytes(bytes(data[:-1]))
    assert load(path).tags == first.tags
    assert len(parses) == 2  # parsed again
