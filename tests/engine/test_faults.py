"""ARM's moods during a run: each fault ends in convergence or a clear failure, nothing lost,
and a re-run converges with no further writes."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from armemu import Emulator
from sync.engine import MAX_REPLANS, run
from sync.report import Report
from sync.settings import Settings

from .conftest import (
    RG,
    SettingsFor,
    addresses,
    assert_nothing_lost,
    foreign_rule,
    history_len,
    make_nsg,
    merged,
    nsg_id,
    rules_of,
    target,
    write_release,
)

FIRST = {"Alpha": ["192.0.2.0/24", "2001:db8:1::/48"], "Beta": ["198.51.100.0/24"]}
#: Alpha's v4 grows and its v6 goes: one update (a PUT) and one delete per run
SECOND = {"Alpha": ["192.0.2.0/24", "192.0.3.0/24"], "Beta": ["198.51.100.0/24"]}


def inject(
    emulator: Emulator,
    *,
    method: str = "PUT",
    path: str = "/securityRules/ipsync",
    count: int = 1,
    **fault: Any,
) -> None:
    """One emulator fault (admin API): by default on the next PUT of an ipsync rule."""
    emulator.add_faults([{"method": method, "path_contains": path, "count": count, **fault}])


def expect(client: Any, nsg: str, tags: dict[str, list[str]], names: list[str]) -> None:
    """The NSG's ipsync rules hold exactly the merged prefixes of ``names``, once each."""
    want = merged(p for name in names for p in tags[name])
    key = "_".join(n.lower() for n in sorted(names))
    mine = {n: r for n, r in rules_of(client, nsg).items() if n.startswith("ipsync")}
    assert sorted(mine) == sorted(f"ipsync-{key}-{f}" for f in ("v4", "v6") if want[f])
    for family in ("v4", "v6"):
        if want[family]:
            assert addresses(mine[f"ipsync-{key}-{family}"]) == want[family]


def converge(settings: Settings, emulator: Emulator) -> Report:
    """Run again: converges, and a run after that writes nothing."""
    again = run(settings, force=True)
    assert again.ok, again
    after = emulator.stats()["writes"]
    final = run(settings, force=True)
    assert (final.ok, final.writes, emulator.stats()["writes"]) == (True, 0, after)
    return again


@pytest.fixture
def synced(
    emulator: Emulator, network_client: Any, settings_for: SettingsFor, tmp_path: Path
) -> tuple[Settings, int]:
    """NSG n1 synced to FIRST (with a foreign rule); settings for SECOND; history mark."""
    nsg = make_nsg(network_client, "n1", [foreign_rule("corp", 100, ["10.0.0.0/8"])])
    targets = [target(nsg, ["Alpha"])]
    assert run(settings_for(write_release(tmp_path / "a.json", FIRST, 1), targets)).ok
    second = settings_for(write_release(tmp_path / "b.json", SECOND, 2), targets)
    return second, history_len(emulator, nsg)


@pytest.mark.parametrize(
    ("status", "code", "retry_after", "count"),
    [(429, "RetryableError", 0, 3), (409, "AnotherOperationInProgress", 1, 1)],
)
def test_busy_answers_are_retried_and_counted(
    emulator: Emulator,
    network_client: Any,
    synced: tuple[Settings, int],
    status: int,
    code: str,
    retry_after: float,
    count: int,
) -> None:
    settings, since = synced
    inject(emulator, count=count, status=status, code=code, retry_after=retry_after)
    writes = emulator.stats()["writes"]

    report = run(settings, force=True)

    assert report.ok, report
    assert report.writes == 2 + count == emulator.stats()["writes"] - writes
    expect(network_client, "n1", SECOND, ["Alpha"])
    assert_nothing_lost(emulator, nsg_id("n1"), since)
    converge(settings, emulator)


def test_injected_412_rereads_and_replans(
    emulator: Emulator, network_client: Any, synced: tuple[Settings, int]
) -> None:
    settings, since = synced
    inject(emulator, status=412, code="PreconditionFailed")
    reads = emulator.stats()["by_resource"].get(nsg_id("n1").lower(), {}).get("GET", 0)

    report = run(settings, force=True)

    assert report.ok, report
    assert report.writes == 3  # the refused PUT counts too
    read_again = emulator.stats()["by_resource"][nsg_id("n1").lower()]["GET"] - reads
    assert read_again >= 2
    expect(network_client, "n1", SECOND, ["Alpha"])
    assert_nothing_lost(emulator, nsg_id("n1"), since)
    converge(settings, emulator)


