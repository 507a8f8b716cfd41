"""What a target's NSG rules should become, and the writes that get them there (no I/O).

The flow per NSG: :func:`check_bands` over the configured targets, :func:`desired_rules`
per target from its aggregated prefixes, :func:`plan_target` against the rules read from the
NSG, then :func:`check_limits` over every plan of that NSG before the first write.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import combinations
from typing import Literal, TypeVar

import netaddr

from sync.errors import TargetError
from sync.kinds.nsg.rules import (
    Rule,
    is_owned,
    normalise_prefix,
    prefix_family,
    rule_name,
    sorted_prefixes,
)
from sync.report import Change
from sync.settings import Target

K = TypeVar("K")

#: NSG limits (azure-facts §3): rules per NSG, source and destination address entries
#: summed over all rules of the NSG.
MAX_RULES = 1000
MAX_ADDRESSES = 4000
DESCRIPTION_MAX = 140
_FAMILIES = ("v4", "v6")
_FAMILY_NAMES = {"v4": "IPv4", "v6": "IPv6"}


@dataclass(frozen=True)
class RulePlan:
    """One write: the rule to PUT (create/update) or to DELETE, and its prefix delta."""

    action: Literal["create", "update", "delete"]
    rule: Rule
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    def change(self) -> Change:
        return Change(
            rule=self.rule.name,
            action=self.action,
            added=list(self.added),
            removed=list(self.removed),
        )


@dataclass(frozen=True)
class TargetPlan:
    """The writes for one target, in make-before-break order (creates, updates, deletes).

    A refused plan keeps its writes so the report can show what was held up; only
    :attr:`to_apply` says what may be sent.
    """

    target: Target
    writes: tuple[RulePlan, ...] = ()
    held_back: tuple[RulePlan, ...] = ()
    refused: str | None = None

    @property
    def to_apply(self) -> tuple[RulePlan, ...]:
        return () if self.refused is not None else self.writes

    def refuse(self, reason: str) -> TargetPlan:
        return replace(self, refused=reason)


def _where(target: Target) -> str:
    return f"target {target.nsg_name} ({_tags(target)})"


def describe(target: Target, change_number: int | str) -> str:
    """``ipsync: Storage.WestEurope, AzureMonitor; change 373``, cut to 140 characters.

    Tags that do not fit become ``+N more``; the tag list is also encoded in the rule name.
    """
    tags = list(target.service_tags)
    tail = f"; change {change_number}"
    for shown in range(len(tags), 0, -1):
        more = len(tags) - shown
        text = "ipsync: " + ", ".join(tags[:shown]) + (f" +{more} more" if more else "") + tail
        if len(text) <= DESCRIPTION_MAX:
            return text
    return f"ipsync: {len(tags)} tags{tail}"[:DESCRIPTION_MAX]


def _remote_prefixes(target: Target, family: str, values: Iterable[str]) -> frozenset[str]:
    result = frozenset(normalise_prefix(v) for v in values)
    for prefix in result:
        if prefix_family(prefix) != family:
            raise TargetError(
                f"{_where(target)}: prefix {prefix!r} is not an {_FAMILY_NAMES[family]} CIDR",
                nsg=target.nsg,
            )
    return result


def _local_prefixes(target: Target, family: str) -> frozenset[str]:
    """The target's own side: one service tag or ``*`` alone, or CIDRs of the rule's family."""
    entries = [normalise_prefix(p) for p in target.local_prefixes]
    for entry in entries:
        if "/" in entry and prefix_family(entry) is None:
            raise TargetError(
                f"{_where(target)}: local_prefixes: {entry!r} is not a valid CIDR", nsg=target.nsg
            )
    symbolic = [e for e in entries if prefix_family(e) is None]
    if symbolic and len(entries) > 1:
        raise TargetError(
            f"{_where(target)}: local_prefixes: a service tag or '*' must stand alone "
            f"(got {', '.join(entries)})",
            nsg=target.nsg,
        )
    mine = frozenset(symbolic) or frozenset(e for e in entries if prefix_family(e) == family)
    if not mine:
        raise TargetError(
            f"{_where(target)}: local_prefixes has no {_FAMILY_NAMES[family]} prefix for the "
            f"{family} rule (add one, or drop {family} from families)",
            nsg=target.nsg,
        )
    return mine


def _free_priority(target: Target, taken: set[int], name: str) -> int:
    low, high = target.priority_range
    for priority in range(low, high + 1):
        if priority not in taken:
            return priority
    raise TargetError(
        f"{_where(target)}: no free {target.direction} priority in band {low}-{high} "
        f"for rule {name} (all taken); widen priority_range",
        nsg=target.nsg,
    )


def desired_rules(
    target: Target,
    prefixes: Mapping[str, Sequence[str]],
    current: Sequence[Rule],
    *,
    change_number: int | str,
) -> list[Rule]:
    """One rule per target family with prefixes (IPv4 and IPv6 never share a rule).

    An owned rule of the same name keeps its priority; a new rule takes the lowest priority
    of the band that no current rule of that direction uses (foreign rules and rules about to
    be deleted included, since make-before-break has both alive at once).
    """
    by_name = {rule.name.lower(): rule for rule in current}
    taken = {rule.priority for rule in current if rule.direction == target.direction}
    description = describe(target, change_number)
    rules: list[Rule] = []
    for family in (f for f in _FAMILIES if f in target.families):
        remote = _remote_prefixes(target, family, prefixes.get(family, ()))
        if not remote:
            continue
        local = _local_prefixes(target, family)
        name = rule_name(target, family)
        existing = by_name.get(name.lower())
        if existing is not None and not is_owned(existing, target):
            low, high = target.priority_range
            raise TargetError(
                f"{_where(target)}: rule {existing.name} exists at {existing.direction} "
                f"priority {existing.priority}, outside this target's {target.direction} band "
                f"{low}-{high}; delete or rename it, or change priority_range",
                nsg=target.nsg,
            )
        if existing is not None:
            priority = existing.priority
        else:
            priority = _free_priority(target, taken, name)
            taken.add(priority)
        outbound = target.direction == "Outbound"
        rules.append(
            Rule(
                name=name,
                priority=priority,
                direction=target.direction,
                access=target.access,
                protocol=target.protocol,
                source_prefixes=local if outbound else remote,
                destination_prefixes=remote if outbound else local,
                source_ports=frozenset({"*"}),
                destination_ports=frozenset(target.ports),
                description=description,
            )
        )
    return rules


def _lost(old: Iterable[str], new: frozenset[str]) -> frozenset[str]:
    """Entries of ``old`` whose addresses ``new`` no longer covers (re-aggregation loses none)."""
    covered = netaddr.IPSet(p for p in new if prefix_family(p) is not None)
    return frozenset(
        p
        for p in old
        if p not in new and (prefix_family(p) is None or netaddr.IPNetwork(p) not in covered)
    )


def _outermost(prefixes: frozenset[str]) -> frozenset[str]:
    """Drop entries inside another entry: add-only keeps old blocks beside new ones, and an
    overlap would spend the NSG's 4,000-entry allowance for nothing. Nothing is merged, so a
    kept rule stays stable from run to run."""
    nets = sorted(
        (netaddr.IPNetwork(p) for p in prefixes if prefix_family(p) is not None),
        key=lambda n: (n.version, n.first, -n.last),
    )
    kept: set[str] = {p for p in prefixes if prefix_family(p) is None}
    version, end = 0, -1
    for net in nets:
        if net.version == version and net.last <= end:
            continue
        kept.add(str(net))
        version, end = net.version, net.last
    return frozenset(kept)


def _delta(old: Rule | None, new: Rule | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Address entries gained and lost. A created or deleted rule lists its service-tag side
    only (its local side, e.g. ``VirtualNetwork``, is not an allow-list change); an update
    lists both sides, so a changed ``local_prefixes`` shows too."""
    if old is None or new is None:
        rule = new or old
        assert rule is not None
        entries = tuple(sorted_prefixes(rule.remote_prefixes))
        return (entries, ()) if old is None else ((), entries)
    added = (new.source_prefixes - old.source_prefixes) | (
        new.destination_prefixes - old.destination_prefixes
    )
    removed = (old.source_prefixes - new.source_prefixes) | (
        old.destination_prefixes - new.destination_prefixes
    )
    return tuple(sorted_prefixes(added)), tuple(sorted_prefixes(removed))


