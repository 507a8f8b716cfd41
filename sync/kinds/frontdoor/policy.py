"""A WAF policy's custom rules as ipsync judges them (no I/O): which rule is the allow-list,
and why a policy cannot take ipsync's.

An allow-list is a ``MatchRule`` with action ``Block`` whose one IPMatch condition on
``RemoteAddr`` or ``SocketAddr`` is negated: a request from outside its ranges matches and is
blocked, a request from inside falls through to the next rules and the managed rule sets.
ipsync never writes an ``Allow`` rule (it ends the WAF's processing, skipping the managed rule
sets) and never a second negated rule: two such rules block each other's ranges.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

#: Custom rules per policy.
MAX_RULES = 100
#: IP address ranges per custom rule, in all of its conditions.
MAX_RANGES = 600
IP_VARIABLES = ("remoteaddr", "socketaddr")


@dataclass(frozen=True)
class Condition:
    variable: str
    operator: str
    negate: bool
    values: tuple[str, ...]

    @property
    def ip_match(self) -> bool:
        return self.operator.lower() == "ipmatch"


@dataclass(frozen=True)
class Rule:
    """A custom rule as read: what decides whether it is an allow-list."""

    name: str
    priority: int
    action: str
    enabled: bool
    rule_type: str
    conditions: tuple[Condition, ...]

    @property
    def ip_conditions(self) -> tuple[Condition, ...]:
        return tuple(c for c in self.conditions if c.ip_match)

    @property
    def is_allow_list(self) -> bool:
        """A Block rule whose IPMatch condition on a client address is negated."""
        return (
            self.action.lower() == "block"
            and self.rule_type.lower() == "matchrule"
            and any(c.negate and c.variable.lower() in IP_VARIABLES for c in self.ip_conditions)
        )


def allow_list(rules: Sequence[Rule]) -> Rule | None:
    """The policy's one enabled allow-list rule, if it has exactly one."""
    found = [r for r in rules if r.enabled and r.is_allow_list]
    return found[0] if len(found) == 1 else None


def values(rules: Sequence[Rule]) -> tuple[str, ...]:
    """The ranges of the allow-list rule (none when there is no single one)."""
    rule = allow_list(rules)
    return rule.ip_conditions[0].values if rule else ()


def free_priority(rules: Sequence[Rule]) -> int:
    """The lowest priority no custom rule has: a new allow-list runs as early as it can."""
    taken = {r.priority for r in rules}
    return next(n for n in range(1, len(taken) + 2) if n not in taken)


def problem(rules: Sequence[Rule], name: str, priority: int | None, policy: str) -> str | None:
    """Why the rule ``name`` cannot be the policy's allow-list, or None."""
    mine = next((r for r in rules if r.name.lower() == name.lower()), None)
    others = [r for r in rules if r is not mine and r.enabled and r.is_allow_list]
    if others:
        names = ", ".join(r.name for r in others)
        return (
            f"policy {policy} already has an allow-list rule ({names}: a Block rule whose "
            f"IPMatch condition is negated); a second one would block its ranges and it "
            f"ipsync's: set rule = \"{others[0].name}\" to keep its ranges and add ipsync's there"
        )
    if mine is None:
        if len(rules) >= MAX_RULES:
            return f"policy {policy} has {len(rules)} custom rules; Front Door takes {MAX_RULES}"
        taken = next((r for r in rules if priority is not None and r.priority == priority), None)
        if taken is not None:
            return (
                f"priority {priority} is taken by custom rule {taken.name} of policy {policy}; "
                "choose another priority for the allow-list rule"
            )
        return None
    if len(mine.ip_conditions) != 1:
        return (
            f"custom rule {mine.name} of policy {policy} has {len(mine.ip_conditions)} IPMatch "
            "conditions; ipsync keeps an allow-list of exactly one"
        )
    if not mine.is_allow_list:
        return (
            f"custom rule {mine.name} of policy {policy} is not an allow-list (a MatchRule with "
            f"action Block and a negated IPMatch on RemoteAddr or SocketAddr; it is "
            f"{mine.rule_type} {mine.action}"
            f"{'' if mine.ip_conditions[0].negate else ', not negated'}); ipsync never writes "
            "Allow rules, which skip the managed rule sets: point rule at another name"
        )
    if not mine.enabled:
        return (
            f"custom rule {mine.name} of policy {policy} is disabled; enable it, or ipsync "
            "would keep a list nobody enforces"
        )
    return None
