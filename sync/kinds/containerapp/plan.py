"""What an app's ingress IP restrictions should become (no I/O).

A restriction is ``{name, description?, ipAddressRange (IPv4 CIDR), action}``; an app's rules
are all Allow or all Deny (the service refuses a mix), and an app with none admits everyone.
ipsync writes Allow rules named ``<rule_prefix>-<CIDR with dashes>``: a range kept from one
release to the next keeps its rule. Rules of other names are the owner's, sent back as read.
An app whose rules are Deny rules is refused, saying so: adding Allow rules would mix them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sync.core.budget import Budget, fit_to_budget
from sync.core.plan import TargetPlan, Write
from sync.core.prefixes import parse_prefix
from sync.kinds.containerapp.target import ContainerAppTarget

#: Rules per app: none documented; ipsync's choice, App Service's documented 512.
MAX_RULES = 512
#: The description ipsync gives its rules.
DESCRIPTION = "ipsync: {tags}"


@dataclass(frozen=True)
class Restriction:
    """One ``IpSecurityRestrictionRule`` as read or to write."""

    name: str
    range: str
    action: str
    description: str | None = None


@dataclass(frozen=True)
class Ingress:
    """The app's ingress as read: None when the app has no ingress to restrict."""

    rules: tuple[Restriction, ...]


@dataclass(frozen=True)
class RulesWrite:
    """The whole list to send (a merge patch replaces it whole)."""

    rules: tuple[Restriction, ...]


def cidr(value: str) -> str:
    """A range as ipsync compares it (the service keeps host bits as written)."""
    try:
        return parse_prefix(value.strip()).text
    except ValueError:
        return value.strip()


def is_owned(rule: Restriction, target: ContainerAppTarget) -> bool:
    return rule.name.lower().startswith(target.rule_prefix.lower() + "-")


def rule_name(target: ContainerAppTarget, prefix: str) -> str:
    """``ipsync-20-60-0-0-16`` for ``20.60.0.0/16``."""
    return f"{target.rule_prefix}-{prefix.replace('.', '-').replace('/', '-')}"


def owned_cidrs(target: ContainerAppTarget, ingress: Ingress | None) -> frozenset[str]:
    rules = ingress.rules if ingress else ()
    return frozenset(cidr(r.range) for r in rules if is_owned(r, target))


def plan_target(
    target: ContainerAppTarget, prefixes: Sequence[str], ingress: Ingress | None
) -> TargetPlan[RulesWrite] | str:
    """The one write of the target's rules, or a refusal of the fit, or why it cannot be."""
    if ingress is None:
        return f"{target.where}: the app has no ingress, so it has no IP restrictions to keep"
    foreign = [r for r in ingress.rules if not is_owned(r, target)]
    deny = next((r for r in foreign if r.action.lower() == "deny"), None)
    if deny is not None:
        return (
            f"{target.where}: the app's IP restrictions are Deny rules ({deny.name}); ipsync "
            "writes Allow rules and Container Apps takes all Allow or all Deny, never a mix: "
            "turn them into Allow rules, or drop this target"
        )
    # an own rule turned to Deny by hand is written again as an Allow rule: never a mix
    mine = {
        cidr(r.range): r
        for r in ingress.rules
        if is_owned(r, target) and r.action.lower() == "allow"
    }
    stray = any(is_owned(r, target) and r.action.lower() != "allow" for r in ingress.rules)
    budget = Budget(
        max(MAX_RULES - len(foreign), 0),
        f"limit {MAX_RULES} rules, {len(foreign)} held by rules ipsync did not write",
    )
    fitted = fit_to_budget(
        {"v4": prefixes},
        budget,
        mode=target.fit,
        max_entries=target.max_entries,
        where=target.where,
        prefer=frozenset(mine),
    )
    if fitted.refused:
        return TargetPlan(target, refused=fitted.refused, fit=fitted.account)
    wanted = fitted.by_family["v4"]
    description = DESCRIPTION.format(tags=", ".join(target.selectors))
    ours = [
        mine.get(p) or Restriction(rule_name(target, p), p, "Allow", description) for p in wanted
    ]
    added = tuple(p for p in wanted if p not in mine)
    removed = tuple(sorted(set(mine) - set(wanted)))
    writes: tuple[Write[RulesWrite], ...] = ()
    if added or removed or stray:
        final = RulesWrite((*foreign, *ours))
        writes = (Write("update", "ingress.ipSecurityRestrictions", final, added, removed),)
    return TargetPlan(target, writes, frozenset(wanted), fit=fitted.account)
