"""Property tests: applying a plan's writes in order is exact, minimal and make-before-break."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import netaddr
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.core.plan import TargetPlan, add_only
from sync.kinds.nsg.plan import desired_rules, owned_prefixes, plan_target
from sync.kinds.nsg.rules import Rule, is_owned, rule_name
from sync.kinds.nsg.target import NsgTarget

from ._make import make_rule, make_target

BAND = (200, 209)
V4_UNIVERSE = [
    *(f"10.0.{i}.0/24" for i in range(8)),
    "10.0.0.0/23",
    "10.0.4.0/22",
    "10.0.0.0/21",
    *(f"192.0.2.{i * 16}/28" for i in range(8)),
    "198.51.100.7/32",
]
V6_UNIVERSE = [
    *(f"2001:db8:{i:x}::/48" for i in range(8)),
    "2001:db8::/46",
    "2001:db8:4::/46",
    "2001:db8::/32",
]

v4_sets = st.frozensets(st.sampled_from(V4_UNIVERSE), max_size=8)
v6_sets = st.frozensets(st.sampled_from(V6_UNIVERSE), max_size=6)


@st.composite
def scenarios(
    draw: st.DrawFn, policy: str = "sync"
) -> tuple[NsgTarget, dict[str, list[str]], list[Rule]]:
    tags = draw(st.sampled_from([("Storage.WestEurope",), ("Storage.WestEurope", "Sql")]))
    target = make_target(service_tags=tags, priority_range=BAND, policy=policy)
    # Owned rules: any of the current names, plus a stale one from an older tag list.
    owned_names = [rule_name(make_target(), "v4"), rule_name(make_target(), "v6"), "ipsync-old-v4"]
    chosen = draw(st.lists(st.sampled_from(owned_names), unique=True, max_size=3))
    owned_priorities = draw(
        st.lists(st.integers(*BAND), unique=True, min_size=len(chosen), max_size=len(chosen))
    )
    current = [
        make_rule(name, priority, draw((v6_sets if name.endswith("v6") else v4_sets).filter(bool)))
        for name, priority in zip(chosen, owned_priorities, strict=True)
    ]
    # Other rules around and inside the band: foreign, or ours when named like ours.
    others = draw(
        st.lists(
            st.integers(195, 214).filter(lambda p: p not in owned_priorities),
            unique=True,
            max_size=5,
        )
    )
    for i, priority in enumerate(others):
        name = draw(st.sampled_from([f"corp-{i}", f"ipsync-corp-{i}"]))
        current.append(make_rule(name, priority, draw(v4_sets.filter(bool))))
    inbound = [make_rule("corp-in", 200, ["203.0.113.0/24"], direction="Inbound")]
    prefixes = {"v4": sorted(draw(v4_sets)), "v6": sorted(draw(v6_sets))}
    return target, prefixes, [*current, *draw(st.sampled_from([[], inbound]))]


def _allowed(rules: Iterable[Rule], target: NsgTarget) -> netaddr.IPSet:
    return netaddr.IPSet(
        p for r in rules if is_owned(r, target) and r.access == "Allow" for p in r.remote_prefixes
    )


def _apply(current: Sequence[Rule], plan: TargetPlan) -> list[dict[str, Rule]]:
    """Every state of the NSG, from before the first write to after the last."""
    state = {r.name.lower(): r for r in current}
    states = [dict(state)]
    for write in plan.to_apply:
        key = write.payload.name.lower()
        assert (key in state) == (write.action != "create")
        if write.action == "delete":
            del state[key]
        else:
            state[key] = write.payload
        states.append(dict(state))
    return states


def _priorities_unique(rules: Iterable[Rule]) -> bool:
    seen = [(r.direction, r.priority) for r in rules]
    return len(seen) == len(set(seen))


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_sync_plan_is_exact_minimal_and_make_before_break(
    scenario: tuple[NsgTarget, dict[str, list[str]], list[Rule]],
) -> None:
    target, prefixes, current = scenario
    desired = desired_rules(target, prefixes, current, change_number=2)
    plan = plan_target(target, desired, current)
    states = _apply(current, plan)
    final = list(states[-1].values())

    owned_before = {r.name.lower(): r for r in current if is_owned(r, target)}
    assert {r.content for r in final if is_owned(r, target)} == {r.content for r in desired}
    assert [r for r in final if not is_owned(r, target)] == [
        r for r in current if not is_owned(r, target)
    ]
    changed = sum(
        1
        for r in desired
        if r.name.lower() not in owned_before or owned_before[r.name.lower()].content != r.content
    ) + len(owned_before.keys() - {r.name.lower() for r in desired})
    assert len(plan.writes) == changed

    kept = _allowed(current, target) & _allowed(final, target)
    for state in states:
        assert kept.issubset(_allowed(state.values(), target))
        assert _priorities_unique(state.values())

    again = desired_rules(target, prefixes, final, change_number=3)
    assert plan_target(target, again, final).writes == ()


@settings(max_examples=200, deadline=None)
@given(scenarios(policy="add-only"))
def test_add_only_never_loses_an_address(
    scenario: tuple[NsgTarget, dict[str, list[str]], list[Rule]],
) -> None:
    target, prefixes, current = scenario
    grown, _ = add_only(
        frozenset(p for ps in prefixes.values() for p in ps), owned_prefixes(target, current)
    )
    wanted = {f: [p for p in grown if (":" in p) == (f == "v6")] for f in ("v4", "v6")}
    desired = desired_rules(target, wanted, current, change_number=2)
    plan = plan_target(target, desired, current)
    states = _apply(current, plan)
    before = _allowed(current, target)
    for state in states:
        assert before.issubset(_allowed(state.values(), target))
    assert _allowed(desired, target).issubset(_allowed(states[-1].values(), target))
