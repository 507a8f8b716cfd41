"""Firewall rules that are child resources of a server, each a named inclusive IPv4 range
(SQL servers, PostgreSQL and MySQL flexible servers): what a target's rules should become, and
the writes that get them there (no I/O).

A server holds at most a fixed number of rules (the target model's ``max_rules``), whoever
owns them. A target owns the rules whose names start with ``<rule_prefix>-``, except
``0.0.0.0``-``0.0.0.0``, which is the server's "allow Azure services" switch and is never
touched, whatever its name. Rules are matched by content first, so an unchanged range keeps its
rule whatever it is called; a new rule is named after the start of its range, so a range whose
end moves keeps its rule too.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import ClassVar

import netaddr
from pydantic import Field

from sync.core.budget import Budget, fit_ranges_to_budget
from sync.core.plan import TargetPlan, Write
from sync.kinds.base import Ipv4ResourceTarget
from sync.kinds.naming import entry_name

#: Room kept in a cut name for a ``-<n>`` suffix that separates two rules of one start.
_SUFFIX_ROOM = 4


class RangeRuleTarget(Ipv4ResourceTarget):
    """A target kept as the named firewall rules (IPv4 ranges) of one server."""

    holds: ClassVar[str] = "firewall rules"
    #: Firewall rules per server, whoever owns them.
    max_rules: ClassVar[int]
    #: Longest rule name the service takes.
    rule_name_max: ClassVar[int]
    #: Rules named ``<rule_prefix>-...`` belong to this target; every other rule is foreign.
    rule_prefix: str = Field(default="ipsync", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")


class FlexibleServerTarget(RangeRuleTarget):
    """A PostgreSQL or MySQL flexible server: rule names ``^[a-zA-Z0-9][-_a-zA-Z0-9]{0,79}``
    (not ending in ``-``) in both services' specs, so a prefix holds no dot."""

    rule_name_max: ClassVar[int] = 80
    #: Rules named ``<rule_prefix>-...`` belong to this target; every other rule is foreign.
    rule_prefix: str = Field(default="ipsync", pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")


@dataclass(frozen=True)
class FirewallRule:
    """A server-level firewall rule: its name and its inclusive IPv4 range."""

    name: str
    start: str
    end: str

    @property
    def span(self) -> tuple[int, int]:
        return int(netaddr.IPAddress(self.start)), int(netaddr.IPAddress(self.end))

    @property
    def addresses(self) -> netaddr.IPSet:
        return netaddr.IPSet(netaddr.IPRange(self.start, self.end))

    @property
    def cidrs(self) -> tuple[str, ...]:
        return tuple(str(c) for c in netaddr.iprange_to_cidrs(self.start, self.end))

    @property
    def allows_azure_services(self) -> bool:
        """``0.0.0.0``-``0.0.0.0``: Azure's switch letting every Azure service in."""
        return self.span == (0, 0)


@dataclass(frozen=True)
class RuleChange:
    """A write's payload: the rule to send, and the rule as the plan read it (None: absent).

    Firewall rules carry no etag, so the gateway compares ``read`` with the rule as it
    is just before writing and re-plans when someone changed it in between.
    """

    rule: FirewallRule
    read: FirewallRule | None


def is_owned(rule: FirewallRule, target: RangeRuleTarget) -> bool:
    """``<rule_prefix>-`` starts the name (any case); the Azure-services rule never is ours."""
    owned = rule.name.lower().startswith(target.rule_prefix.lower() + "-")
    return owned and not rule.allows_azure_services


def rule_name(target: RangeRuleTarget, start: str, taken: Collection[str] = ()) -> str:
    """``<prefix>-<tags key>-<start with dashes>``, e.g. ``ipsync-sql-westeurope-20-60-0-0``.

    A key too long for the service's longest name is cut and ends with 8 hex digits of its
    SHA-256; a name in ``taken`` (lower-case) gets ``-2``, ``-3``... .
    """
    tail = "-" + start.replace(".", "-")
    longest = target.rule_name_max - _SUFFIX_ROOM
    base = entry_name(target.rule_prefix, target.selectors, tail, longest)
    name, number = base, 2
    while name.lower() in taken:
        name, number = f"{base}-{number}", number + 1
    return name


def remote_budget(
    target: RangeRuleTarget, current: Sequence[FirewallRule]
) -> tuple[Budget, list[FirewallRule]]:
    """The rules left for the target (the Azure-services rule counts), and the rules it owns."""
    owned = [rule for rule in current if is_owned(rule, target)]
    others = len(current) - len(owned)
    why = f"limit {target.max_rules} rules per server, {others} held by other rules"
    return Budget(max(target.max_rules - others, 0), why), owned


def _cidrs(rules: Iterable[FirewallRule]) -> frozenset[str]:
    return frozenset(cidr for rule in rules for cidr in rule.cidrs)


def _text(addresses: netaddr.IPSet) -> tuple[str, ...]:
    return tuple(str(c) for c in addresses.iter_cidrs())


def _create(rule: FirewallRule) -> Write[RuleChange]:
    return Write("create", rule.name, RuleChange(rule, None), rule.cidrs, ())


def _update(old: FirewallRule, new: FirewallRule) -> Write[RuleChange]:
    added = _text(new.addresses - old.addresses)
    removed = _text(old.addresses - new.addresses)
    return Write("update", old.name, RuleChange(new, old), added, removed)


def _delete(old: FirewallRule) -> Write[RuleChange]:
    return Write("delete", old.name, RuleChange(old, old), (), old.cidrs)


def _pair(
    creates: list[FirewallRule], deletes: list[FirewallRule], count: int
) -> list[tuple[FirewallRule, FirewallRule]]:
    """``count`` (rule to delete, range to create) pairs of nearest starts, taken out of both
    lists: each pair becomes one update, so the server never holds both at once."""
    pairs: list[tuple[FirewallRule, FirewallRule]] = []
    for _ in range(count):
        old, new = min(
            ((o, n) for o in deletes for n in creates),
            key=lambda p: (abs(p[0].span[0] - p[1].span[0]), p[0].span[0], p[1].span[0]),
        )
        deletes.remove(old)
        creates.remove(new)
        pairs.append((old, new))
    return pairs


def diff(
    target: RangeRuleTarget,
    ranges: Sequence[tuple[str, str]],
    owned: Sequence[FirewallRule],
    current: Sequence[FirewallRule],
) -> list[Write[RuleChange]]:
    """Creates, updates and deletes that turn the owned rules into ``ranges``.

    A wanted range already held by an owned rule needs nothing; one that starts where an owned
    rule starts (or whose name is that rule's) updates it; the rest are new rules. When the
    creates would push the server past its limit before the deletes run, rules to delete are
    re-pointed to new ranges instead (one update each), nearest start first.
    """
    left = {rule.name.lower(): rule for rule in owned}
    by_span: dict[tuple[int, int], FirewallRule] = {}
    for rule in owned:
        by_span.setdefault(rule.span, rule)
    pending: list[FirewallRule] = []
    for start, end in ranges:
        wanted = FirewallRule("", start, end)
        same = by_span.get(wanted.span)
        if same is not None and same.name.lower() in left:
            del left[same.name.lower()]
        else:
            pending.append(wanted)
    updates: list[Write[RuleChange]] = []
    fresh: list[FirewallRule] = []
    for wanted in pending:
        by_start = {rule.span[0]: rule for rule in left.values()}
        old = by_start.get(wanted.span[0]) or left.get(rule_name(target, wanted.start).lower())
        if old is None:
            fresh.append(wanted)
            continue
        del left[old.name.lower()]
        updates.append(_update(old, FirewallRule(old.name, wanted.start, wanted.end)))
    doomed = sorted(left.values(), key=lambda r: r.span)
    over = len(current) + len(fresh) - target.max_rules
    if over > 0:
        for old, new in _pair(fresh, doomed, min(over, len(fresh), len(doomed))):
            updates.append(_update(old, FirewallRule(old.name, new.start, new.end)))
    taken = {rule.name.lower() for rule in current}
    creates: list[Write[RuleChange]] = []
    for wanted in fresh:
        name = rule_name(target, wanted.start, taken)
        taken.add(name.lower())
        creates.append(_create(FirewallRule(name, wanted.start, wanted.end)))
    return [*creates, *updates, *(_delete(rule) for rule in doomed)]


def plan_target(
    target: RangeRuleTarget, prefixes: Sequence[str], current: Sequence[FirewallRule]
) -> TargetPlan[RuleChange] | str:
    """The target's writes, or a refusal of the fit, or why it cannot be planned."""
    budget, owned = remote_budget(target, current)
    ranges, account, refused = fit_ranges_to_budget(
        prefixes,
        budget,
        mode=target.fit,
        max_entries=target.max_entries,
        where=target.where,
    )
    if refused is not None:
        return TargetPlan(target, refused=refused, fit=account)
    if ("0.0.0.0", "0.0.0.0") in ranges:
        return (
            f"{target.where}: the selection holds the single address 0.0.0.0, which a "
            f"{target.noun} reads as 'allow Azure services'; remove it from extra_prefixes"
        )
    writes = diff(target, ranges, owned, current)
    after = _cidrs(FirewallRule("", start, end) for start, end in ranges)
    return TargetPlan(target, tuple(writes), after, fit=account)


def owned_cidrs(target: RangeRuleTarget, current: Sequence[FirewallRule]) -> frozenset[str]:
    """The CIDRs of the target's own rules."""
    return _cidrs(rule for rule in current if is_owned(rule, target))


def check_limits(
    current: Sequence[FirewallRule], plans: Sequence[TargetPlan[RuleChange]], limit: int
) -> dict[int, str]:
    """Refusals, by index into ``plans``, for targets that would pass ``limit`` rules at the
    peak.

    Creates of every target run before any delete, so the peak is the server's rules now plus
    all creates; the target creating the most is refused until the peak fits.
    """
    growth = {
        i: sum(w.action == "create" for w in plan.writes)
        for i, plan in enumerate(plans)
        if plan.refused is None
    }
    refusals: dict[int, str] = {}
    while growth and len(current) + sum(growth.values()) > limit:
        culprit = max(growth, key=lambda i: (growth[i], i))
        if growth[culprit] == 0:
            break
        peak = len(current) + sum(growth.values())
        refusals[culprit] = (
            f"{plans[culprit].target.where}: the server would hold {peak} firewall rules at "
            f"the peak of the update (limit {limit}; {len(current)} now, "
            f"+{growth[culprit]} from this target); refused before any write"
        )
        del growth[culprit]
    return refusals


def check_prefixes(targets: Sequence[RangeRuleTarget]) -> dict[int, str]:
    """Targets (by index) on one server whose rule prefixes would own each other's rules."""
    errors: dict[int, str] = {}
    for i, j in combinations(range(len(targets)), 2):
        a, b = (targets[i].rule_prefix.lower() + "-"), (targets[j].rule_prefix.lower() + "-")
        if not (a.startswith(b) or b.startswith(a)):
            continue
        for me, other, mine, theirs in ((i, j, a, b), (j, i, b, a)):
            errors.setdefault(
                me,
                f"{targets[me].where}: rule prefix '{mine}' overlaps '{theirs}' of target "
                f"#{other} on the same server; give each target its own rule_prefix",
            )
    return errors
