"""The kind contract: what every allow-list kind must do, proved against the emulator.

Each case runs for every kind of the registry (a kind joins by its folder and its harness in
``tests/contract/harness/``); nothing here knows a kind. A case that cannot apply to a kind
is skipped with the reason its harness gives.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import Any

import netaddr
import pytest

from armemu import Emulator
from sync.azure.writes import ArmWriter
from sync.engine import run
from sync.report import Report

from .conftest import FOREIGN, PUBLISHED, TAG, Releases, Run, skip_unless_applies
from .harness import Arm, Harness

#: A weekly update: two of the tag's prefixes go, two new ones come.
GONE = PUBLISHED[:2]
NEW = ["4.150.0.0/24", "4.151.0.0/24"]
WEEK = [*PUBLISHED[2:], *NEW]
#: A smaller tag and its week, for cases where every entry present is kept as another's: they
#: must fit beside it within the smallest kind's limit.
SMALL = PUBLISHED[:30]
SMALL_WEEK = [*PUBLISHED[2:30], *NEW]


def _start(harness: Harness, arm: Arm, name: str = "target1") -> tuple[str, list[str]]:
    """A resource holding the owner's entries, unless the kind owns its whole list."""
    foreign = [] if "foreign" in harness.not_applicable else list(FOREIGN)
    return harness.create(arm, name, foreign), foreign


def _ok(report: Report) -> Report:
    assert report.ok, report.model_dump_json(indent=1)
    return report


def _refused(report: Report, words: str) -> None:
    (row,) = report.targets
    assert row.status == "refused", row
    assert words in (row.error or ""), row.error


def _no_gap(harness: Harness, arm: Arm, resource: str, since: int = 0) -> None:
    """No address allowed both before and after the writes was missing between two writes."""
    states = harness.states(arm, resource)[since:]
    if len(states) < 2:
        return
    kept = states[0] & states[-1]
    for number, state in enumerate(states):
        assert kept.issubset(state), f"write {number}: {kept - state} not allowed"


def test_foreign_entries_are_kept_as_they_were(
    harness: Harness, arm: Arm, settings_for: Run, releases: Releases
) -> None:
    skip_unless_applies(harness, "foreign")
    resource, _ = _start(harness, arm)
    mine = netaddr.IPSet(PUBLISHED)
    before = harness.foreign(arm, resource, mine)
    target = harness.target(resource, [TAG])
    _ok(run(settings_for(releases(), [target])))
    _ok(run(settings_for(releases(374, WEEK), [target])))
    assert harness.foreign(arm, resource, mine | netaddr.IPSet(WEEK)) == before
    assert netaddr.IPSet(FOREIGN).issubset(harness.allowed(arm, resource))


def test_an_owners_entry_inside_ipsyncs_addresses_stays_the_owners(
    harness: Harness, arm: Arm, settings_for: Run, releases: Releases
) -> None:
    skip_unless_applies(harness, "owner_entry")
    resource, _ = _start(harness, arm)
    harness.add_entry(arm, resource, GONE[0])  # before ipsync wanted it
    target = harness.target(resource, [TAG])
    _ok(run(settings_for(releases(), [target])))
    _ok(run(settings_for(releases(374, WEEK), [target])))  # no longer published
    assert netaddr.IPSet([GONE[0]]).issubset(harness.allowed(arm, resource))
    assert not netaddr.IPSet([GONE[1]]) & harness.allowed(arm, resource)


@pytest.mark.parametrize("fit", ["exact", "cover"])
def test_a_fit_stays_within_the_kinds_limit_and_syntax(
    harness: Harness, arm: Arm, settings_for: Run, releases: Releases, fit: str
) -> None:
    resource, _ = _start(harness, arm)
    capacity = min(20, harness.capacity)
    target = harness.target(resource, [TAG], fit=fit, max_entries=capacity, max_extra_ratio=1e6)
    report = run(settings_for(releases(), [target]))
    if fit == "exact":
        _refused(report, f"but {capacity} fit")
        return
    _ok(report)
    (row,) = report.targets
    assert row.fit is not None
    assert row.fit.entries <= capacity
    assert netaddr.IPSet(PUBLISHED).issubset(harness.allowed(arm, resource))
    ours = [e for e in harness.entries(arm, resource) if e not in FOREIGN]
    assert all(harness.valid(e) for e in ours), ours


def test_a_release_applied_twice_writes_nothing(
    harness: Harness, arm: Arm, settings_for: Run, releases: Releases
) -> None:
    resource, foreign = _start(harness, arm)
    target = harness.target(resource, [TAG])
    first = _ok(run(settings_for(releases(), [target])))
    assert first.targets[0].status == "applied"
    assert harness.allowed(arm, resource) == netaddr.IPSet([*PUBLISHED, *foreign])
    again = _ok(run(settings_for(releases(), [target])))
    assert (again.writes, again.targets[0].status) == (0, "unchanged")


