"""The IP Group kind end to end: real azure-mgmt-network against the emulator, through ``run``."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import netaddr
import pytest
from azure.mgmt.network.models import IpGroup, IpGroupPropertiesFormat
from engine.conftest import SUB, SettingsFor, write_release

from armemu import Emulator
from sync.azure.client import make_client
from sync.engine import run
from sync.report import Report
from sync.settings import Settings, load_settings

from .conftest import RG, assert_kept_throughout, entries, group_id, make_group

MANAGED = {"ipsync-managed": "fw", "owner": "net-team"}
SMALL = ["20.40.0.0/24", "20.40.1.0/25", "20.41.0.0/16", "52.3.3.3/32"]
#: 6,000 /28s, none touching another: more than one group holds.
BIG = [
    f"{netaddr.IPAddress(int(netaddr.IPAddress('20.100.0.0')) + 32 * i)}/28" for i in range(6000)
]


def _target(name: str = "fw", **fields: Any) -> dict[str, Any]:
    return {"kind": "ipgroup", "resource": group_id(name), "service_tags": ["AzureFW"], **fields}


def _release(tmp_path: Path, prefixes: Sequence[str], change: int = 1) -> Path:
    return write_release(tmp_path / f"r{change}.json", {"AzureFW": prefixes}, change)


def _replay(emulator: Emulator, report: Report, since: dict[str, int]) -> list[netaddr.IPSet]:
    """Addresses all groups allow before the run and after each of its writes, in the order
    the report lists them, each group's state taken from the emulator's history."""
    history = emulator.history()
    state = {n: netaddr.IPSet(history[group_id(n)][i - 1]) for n, i in since.items() if i}
    position = dict(since)
    union = [_all(state.values())]
    for change in report.targets[0].changes:
        state[change.rule] = netaddr.IPSet(history[group_id(change.rule)][position[change.rule]])
        position[change.rule] += 1
        union.append(_all(state.values()))
    return union


def _all(sets: Iterable[netaddr.IPSet]) -> netaddr.IPSet:
    found = netaddr.IPSet()
    for one in sets:
        found |= one
    return found


def _lengths(emulator: Emulator, *names: str) -> dict[str, int]:
    history = emulator.history()
    return {n: len(history.get(group_id(n), [])) for n in names}


def test_sync_rerun_and_next_release_write_only_the_delta(
    emulator: Emulator, network: Any, settings_for: SettingsFor, tmp_path: Path
) -> None:
    make_group(network, "fw", ["198.51.100.7"], MANAGED)
    report = run(settings_for(_release(tmp_path, SMALL), [_target()], max_remove_ratio=1))
    assert report.ok, report
    assert entries(network, "fw") == set(SMALL)
    # The group's other tags stay; ipsync adds the release it wrote the group from.
    assert network.ip_groups.get(RG, "fw").tags == {**MANAGED, "ipsync-release": "1"}
    assert report.writes == 1

    again = run(settings_for(_release(tmp_path, SMALL, 2), [_target()]))
    assert again.ok
    assert again.writes == 0

    changed = [*SMALL[:3], "52.4.0.0/24"]
    nxt = run(settings_for(_release(tmp_path, changed, 3), [_target()]))
    assert nxt.ok, nxt
    (change,) = nxt.targets[0].changes
    assert (change.added, change.removed) == (["52.4.0.0/24"], ["52.3.3.3/32"])
    assert entries(network, "fw") == set(changed)


def test_handing_over_a_group_that_holds_entries_needs_force_once(
    emulator: Emulator, network: Any, settings_for: SettingsFor, tmp_path: Path
) -> None:
    make_group(network, "fw", ["198.51.100.7", "203.0.113.0/24"], MANAGED)
    refused = run(settings_for(_release(tmp_path, SMALL), [_target()]))
    assert refused.targets[0].status == "refused", refused
    assert "would remove 2 of 2 owned prefixes" in (refused.targets[0].error or "")
    assert entries(network, "fw") == {"198.51.100.7/32", "203.0.113.0/24"}

    forced = run(settings_for(_release(tmp_path, SMALL), [_target()]), force=True)
    assert forced.ok, forced
    assert entries(network, "fw") == set(SMALL)
    assert run(settings_for(_release(tmp_path, SMALL, 2), [_target()])).writes == 0


def test_a_group_not_handed_over_is_never_written(
    emulator: Emulator, network: Any, settings_for: SettingsFor, tmp_path: Path
) -> None:
    make_group(network, "fw", ["198.51.100.7"], {"owner": "net-team"})
    writes = emulator.stats()["writes"]
    report = run(settings_for(_release(tmp_path, SMALL), [_target()]))
    (result,) = report.targets
    assert result.status == "refused"
    assert "has no tag ipsync-managed=fw" in (result.error or "")
    assert emulator.stats()["writes"] == writes
    assert entries(network, "fw") == {"198.51.100.7/32"}

    missing = run(settings_for(_release(tmp_path, SMALL), [_target("absent")]))
    assert "IP Group absent does not exist" in (missing.targets[0].error or "")


def test_over_5000_exact_is_refused_cover_fits_and_max_groups_spreads(
    emulator: Emulator, network: Any, settings_for: SettingsFor, tmp_path: Path
) -> None:
    make_group(network, "fw", [], MANAGED)
    make_group(network, "fw-9", ["192.0.2.1"], {"owner": "someone"})  # not in the set
    source = _release(tmp_path, BIG)
    refused = run(settings_for(source, [_target()]))
    assert refused.targets[0].status == "refused"
    assert "needs 6000 entries but 5000 fit" in (refused.targets[0].error or "")
    assert refused.writes == 0

    covered = run(settings_for(source, [_target(fit="cover", max_extra_ratio=1)]))
    assert covered.ok, covered
    held = entries(network, "fw")
    fit = covered.targets[0].fit
    assert fit is not None
    assert len(held) == fit.entries <= fit.capacity == 5000
    assert netaddr.IPSet(BIG).issubset(netaddr.IPSet(held))

    spread = run(settings_for(source, [_target(max_groups=2)]))
    assert spread.ok, spread
    first, second = entries(network, "fw"), entries(network, "fw-2")
    assert (len(first), len(second)) == (5000, 1000)
    assert first | second == set(BIG)
    assert network.ip_groups.get(RG, "fw-2").tags == {"ipsync-managed": "fw", "ipsync-release": "1"}
    assert entries(network, "fw-9") == {"192.0.2.1/32"}

    # the next release drops 100 entries of fw-2 and adds 100: fw, full, is not written
    dropped = set(sorted(second)[:100])
    nxt = [*(p for p in BIG if p not in dropped), *(f"20.200.{i}.0/28" for i in range(100))]
    delta = run(settings_for(_release(tmp_path, nxt, 2), [_target(max_groups=2)]))
    assert delta.ok, delta
    assert [c.rule for c in delta.targets[0].changes] == ["fw-2"]
    assert entries(network, "fw") | entries(network, "fw-2") == set(nxt)
    assert entries(network, "fw") == first


def test_shrinking_the_set_moves_entries_before_emptying_the_extra_group(
    emulator: Emulator, network: Any, settings_for: SettingsFor, tmp_path: Path
) -> None:
    make_group(network, "fw", [], MANAGED)
    assert run(settings_for(_release(tmp_path, BIG), [_target(max_groups=2)])).ok
    since = _lengths(emulator, "fw", "fw-2")
    smaller = [*BIG[:3500], *BIG[5000:5500]]  # 500 entries now in fw-2 must move to fw
    report = run(settings_for(_release(tmp_path, smaller, 2), [_target()], max_remove_ratio=0.5))
    assert report.ok, report
    assert [c.rule for c in report.targets[0].changes] == ["fw", "fw-2"]
    assert entries(network, "fw") == set(smaller)
    assert entries(network, "fw-2") == set()
    assert_kept_throughout(_replay(emulator, report, since))


def test_ipv6_guards_and_two_targets_on_one_group(
    emulator: Emulator, network: Any, settings_for: SettingsFor, tmp_path: Path
) -> None:
    make_group(network, "fw", ["198.51.100.7"], MANAGED)
    v6 = run(settings_for(_release(tmp_path, SMALL), [_target(families=["v4", "v6"])]))
    assert "IP Group's addresses take IPv4 only" in (v6.targets[0].error or "")

    both = run(settings_for(_release(tmp_path, SMALL), [_target(), _target()]))
    assert [t.status for t in both.targets] == ["failed", "failed"]
    assert "merge their service_tags" in (both.targets[0].error or "")

    assert run(settings_for(_release(tmp_path, SMALL), [_target()], max_remove_ratio=1)).ok
    shrunk = _release(tmp_path, SMALL[:1], 2)
    guarded = run(settings_for(shrunk, [_target()]))
    assert guarded.targets[0].status == "refused"
    assert "max_remove_ratio" in (guarded.targets[0].error or "")
    kept = run(settings_for(shrunk, [_target(policy="add-only")]))
    assert kept.ok
    assert kept.writes == 0
    assert set(kept.targets[0].held_back[0].removed) == set(SMALL[1:])
    assert entries(network, "fw") == set(SMALL)


# ----- a firewall policy that takes its time -----------------------------------------------
@pytest.fixture(scope="module")
def slow() -> Iterator[Emulator]:
    """IP Group writes stay in progress for 3 polls, 1 s apart, and refuse other writes."""
    with Emulator(slow={"ipGroups": 3}, retry_after=1) as emu:
        yield emu


def _slow_settings(emu: Emulator, tmp_path: Path, budget: float) -> Settings:
    return load_settings(
        arm_endpoint=emu.endpoint,
        ca_bundle=emu.ca_bundle,
        credential="emulator",
        subscription_id=SUB,
        poll_interval_s=0,
        source=str(_release(tmp_path, SMALL)),
        targets=[_target()],
        cache_dir=tmp_path,
        time_budget_s=budget,
        max_remove_ratio=1,
    )


def test_a_busy_group_is_waited_for_within_the_time_budget(slow: Emulator, tmp_path: Path) -> None:
    slow.reset()
    settings = _slow_settings(slow, tmp_path, 60)
    network = make_client(settings)
    make_group(network, "fw", ["198.51.100.7"], MANAGED)
    # someone else's update, still re-deploying the policy when ipsync comes
    network.ip_groups.begin_create_or_update(
        RG,
        "fw",
        IpGroup(
            location="westeurope",
            tags=MANAGED,
            properties=IpGroupPropertiesFormat(ip_addresses=["198.51.100.8"]),
        ),
        polling=False,
    )
    report = run(settings)
    assert report.ok, report.targets
    assert report.writes >= 2  # at least one 409 answer, then the write that went through
    assert entries(network, "fw") == set(SMALL)
    assert slow.history()[group_id("fw")][-1] == SMALL


def test_a_write_still_running_when_the_budget_ends_is_reported(
    slow: Emulator, tmp_path: Path
) -> None:
    slow.reset()
    make_group(make_client(_slow_settings(slow, tmp_path, 60)), "fw", [], MANAGED)
    report = run(_slow_settings(slow, tmp_path, 2.0))
    (result,) = report.targets
    assert result.status == "failed"
    assert "still running" in (result.error or "")
    assert report.writes == 1


def test_an_older_release_is_refused_as_a_rollback(
    emulator: Emulator, network: Any, settings_for: SettingsFor, tmp_path: Path
) -> None:
    make_group(network, "fw", [], MANAGED)
    assert run(settings_for(_release(tmp_path, SMALL, 376), [_target()])).ok
    older = _release(tmp_path, SMALL[:-1], 373)
    report = run(settings_for(older, [_target()], max_remove_ratio=1))
    (result,) = report.targets
    assert result.status == "refused"
    assert "release 373 is older than release 376" in (result.error or "")
    assert entries(network, "fw") == set(SMALL)


def _listings(emulator: Emulator) -> int:
    """The listings of the resource group's IP Groups the emulator has answered."""
    path = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Network/ipGroups"
    return int(emulator.stats()["by_resource"].get(path.lower(), {}).get("GET", 0))


