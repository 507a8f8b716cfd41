"""What must hold after every release: desired state, no coverage gap, foreign rules intact.

All three read ARM JSON (the NSG as the emulator serves it, and the emulator's history of
effective rules after every completed write), so ipsync and the baseline are judged alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import netaddr

from sync.core.feed import Release
from sync.core.selection import select
from sync.kinds.nsg.target import NsgTarget

Rules = list[dict[str, Any]]  # ARM JSON: {"name", "properties"}


def _owned(rules: Rules, target: NsgTarget) -> list[dict[str, Any]]:
    low, high = target.priority_range
    return [
        r["properties"]
        for r in rules
        if r["name"].lower().startswith(target.rule_prefix.lower())
        and low <= r["properties"]["priority"] <= high
        and r["properties"]["direction"] == target.direction
    ]


def _remote(props: dict[str, Any], direction: str) -> set[str]:
    side = "source" if direction == "Inbound" else "destination"
    single = props.get(f"{side}AddressPrefix")
    return set(props.get(f"{side}AddressPrefixes") or []) | ({single} if single else set())


def allowed(rules: Rules, target: NsgTarget) -> set[str]:
    """The remote prefixes the target's own rules allow."""
    return set().union(*(_remote(p, target.direction) for p in _owned(rules, target)))


def desired_mismatch(rules: Rules, target: NsgTarget, release: Release) -> str | None:
    """None when the NSG allows exactly the target's aggregated prefixes of the release."""
    selection = select(release, target.service_tags, families=target.families)
    want, have = set(selection.prefixes), allowed(rules, target)
    if want == have:
        return None
    return (
        f"{target.nsg_name} {'+'.join(target.service_tags)}: {len(have - want)} prefixes too "
        f"many, {len(want - have)} missing against release {release.change_number}"
    )


def _ipset(prefixes: set[str]) -> netaddr.IPSet:
    return netaddr.IPSet(p for p in prefixes if "/" in p)


def coverage_gap(history: Sequence[Rules], target: NsgTarget) -> tuple[int, int]:
    """IPv4 and IPv6 addresses allowed before and after a run but not at some point between."""
    if len(history) < 3:
        return 0, 0
    kept = _ipset(allowed(history[0], target)) & _ipset(allowed(history[-1], target))
    worst = (0, 0)
    for rules in history[1:-1]:
        lost = list((kept - _ipset(allowed(rules, target))).iter_cidrs())
        v4, v6 = (sum(c.size for c in lost if c.version == v) for v in (4, 6))
        worst = max(worst, (v4, v6))
    return worst


def describe_gap(gap: tuple[int, int]) -> str:
    v4, v6 = gap
    if not v4 and not v6:
        return "none"
    return f"{v4:,} IPv4" + (f" + 2^{v6.bit_length() - 1} IPv6" if v6 else "") + " addresses"


def foreign_changed(history: Sequence[Rules], name: str) -> bool:
    """Whether the foreign rule ``name`` differs (or is missing) anywhere in ``history``."""
    versions = [next((r for r in h if r["name"] == name), None) for h in history]
    return any(v != versions[0] for v in versions) or versions[0] is None