def test_a_weekly_update_writes_only_what_changed_without_a_gap(
    harness: Harness, arm: Arm, settings_for: Run, releases: Releases
) -> None:
    resource, foreign = _start(harness, arm)
    target = harness.target(resource, [TAG])
    _ok(run(settings_for(releases(), [target])))
    since = len(harness.states(arm, resource))
    week = _ok(run(settings_for(releases(374, WEEK), [target])))
    (row,) = week.targets
    assert row.status == "applied"
    assert row.changes
    if harness.counts_writes:
        assert week.writes == len(row.changes)  # one request per change, none repeated
    assert all(c.added or c.removed for c in row.changes)
    added = netaddr.IPSet(c for change in row.changes for c in change.added)
    assert netaddr.IPSet(NEW).issubset(added)
    assert harness.allowed(arm, resource) == netaddr.IPSet([*WEEK, *foreign])
    _no_gap(harness, arm, resource, since - 1 if since else 0)


@pytest.mark.parametrize("state", ["kept", "lost"])
def test_an_older_release_is_refused_as_a_rollback(
    harness: Harness, arm: Arm, settings_for: Run, releases: Releases, tmp_path: Path, state: str
) -> None:
    """Also when the state place was lost: the release held lives on the resource too."""
    if state == "lost":
        skip_unless_applies(harness, "registry_lost")
    resource, _ = _start(harness, arm)
    target = harness.target(resource, [TAG])
    _ok(run(settings_for(releases(374, SMALL_WEEK), [target])))
    held = harness.allowed(arm, resource)
    if state == "lost":
        shutil.rmtree(tmp_path / "state")
    _refused(run(settings_for(releases(373, SMALL), [target])), "older than release 374")
    assert harness.allowed(arm, resource) == held  # no retired range written back


def test_a_record_restored_from_an_older_copy_removes_nothing_the_owner_added(
    harness: Harness, arm: Arm, settings_for: Run, releases: Releases, tmp_path: Path
) -> None:
    skip_unless_applies(harness, "owner_entry")
    skip_unless_applies(harness, "restored")
    resource, _ = _start(harness, arm)
    target = harness.target(resource, [TAG])
    _ok(run(settings_for(releases(373, SMALL), [target])))
    shutil.copytree(tmp_path / "state", tmp_path / "copy")  # a backup of the state
    _ok(run(settings_for(releases(374, SMALL_WEEK), [target])))
    assert not netaddr.IPSet([GONE[0]]) & harness.allowed(arm, resource)
    harness.add_entry(arm, resource, GONE[0])  # the owner's now, added by hand
    shutil.rmtree(tmp_path / "state")
    shutil.copytree(tmp_path / "copy", tmp_path / "state")  # the older copy comes back
    _ok(run(settings_for(releases(375, SMALL_WEEK), [target])))
    assert netaddr.IPSet([GONE[0]]).issubset(harness.allowed(arm, resource))


