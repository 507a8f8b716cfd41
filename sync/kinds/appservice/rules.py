"""Access restriction rules as ipsync reads and writes them (no I/O).

A rule of ``ipSecurityRestrictions`` (or ``scmIpSecurityRestrictions``) is an IP rule (up to 8
comma-separated IPv4 or IPv6 CIDRs in ``ipAddress``), a service-tag rule (``tag:
ServiceTag``), a virtual network rule (``vnetSubnetResourceId``), possibly with HTTP header
filters. ipsync owns only plain Allow IP rules named ``<rule_prefix>-...`` inside its priority
band; every other rule is sent back exactly as read.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sync.kinds.appservice.target import AppServiceTarget

#: The list fields of ``config/web`` per ``site`` value, and the switch that makes SCM follow
#: the main list.
FIELDS = {"main": "ipSecurityRestrictions", "scm": "scmIpSecurityRestrictions"}
USE_MAIN = "scmIpSecurityRestrictionsUseMain"
#: The source of the rule a GET shows last for the default action (``Allow all``/``Deny all``,
#: priority 2147483647; answers have shown it at priority 1 too): no rule of the list, never
#: sent back.
DEFAULT_RULE_SOURCE = "any"
#: Ranges in one multi-source rule (app-service-ip-restrictions.md).
RULE_RANGES = 8


@dataclass(frozen=True)
class AccessRule:
    """A rule as ipsync compares it: the fields it writes, and the JSON object as read."""

    name: str
    priority: int
    action: str
    #: The CIDRs of an IP rule, normalised; empty for any other rule.
    ranges: tuple[str, ...]
    description: str = ""
    #: The JSON object as read (empty for a rule ipsync is about to write).
    raw: Mapping[str, Any] = field(default_factory=dict)

    @property
    def content(self) -> tuple[str, int, str, tuple[str, ...], str]:
        """What ipsync writes of a rule, to compare a wanted rule with one read."""
        return (self.name, self.priority, self.action, self.ranges, self.description)

    @property
    def is_ip_rule(self) -> bool:
        """A plain IP rule: addresses only, no service tag, subnet or header filter."""
        raw = self.raw
        tag = str(raw.get("tag") or "Default")
        return (
            bool(self.ranges)
            and tag.lower() == "default"
            and not raw.get("vnetSubnetResourceId")
            and not raw.get("headers")
        )


def normalise(part: str, mask: str | None = None) -> str | None:
    """A CIDR as ipsync compares it (App Service matches leading bits, so host bits are
    dropped); ``1.2.3.4`` with ``subnetMask`` becomes its CIDR. None when it is no address."""
    text = part.strip()
    if mask and "/" not in text:
        text = f"{text}/{mask}"
    try:
        return str(ipaddress.ip_network(text, strict=False))
    except ValueError:
        return None


def parse_rule(raw: Mapping[str, Any]) -> AccessRule:
    address = raw.get("ipAddress")
    ranges: tuple[str, ...] = ()
    if isinstance(address, str) and str(raw.get("tag") or "Default").lower() == "default":
        parts = address.split(",")
        mask = raw.get("subnetMask") if len(parts) == 1 else None
        found = [normalise(p, str(mask) if mask else None) for p in parts]
        if all(found):
            ranges = tuple(f for f in found if f)
    priority = raw.get("priority")
    return AccessRule(
        name=str(raw.get("name") or ""),
        priority=priority if isinstance(priority, int) else 0,
        action=str(raw.get("action") or "Allow"),
        ranges=ranges,
        description=str(raw.get("description") or ""),
        raw=raw,
    )


def read_list(raw: Any) -> tuple[AccessRule, ...]:
    """A list as GET answers it, without the rule the default action shows."""
    rules = [r for r in raw or () if isinstance(r, Mapping)]
    return tuple(
        parse_rule(r) for r in rules if str(r.get("ipAddress")).lower() != DEFAULT_RULE_SOURCE
    )


def is_owned(rule: AccessRule, target: AppServiceTarget) -> bool:
    """``<rule_prefix>-`` starts the name (any case), the priority is in the band, and it is a
    plain Allow IP rule."""
    low, high = target.priority_range
    return (
        rule.name.lower().startswith(target.rule_prefix.lower() + "-")
        and low <= rule.priority <= high
        and rule.action.lower() == "allow"
        and rule.is_ip_rule
    )


def owned_cidrs(target: AppServiceTarget, rules: Iterable[AccessRule]) -> frozenset[str]:
    return frozenset(c for rule in rules if is_owned(rule, target) for c in rule.ranges)


def in_order(cidrs: Iterable[str]) -> list[str]:
    """CIDRs in address order, IPv4 first."""
    nets = [ipaddress.ip_network(c) for c in cidrs]
    return [str(n) for n in sorted(nets, key=lambda n: (n.version, int(n.network_address)))]


def pack(entries: Iterable[str]) -> list[tuple[str, ...]]:
    """Entries in address order, 8 to a rule: a rule may mix both families."""
    ordered = in_order(entries)
    return [tuple(ordered[i : i + RULE_RANGES]) for i in range(0, len(ordered), RULE_RANGES)]


def to_json(rule: AccessRule) -> dict[str, Any]:
    """A rule as sent: one read is sent back as it came; one of ipsync's in full."""
    if rule.raw:
        return dict(rule.raw)
    return {
        "ipAddress": ",".join(rule.ranges),
        "action": rule.action,
        "tag": "Default",
        "priority": rule.priority,
        "name": rule.name,
        "description": rule.description,
    }