def _with_remote(rule: Rule, remote: frozenset[str]) -> Rule:
    if rule.direction == "Inbound":
        return replace(rule, source_prefixes=remote)
    return replace(rule, destination_prefixes=remote)


def _guard(
    target: Target, owned: Iterable[Rule], final: Iterable[Rule], max_remove_ratio: float
) -> str | None:
    before = frozenset().union(*(r.remote_prefixes for r in owned))
    after = frozenset().union(*(r.remote_prefixes for r in final))
    if not after:
        families = "/".join(target.families)
        return (
            f"{_where(target)}: would be left with no prefixes ({families}); "
            "refused (use --force to remove all its rules)"
        )
    if not before:
        return None
    lost = _lost(before, after)
    ratio = len(lost) / len(before)
    if ratio > max_remove_ratio:
        return (
            f"{_where(target)}: would remove {len(lost)} of {len(before)} owned prefixes "
            f"({ratio:.0%} > max_remove_ratio {max_remove_ratio:.0%}); refused "
            "(use --force to apply)"
        )
    return None


def plan_target(
    target: Target,
    desired: Sequence[Rule],
    current: Sequence[Rule],
    *,
    max_remove_ratio: float,
    force: bool = False,
) -> TargetPlan:
    """Diff desired rules against the owned current ones; foreign rules are never touched.

    Descriptions are not compared: a release whose change number moved but whose ranges did
    not gives no write (azure-facts §1 quirk 2). With ``policy: add-only`` no address leaves
    the allow-list: prefixes the new rule no longer covers are kept in it, and rules that
    would be deleted stay; both are listed in ``held_back``.
    """
    owned = {rule.name.lower(): rule for rule in current if is_owned(rule, target)}
    wanted = {rule.name.lower(): rule for rule in desired}
    add_only = target.policy == "add-only"
    creates: list[RulePlan] = []
    updates: list[RulePlan] = []
    deletes: list[RulePlan] = []
    held: list[RulePlan] = []
    final: list[Rule] = []
    for key, target_rule in wanted.items():
        old = owned.get(key)
        rule = target_rule
        if old is not None and add_only:
            kept = _lost(old.remote_prefixes, target_rule.remote_prefixes)
            if kept:
                held.append(RulePlan("update", target_rule, (), tuple(sorted_prefixes(kept))))
                rule = _with_remote(target_rule, _outermost(target_rule.remote_prefixes | kept))
        final.append(rule)
        if old is None:
            creates.append(RulePlan("create", rule, *_delta(None, rule)))
        elif old.content != rule.content:
            updates.append(RulePlan("update", rule, *_delta(old, rule)))
    for key in sorted(owned.keys() - wanted.keys()):
        old = owned[key]
        if add_only:
            held.append(RulePlan("delete", old, *_delta(old, None)))
            final.append(old)
        else:
            deletes.append(RulePlan("delete", old, *_delta(old, None)))
    plan = TargetPlan(target, (*creates, *updates, *deletes), tuple(held))
    reason = None if force else _guard(target, owned.values(), final, max_remove_ratio)
    return plan.refuse(reason) if reason else plan


