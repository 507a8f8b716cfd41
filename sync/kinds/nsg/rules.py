"""Security rules as ipsync compares them, their names, and who owns them.

A :class:`Rule` is an NSG security rule reduced to sets: the singular and plural fields of
ARM (``sourceAddressPrefix`` / ``sourceAddressPrefixes`` ...) are merged, and every address
prefix is normalised, so order and formatting never cause a write.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sync.core.plan import NORMALISED_CACHE, cidr_family, normalise_prefix
from sync.core.prefixes import ParsedPrefix, parse_prefix
from sync.kinds.naming import entry_name
from sync.kinds.nsg.target import NsgTarget

if TYPE_CHECKING:
    # The SDK's models take about 0.4 s to import: only a write needs them, so planning (and
    # a process that never writes) does not pay for them.
    from azure.mgmt.network.models import SecurityRule

#: ARM rule names: 1..80 chars of letters, digits, ``.``, ``-``, ``_``; start alphanumeric,
#: end alphanumeric or ``_`` .
NAME_MAX = 80


@dataclass(frozen=True)
class Rule:
    """A security rule reduced to what ipsync compares; order and formatting never matter."""

    name: str
    priority: int
    direction: str  # Inbound | Outbound
    access: str  # Allow | Deny
    protocol: str
    source_prefixes: frozenset[str]  # CIDRs, or one service tag like "VirtualNetwork", or "*"
    destination_prefixes: frozenset[str]
    source_ports: frozenset[str]
    destination_ports: frozenset[str]
    description: str = ""

    @property
    def content(self) -> tuple[object, ...]:
        """What a write would change; the description only records provenance (not compared)."""
        return (
            self.name.lower(),
            self.priority,
            self.direction,
            self.access,
            self.protocol,
            self.source_prefixes,
            self.destination_prefixes,
            self.source_ports,
            self.destination_ports,
        )

    @property
    def remote_prefixes(self) -> frozenset[str]:
        """The side that holds the service-tag ranges: destination outbound, source inbound."""
        if self.direction == "Inbound":
            return self.source_prefixes
        return self.destination_prefixes


#: Texts known to be canonical CIDRs (what :func:`normalise_prefix` gives back as it is), by
#: family, bounded like its cache. A rule or a plan holds thousands of entries, mostly the
#: same in every run: a set's subset test checks them all at C speed, where even a cache
#: lookup per entry would not.
_CANONICAL: dict[str, set[str]] = {"v4": set(), "v6": set()}


def normalised(values: Iterable[str]) -> frozenset[str]:
    """Address entries as :func:`normalise_prefix` writes them, blank ones dropped."""
    given = frozenset(filter(None, values))
    if given <= _CANONICAL["v4"] or given <= _CANONICAL["v6"]:
        return given
    result = frozenset(map(normalise_prefix, filter(None, map(str.strip, given))))
    for text in result & given:  # given as normalised: canonical
        family = cidr_family(text)
        if family is not None:
            known = _CANONICAL[family]
            if len(known) >= NORMALISED_CACHE:
                known.clear()
            known.add(text)
    return result


def all_of_family(prefixes: frozenset[str], family: str) -> bool:
    """Whether normalised entries are all CIDRs of ``family`` (``v4`` or ``v6``)."""
    return prefixes <= _CANONICAL[family] or set(map(cidr_family, prefixes)) <= {family}


def _cidr(value: str) -> ParsedPrefix | None:
    if "/" not in value:
        return None
    try:
        return parse_prefix(value)
    except ValueError:
        return None


def _sort_key(value: str) -> tuple[int, int, int, int, str]:
    parsed = _cidr(value)
    if parsed is None:
        return (0, 0, 0, 0, value)
    return (1, parsed.version, parsed.network, parsed.prefixlen, value)


def sorted_prefixes(values: Iterable[str]) -> list[str]:
    """Tags and ``*`` first, then IPv4 then IPv6 in address order: stable output everywhere."""
    return sorted(values, key=_sort_key)


def _port_key(value: str) -> tuple[int, int, str]:
    low = value.split("-", maxsplit=1)[0]
    return (1, int(low), value) if low.isdigit() else (0, 0, value)


def sorted_ports(values: Iterable[str]) -> list[str]:
    return sorted(values, key=_port_key)


def _text(value: object) -> str:
    """SDK enums (``SecurityRuleAccess.ALLOW``) and plain strings both become ``"Allow"``."""
    if value is None:
        return ""
    return str(getattr(value, "value", value))


def _given(single: str | None, several: Iterable[str] | None) -> list[str]:
    return [*(several or []), *([single] if single else [])]


def _ports(single: str | None, several: Iterable[str] | None) -> frozenset[str]:
    return frozenset(filter(None, map(str.strip, filter(None, _given(single, several)))))


def rule_from_sdk(rule: SecurityRule) -> Rule:
    """Reduce an SDK rule; ARM answers with both the singular field and an empty list."""
    return Rule(
        name=rule.name or "",
        priority=rule.priority or 0,
        direction=_text(rule.direction),
        access=_text(rule.access),
        protocol=_text(rule.protocol),
        source_prefixes=normalised(
            _given(rule.source_address_prefix, rule.source_address_prefixes)
        ),
        destination_prefixes=normalised(
            _given(rule.destination_address_prefix, rule.destination_address_prefixes)
        ),
        source_ports=_ports(rule.source_port_range, rule.source_port_ranges),
        destination_ports=_ports(rule.destination_port_range, rule.destination_port_ranges),
        description=rule.description or "",
    )


def _split(values: list[str]) -> tuple[str | None, list[str]]:
    """One value goes in the singular field (required for a service tag), several in the list."""
    if len(values) == 1:
        return values[0], []
    return None, values


def rule_to_sdk(rule: Rule) -> SecurityRule:
    """A hybrid SDK model to PUT: never a dict, which the SDK sends verbatim as the body."""
    from azure.mgmt.network.models import SecurityRule, SecurityRulePropertiesFormat

    src, srcs = _split(sorted_prefixes(rule.source_prefixes))
    dst, dsts = _split(sorted_prefixes(rule.destination_prefixes))
    sport, sports = _split(sorted_ports(rule.source_ports))
    dport, dports = _split(sorted_ports(rule.destination_ports))
    properties = SecurityRulePropertiesFormat(
        priority=rule.priority,
        direction=rule.direction,
        access=rule.access,
        protocol=rule.protocol,
        source_address_prefix=src,
        source_address_prefixes=srcs,
        destination_address_prefix=dst,
        destination_address_prefixes=dsts,
        source_port_range=sport,
        source_port_ranges=sports,
        destination_port_range=dport,
        destination_port_ranges=dports,
        description=rule.description or None,
    )
    return SecurityRule(name=rule.name, properties=properties)


def is_owned(rule: Rule, target: NsgTarget) -> bool:
    """Ours only with ``<rule_prefix>-`` in the name, a priority in the band, the target's
    direction and its access.

    ARM names are case-insensitive, so is the prefix test; the delimiter keeps a human rule
    such as ``IPSyncBlockTor`` foreign. The direction is part of ownership so that an Inbound
    and an Outbound target may use the same band on one NSG, and the access so that a Deny
    rule in the band is never taken for an allow-list rule.
    """
    low, high = target.priority_range
    return (
        rule.name.lower().startswith(target.rule_prefix.lower() + "-")
        and low <= rule.priority <= high
        and rule.direction == target.direction
        and rule.access == target.access
    )


def rule_name(target: NsgTarget, family: str) -> str:
    """``<prefix>-<tags key>[-in]-<family>``, e.g. ``ipsync-storage-westeurope-v4``.

    Inbound rules carry ``-in`` so one NSG can hold both directions for the same tags. A tag
    key too long for the 80-character limit is cut and ends with 8 hex digits of its SHA-256,
    which keeps the name deterministic and distinct from other long tag lists.
    """
    suffix = ("-in" if target.direction == "Inbound" else "") + f"-{family}"
    return entry_name(target.rule_prefix, target.selectors, suffix, NAME_MAX)