def test_concurrent_edit_between_read_and_write_is_replanned(
    emulator: Emulator, network_client: Any, settings_for: SettingsFor, tmp_path: Path
) -> None:
    """Another client takes priority 200 while the engine's PUT for 200 is on the wire: the
    NSG's etag moves, ARM answers 412, the engine re-reads and picks the next free priority."""
    nsg = make_nsg(network_client, "n1")
    settings = settings_for(write_release(tmp_path / "a.json", FIRST), [target(nsg, ["Alpha"])])
    inject(emulator, delay_s=1.5)
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(run, settings)
        rule_path = f"{nsg.lower()}/securityrules/ipsync-alpha-v4"
        for _ in range(500):
            if "PUT" in emulator.stats()["by_resource"].get(rule_path, {}):
                break
            time.sleep(0.01)
        late = foreign_rule("corp-late", 200, ["10.0.0.0/8"])
        network_client.security_rules.begin_create_or_update(RG, "n1", "corp-late", late).result()
        report = pending.result()

    assert report.ok, report
    rules = rules_of(network_client, "n1")
    assert rules["corp-late"].priority == 200
    assert addresses(rules["corp-late"]) == {"10.0.0.0/8"}
    assert sorted(r.priority for n, r in rules.items() if n.startswith("ipsync")) == [201, 202]
    expect(network_client, "n1", FIRST, ["Alpha"])
    converge(settings, emulator)


def test_nsg_that_never_settles_fails_after_bounded_replans(
    emulator: Emulator, network_client: Any, synced: tuple[Settings, int]
) -> None:
    settings, _ = synced
    before = {n: addresses(r) for n, r in rules_of(network_client, "n1").items()}
    inject(emulator, path="/securityRules/", count=50, status=412, code="PreconditionFailed")

    report = run(settings, force=True)

    (result,) = report.targets
    assert result.status == "failed"
    assert f"gave up after {MAX_REPLANS} re-plans" in (result.error or "")
    assert result.writes == MAX_REPLANS
    assert {n: addresses(r) for n, r in rules_of(network_client, "n1").items()} == before
    emulator.clear_faults()
    converge(settings, emulator)
    expect(network_client, "n1", SECOND, ["Alpha"])


def test_failed_operation_is_reported_and_stops_the_target_before_deletes(
    emulator: Emulator, network_client: Any, synced: tuple[Settings, int]
) -> None:
    settings, since = synced
    inject(emulator, lro="Failed", code="InternalServerError", message="the operation broke")

    report = run(settings, force=True)

    (result,) = report.targets
    assert result.status == "failed"
    assert "the operation broke" in (result.error or "")
    assert result.writes == 1  # the delete of the v6 rule was never sent
    expect(network_client, "n1", FIRST, ["Alpha"])
    assert_nothing_lost(emulator, nsg_id("n1"), since)
    again = converge(settings, emulator)
    assert again.writes == 2
    expect(network_client, "n1", SECOND, ["Alpha"])


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_lost_response_is_recovered_by_rereading(
    emulator: Emulator, network_client: Any, synced: tuple[Settings, int], method: str
) -> None:
    settings, since = synced
    inject(emulator, method=method, lose_response=True)

    report = run(settings, force=True)

    assert report.ok, report
    assert report.writes == 2  # the lost write happened: re-reading shows it, no resend
    (result,) = report.targets
    assert result.status == "applied"
    # The audit shows the write whose answer was lost, marked as such, once.
    unconfirmed = [c for c in result.changes if not c.confirmed]
    assert len(unconfirmed) == 1
    assert len({c.rule for c in result.changes}) == len(result.changes)
    expect(network_client, "n1", SECOND, ["Alpha"])
    assert_nothing_lost(emulator, nsg_id("n1"), since)
    converge(settings, emulator)


def test_time_budget_stops_new_writes_and_reports_what_is_left(
    emulator: Emulator, network_client: Any, settings_for: SettingsFor, tmp_path: Path
) -> None:
    nsg = make_nsg(network_client, "n1")
    feed = write_release(tmp_path / "a.json", FIRST)
    inject(emulator, delay_s=2.0)

    report = run(settings_for(feed, [target(nsg, ["Alpha"])], time_budget_s=2.8))

    (result,) = report.targets
    assert result.status == "failed"
    assert result.writes == 1
    assert "time budget" in (result.error or "")
    assert "left for the next run: ['ipsync-alpha-v6']" in (result.error or "")
    assert [c.rule for c in result.changes] == ["ipsync-alpha-v4"]
    settings = settings_for(feed, [target(nsg, ["Alpha"])])
    assert converge(settings, emulator).writes == 1
    expect(network_client, "n1", FIRST, ["Alpha"])


