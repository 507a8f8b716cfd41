"""A Cosmos DB account update outlasts the run: left running, never sent twice, and what it
added is ipsync's once it lands. The account is made with plain REST shaped like the spec
examples (the contract suite's harness); the emulator holds its update until told to end it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import netaddr
import pytest

from armemu import Emulator
from sync.engine import run
from sync.settings import Settings
from tests.contract.harness import Arm
from tests.contract.harness.cosmosdb import CosmosDbHarness

from .conftest import release

SettingsFor = Callable[..., Settings]
TAGS = ["20.10.0.0/24", "20.10.2.0/24", "40.1.1.1/32"]
#: The owner's: Azure's datacenters, and an office.
OWNER = ["0.0.0.0", "51.0.0.0/24"]


def test_an_update_longer_than_the_run_is_resumed_not_sent_again(
    emulator: Emulator, settings_for: SettingsFor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    harness, arm = CosmosDbHarness(), Arm(emulator)
    resource = harness.create(arm, "slow", OWNER)
    # from now on an update runs until settled here, and asks to be polled in 5 s
    monkeypatch.setitem(emulator.store.slow, "databaseaccounts", 1000)
    monkeypatch.setattr(emulator.store, "retry_after", 5.0)
    target = {"kind": "cosmosdb", "resource": resource, "service_tags": ["Alpha"]}
    first = release(tmp_path / "r1.json", {"Alpha": TAGS}, change=1)

    cut = run(settings_for(first, [target], time_budget_s=3.0))
    (row,) = cut.targets
    assert row.status == "failed"
    assert "was sent but still running" in (row.error or "")
    assert "left for the next run" in (row.error or "")
    writes = emulator.stats()["writes"]

    # the account still updating, the next release wants another update: it waits its turn
    second = release(tmp_path / "r2.json", {"Alpha": TAGS[1:]}, change=2)
    waiting = run(settings_for(second, [target], max_remove_ratio=1.0))
    (row,) = waiting.targets
    assert row.status == "failed"
    assert "an update of the resource is still running (Updating)" in (row.error or "")
    assert emulator.stats()["writes"] == writes, "a second update was sent while one ran"

    emulator.store.settle_all()
    monkeypatch.undo()  # updates end at once again
    assert harness.allowed(arm, resource) == netaddr.IPSet([*TAGS, *OWNER])
    # the entries the cut run added are ipsync's: the next run takes away the one gone
    resumed = run(settings_for(second, [target], max_remove_ratio=1.0))
    assert resumed.ok, resumed.model_dump_json(indent=1)
    assert sorted(harness.entries(arm, resource)) == sorted([*OWNER, "20.10.2.0/24", "40.1.1.1"])
