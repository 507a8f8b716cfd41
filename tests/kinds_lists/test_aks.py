"""The AKS kind against the emulator: a cluster made by plain REST as the spec example makes
it, an update that outlasts the run's time budget and is finished by the next run, and the
clusters ipsync must leave alone (open to every address, load balancer only, private)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from armemu import Emulator
from sync.core.plan import TargetPlan
from sync.core.selection import Selection
from sync.engine import run
from sync.kinds.aks import KIND, AksTarget
from sync.kinds.base import PlanContext, Snapshot
from sync.kinds.iprules import Listed, ListState
from sync.kinds.marks import trust
from sync.settings import Settings, load_settings
from sync.state.ownership import Record
from tests.contract.harness import Arm, group_id
from tests.contract.harness.aks import API, cluster_body
from tests.engine.conftest import write_release

from .conftest import SUB

TAG = "Storage.WestEurope"
FIRST = ["4.150.0.0/24", "4.151.0.0/24", "4.152.0.0/24"]
SECOND = ["4.151.0.0/24", "4.152.0.0/24", "4.153.0.0/24"]
OWNERS = ["203.0.113.0/24"]
CLUSTER = f"{group_id()}/providers/Microsoft.ContainerService/managedClusters/aks1"


@pytest.fixture(scope="module")
def slow() -> Iterator[Emulator]:
    """Cluster updates stay in progress for 30 polls, 1 s apart, as AKS's take minutes."""
    with Emulator(slow={"managedClusters": 30}, retry_after=1) as emu:
        yield emu


def _settings(emu: Emulator, tmp_path: Path, prefixes: list[str], change: int,
              budget: float = 60) -> Settings:  # fmt: skip
    release = write_release(tmp_path / f"release-{change}.json", {TAG: prefixes}, change)
    return load_settings(
        arm_endpoint=emu.endpoint,
        ca_bundle=emu.ca_bundle,
        credential="emulator",
        subscription_id=SUB,
        poll_interval_s=0,
        source=str(release),
        targets=[{"kind": "aks", "resource": CLUSTER, "service_tags": [TAG]}],
        cache_dir=tmp_path,
        state=str(tmp_path / "state"),
        time_budget_s=budget,
        max_remove_ratio=1,
    )


def _ranges(arm: Arm) -> list[str]:
    cluster = arm.get(CLUSTER, API)
    return list(cluster["properties"]["apiServerAccessProfile"]["authorizedIPRanges"])


def test_an_update_cut_by_the_time_budget_is_finished_by_the_next_run(
    slow: Emulator, tmp_path: Path
) -> None:
    slow.reset()
    slow.store.slow["managedclusters"] = 30
    arm = Arm(slow)
    arm.put(CLUSTER, API, cluster_body(OWNERS))
    cut = run(_settings(slow, tmp_path, FIRST, 1, budget=6.0))
    (row,) = cut.targets
    assert (row.status, cut.writes) == ("failed", 1)
    assert "still running" in (row.error or "")
    assert sorted(_ranges(arm)) == sorted([*OWNERS, *FIRST])  # accepted, still updating

    # a new release while the update runs: nothing is sent that AKS would refuse
    writes = slow.stats()["writes"]
    waiting = run(_settings(slow, tmp_path, SECOND, 2))
    assert "Updating" in (waiting.targets[0].error or ""), waiting.targets
    assert "the next run carries on" in (waiting.targets[0].error or "")
    assert slow.stats()["writes"] == writes

    slow.store.settle_all()  # the update ends in Azure
    slow.store.slow.clear()  # and the next one need not take as long here
    done = run(_settings(slow, tmp_path, SECOND, 2))
    assert done.ok, done.targets
    # the ranges the cut write added were recorded as ipsync's: the one no longer published
    # goes, the owner's stays
    assert sorted(_ranges(arm)) == sorted([*OWNERS, *SECOND])


@pytest.mark.parametrize(
    ("ranges", "profile", "words"),
    [
        ([], {}, "open to every address"),
        (["0.0.0.0/32"], {}, "load balancer"),
        ([], {"enablePrivateCluster": True}, "private"),
    ],
)
def test_a_cluster_ipsync_must_not_restrict_is_left_alone(
    emulator: Emulator, tmp_path: Path, ranges: list[str], profile: dict[str, Any], words: str
) -> None:
    arm = Arm(emulator)
    body = cluster_body(ranges)
    body["properties"]["apiServerAccessProfile"].update(profile)
    arm.put(CLUSTER, API, body)
    report = run(_settings(emulator, tmp_path, FIRST, 1))
    (row,) = report.targets
    assert row.status == "failed"
    assert words in (row.error or "")
    assert report.writes == 0
    assert _ranges(arm) == ranges


def test_a_plan_that_would_empty_the_list_is_refused() -> None:
    """The owner removed their ranges, and ipsync's own are no longer wanted: an empty list
    would open the API server, so nothing is written."""
    target = AksTarget(kind="aks", resource=CLUSTER.replace("rg-contract", "rg"),
                       service_tags=[TAG])  # fmt: skip
    from azure.mgmt.containerservice import models

    profile = models.ManagedClusterAPIServerAccessProfile(authorized_ip_ranges=["4.150.0.0/24"])
    cluster = models.ManagedCluster(
        location="westeurope",
        properties=models.ManagedClusterProperties(api_server_access_profile=profile),
    )
    listed = Listed(("4.150.0.0/24",), rules=cluster, etag='"1"')
    record = Record(frozenset({"4.150.0.0/24"}), "1")
    state = ListState(listed, ("4.150.0.0/24",), record, "x", trust(record, None, "x"))
    selection = Selection((TAG,), (), (), {TAG: 1})
    (plan,) = KIND.plan([(target, selection)], Snapshot('"1"', state), PlanContext("2"))
    assert isinstance(plan, TargetPlan)
    assert "would be empty" in (plan.refused or "")
