"""What a target's NSG rules should become, and the writes that get them there (no I/O).

The flow per NSG: :func:`check_bands` over the configured targets, :func:`desired_rules`
per target from its aggregated prefixes, :func:`plan_target` against the rules read from the
NSG, then :func:`check_limits` over every plan of that NSG before the first write.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence

from sync.core.budget import Budget
from sync.core.plan import Action, TargetPlan, Write, cidr_family, family_name, normalise_prefix
from sync.errors import TargetError
from sync.kinds.nsg.rules import (
    Rule,
    all_of_family,
    is_owned,
    normalised,
    rule_name,
    sorted_prefixes,
)
from sync.kinds.nsg.target import NsgTarget

#: NSG limits: 1,000 rules per NSG, 4,000 source and 4,000 destination address entries
#: summed over all rules of the NSG.
MAX_RULES = 1000
MAX_ADDRESSES = 4000
DESCRIPTION_MAX = 140
_FAMILIES = ("v4", "v6")
#: The release marks at the end of a description ``ipsync: <tags>; change <marks>``.
_CHANGE = re.compile(r"; change ([^;]+)$")


def describe(target: NsgTarget, change_number: int | str) -> str:
    """``ipsync: AzureDevOps, github:actions; change 373 github-1755851400``, in 140
    characters.

    Selectors that do not fit become ``+N more`` (the rule name encodes them too). Every mark
    the target holds is kept while one fits beside ``ipsync: N tags``; beyond that the last
    marks are left out: the target's record keeps them all.
    """
    tags = list(target.selectors)
    kept = str(change_number).split()
    while True:
        tail = f"; change {' '.join(kept)}"
        for shown in range(len(tags), 0, -1):
            more = len(tags) - shown
            text = "ipsync: " + ", ".join(tags[:shown]) + (f" +{more} more" if more else "")
            if len(text + tail) <= DESCRIPTION_MAX:
                return text + tail
        short = f"ipsync: {len(tags)} tags{tail}"
        if len(short) <= DESCRIPTION_MAX or len(kept) <= 1:
            return short[:DESCRIPTION_MAX]
        kept.pop()


def _remote_prefixes(target: NsgTarget, family: str, values: Iterable[str]) -> frozenset[str]:
    result = normalised(values)
    if all_of_family(result, family):
        return result
    for prefix in result:
        if cidr_family(prefix) != family:
            raise TargetError(
                f"{target.where}: prefix {prefix!r} is not an {family_name(family)} CIDR",
                resource=target.nsg,
            )
    return result


def _local_prefixes(target: NsgTarget, family: str) -> frozenset[str]:
    """The target's own side: one service tag or ``*`` alone, or CIDRs of the rule's family."""
    entries = [normalise_prefix(p) for p in target.local_prefixes]
    for entry in entries:
        if "/" in entry and cidr_family(entry) is None:
            raise TargetError(
                f"{target.where}: local_prefixes: {entry!r} is not a valid CIDR",
                resource=target.nsg,
            )
    symbolic = [e for e in entries if cidr_family(e) is None]
    if symbolic and len(entries) > 1:
        raise TargetError(
            f"{target.where}: local_prefixes: a service tag or '*' must stand alone "
            f"(got {', '.join(entries)})",
            resource=target.nsg,
        )
    mine = frozenset(symbolic) or frozenset(e for e in entries if cidr_family(e) == family)
    if not mine:
        raise TargetError(
            f"{target.where}: local_prefixes has no {family_name(family)} prefix for the "
            f"{family} rule (add one, or drop {family} from families)",
            resource=target.nsg,
        )
    return mine


def _free_priority(target: NsgTarget, taken: set[int], name: str) -> int:
    low, high = target.priority_range
    for priority in range(low, high + 1):
        if priority not in taken:
            return priority
    raise TargetError(
        f"{target.where}: no free {target.direction} priority in band {low}-{high} "
        f"for rule {name} (all taken); widen priority_range",
        resource=target.nsg,
    )


def desired_rules(
    target: NsgTarget,
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
                f"{target.where}: rule {existing.name} exists as {existing.direction} "
                f"{existing.access} at priority {existing.priority}, outside this target's "
                f"{target.direction} band {low}-{high} for {target.access} rules; delete or "
                "rename it, or change priority_range",
                resource=target.nsg,
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


def _write(action: Action, old: Rule | None, new: Rule | None) -> Write[Rule]:
    rule = new or old
    assert rule is not None
    return Write(action, rule.name, rule, *_delta(old, new))


def plan_target(
    target: NsgTarget, desired: Sequence[Rule], current: Sequence[Rule]
) -> TargetPlan[Rule]:
    """Diff desired rules against the owned current ones; foreign rules are never touched.

    Descriptions are not compared: a release whose change number moved but whose ranges did
    not gives no write.
    """
    owned = {rule.name.lower(): rule for rule in current if is_owned(rule, target)}
    wanted = {rule.name.lower(): rule for rule in desired}
    creates: list[Write[Rule]] = []
    updates: list[Write[Rule]] = []
    for key, rule in wanted.items():
        old = owned.get(key)
        if old is None:
            creates.append(_write("create", None, rule))
        elif old.content != rule.content:
            updates.append(_write("update", old, rule))
    deletes = [_write("delete", owned[key], None) for key in sorted(owned.keys() - wanted.keys())]
    after = frozenset().union(*(rule.remote_prefixes for rule in desired))
    return TargetPlan(target, (*creates, *updates, *deletes), after)


def owned_prefixes(target: NsgTarget, current: Iterable[Rule]) -> frozenset[str]:
    """The remote prefixes of the target's own rules."""
    return frozenset().union(*(r.remote_prefixes for r in current if is_owned(r, target)))


