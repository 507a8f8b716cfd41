"""plan_target: diff, make-before-break order, and what the guard stage and add-only make of
an NSG target's plan."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from azure.mgmt.network.models import SecurityRule, SecurityRulePropertiesFormat

from sync.core.guards import Proposal, Thresholds, judge
from sync.core.plan import TargetPlan, add_only
from sync.kinds.nsg.plan import desired_rules, owned_prefixes, plan_target
from sync.kinds.nsg.rules import Rule, rule_from_sdk
from sync.kinds.nsg.target import NsgTarget

from ._make import make_rule, make_target

V4 = "ipsync-storage-westeurope-v4"
V6 = "ipsync-storage-westeurope-v6"
TEN = [f"20.{i}.0.0/16" for i in range(10)]


def _plan(
    target: NsgTarget,
    prefixes: Mapping[str, Sequence[str]],
    current: Sequence[Rule],
    *,
    ratio: float = 0.3,
    force: bool = False,
    change_number: int = 1,
) -> TargetPlan[Rule]:
    """The kind's plan as the engine's guard stage leaves it (add-only applied first)."""
    wanted = {f: tuple(p) for f, p in prefixes.items()}
    if target.policy == "add-only":
        grown, _ = add_only(frozenset(p for ps in wanted.values() for p in ps),
                            owned_prefixes(target, current))  # fmt: skip
        wanted = {f: tuple(p for p in grown if (":" in p) == (f == "v6")) for f in ("v4", "v6")}
    desired = desired_rules(target, wanted, current, change_number=change_number)
    plan = plan_target(target, desired, current)
    if not plan.writes:
        return plan
    proposal = Proposal(
        where=target.where,
        families=target.families,
        before=owned_prefixes(target, current),
        after=plan.after,
        published={f: tuple(prefixes.get(f, ())) for f in target.families},
    )
    reason = judge(proposal, Thresholds(max_remove_ratio=ratio), force=force)
    return plan.refuse(reason) if reason else plan


def _arm_rule(name: str, priority: int, destinations: list[str], description: str) -> Rule:
    """A rule as ARM would answer, read back through the SDK."""
    single = len(destinations) == 1
    return rule_from_sdk(
        SecurityRule(
            name=name,
            properties=SecurityRulePropertiesFormat(
                priority=priority,
                direction="Outbound",
                access="Allow",
                protocol="Tcp",
                source_address_prefix="VirtualNetwork",
                source_address_prefixes=[],
                source_port_range="*",
                destination_port_range="443",
                destination_address_prefix=destinations[0] if single else None,
                destination_address_prefixes=[] if single else destinations,
                description=description,
            ),
        )
    )


def test_identical_content_in_other_formatting_gives_no_writes() -> None:
    current = [
        _arm_rule(
            V4, 200, ["20.61.0.0/16", "20.60.5.5/16"], "ipsync: Storage.WestEurope; change 1"
        ),
        _arm_rule(V6, 201, ["2603:1020:0200:0000::/46"], "hand edited"),
    ]
    prefixes = {"v4": ["20.60.0.0/16", "20.61.0.0/16"], "v6": ["2603:1020:200::/46"]}
    plan = _plan(make_target(), prefixes, current, change_number=374)  # change number moved
    assert plan.writes == ()
    assert (plan.writes, plan.refused) == ((), None)
    assert plan.refused is None


def test_changed_prefixes_give_one_update_with_the_exact_delta() -> None:
    current = [make_rule(V4, 200, ["20.60.0.0/16", "20.61.0.0/16", "20.62.0.0/16", "20.63.0.0/16"])]
    prefixes = {"v4": ["20.60.0.0/16", "20.61.0.0/16", "20.62.0.0/16", "20.70.0.0/16"]}
    plan = _plan(make_target(families=("v4",)), prefixes, current)
    (write,) = plan.writes
    assert write.action == "update"
    assert write.payload.priority == 200
    assert write.added == ("20.70.0.0/16",)
    assert write.removed == ("20.63.0.0/16",)
    assert write.name == V4


def test_new_target_creates_one_rule_per_family() -> None:
    plan = _plan(make_target(), {"v4": ["20.60.0.0/16"], "v6": ["2603:1020::/32"]}, [])
    assert [(w.action, w.payload.name) for w in plan.writes] == [("create", V4), ("create", V6)]
    assert plan.writes[0].added == ("20.60.0.0/16",)


def test_dropped_family_is_deleted_last() -> None:
    current = [
        make_rule(V6, 200, ["2603:1020::/32"]),
        make_rule(V4, 201, TEN[:9]),
    ]
    plan = _plan(make_target(), {"v4": TEN}, current)
    assert [(w.action, w.payload.name) for w in plan.writes] == [("update", V4), ("delete", V6)]
    assert plan.writes[1].removed == ("2603:1020::/32",)


def test_changed_tag_set_creates_new_before_deleting_old() -> None:
    current = [make_rule(V4, 200, TEN)]
    target = make_target(service_tags=("Storage.WestEurope", "Sql.WestEurope"), families=("v4",))
    plan = _plan(target, {"v4": TEN}, current)
    actions = [(w.action, w.payload.name) for w in plan.writes]
    new = "ipsync-sql-westeurope_storage-westeurope-v4"
    assert actions == [("create", new), ("delete", V4)]
    assert plan.writes[0].payload.priority == 201
    assert plan.refused is None  # every address stays covered: nothing is lost


def test_foreign_rules_are_never_written() -> None:
    current = [
        make_rule("ipsync-storage-westeurope-v6", 150, ["2603::/16"]),  # outside band: foreign
        make_rule("corp-allow", 210, ["20.60.0.0/16"]),
        make_rule("ipsync-legacy", 220, ["9.9.9.9/32"], direction="Inbound"),
        make_rule(V4, 230, TEN),
    ]
    target = make_target(families=("v4",))
    plan = _plan(target, {"v4": TEN[:8]}, current, ratio=1.0)
    foreign = {"ipsync-storage-westeurope-v6", "corp-allow", "ipsync-legacy"}
    assert {w.payload.name for w in plan.writes}.isdisjoint(foreign)
    assert [w.action for w in plan.writes] == ["update"]


class TestGuards:
    def test_ratio_exceeded_is_refused_with_numbers(self) -> None:
        current = [make_rule(V4, 200, TEN)]
        plan = _plan(make_target(families=("v4",)), {"v4": TEN[:6]}, current)
        assert plan.refused is not None
        assert "would remove 4 of 10 owned prefixes (40% > max_remove_ratio 30%)" in plan.refused
        assert "nsg-app" in plan.refused
        assert plan.to_apply == ()
        assert [w.action for w in plan.writes] == ["update"]  # still shown in the report
        assert plan.writes

    def test_ratio_at_the_limit_passes(self) -> None:
        current = [make_rule(V4, 200, TEN)]
        plan = _plan(make_target(families=("v4",)), {"v4": TEN[:7]}, current)
        assert plan.refused is None
        assert plan.to_apply == plan.writes

    def test_reaggregation_is_not_a_removal(self) -> None:
        current = [make_rule(V4, 200, ["20.60.0.0/24", "20.60.1.0/24", "20.60.2.0/24"])]
        plan = _plan(make_target(families=("v4",)), {"v4": ["20.60.0.0/22"]}, current)
        assert plan.refused is None
        assert plan.writes[0].removed == ("20.60.0.0/24", "20.60.1.0/24", "20.60.2.0/24")

    def test_empty_result_is_refused(self) -> None:
        current = [make_rule(V4, 200, ["20.60.0.0/16"])]
        plan = _plan(make_target(), {"v4": [], "v6": []}, current, ratio=1.0)
        assert plan.refused is not None
        assert "no prefixes" in plan.refused
        assert [w.action for w in plan.writes] == ["delete"]

    def test_force_overrides_both_guards(self) -> None:
        current = [make_rule(V4, 200, TEN)]
        shrink = _plan(make_target(families=("v4",)), {"v4": TEN[:1]}, current, force=True)
        empty = _plan(make_target(), {}, current, force=True)
        assert shrink.refused is None
        assert empty.refused is None
        assert [w.action for w in empty.to_apply] == ["delete"]


class TestAddOnly:
    target = make_target(policy="add-only", families=("v4", "v6"))

    def test_keeps_removed_prefixes_and_reports_them(self) -> None:
        current = [make_rule(V4, 200, ["20.60.0.0/16", "20.61.0.0/16"])]
        plan = _plan(self.target, {"v4": ["20.60.0.0/16", "20.70.0.0/16"]}, current)
        (write,) = plan.writes
        assert write.action == "update"
        wanted = {"20.60.0.0/16", "20.61.0.0/16", "20.70.0.0/16"}
        assert write.payload.destination_prefixes == wanted
        assert (write.added, write.removed) == (("20.70.0.0/16",), ())

    def test_never_deletes_rules(self) -> None:
        current = [make_rule(V4, 200, ["20.60.0.0/16"]), make_rule(V6, 201, ["2603::/16"])]
        plan = _plan(self.target, {"v4": ["20.60.0.0/16"]}, current)
        assert plan.writes == ()
        assert plan.refused is None

    def test_only_removals_means_no_write(self) -> None:
        current = [make_rule(V4, 200, TEN)]
        plan = _plan(self.target, {"v4": TEN[:2]}, current)
        assert plan.writes == ()
        assert plan.refused is None  # nothing is removed, so no guard applies


class TestAddOnlyOverlap:
    target = make_target(policy="add-only", families=("v4",))

    def test_a_kept_block_absorbs_the_new_parts_inside_it_and_stays_stable(self) -> None:
        current = [make_rule(V4, 200, ["20.60.0.0/16"])]
        plan = _plan(self.target, {"v4": ["20.60.0.0/17", "20.70.0.0/16"]}, current)
        (write,) = plan.writes
        assert write.payload.destination_prefixes == {"20.60.0.0/16", "20.70.0.0/16"}
        again = _plan(self.target, {"v4": ["20.60.0.0/17", "20.70.0.0/16"]}, [write.payload])
        assert again.writes == ()


def test_changed_local_side_shows_in_the_update() -> None:
    current = [make_rule(V4, 200, ["20.60.0.0/16"])]
    target = make_target(families=("v4",), local_prefixes=("10.1.0.0/16",))
    (write,) = _plan(target, {"v4": ["20.60.0.0/16"]}, current).writes
    assert (write.action, write.added, write.removed) == (
        "update",
        ("10.1.0.0/16",),
        ("VirtualNetwork",),
    )
