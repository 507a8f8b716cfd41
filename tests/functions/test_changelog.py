"""The app's change log in Azurite: the releases its runs applied and one change entry per
release that changed a selected tag, written after a run that wrote, bounded."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from azure.functions.timer import TimerRequest
from azure.storage.blob import ContainerClient

import function_app
from sync.app import changelog
from sync.app.changelog import ChangeLog
from sync.changes import ChangeEntry, TagDelta, entry_id
from sync.core.diff import diff_releases
from sync.feeds.azure.parse import parse_release

from ._app import FEED, App, target

OLD = FEED.with_name("ServiceTags_Public_20251010.json.xz")
TAGS = ["Storage.WestEurope", "AzureMonitor"]


def week(app: App, monkeypatch: pytest.MonkeyPatch, *sources: Path, dry_run: bool = False) -> None:
    """Timer runs of ``sources`` in turn, the target selecting :data:`TAGS`."""
    app.targets(target("nsg-a", service_tags=TAGS))
    monkeypatch.setenv("IPSYNC_DRY_RUN", "true" if dry_run else "false")
    for source in sources:
        monkeypatch.setenv("IPSYNC_SOURCE", str(source))
        function_app.sync_timer(TimerRequest())


def blobs(storage: ContainerClient, prefix: str) -> list[str]:
    return sorted(storage.list_blob_names(name_starts_with=prefix))


def test_a_new_release_stores_what_it_changed_in_the_selected_tags(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sync.feeds.azure import FEED as AZURE

    reads: list[str] = []
    read = AZURE.read
    monkeypatch.setattr(AZURE, "read", lambda *a, **k: reads.append("read") or read(*a, **k))
    week(app, monkeypatch, OLD, FEED)
    assert reads == ["read", "read"]  # the change log read no release of its own
    (name,) = blobs(app.storage, "changes/")
    change = ChangeEntry.model_validate_json(app.storage.download_blob(name).readall())
    assert change.id == entry_id("Public", "372", "373")
    old = parse_release(OLD.read_bytes(), origin=str(OLD))
    new = parse_release(FEED.read_bytes(), origin=str(FEED))
    expected = diff_releases(old, new, tags=TAGS)
    assert list(change.tags) == [t.name for t in expected.tags] == ["AzureMonitor"]
    delta = change.tags["AzureMonitor"]
    assert (delta.added, delta.removed) == (
        list(expected.tags[0].added),
        list(expected.tags[0].removed),
    )
    (impact,) = change.targets
    assert (impact.kind, impact.status, impact.service_tags) == ("nsg", "applied", ["AzureMonitor"])
    latest = app.history().latest()
    assert latest is not None
    assert (change.run_id, change.seen_at) == (latest["run_id"], latest["started_at"])
    assert len(blobs(app.storage, "releases/")) == 4  # two releases: a document and a record each


def test_the_same_release_again_or_a_dry_run_stores_nothing(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    week(app, monkeypatch, OLD, dry_run=True)
    assert blobs(app.storage, "releases/") == []
    week(app, monkeypatch, OLD, FEED, FEED)
    before = blobs(app.storage, "changes/")
    assert len(before) == 1
    week(app, monkeypatch, FEED, dry_run=True)
    assert blobs(app.storage, "changes/") == before
    assert len(blobs(app.storage, "releases/")) == 4


def test_a_change_log_that_fails_does_not_fail_the_run(
    app: App, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from azure.core.exceptions import ServiceRequestError

    def broken(*args: Any) -> list[ChangeEntry]:
        raise ServiceRequestError("storage went away")

    monkeypatch.setattr(ChangeLog, "record", broken)
    week(app, monkeypatch, FEED)
    latest = app.history().latest()
    assert latest is not None
    assert latest["ok"] is True
    assert "the change feed was not updated: ServiceRequestError: storage went away" in caplog.text


def entry(week_number: int, **more: Any) -> ChangeEntry:
    seen = datetime(2025, 1, 3, 4, 30, tzinfo=UTC) + timedelta(weeks=week_number)
    mark, previous = str(340 + week_number), str(339 + week_number)
    return ChangeEntry(
        id=entry_id("Public", previous, mark),
        cloud="Public",
        mark=mark,
        previous=previous,
        seen_at=seen.isoformat(),
        tags={"AzureMonitor": TagDelta(added=["192.0.2.0/24"], addresses={"v4": (256, 0)})},
        **more,
    )


def test_entries_are_stored_once_per_id_and_bounded(storage: ContainerClient) -> None:
    storage.create_container()
    log = ChangeLog(storage, keep=3)
    assert log.entries() == []
    assert log.latest() is None
    assert [log.add(entry(n)) for n in range(5)] == [True] * 5
    assert log.add(entry(4, run_id="20250131T043000000Z-00000000")) is False  # same id
    assert [e.mark for e in log.entries()] == ["344", "343", "342"]  # newest first
    assert log.latest() == entry(4)
    assert len(log.names()) == 3


def test_an_entry_too_large_keeps_its_counts_without_its_cidrs(
    storage: ContainerClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(changelog, "MAX_CHANGE_BYTES", 200)
    storage.create_container()
    log = ChangeLog(storage)
    log.add(entry(1))
    (kept,) = log.entries()
    assert kept.cidrs_omitted is True
    assert kept.tags["AzureMonitor"].added == []
    assert kept.tags["AzureMonitor"].addresses == {"v4": (256, 0)}
    assert json.loads(entry(1).model_dump_json())["cidrs_omitted"] is False