def make_before_break(writes: Sequence[tuple[K, RulePlan]]) -> list[tuple[K, RulePlan]]:
    """Order the writes of all targets of one NSG so no address that stays wanted goes missing.

    Writes that only add come first, deletes last. Updates that take something away come in
    between, each after any update that adds what it takes away (an address moving from one
    target's rule to another's). Only a cycle (two rules trading addresses) leaves a moment
    with one of them missing; avoiding that would cost an extra write.
    """
    grow = [w for w in writes if w[1].action != "delete" and not w[1].removed]
    deletes = [w for w in writes if w[1].action == "delete"]
    pending = [w for w in writes if w[1].action != "delete" and w[1].removed]
    gains = [_addresses(w[1].added) for w in pending]
    losses = [_addresses(w[1].removed) for w in pending]
    shrink: list[tuple[K, RulePlan]] = []
    while pending:
        ready = next(
            (
                i
                for i in range(len(pending))
                if not any(gains[j] & losses[i] for j in range(len(pending)) if j != i)
            ),
            0,
        )
        shrink.append(pending.pop(ready))
        gains.pop(ready)
        losses.pop(ready)
    return grow + shrink + deletes


def _addresses(prefixes: Iterable[str]) -> netaddr.IPSet:
    return netaddr.IPSet(p for p in prefixes if prefix_family(p) is not None)


