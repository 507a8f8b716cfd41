"""What a target's access restriction rules should become, and the one write that gets them
there (no I/O).

A list holds at most 512 rules and a rule up to 8 ranges, so a list can hold 4,096 ranges: the
fit counts ranges (entries) against ``rules x 8`` and the chosen ranges are then packed 8 to a
rule in address order. The target owns the plain Allow IP rules named ``<rule_prefix>-...``
inside its priority band; every other rule (service tags, virtual networks, header filters,
Deny rules, other names or priorities) is sent back as read, and the default actions and
``scmIpSecurityRestrictionsUseMain`` are never sent. Both lists live in the app's singleton
``config/web``, so one PATCH carrying the changed lists is the whole write.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sync.core.budget import Budget, fit_to_budget
from sync.core.plan import TargetPlan, Write
from sync.core.selection import Selection
from sync.kinds.appservice.rules import (
    FIELDS,
    RULE_RANGES,
    USE_MAIN,
    AccessRule,
    in_order,
    is_owned,
    owned_cidrs,
    pack,
    to_json,
)
from sync.kinds.appservice.target import AppServiceTarget
from sync.kinds.naming import entry_name

#: Access restriction rules per list (app-service-ip-restrictions.md; that the SCM list has
#: its own 512 is not stated).
MAX_RULES = 512
#: ipsync's rule names: the service states no limit; ipsync keeps them short.
NAME_MAX = 64
#: ipsync's rule descriptions (``ipsync: <tags>``), cut to this length.
DESCRIPTION_MAX = 100


@dataclass(frozen=True)
class SiteConfig:
    """The snapshot's state: the rules of each list (``main``, ``scm``) and whether the SCM
    site follows the main list."""

    lists: Mapping[str, tuple[AccessRule, ...]]
    use_main: bool


@dataclass(frozen=True)
class ConfigWrite:
    """The payload of the one PATCH: each changed list (field name -> rules as JSON)."""

    lists: Mapping[str, list[dict[str, object]]]
    #: Every rule of each written list as ipsync compares rules (``AccessRule.content``), to
    #: recognise a write whose answer was lost.
    wanted: Mapping[str, frozenset[tuple[str, int, str, tuple[str, ...], str]]]


def sites(target: AppServiceTarget, config: SiteConfig) -> tuple[str, ...] | str:
    """The lists the target writes, or why it cannot be planned.

    With ``scmIpSecurityRestrictionsUseMain`` the SCM site follows the main list: ``both``
    writes the main list only, and ``scm`` alone would change nothing the SCM site uses.
    """
    if target.site == "main":
        return ("main",)
    if config.use_main:
        if target.site == "scm":
            return (
                f"{target.where}: site is scm but the app's SCM site follows the main site's "
                f"rules ({USE_MAIN} is true); sync site main or both, or turn {USE_MAIN} off"
            )
        return ("main",)
    return ("main", "scm") if target.site == "both" else ("scm",)


def _foreign(target: AppServiceTarget, rules: Sequence[AccessRule]) -> list[AccessRule]:
    return [r for r in rules if not is_owned(r, target)]


def rule_capacity(
    target: AppServiceTarget, site: str, rules: Sequence[AccessRule]
) -> tuple[int, str]:
    """Rules the target may hold in one list: the limit less the other rules, and the band's
    priorities less those other rules take."""
    foreign = _foreign(target, rules)
    low, high = target.priority_range
    taken = {r.priority for r in foreign if low <= r.priority <= high}
    free = high - low + 1 - len(taken)
    by_limit = MAX_RULES - len(foreign)
    if free < by_limit:
        return max(free, 0), f"{FIELDS[site]}: {free} free priorities in {low}-{high}"
    why = f"{FIELDS[site]}: limit {MAX_RULES} rules, {len(foreign)} held by others"
    return max(by_limit, 0), why


def describe(target: AppServiceTarget) -> str:
    return f"ipsync: {', '.join(target.selectors)}"[:DESCRIPTION_MAX]


def desired_rules(
    target: AppServiceTarget, packed: Sequence[tuple[str, ...]], rules: Sequence[AccessRule]
) -> list[AccessRule]:
    """One rule per packed group, each on the band's next priority no other rule takes."""
    low, high = target.priority_range
    taken = {r.priority for r in _foreign(target, rules)}
    free = (p for p in range(low, high + 1) if p not in taken)
    return [
        AccessRule(
            name=entry_name(target.rule_prefix, target.selectors, f"-{n:03d}", NAME_MAX),
            priority=priority,
            action="Allow",
            ranges=ranges,
            description=describe(target),
        )
        for n, (ranges, priority) in enumerate(zip(packed, free, strict=False), start=1)
    ]


def plan_target(
    target: AppServiceTarget, selection: Selection, config: SiteConfig
) -> TargetPlan[ConfigWrite] | str:
    """The target's one write (or none), a refusal of the fit, or why it cannot be planned."""
    written = sites(target, config)
    if isinstance(written, str):
        return written
    notes: tuple[str, ...] = ()
    if target.site == "both" and written == ("main",):
        notes = (
            f"the SCM site follows the main site's rules ({USE_MAIN}): only the main list "
            "is written",
        )
    rules_cap, why = min(rule_capacity(target, s, config.lists[s]) for s in written)
    held = frozenset().union(*(owned_cidrs(target, config.lists[s]) for s in written))
    by_family: dict[str, tuple[str, ...]] = {f: selection.family(f) for f in target.families}
    fitted = fit_to_budget(
        by_family,
        Budget(rules_cap * RULE_RANGES, f"{why}, {RULE_RANGES} ranges a rule"),
        mode=target.fit,
        max_entries=target.max_entries,
        where=target.where,
        prefer=held,
    )
    if fitted.refused:
        return TargetPlan(target, refused=fitted.refused, fit=fitted.account, notes=notes)
    entries = [e for f in target.families for e in fitted.by_family.get(f, ())]
    after = frozenset(entries)
    lists: dict[str, list[dict[str, object]]] = {}
    wanted: dict[str, frozenset[tuple[str, int, str, tuple[str, ...], str]]] = {}
    added: set[str] = set()
    removed: set[str] = set()
    for site in written:
        current = config.lists[site]
        desired = desired_rules(target, pack(entries), current)
        owned = [r for r in current if is_owned(r, target)]
        contents = frozenset(r.content for r in desired)
        if frozenset(r.content for r in owned) == contents and len(owned) == len(desired):
            continue
        mine = owned_cidrs(target, current)
        added |= after - mine
        removed |= mine - after
        sent = (*_foreign(target, current), *desired)
        lists[FIELDS[site]] = [to_json(r) for r in sent]
        wanted[FIELDS[site]] = frozenset(r.content for r in sent)
    if not lists:
        return TargetPlan(target, (), after, fit=fitted.account, notes=notes)
    write = Write(
        "update",
        ", ".join(lists),
        ConfigWrite(lists, wanted),
        tuple(in_order(added)),
        tuple(in_order(removed)),
    )
    return TargetPlan(target, (write,), after, fit=fitted.account, notes=notes)


def owned(target: AppServiceTarget, config: SiteConfig) -> frozenset[str]:
    """The CIDRs of the target's own rules in the lists it writes."""
    written = sites(target, config)
    names = ("main", "scm") if isinstance(written, str) else written
    return frozenset().union(*(owned_cidrs(target, config.lists[s]) for s in names))
