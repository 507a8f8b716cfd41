"""Where targets come from: ``IPSYNC_TARGETS`` and NSGs that opt in with an Azure tag.

An NSG tagged ``<discover_tag>=Storage.WestEurope,AzureMonitor`` becomes a target with the
``Target`` defaults (Outbound, Tcp 443, from ``VirtualNetwork``, priorities 200-299). Tags named
``<discover_tag>-<field>`` on the same NSG override a default, e.g. ``ipsync-ports=443,1433``,
``ipsync-priority=3000-3099``, ``ipsync-direction=Inbound``, ``ipsync-local=10.0.0.0/24``,
``ipsync-families=v4``, ``ipsync-protocol=*``, ``ipsync-policy=add-only``. An NSG that an
explicit target already names is not discovered again: the explicit target wins.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from sync.errors import TargetError
from sync.settings import Settings, Target, parse_target

#: Tag suffix -> (Target field, whether the value is a list).
OVERRIDES: dict[str, tuple[str, bool]] = {
    "direction": ("direction", False),
    "access": ("access", False),
    "protocol": ("protocol", False),
    "ports": ("ports", True),
    "local": ("local_prefixes", True),
    "priority": ("priority_range", False),
    "families": ("families", True),
    "policy": ("policy", False),
    "exclude": ("exclude_prefixes", True),
    "extra": ("extra_prefixes", True),
}

_SPLIT = re.compile(r"[\s,;]+")


def explicit_targets(settings: Settings) -> list[Target | TargetError]:
    """The targets of ``IPSYNC_TARGETS``, each validated on its own."""
    found: list[Target | TargetError] = []
    for index, raw in enumerate(settings.targets):
        label = str(raw.get("nsg", f"#{index + 1} of IPSYNC_TARGETS"))
        try:
            found.append(parse_target(raw, label))
        except TargetError as exc:
            found.append(exc)
    return found


def target_from_tags(nsg_id: str, tags: Mapping[str, str], discover_tag: str) -> Target | None:
    """The target an NSG's Azure tags ask for, or None when it does not opt in."""
    lowered = {k.lower(): v for k, v in tags.items()}
    key = discover_tag.lower()
    if key not in lowered:
        return None
    raw: dict[str, Any] = {"nsg": nsg_id, "service_tags": _items(lowered[key])}
    for suffix, (name, is_list) in OVERRIDES.items():
        value = lowered.get(f"{key}-{suffix}")
        if value is None:
            continue
        if name == "priority_range":
            raw[name] = _band(value, f"{discover_tag}-{suffix}", nsg_id)
        else:
            raw[name] = _items(value) if is_list else value.strip()
    return parse_target(raw, f"{nsg_id} (from its '{discover_tag}' tags)")


def discovered_targets(
    nsgs: Iterable[tuple[str, Mapping[str, str]]], settings: Settings, taken: set[str]
) -> list[Target | TargetError]:
    """Targets from (NSG id, Azure tags) pairs; ids in ``taken`` (lower-case) are skipped."""
    found: list[Target | TargetError] = []
    for nsg_id, tags in nsgs:
        if nsg_id.lower() in taken:
            continue
        try:
            target = target_from_tags(nsg_id, tags, settings.discover_tag)
        except TargetError as exc:
            found.append(exc)
            continue
        if target is not None:
            found.append(target)
    return found


def _items(value: str) -> list[str]:
    return [item for item in _SPLIT.split(value.strip()) if item]


def _band(value: str, tag: str, nsg_id: str) -> list[int]:
    match = re.fullmatch(r"\s*(\d+)\s*-\s*(\d+)\s*", value)
    if not match:
        raise TargetError(
            f"target {nsg_id}: tag {tag}={value!r} is not 'low-high', e.g. 200-299", nsg=nsg_id
        )
    return [int(match[1]), int(match[2])]