def _measure(rules: Iterable[Rule]) -> tuple[int, int, int]:
    """Rules, source entries, destination entries. A service tag or ``*`` counts as one entry
    (conservative: azure-facts §3 counts "addresses/ranges" without exempting tags)."""
    listed = list(rules)
    return (
        len(listed),
        sum(len(r.source_prefixes) for r in listed),
        sum(len(r.destination_prefixes) for r in listed),
    )


def _peak(current: Sequence[Rule], plans: Iterable[TargetPlan]) -> tuple[int, int, int]:
    """The NSG after every create and update, before any delete: the make-before-break peak.

    It bounds every moment of any order that applies each target make-before-break.
    """
    state = {rule.name.lower(): rule for rule in current}
    for plan in plans:
        for write in plan.writes:
            if write.action != "delete":
                state[write.rule.name.lower()] = write.rule
    return _measure(state.values())


_LIMITS = (
    (MAX_RULES, "rules"),
    (MAX_ADDRESSES, "source address entries"),
    (MAX_ADDRESSES, "destination address entries"),
)


def check_limits(current: Sequence[Rule], plans: Sequence[TargetPlan]) -> dict[int, str]:
    """Refusals, by index into ``plans``, for targets that would push one NSG past its limits.

    ``current`` is every rule of the NSG (foreign ones included, default rules excluded) and
    ``plans`` are that NSG's plans. When the peak breaches a limit, the target growing that
    count the most is refused, then the peak is recomputed, until it fits; targets that do
    not grow the count are never blamed.
    """
    if len({plan.target.nsg.lower() for plan in plans}) > 1:
        raise ValueError("check_limits takes the plans of one NSG")
    base = _measure(current)
    active = [i for i, plan in enumerate(plans) if plan.refused is None and plan.writes]
    growth = {
        i: tuple(after - now for after, now in zip(_peak(current, [plans[i]]), base, strict=True))
        for i in active
    }
    refusals: dict[int, str] = {}
    while True:
        peak = _peak(current, [plans[i] for i in active])
        breached = [k for k, (limit, _) in enumerate(_LIMITS) if peak[k] > limit]
        if not breached:
            return refusals
        k = breached[0]
        growing = [i for i in active if growth[i][k] > 0]
        if not growing:
            return refusals
        culprit = max(growing, key=lambda i: (growth[i][k], i))
        limit, what = _LIMITS[k]
        refusals[culprit] = (
            f"{_where(plans[culprit].target)}: NSG would hold {peak[k]} {what} at the peak "
            f"of the update (limit {limit}; {base[k]} now, +{growth[culprit][k]} from this "
            "target); refused before any write"
        )
        active.remove(culprit)


def check_bands(targets: Sequence[Target]) -> dict[int, str]:
    """Targets (by index) whose ownership would clash with another target on the same NSG.

    Overlapping bands in one direction, or a shared rule name, would let one target delete or
    overwrite the other's rules, so both are refused. A band narrower than the number of
    families can never hold the rules.
    """
    errors: dict[int, str] = {}
    for i, target in enumerate(targets):
        low, high = target.priority_range
        if high - low + 1 < len(target.families):
            errors[i] = (
                f"{_where(target)}: priority band {low}-{high} cannot hold "
                f"{len(target.families)} rules (one per family); widen priority_range"
            )
    for i, j in combinations(range(len(targets)), 2):
        a, b = targets[i], targets[j]
        if a.nsg.lower() != b.nsg.lower():
            continue
        for me, mine, other, theirs in ((i, a, j, b), (j, b, i, a)):
            problem = _clash(mine, theirs)
            if problem:
                errors.setdefault(
                    me, f"{_where(mine)}: {problem} target #{other} ({_tags(theirs)})"
                )
    return errors


def _tags(target: Target) -> str:
    return ", ".join(target.service_tags)


def _clash(mine: Target, theirs: Target) -> str | None:
    """Why two targets on one NSG cannot both own rules there, from ``mine``'s side."""
    names = {rule_name(mine, f).lower() for f in mine.families} & {
        rule_name(theirs, f).lower() for f in theirs.families
    }
    if names:
        return f"rule name {sorted(names)[0]} is also that of"
    (low, high), (other_low, other_high) = mine.priority_range, theirs.priority_range
    if mine.direction == theirs.direction and low <= other_high and other_low <= high:
        return (
            f"{mine.direction} priority band {low}-{high} overlaps band {other_low}-{other_high} of"
        )
    return None