def test_throttled_reads_are_retried_too(
    emulator: Emulator, network_client: Any, synced: tuple[Settings, int]
) -> None:
    settings, _ = synced
    inject(
        emulator,
        method="GET",
        path="/networkSecurityGroups/n1",
        count=2,
        status=429,
        code="TooManyRequests",
        retry_after=0,
    )
    report = run(settings, force=True)
    assert report.ok, report
    expect(network_client, "n1", SECOND, ["Alpha"])


def test_time_spent_before_the_first_write_counts_against_the_budget(
    emulator: Emulator, network_client: Any, settings_for: SettingsFor, tmp_path: Path
) -> None:
    """A slow start (here discovery) leaves less time: the budget is the whole run's."""
    nsg = make_nsg(network_client, "n1")
    inject(emulator, method="POST", path="Microsoft.ResourceGraph/resources", delay_s=2.0)
    settings = settings_for(
        write_release(tmp_path / "a.json", FIRST), [target(nsg, ["Alpha"])], time_budget_s=2.5
    )

    report = run(settings)

    (result,) = report.targets
    assert (result.status, result.writes, report.writes) == ("failed", 0, 0)
    assert "left for the next run: ['ipsync-alpha-v4', 'ipsync-alpha-v6']" in (result.error or "")
    assert not [n for n in rules_of(network_client, "n1") if n.startswith("ipsync")]


def test_after_one_target_fails_nothing_is_taken_away_on_that_nsg(
    emulator: Emulator, network_client: Any, settings_for: SettingsFor, tmp_path: Path
) -> None:
    """192.0.2.0/24 moves from Beta's target to Alpha's: Alpha's create fails, so Beta's
    removal must wait, or the address would be dropped although it is still wanted."""
    nsg = make_nsg(network_client, "n1")
    first = {"Alpha": ["203.0.113.0/24"], "Beta": ["192.0.2.0/24", "198.51.100.0/24"]}
    second = {"Alpha": ["203.0.113.0/24", "192.0.2.0/24"], "Beta": ["198.51.100.0/24"]}
    targets = [
        target(nsg, ["Alpha"], priority_range=[200, 209], families=["v4"]),
        target(nsg, ["Beta"], priority_range=[300, 309], families=["v4"]),
    ]
    assert run(settings_for(write_release(tmp_path / "a.json", first), targets)).ok
    since = history_len(emulator, nsg)
    inject(emulator, path="ipsync-alpha-v4", lro="Failed")
    settings = settings_for(write_release(tmp_path / "b.json", second, 2), targets)

    report = run(settings, force=True)

    alpha, beta = report.targets
    assert (alpha.status, beta.status) == ("failed", "failed")
    assert "held back" in (beta.error or "")
    assert beta.writes == 0
    assert "192.0.2.0/24" in addresses(rules_of(network_client, "n1")["ipsync-beta-v4"])
    assert_nothing_lost(emulator, nsg, since)
    converge(settings, emulator)
    assert addresses(rules_of(network_client, "n1")["ipsync-beta-v4"]) == {"198.51.100.0/24"}


def test_the_time_budget_is_a_hard_deadline_even_for_a_running_write(
    emulator: Emulator, network_client: Any, settings_for: SettingsFor, tmp_path: Path
) -> None:
    """ARM asks to come back in 10 s, five times; a 4 s budget ends the run at once, saying the
    write was sent and is still running, instead of polling for 50 s."""
    nsg = make_nsg(network_client, "n1")
    settings = settings_for(
        write_release(tmp_path / "a.json", FIRST), [target(nsg, ["Alpha"])], time_budget_s=4
    )
    store = emulator.store
    saved = (store.lro_polls, store.retry_after)
    store.lro_polls, store.retry_after = 5, 10
    try:
        began = time.monotonic()
        report = run(settings)
        took = time.monotonic() - began
    finally:
        store.lro_polls, store.retry_after = saved
    assert took < 4
    (result,) = report.targets
    assert result.status == "failed"
    assert "still running" in (result.error or "")
    assert result.writes == 1