def held_releases(rules: Iterable[Rule]) -> tuple[str, ...]:
    """The releases ipsync's rules were written from, read back from their descriptions."""
    found = (_CHANGE.search(r.description) for r in rules if r.description.startswith("ipsync:"))
    return tuple(mark for m in found if m for mark in m[1].split())


def _measure(rules: Iterable[Rule]) -> tuple[int, int, int]:
    """Rules, source entries, destination entries. A service tag or ``*`` counts as one entry
    (conservative: ARM counts "addresses/ranges" without exempting tags)."""
    listed = list(rules)
    return (
        len(listed),
        sum(len(r.source_prefixes) for r in listed),
        sum(len(r.destination_prefixes) for r in listed),
    )


def _peak(current: Sequence[Rule], plans: Iterable[TargetPlan[Rule]]) -> tuple[int, int, int]:
    """The NSG after every create and update, before any delete: the make-before-break peak.

    It bounds every moment of any order that applies each target make-before-break.
    """
    state = {rule.name.lower(): rule for rule in current}
    for plan in plans:
        for write in plan.writes:
            if write.action != "delete":
                state[write.name.lower()] = write.payload
    return _measure(state.values())


_LIMITS = (
    (MAX_RULES, "rules"),
    (MAX_ADDRESSES, "source address entries"),
    (MAX_ADDRESSES, "destination address entries"),
)


def check_limits(current: Sequence[Rule], plans: Sequence[TargetPlan[Rule]]) -> dict[int, str]:
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
            f"{plans[culprit].target.where}: NSG would hold {peak[k]} {what} at the peak "
            f"of the update (limit {limit}; {base[k]} now, +{growth[culprit][k]} from this "
            "target); refused before any write"
        )
        active.remove(culprit)


def remote_budget(target: NsgTarget, current: Sequence[Rule]) -> tuple[Budget, frozenset[str]]:
    """The entries left for the target on its remote side, and the prefixes it holds now.

    The NSG's limit counts every rule's entries on a side; rules the target does not own
    (foreign ones and other targets') keep theirs.
    """
    outbound = target.direction == "Outbound"
    held: set[str] = set()
    others = 0
    for rule in current:
        side = rule.destination_prefixes if outbound else rule.source_prefixes
        if is_owned(rule, target):
            held |= rule.remote_prefixes
        else:
            others += len(side)
    why = f"limit {MAX_ADDRESSES} per NSG side, {others} held by other rules"
    return Budget(max(MAX_ADDRESSES - others, 0), why), frozenset(held)


