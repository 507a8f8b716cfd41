"""The release archive: what it keeps of a release of any feed, its bounds, damage, and the
folder it may use."""

from __future__ import annotations

import json
import lzma
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sync.core.feed import Release, ServiceTag
from sync.errors import FeedError
from sync.feeds import load_release
from sync.feeds.archive import (
    MAX_ARCHIVED,
    FolderShelf,
    ReleaseArchive,
    cache_archive,
    document,
)
from sync.feedsettings import FeedSettings
from tests.feed.conftest import parsed

from .conftest import AWS_NEW, AWS_OLD

PUBLIC = "ServiceTags_Public_20251017.json.xz"


def tiny(change: int, prefixes: list[str], **fields: object) -> Release:
    """A small release built on the model directly, as any feed would build one."""
    tag = ServiceTag("Alpha", "", "Alpha", change, prefixes, **fields)  # type: ignore[arg-type]
    origin = f"https://example.test/{change}.json"
    return Release("Public", change, origin, "json", {"Alpha": tag}, mark=str(change))


def test_an_azure_release_reads_back_the_same(tmp_path: Path) -> None:
    archive = cache_archive(tmp_path)
    release = parsed(PUBLIC)
    kept = archive.keep(release)
    assert kept is not None
    entry = kept.entry
    assert (entry.mark, entry.feed, kept.new, kept.before) == ("373", "azure", True, None)
    assert sorted(p.name for p in (tmp_path / "releases").iterdir()) == [
        f"{entry.name}.json",
        f"{entry.name}.json.xz",
    ]
    back = archive.load(entry)
    assert back.tags == release.tags
    assert (back.cloud, back.change_number, back.kind, back.mark) == ("Public", 373, "json", "373")
    api = Release("Public", "95", "api", "api", release.tags, mark="api-95")
    api_kept = archive.keep(api)
    assert api_kept is not None
    assert api_kept.before == entry
    assert (archive.load(api_kept.entry).kind, archive.load(api_kept.entry).mark) == (
        "api",
        "api-95",
    )
    # Same content: archived once; the one before it is the newest other.
    assert archive.keep(release) == (entry, False, api_kept.entry)


def test_a_release_of_another_feed_keeps_its_feed_and_mark(tmp_path: Path) -> None:
    settings = FeedSettings(cache_dir=tmp_path / "cache")
    old = load_release(settings, "aws", source=str(AWS_OLD))
    new = load_release(settings, "aws", source=str(AWS_NEW))
    archive = ReleaseArchive(FolderShelf(tmp_path / "archive"))
    kept = archive.keep(old)
    assert kept is not None
    back = archive.load(kept.entry)
    assert (back.feed, back.mark, back.cloud) == ("aws", old.mark, old.cloud)
    assert back.tags == old.tags
    assert archive.keep(new) == (archive.entries()[-1], True, kept.entry)
    assert archive.before(new) == kept.entry
    # The one before an Azure release is never an AWS one.
    assert archive.before(parsed(PUBLIC)) is None


def test_only_the_newest_are_kept(tmp_path: Path) -> None:
    archive = ReleaseArchive(FolderShelf(tmp_path), keep=3)
    start = datetime(2025, 10, 1, tzinfo=UTC)
    for week in range(5):
        archive.keep(tiny(week, [f"192.0.2.{week}/32"]), now=start + timedelta(days=7 * week))
    assert [e.change_number for e in archive.entries()] == [2, 3, 4]
    assert len(list(tmp_path.iterdir())) == 6  # a document and a record each
    assert archive.before(tiny(4, ["192.0.2.4/32"])).change_number == 3  # type: ignore[union-attr]
    assert cache_archive(tmp_path).keep_count == MAX_ARCHIVED


def test_the_one_before_is_of_the_same_cloud(tmp_path: Path) -> None:
    archive = cache_archive(tmp_path)
    archive.keep(tiny(1, ["192.0.2.1/32"]))
    other = Release("China", 2, "x", "json", tiny(2, ["192.0.2.2/32"]).tags, mark="2")
    archive.keep(other)
    found = archive.before(tiny(3, ["192.0.2.3/32"]))
    assert found is not None
    assert found.cloud == "Public"
    assert archive.before(tiny(1, ["192.0.2.1/32"])) is None  # only itself is archived


def test_a_damaged_document_is_refused_in_one_line(tmp_path: Path) -> None:
    archive = cache_archive(tmp_path)
    kept = archive.keep(tiny(1, ["192.0.2.1/32"], region_id=3, network_features=["NSG"]))
    assert kept is not None
    entry = kept.entry
    body = tmp_path / "releases" / f"{entry.name}.json.xz"
    body.write_bytes(lzma.compress(document(tiny(1, ["192.0.2.99/32"]))))
    with pytest.raises(FeedError, match=r"^archived release 1 \(.*\) is missing or damaged$"):
        archive.load(entry)
    body.unlink()
    with pytest.raises(FeedError, match="is missing or damaged"):
        archive.load(entry)


def test_a_folder_others_may_write_is_not_used(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    archive = ReleaseArchive(FolderShelf(shared))
    assert archive.keep(tiny(1, ["192.0.2.1/32"])) is None
    assert archive.entries() == []


def test_the_document_is_the_same_bytes_for_the_same_content() -> None:
    one = tiny(1, ["192.0.2.1/32"], state="GA")
    again = Release("Public", 1, "elsewhere", "json", dict(one.tags), mark="1")
    assert document(one) == document(again)
    assert json.loads(document(one))["values"][0]["properties"]["state"] == "GA"
