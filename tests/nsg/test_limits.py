"""Limit pre-flight (1000 rules, 4000 source / 4000 destination entries per NSG)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest

from sync.kinds.nsg.plan import (
    MAX_ADDRESSES,
    MAX_RULES,
    TargetPlan,
    check_limits,
    desired_rules,
    plan_target,
)
from sync.kinds.nsg.rules import Rule
from sync.kinds.nsg.target import NsgTarget

from ._make import OTHER_NSG, make_rule, make_target

OLD = "ipsync-storage-westeurope-v4"


def _foreign(count: int, *, entries: int = 1, direction: str = "Outbound") -> list[Rule]:
    """Foreign rules at priorities 1000+, each with ``entries`` remote prefixes."""
    return [
        make_rule(
            f"corp-{i}",
            1000 + i,
            [f"10.{i // 250}.{i % 250}.{j}/32" for j in range(entries)],
            direction=direction,
        )
        for i in range(count)
    ]


def _plan(
    target: NsgTarget, prefixes: Mapping[str, Sequence[str]], current: Sequence[Rule]
) -> TargetPlan:
    desired = desired_rules(target, prefixes, current, change_number=1)
    return plan_target(target, desired, current)


def test_rule_count_over_the_limit_is_refused_with_numbers() -> None:
    current = _foreign(MAX_RULES - 1)
    plan = _plan(make_target(), {"v4": ["20.60.0.0/16"], "v6": ["2603::/16"]}, current)
    refusals = check_limits(current, [plan])
    assert list(refusals) == [0]
    assert "NSG would hold 1001 rules" in refusals[0]
    assert "limit 1000; 999 now, +2 from this target" in refusals[0]


def test_rule_count_at_the_limit_passes() -> None:
    current = _foreign(MAX_RULES - 2)
    plan = _plan(make_target(), {"v4": ["20.60.0.0/16"], "v6": ["2603::/16"]}, current)
    assert check_limits(current, [plan]) == {}


def test_the_make_before_break_peak_counts_not_the_end_state() -> None:
    """Tag change: the new rule exists next to the old one until the old one is deleted."""
    current = [*_foreign(MAX_RULES - 1), make_rule(OLD, 200, ["20.60.0.0/16"])]
    target = make_target(service_tags=("Storage.WestEurope", "Sql"), families=("v4",))
    plan = _plan(target, {"v4": ["20.60.0.0/16"]}, current)
    assert [w.action for w in plan.writes] == ["create", "delete"]  # ends with 1000 rules
    refusals = check_limits(current, [plan])
    assert "NSG would hold 1001 rules at the peak of the update" in refusals[0]


def test_destination_entries_count_foreign_rules() -> None:
    current = _foreign(10, entries=398)  # 3980 destination entries, 10 source entries
    growing = [f"20.{i}.0.0/16" for i in range(30)]
    plan = _plan(make_target(families=("v4",)), {"v4": growing}, current)
    refusals = check_limits(current, [plan])
    assert "NSG would hold 4010 destination address entries" in refusals[0]
    assert f"limit {MAX_ADDRESSES}; 3980 now, +30 from this target" in refusals[0]


def test_source_entries_are_counted_separately() -> None:
    current = _foreign(10, entries=398, direction="Inbound")  # 3980 source entries
    inbound = make_target(direction="Inbound", families=("v4",))
    ok = _plan(inbound, {"v4": [f"20.{i}.0.0/16" for i in range(20)]}, current)
    too_many = _plan(inbound, {"v4": [f"20.{i}.0.0/16" for i in range(21)]}, current)
    assert check_limits(current, [ok]) == {}
    assert "4001 source address entries" in check_limits(current, [too_many])[0]


def test_the_biggest_grower_is_refused_first_and_alone_if_enough() -> None:
    current = _foreign(10, entries=395)  # 3950 destination entries
    small = _plan(make_target(families=("v4",)), {"v4": ["20.1.0.0/16"] * 1}, current)
    big = _plan(
        make_target(service_tags=("Sql",), priority_range=(300, 399), families=("v4",)),
        {"v4": [f"20.{i}.0.0/16" for i in range(60)]},
        current,
    )
    refusals = check_limits(current, [small, big])
    assert list(refusals) == [1]
    assert "+60 from this target" in refusals[1]


def test_a_target_that_does_not_grow_is_never_blamed() -> None:
    current = [*_foreign(10, entries=399), make_rule(OLD, 200, ["20.60.0.0/16", "20.61.0.0/16"])]
    shrinking = _plan(make_target(families=("v4",)), {"v4": ["20.60.0.0/16"]}, current)
    growing = _plan(
        make_target(service_tags=("Sql",), priority_range=(300, 399), families=("v4",)),
        {"v4": [f"20.{i}.0.0/16" for i in range(10)]},
        current,
    )
    refusals = check_limits(current, [shrinking, growing])
    assert list(refusals) == [1]


def test_refused_plans_do_not_count() -> None:
    current = _foreign(MAX_RULES - 1)
    plan = _plan(make_target(), {"v4": ["20.60.0.0/16"], "v6": ["2603::/16"]}, current)
    assert check_limits(current, [plan.refuse("guard")]) == {}
    assert check_limits(current, [TargetPlan(make_target())]) == {}


def test_plans_of_two_nsgs_are_a_programming_error() -> None:
    one, two = TargetPlan(make_target()), TargetPlan(make_target(nsg=OTHER_NSG))
    with pytest.raises(ValueError, match="one NSG"):
        check_limits([], [one, two])