def check_bands(targets: Sequence[NsgTarget]) -> dict[int, str]:
    """Targets (by index) whose ownership would clash with another target on the same NSG.

    Overlapping bands in one direction, or a shared rule name, would let one target delete or
    overwrite the other's rules, so both are refused. A band narrower than the number of
    families can never hold the rules. Each target's message names the lowest-numbered target
    it clashes with; the search is O(n log n), as one NSG may carry thousands of targets.
    """
    errors: dict[int, str] = {}
    for i, target in enumerate(targets):
        low, high = target.priority_range
        if high - low + 1 < len(target.families):
            errors[i] = (
                f"{target.where}: priority band {low}-{high} cannot hold "
                f"{len(target.families)} rules (one per family); widen priority_range"
            )
    names = [rule_names(target) for target in targets]
    holders: dict[tuple[str, str], list[int]] = {}
    bands: dict[tuple[str, str], list[tuple[int, int, int]]] = {}
    for i, target in enumerate(targets):
        nsg = target.nsg.lower()
        for name in names[i]:
            holders.setdefault((nsg, name), []).append(i)
        bands.setdefault((nsg, target.direction), []).append((i, *target.priority_range))
    partner: dict[int, int] = {}
    for indices in holders.values():
        if len(indices) < 2:
            continue
        for i in indices:
            other = indices[1] if indices[0] == i else indices[0]
            partner[i] = min(partner.get(i, other), other)
    for group in bands.values():
        for i, other in _first_overlaps(group).items():
            partner[i] = min(partner.get(i, other), other)
    for i, j in sorted(partner.items()):
        problem = _clash(targets[i], names[i], targets[j], names[j])
        if problem:
            mine, theirs = targets[i], targets[j]
            errors.setdefault(i, f"{mine.where}: {problem} target #{j} ({_tags(theirs)})")
    return errors


def _first_overlaps(bands: list[tuple[int, int, int]]) -> dict[int, int]:
    """For each ``(index, low, high)``, the lowest other index whose band overlaps it.

    Offline sweep: bands enter a Fenwick tree over their ``high`` (descending) once their
    ``low`` is at most the query's ``high``; the tree then answers "the two lowest indices with
    ``high`` at least the query's ``low``", one of which may be the query itself.
    """
    highs = sorted({high for _, _, high in bands})
    size = len(highs)
    beyond = max(index for index, _, _ in bands) + 1
    none = (beyond, beyond)  # "no band": larger than any index
    tree = [none] * (size + 1)

    def slot(value: int) -> int:  # 1-based position of ``high >= value``, highest first
        return size - bisect_left(highs, value)

    def merge(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:  # two lowest
        return (a[0], min(a[1], b[0])) if a[0] < b[0] else (b[0], min(a[0], b[1]))

    by_low = sorted(bands, key=lambda band: band[1])
    result: dict[int, int] = {}
    entered = 0
    for index, low, high in sorted(bands, key=lambda band: band[2]):
        while entered < len(by_low) and by_low[entered][1] <= high:
            other, _, other_high = by_low[entered]
            position = slot(other_high)
            while position <= size:
                tree[position] = merge(tree[position], (other, none[0]))
                position += position & -position
            entered += 1
        best, position = none, slot(low)
        while position > 0:
            best = merge(best, tree[position])
            position -= position & -position
        other = best[1] if best[0] == index else best[0]
        if other != none[0]:
            result[index] = other
    return result


def _tags(target: NsgTarget) -> str:
    return ", ".join(target.selectors)


def rule_names(target: NsgTarget) -> set[str]:
    """The lower-cased names of a target's rules: NSG rule names are case-insensitive."""
    return {rule_name(target, family).lower() for family in target.families}


def _clash(
    mine: NsgTarget, my_names: set[str], theirs: NsgTarget, their_names: set[str]
) -> str | None:
    """Why two targets on one NSG cannot both own rules there, from ``mine``'s side."""
    names = my_names & their_names
    if names:
        return f"rule name {sorted(names)[0]} is also that of"
    (low, high), (other_low, other_high) = mine.priority_range, theirs.priority_range
    if mine.direction == theirs.direction and low <= other_high and other_low <= high:
        return (
            f"{mine.direction} priority band {low}-{high} overlaps band {other_low}-{other_high} of"
        )
    return None
