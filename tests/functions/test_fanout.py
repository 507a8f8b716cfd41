"""A run fanned out over the runs queue (``IPSYNC_PARTITION_SIZE``): work items per subscription
through Azurite's queue and the ARM emulator, one of them poisoned; the assembled report, and no
subscription written twice."""

from __future__ import annotations

import base64
import json

import pytest
from azure.storage.blob import ContainerClient
from azure.storage.queue import QueueServiceClient

import function_app
from armemu import Emulator
from sync.app.fanout import WorkItem, divide, subscription_of
from sync.app.triggers import timer_sync
from tests.contract.harness import Arm
from tests.contract.harness.nsg import API

from ._app import FEED, SUB, App
from ._host import RUNS, QueueHost
from ._http import run_of

OTHER, THIRD = "11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"
#: The week before the app's release.
OLDER = FEED.with_name("ServiceTags_Public_20251010.json.xz")
#: NSGs per subscription: with items of at most 2, SUB makes two items, the others one each.
LAYOUT = {SUB: ("f1", "f2", "f3"), OTHER: ("g1", "g2"), THIRD: ("h1",)}


def _nsg(subscription: str, name: str) -> str:
    return (
        f"/subscriptions/{subscription}/resourceGroups/rg-fan/providers/"
        f"Microsoft.Network/networkSecurityGroups/{name}"
    )


@pytest.fixture
def fleet(app: App, emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    arm = Arm(emulator)
    ids = []
    for subscription, names in LAYOUT.items():
        arm.put(f"/subscriptions/{subscription}/resourcegroups/rg-fan", "2021-04-01",
                {"location": "westeurope"})  # fmt: skip
        for name in names:
            ids.append(_nsg(subscription, name))
            arm.put(ids[-1], API, {"location": "westeurope", "properties": {}})
    app.setup_writes = emulator.stats()["writes"]
    app.targets(*({"nsg": i, "service_tags": ["Storage.WestEurope"]} for i in ids))
    monkeypatch.setenv("IPSYNC_PARTITION_SIZE", "2")
    return ids


def test_items_hold_at_most_the_partition_and_never_span_subscriptions() -> None:
    resources = [("nsg", _nsg(s, n)) for s, names in LAYOUT.items() for n in names]
    resources.append(("list", "lists/edl"))
    items = divide(resources, 2)
    assert sorted(i.key for i in items) == [
        f"{SUB}-0",
        f"{SUB}-1",
        f"{OTHER}-0",
        f"{THIRD}-0",
        "outside-0",
    ]
    for item, held in items.items():
        assert 1 <= len(held) <= 2
        assert {subscription_of(r) for _, r in held} == {item.subscription}
        # every resource belongs to exactly one item, new ones too
    for _, resource in resources:
        assert sum(i.holds(resource) for i in items) == 1
    newcomer = _nsg(SUB, "a-new-one")  # sorts before every planned id of its subscription
    assert [i.key for i in items if i.holds(newcomer)] == [f"{SUB}-0"]


def test_a_fanned_out_run_is_assembled_from_its_items_and_a_poisoned_one_fails_its_part(
    app: App,
    fleet: list[str],
    host: QueueHost,
    azurite: str,
    storage: ContainerClient,
    emulator: Emulator,
) -> None:
    # Someone else holds THIRD's subscription slot for good: its item can never run.
    slot = storage.get_blob_client(f"fanout/locks/{THIRD}-0")
    storage.create_container()
    slot.upload_blob(b"")
    slot.acquire_lease(lease_duration=-1)

    timer_sync()
    assert app.arm_writes() == 0  # the planning run writes nothing itself
    (run_id,) = app.history().run_ids("progress/")
    progress = run_of(function_app.get_run, run_id).body
    assert (progress["status"], progress["items"], progress["items_done"]) == ("running", 4, 0)

    host.drain()
    report = run_of(function_app.get_run, run_id).body
    assert report["run_id"] == run_id
    assert report["ok"] is False
    rows = {t["resource"]: t for t in report["targets"]}
    assert sorted(rows) == sorted(fleet)
    third = rows.pop(_nsg(THIRD, "h1"))
    assert third["status"] == "failed"
    assert f"work item {THIRD}-0 given up" in third["error"]
    assert {r["status"] for r in rows.values()} == {"applied"}
    # each NSG written by one item only: the emulator saw exactly the writes the report counts
    history = emulator.history()
    for resource, row in rows.items():
        assert row["writes"] == 2  # one rule per family
        assert len(history[resource]) == 1 + row["writes"]  # created, then ipsync's writes
    assert report["writes"] == app.arm_writes() == 2 * len(rows)
    assert _nsg(THIRD, "h1") not in history or len(history[_nsg(THIRD, "h1")]) == 1

    # a work item delivered again after its run is done writes nothing
    item = WorkItem(subscription=OTHER, part=0, parts=1, first="", last="\uffff")
    message = {"run_id": run_id, "requested_at": report["started_at"], "item": item.model_dump()}
    queue = QueueServiceClient.from_connection_string(azurite).get_queue_client(RUNS)
    errors = len(host.errors)
    queue.send_message(base64.b64encode(json.dumps(message).encode()).decode())
    host.drain()
    assert host.errors[errors:] == []
    assert app.arm_writes() == 2 * len(rows)


def test_an_item_that_reads_another_release_than_its_run_planned_with_writes_nothing(
    app: App,
    fleet: list[str],
    host: QueueHost,
    emulator: Emulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    timer_sync()  # planned at the bundled 2025-10-17 release (373)
    (run_id,) = app.history().run_ids("progress/")
    monkeypatch.setenv("IPSYNC_SOURCE", str(OLDER))  # the items read release 372
    host.drain()
    report = run_of(function_app.get_run, run_id).body
    assert report["ok"] is False
    assert {t["status"] for t in report["targets"]} == {"failed"}
    assert sorted(t["resource"] for t in report["targets"]) == sorted(fleet)
    for row in report["targets"]:
        assert "release 372 was read, the run was fanned out at release 373" in row["error"]
    assert app.arm_writes() == 0
