"""Where targets come from: ``IPSYNC_TARGETS`` and resources that opt in with an Azure tag.

A resource tagged ``<discover_tag>=Storage.WestEurope,AzureMonitor`` becomes a target of its
kind with that kind's defaults. Tags named ``<discover_tag>-<field>`` on the same resource set
a field, e.g. ``ipsync-families=v4``, ``ipsync-policy=add-only``, and for NSGs
``ipsync-ports=443,1433`` or ``ipsync-priority=3000-3099``. A resource that an explicit target
already names is not discovered again: the explicit target wins.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from sync.core.prefixes import parse_prefix
from sync.errors import SettingsError, TargetError
from sync.feedsettings import setting_label
from sync.kinds import get_kind, parse_target

if TYPE_CHECKING:
    from sync.kinds.base import Kind, TargetSpec
    from sync.settings import Settings

#: Tag suffix -> target field, for the fields every kind has.
COMMON_TAG_FIELDS: dict[str, str] = {
    "families": "families",
    "policy": "policy",
    "fit": "fit",
    "exclude": "exclude_prefixes",
    "extra": "extra_prefixes",
}
#: What a tag may set without IPSYNC_TAG_OVERRIDES: it can narrow or choose, never widen.
#: ``policy`` only as ``add-only`` (``sync`` is the default anyway).
TAG_ALLOWED = frozenset({"families", "fit", "policy"})
#: Values no tag may carry, whatever IPSYNC_TAG_OVERRIDES allows: they open to everyone.
TAG_FORBIDDEN_VALUES = frozenset({"*", "internet", "any", "0.0.0.0/0", "::/0"})
#: Fields whose tag value is a list (split on commas, semicolons or spaces).
_LISTS = {"families", "exclude_prefixes", "extra_prefixes", "ports", "local_prefixes"}
_SPLIT = re.compile(r"[\s,;]+")


def explicit_targets(settings: Settings) -> list[TargetSpec | TargetError]:
    """The targets of ``IPSYNC_TARGETS`` (or a settings file), each validated on its own."""
    found: list[TargetSpec | TargetError] = []
    origins = settings.origins
    for index, raw in enumerate(settings.targets):
        where = origins.get(f"targets.{index}") or origins.get("targets")
        named = raw.get("resource") or raw.get("nsg") if isinstance(raw, dict) else None
        label = str(named or f"#{index + 1} of IPSYNC_TARGETS")
        if where is not None:
            label = f"#{index + 1} ({where})"
        try:
            found.append(parse_target(raw, label))
        except TargetError as exc:
            found.append(exc)
    return found


def check_explicit_targets(settings: Settings) -> None:
    """Raise the first explicit target's error as a settings error: where a person runs
    ipsync, a target written wrong is a mistake in the settings, told before any Azure call
    (the Functions app instead reports it as that target's failure and syncs the others)."""
    for target in explicit_targets(settings):
        if isinstance(target, TargetError):
            raise SettingsError(str(target))


def tag_suffixes(kinds: Iterable[str]) -> set[str]:
    """Every ``<discover_tag>-<suffix>`` a tag may use with these kinds."""
    return set(COMMON_TAG_FIELDS).union(*(get_kind(k).tag_fields for k in kinds))


def target_from_tags(
    resource_id: str,
    tags: Mapping[str, str],
    discover_tag: str,
    kind: str = "nsg",
    overrides: Collection[str] = (),
) -> TargetSpec | None:
    """The target a resource's Azure tags ask for, or None when it does not opt in.

    Tags are a lower-trust channel than the settings: beyond the service tags they may set
    only :data:`TAG_ALLOWED` and what ``overrides`` (IPSYNC_TAG_OVERRIDES) names, and never a
    value of :data:`TAG_FORBIDDEN_VALUES`. Asking for more fails the target, loudly.
    """
    lowered = {k.lower(): v for k, v in tags.items()}
    key = discover_tag.lower()
    if key not in lowered:
        return None
    spec: Kind = get_kind(kind)
    raw: dict[str, Any] = {"kind": kind, spec.id_field: resource_id}
    raw["service_tags"] = _items(lowered[key])
    allowed = TAG_ALLOWED | {o.lower() for o in overrides}
    refused: list[str] = []
    for suffix, name in {**COMMON_TAG_FIELDS, **spec.tag_fields}.items():
        value = lowered.get(f"{key}-{suffix}")
        if value is None:
            continue
        tag = f"{discover_tag}-{suffix}"
        wide = [v for v in _items(value) if v.lower() in TAG_FORBIDDEN_VALUES]
        if suffix not in allowed:
            refused.append(f"{tag} (not in IPSYNC_TAG_OVERRIDES)")
            continue
        if wide or (suffix == "policy" and value.strip() != "add-only" and suffix not in overrides):
            refused.append(f"{tag}={value.strip()} (a tag may not set {', '.join(wide) or value})")
            continue
        if name == "priority_range":
            raw[name] = _band(value, f"{discover_tag}-{suffix}", resource_id, kind)
        else:
            raw[name] = _items(value) if name in _LISTS else value.strip()
    label = f"{resource_id} (from its '{discover_tag}' tags)"
    if refused:
        raise TargetError(
            f"target {label}: tags may not set {'; '.join(refused)}: settings decide that",
            resource=resource_id,
            kind=kind,
        )
    return parse_target(raw, label)


def discovered_targets(
    resources: Iterable[tuple[str, Mapping[str, str]]],
    settings: Settings,
    taken: set[str],
    kind: str = "nsg",
) -> list[TargetSpec | TargetError]:
    """Targets from (resource id, Azure tags) pairs; ids in ``taken`` (lower-case) are skipped."""
    found: list[TargetSpec | TargetError] = []
    for resource_id, tags in resources:
        if resource_id.lower() in taken:
            continue
        try:
            target = target_from_tags(
                resource_id, tags, settings.discover_tag, kind, settings.tag_overrides
            )
        except TargetError as exc:
            found.append(exc)
            continue
        if target is not None:
            found.append(target)
    return found


def check_overrides(settings: Settings, kinds: Iterable[str]) -> None:
    """IPSYNC_TAG_OVERRIDES must name tag suffixes that exist: a typo would silently grant
    nothing, or be read later as something else."""
    known = tag_suffixes(kinds)
    unknown = sorted({o.lower() for o in settings.tag_overrides} - known)
    if unknown:
        raise SettingsError(
            f"{setting_label(settings, 'tag_overrides')}: unknown {', '.join(unknown)}; "
            f"known: {', '.join(sorted(known))}"
        )


def check_breadth(target: TargetSpec, settings: Settings) -> None:
    """Prefixes a target adds obey the same minimum prefix length as the feed's."""
    minimum = {4: settings.min_prefixlen_v4, 6: settings.min_prefixlen_v6}
    for name, values in target.address_fields().items():
        for value in values:
            try:
                parsed = parse_prefix(value)
            except ValueError:
                continue  # not a CIDR (a service tag name): the kind judges it
            if parsed.prefixlen < minimum[parsed.version]:
                raise TargetError(
                    f"{name}: {value} is broader than "
                    f"/{minimum[parsed.version]} "
                    f"({setting_label(settings, f'min_prefixlen_v{parsed.version}')})",
                    resource=target.resource_id,
                    kind=target.kind,
                )


def _items(value: str) -> list[str]:
    return [item for item in _SPLIT.split(value.strip()) if item]


def _band(value: str, tag: str, resource_id: str, kind: str) -> list[int]:
    match = re.fullmatch(r"\s*(\d+)\s*-\s*(\d+)\s*", value)
    if not match:
        raise TargetError(
            f"target {resource_id}: tag {tag}={value!r} is not 'low-high', e.g. 200-299",
            resource=resource_id,
            kind=kind,
        )
    return [int(match[1]), int(match[2])]
