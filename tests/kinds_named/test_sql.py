"""The SQL kind end to end: real azure-mgmt-sql against the emulator, through ``run``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import netaddr
import pytest
from engine.conftest import SettingsFor, write_release

from armemu import Emulator
from sync.azure.writes import ArmWriter, Deadline, Stale
from sync.core.plan import Write
from sync.engine import run
from sync.kinds.sql.gateway import SqlGateway
from sync.kinds.sql.plan import FirewallRule, RuleChange
from sync.state.ownership import FolderRegistry

from .conftest import (
    AZURE_SWITCH,
    FOREIGN,
    RG,
    assert_kept_throughout,
    put_rule,
    ranges_of,
    rules,
    sql_allowed,
)

V1 = [
    "20.60.0.0/24",
    "20.60.1.0/24",
    "20.61.0.0/25",
    "20.62.0.0/23",
    "20.63.4.0/24",
    "40.64.0.0/26",
]
#: The next release: 40.64.0.0/26 gone, 20.61.0.0 grows to a /24, 52.1.0.0/24 is new.
V2 = ["20.60.0.0/24", "20.60.1.0/24", "20.61.0.0/24", "20.62.0.0/23", "20.63.4.0/24", "52.1.0.0/24"]


def _target(server: str, **fields: Any) -> dict[str, Any]:
    return {"kind": "sql", "resource": server, "service_tags": ["Sql.WestEurope"], **fields}


def _owned(client: Any) -> dict[str, tuple[str, str]]:
    return {n: r for n, r in rules(client).items() if n.startswith("ipsync-")}


def _steps(emulator: Emulator, server: str, since: int) -> list[netaddr.IPSet]:
    return [sql_allowed(s) for s in emulator.history()[server][since - 1 :]]


def test_sync_rerun_and_next_release_write_only_the_delta(
    emulator: Emulator, sql_client: Any, server: str, settings_for: SettingsFor, tmp_path: Path
) -> None:
    report = run(
        settings_for(write_release(tmp_path / "v1.json", {"Sql.WestEurope": V1}), [_target(server)])
    )
    assert report.ok, report
    first = _owned(sql_client)
    assert set(first.values()) == ranges_of(V1)
    assert first["ipsync-sql-westeurope-20-60-0-0"] == ("20.60.0.0", "20.60.1.255")
    assert report.writes == len(first) == 5

    again = run(
        settings_for(
            write_release(tmp_path / "v1b.json", {"Sql.WestEurope": V1}, 2), [_target(server)]
        )
    )
    assert again.ok
    assert again.writes == 0
    assert again.targets[0].status == "unchanged"

    since = len(emulator.history()[server])
    nxt = run(
        settings_for(
            write_release(tmp_path / "v2.json", {"Sql.WestEurope": V2}, 3), [_target(server)]
        )
    )
    assert nxt.ok, nxt
    second = _owned(sql_client)
    assert set(second.values()) == ranges_of(V2)
    # one create, one update (same start, new end), one delete; unchanged ranges keep their rule
    assert nxt.writes == 3
    assert sorted(c.action for c in nxt.targets[0].changes) == ["create", "delete", "update"]
    assert second["ipsync-sql-westeurope-20-61-0-0"] == ("20.61.0.0", "20.61.0.255")
    kept = {n: r for n, r in first.items() if r in second.values()}
    assert len(kept) == 3
    assert all(second[n] == r for n, r in kept.items())
    # foreign rules and the Azure-services switch untouched, at every step
    now = rules(sql_client)
    assert now[AZURE_SWITCH] == ("0.0.0.0", "0.0.0.0")
    assert all(now[n] == r for n, r in FOREIGN.items())
    history = emulator.history()[server]
    assert all(AZURE_SWITCH in step for step in history[len(FOREIGN) + 2 :])
    assert_kept_throughout(_steps(emulator, server, since))


def test_exact_over_the_limit_is_refused_and_cover_fits_the_room_left(
    emulator: Emulator, sql_client: Any, server: str, settings_for: SettingsFor, tmp_path: Path
) -> None:
    for i in range(250):  # 250 + the switch + 2 foreign rules: 3 rules left of 256
        put_rule(sql_client, f"corp{i}", f"172.16.{i}.0", f"172.16.{i}.255")
    source = write_release(tmp_path / "v1.json", {"Sql.WestEurope": V1})
    writes = emulator.stats()["writes"]
    refused = run(settings_for(source, [_target(server)]))
    (result,) = refused.targets
    assert result.status == "refused"
    assert "needs 5 ranges but 3 fit (limit 256 rules per server, 253 held" in (result.error or "")
    assert emulator.stats()["writes"] == writes

    covered = run(settings_for(source, [_target(server, fit="cover", max_extra_ratio=100)]))
    assert covered.ok, covered
    held = _owned(sql_client)
    allowed = netaddr.IPSet(netaddr.IPRange(a, b) for a, b in held.values())
    assert len(held) == 3
    assert netaddr.IPSet(V1).issubset(allowed)
    fit = covered.targets[0].fit
    assert fit is not None
    assert (fit.entries, fit.capacity) == (3, 3)
    assert fit.extra_addresses == allowed.size - netaddr.IPSet(V1).size > 0
    assert len(rules(sql_client)) == 256


def test_a_shifted_range_on_a_full_server_reuses_a_rule_instead_of_passing_256(
    emulator: Emulator, sql_client: Any, server: str, settings_for: SettingsFor, tmp_path: Path
) -> None:
    for i in range(248):  # 5 rules left: exactly the five ranges of V1
        put_rule(sql_client, f"corp{i}", f"172.16.{i}.0", f"172.16.{i}.255")
    assert run(
        settings_for(write_release(tmp_path / "a.json", {"Sql.WestEurope": V1}), [_target(server)])
    ).ok
    shifted = [p for p in V1 if p != "40.64.0.0/26"] + ["40.65.0.0/26"]
    since = len(emulator.history()[server])
    report = run(
        settings_for(
            write_release(tmp_path / "b.json", {"Sql.WestEurope": shifted}, 2), [_target(server)]
        )
    )
    assert report.ok, report
    assert [c.action for c in report.targets[0].changes] == ["update"]
    assert set(_owned(sql_client).values()) == ranges_of(shifted)
    assert max(len(step) for step in emulator.history()[server]) == 256
    assert_kept_throughout(_steps(emulator, server, since))


def test_ipv6_is_refused_saying_why(
    emulator: Emulator, server: str, settings_for: SettingsFor, tmp_path: Path
) -> None:
    source = write_release(tmp_path / "v1.json", {"Sql.WestEurope": V1})
    report = run(settings_for(source, [_target(server, families=["v4", "v6"])]))
    (result,) = report.targets
    assert result.status == "failed"
    assert "firewall rules take IPv4 only" in (result.error or "")


def test_add_only_keeps_what_the_release_drops_and_the_ratio_guard_refuses(
    emulator: Emulator, sql_client: Any, server: str, settings_for: SettingsFor, tmp_path: Path
) -> None:
    assert run(
        settings_for(write_release(tmp_path / "a.json", {"Sql.WestEurope": V1}), [_target(server)])
    ).ok
    before = _owned(sql_client)
    shrunk = write_release(tmp_path / "b.json", {"Sql.WestEurope": V1[:2]}, 2)

    guarded = run(settings_for(shrunk, [_target(server)]))
    (result,) = guarded.targets
    assert result.status == "refused"
    assert "max_remove_ratio" in (result.error or "")
    assert guarded.writes == 0
    assert _owned(sql_client) == before

    kept = run(settings_for(shrunk, [_target(server, policy="add-only")]))
    assert kept.ok
    assert kept.writes == 0
    assert _owned(sql_client) == before
    assert {c.rule for c in kept.targets[0].held_back} == set(before) - {
        "ipsync-sql-westeurope-20-60-0-0"
    }

    empty = run(settings_for(shrunk, [_target(server, exclude_prefixes=["0.0.0.0/0"])]))
    assert empty.targets[0].status == "refused"
    assert "no prefixes" in (empty.targets[0].error or "")


def test_two_targets_with_one_prefix_on_a_server_are_both_refused(
    emulator: Emulator, server: str, settings_for: SettingsFor, tmp_path: Path
) -> None:
    source = write_release(tmp_path / "a.json", {"Sql.WestEurope": V1, "Other": ["52.9.0.0/24"]})
    one = _target(server)
    two = {**_target(server), "service_tags": ["Other"], "rule_prefix": "IPSYNC"}
    report = run(settings_for(source, [one, two]))
    assert [t.status for t in report.targets] == ["failed", "failed"]
    assert all("give each target its own rule_prefix" in (t.error or "") for t in report.targets)
    assert report.writes == 0


def test_a_rule_changed_since_the_read_is_not_written(
    emulator: Emulator, sql_client: Any, server: str, tmp_path: Path
) -> None:
    """No etag on SQL rules: the gateway re-reads the rule and re-plans when it moved."""
    writer = ArmWriter(server, Deadline(60), 0)
    registry = FolderRegistry(tmp_path / "state")
    gateway = SqlGateway(sql_client, RG, "sql1", writer, registry, server)
    snapshot = gateway.read()
    office = next(r for r in snapshot.state if r.name == "office")
    put_rule(sql_client, "office", "20.1.2.3", "20.1.2.200")  # someone else, after the read
    mine = FirewallRule("office", "20.1.2.3", "20.1.2.10")
    with pytest.raises(Stale):
        gateway.send(Write("update", "office", RuleChange(mine, office)), None)
    assert rules(sql_client)["office"] == ("20.1.2.3", "20.1.2.200")
    new = FirewallRule("ipsync-x-1-1-1-1", "1.1.1.1", "1.1.1.1")
    put_rule(sql_client, new.name, "1.1.1.1", "1.1.1.2")  # a create finds the name taken
    with pytest.raises(Stale):
        gateway.send(Write("create", new.name, RuleChange(new, None)), None)
    assert writer.writes == 0


def test_an_older_release_is_refused_as_a_rollback(
    emulator: Emulator, sql_client: Any, server: str, settings_for: SettingsFor, tmp_path: Path
) -> None:
    """SQL rules carry no description: the release they hold is kept in the ownership record."""
    goal = [_target(server)]
    newer = write_release(tmp_path / "new.json", {"Sql.WestEurope": V2}, 376)
    assert run(settings_for(newer, goal)).ok
    before = rules(sql_client)
    old = write_release(tmp_path / "old.json", {"Sql.WestEurope": V1}, 373)
    older = settings_for(old, goal, max_remove_ratio=1)
    report = run(older)
    (result,) = report.targets
    assert result.status == "refused"
    assert "release 373 is older than release 376" in (result.error or "")
    assert rules(sql_client) == before
    assert run(older, force=True).ok
    assert set(_owned(sql_client).values()) == ranges_of(V1)