def test_targets_in_one_resource_group_are_planned_from_one_listing_of_it(
    emulator: Emulator, network: Any, settings_for: SettingsFor, tmp_path: Path
) -> None:
    names = ("fw", "gw", "hw")
    for name in names:
        make_group(network, name, ["198.51.100.7"], {"ipsync-managed": name})
    goals = [_target(name) for name in names]
    before = _listings(emulator)
    report = run(settings_for(_release(tmp_path, SMALL), goals, max_remove_ratio=1))
    assert report.ok, report
    assert [t.writes for t in report.targets] == [1, 1, 1]
    assert all(entries(network, name) == set(SMALL) for name in names)
    assert _listings(emulator) == before + 1

    again = run(settings_for(_release(tmp_path, SMALL, 2), goals))
    assert again.ok, again
    assert again.writes == 0
    assert _listings(emulator) == before + 2


def test_only_the_first_read_may_be_the_shared_listing(
    emulator: Emulator, network: Any, emulator_settings: Settings
) -> None:
    """A re-read (after a 412, or a lost answer) lists the groups afresh."""
    from sync.azure.writes import ArmWriter, Deadline
    from sync.kinds.ipgroup.gateway import IpGroupGateway
    from sync.kinds.ipgroup.plan import Group

    make_group(network, "fw", ["198.51.100.7"], MANAGED)
    earlier = (Group("fw", "westeurope", MANAGED, ("192.0.2.1",), "etag-before"),)
    writer = ArmWriter(group_id("fw"), Deadline(60), 0)
    gateway = IpGroupGateway(network, RG, writer, lambda read: earlier)
    assert gateway.read().state == earlier
    (now,) = gateway.read().state
    assert (now.name, now.entries) == ("fw", ("198.51.100.7",))
    assert now.etag != "etag-before"