def test_a_concurrent_older_run_does_not_win(
    harness: Harness,
    arm: Arm,
    settings_for: Run,
    releases: Releases,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The older run has read, planned and read the list again; its write goes out once the
    newer run has ended (or has waited a while for it)."""
    skip_unless_applies(harness, "faults")
    resource, foreign = _start(harness, arm)
    target = harness.target(resource, [TAG])
    first_write, newer_done = threading.Event(), threading.Event()
    real = ArmWriter.write

    def write(self: ArmWriter, *args: Any, **kwargs: Any) -> Any:
        if not first_write.is_set():  # the older run's first write
            first_write.set()
            newer_done.wait(5)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(ArmWriter, "write", write)
    older = threading.Thread(target=run, args=(settings_for(releases(373), [target]),))
    older.start()
    assert first_write.wait(60)
    newer = _ok(run(settings_for(releases(374, WEEK), [target])))
    newer_done.set()
    older.join(60)
    assert newer.targets[0].status == "applied"
    assert harness.allowed(arm, resource) == netaddr.IPSet([*WEEK, *foreign])
    _ok(run(settings_for(releases(374, WEEK), [target])))  # and it stays so
    assert harness.allowed(arm, resource) == netaddr.IPSet([*WEEK, *foreign])


def test_erosion_over_several_releases_is_refused(
    harness: Harness, arm: Arm, settings_for: Run, releases: Releases
) -> None:
    resource, _ = _start(harness, arm)
    target = harness.target(resource, [TAG])
    _ok(run(settings_for(releases(), [target])))
    _ok(run(settings_for(releases(374, _without(0.2)), [target])))  # within one run's ratio
    held = harness.allowed(arm, resource)
    _refused(run(settings_for(releases(375, _without(0.4)), [target])), "largest")
    assert harness.allowed(arm, resource) == held


def _without(share: float) -> list[str]:
    """The tag without its largest prefixes, until ``share`` of its addresses are gone."""
    total = netaddr.IPSet(PUBLISHED).size
    kept = sorted(PUBLISHED, key=lambda p: netaddr.IPNetwork(p).size)
    while netaddr.IPSet(kept).size > (1 - share) * total:
        kept.pop()
    return kept


def test_azure_tags_cannot_widen_what_the_settings_allow(
    harness: Harness, arm: Arm, settings_for: Run, releases: Releases, emulator: Emulator
) -> None:
    skip_unless_applies(harness, "tags")
    resource, _ = _start(harness, arm)
    for tags in ({"ipsync": "AzureCloud"}, {"ipsync": TAG, "ipsync-fit": "cover"}):
        harness.set_tags(arm, resource, tags)
        writes = emulator.stats()["writes"]
        report = run(settings_for(releases(), []))
        rows = [t for t in report.targets if t.resource.lower() == resource.lower()]
        assert [t.status for t in rows] == ["failed"], report
        assert "settings decide that" in (rows[0].error or "")
        assert emulator.stats()["writes"] == writes


def test_an_entry_widened_by_hand_is_put_right_without_force(
    harness: Harness, arm: Arm, settings_for: Run, releases: Releases
) -> None:
    resource, _ = _start(harness, arm)
    target = harness.target(resource, [TAG])
    _ok(run(settings_for(releases(), [target])))
    owners = harness.widen(arm, resource, harness.wide)
    repaired = _ok(run(settings_for(releases(), [target])))
    allowed = harness.allowed(arm, resource)
    assert netaddr.IPSet(PUBLISHED).issubset(allowed)
    assert netaddr.IPSet([harness.wide]).issubset(allowed) == owners
    assert repaired.targets[0].status == "applied"


FAULTS: dict[str, dict[str, Any]] = {
    "412": {"status": 412, "code": "PreconditionFailed"},
    "409": {"status": 409, "code": "AnotherOperationInProgress", "retry_after": 0},
    "429": {"status": 429, "code": "RetryableError", "retry_after": 0},
    "lost": {"lose_response": True},
    "failed-operation": {"lro": "Failed"},
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_faults_converge_and_lose_nothing(
    harness: Harness,
    arm: Arm,
    settings_for: Run,
    releases: Releases,
    emulator: Emulator,
    fault: str,
) -> None:
    skip_unless_applies(harness, "faults")
    if fault == "failed-operation" and not harness.long_running:
        pytest.skip(f"{harness.kind}: its writes are not long-running")
    resource, foreign = _start(harness, arm)
    target = harness.target(resource, [TAG])
    _ok(run(settings_for(releases(), [target])))
    since = len(harness.states(arm, resource))
    where = {"method": harness.write_method, "path_contains": harness.write_path(resource)}
    emulator.add_faults([{**where, "count": 1, **FAULTS[fault]}])
    run(settings_for(releases(374, WEEK), [target]))
    assert not emulator.store.faults, "the fault was never met"
    _ok(run(settings_for(releases(374, WEEK), [target])))
    assert harness.allowed(arm, resource) == netaddr.IPSet([*WEEK, *foreign])
    _no_gap(harness, arm, resource, since - 1 if since else 0)


def test_a_run_cut_by_its_time_budget_leaves_the_list_as_open(
    harness: Harness, arm: Arm, settings_for: Run, releases: Releases, emulator: Emulator
) -> None:
    skip_unless_applies(harness, "budget")
    resource, _ = _start(harness, arm)
    target = harness.target(resource, [TAG])
    _ok(run(settings_for(releases(), [target])))
    before = harness.allowed(arm, resource)
    emulator.add_faults([{"method": harness.write_method, "count": 50, "delay_s": 1.5,
                          "path_contains": harness.write_path(resource)}])  # fmt: skip
    cut = run(settings_for(releases(374, WEEK), [target], time_budget_s=1.0))
    slowed = emulator.store.faults[0].count < 50
    emulator.clear_faults()
    # either a slowed write ran out the budget, or a long-running write was not even begun in
    # the time left: both stop the run with the reason, neither leaves a gap
    assert not cut.ok
    assert slowed or "time budget" in (cut.targets[0].error or ""), cut
    assert (before & netaddr.IPSet(WEEK)).issubset(harness.allowed(arm, resource))
