"""Run history in real blob storage: naming, latest pointer, retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from azure.storage.blob import ContainerClient

from sync.app.history import History, run_time
from sync.report import Report, new_run_id


def _report(run_id: str, ok: bool = True) -> Report:
    return Report(ok=ok, dry_run=False, run_id=run_id, writes=3)


def test_run_ids_sort_by_start_time_and_carry_it() -> None:
    start = datetime(2025, 11, 17, 4, 30, tzinfo=UTC)
    offsets = [timedelta(hours=1), timedelta(0), timedelta(milliseconds=3), timedelta(seconds=59)]
    ids = [new_run_id(start + offset) for offset in offsets]
    assert sorted(ids) == [ids[1], ids[2], ids[3], ids[0]]
    assert [run_time(i) for i in ids] == [start + offset for offset in offsets]
    assert new_run_id(start) != new_run_id(start)


def test_save_stores_report_and_moves_latest(storage: ContainerClient) -> None:
    storage.create_container()
    history = History(storage)
    first, second = new_run_id(), new_run_id()
    history.save(_report(first))
    history.save(_report(second, ok=False))
    assert storage.get_blob_client(f"runs/{first}.json").exists()
    stored = history.get(first)
    assert stored is not None
    assert (stored["run_id"], stored["ok"], stored["writes"]) == (first, True, 3)
    latest = history.latest()
    assert latest is not None
    assert (latest["run_id"], latest["ok"]) == (second, False)
    pointer = history.latest_pointer()
    assert pointer is not None
    assert (pointer["run_id"], pointer["ok"], pointer["dry_run"]) == (second, False, False)


def test_unknown_or_malformed_run_ids_read_as_none(storage: ContainerClient) -> None:
    history = History(storage)
    assert history.latest() is None  # no container yet
    assert history.run_ids() == []
    storage.create_container()
    assert history.get(new_run_id()) is None
    assert history.get("../lock") is None


def test_prune_keeps_the_newest(storage: ContainerClient) -> None:
    storage.create_container()
    history = History(storage, keep=3)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    ids = [new_run_id(start + timedelta(minutes=m)) for m in range(5)]
    for run_id in reversed(ids):  # store order does not matter, the ids' times do
        history.save(_report(run_id))
    assert history.prune() == ids[:2]
    assert history.run_ids() == ids[2:]
    assert history.get(ids[0]) is None


def test_report_without_valid_run_id_is_refused(storage: ContainerClient) -> None:
    with pytest.raises(ValueError, match="run id"):
        History(storage).save(_report("not-an-id"))
