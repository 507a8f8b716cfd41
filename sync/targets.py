"""Where targets come from: ``IPSYNC_TARGETS`` and resources that opt in with an Azure tag.

A resource tagged ``<discover_tag>=Storage.WestEurope,AzureMonitor.WestEurope`` becomes a
target of its kind with that kind's defaults. Tags named ``<discover_tag>-<field>`` on the same
resource set a field, e.g. ``ipsync-families=v4``, ``ipsync-policy=add-only``, and for NSGs
``ipsync-ports=443,1433`` or ``ipsync-priority=3000-3099``. A resource that an explicit target
already names is not discovered again: the explicit target wins.

Tags are a lower-trust channel than the settings (whoever may tag a resource may opt it in),
so the operator's settings bound what they do: which service tags they may select
(``IPSYNC_TAG_SELECT``), which fields they may set (``IPSYNC_TAG_OVERRIDES``), whether they may
ask for ``fit: cover`` (``IPSYNC_TAG_ALLOW_COVER``), where they may hand over a resource whose
whole list ipsync then owns (``IPSYNC_TAG_HANDOVER_RESOURCE_GROUPS``) and how many addresses
such a target may allow (:func:`tag_bound`, enforced by the guard stage).
"""

from __future__ import annotations

import difflib
import fnmatch
import re
from collections.abc import Collection, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from sync.core.prefixes import parse_prefix
from sync.errors import SettingsError, TargetError
from sync.feedsettings import setting_label
from sync.kinds import get_kind, parse_target, resource_of
from sync.kinds.ipgroup.plan import MANAGED_TAG
from sync.kinds.marks import GENERATION_TAG, RELEASE_TAG

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
#: ``policy`` only as ``add-only`` (``sync`` is the default anyway), ``fit`` as ``cover`` only
#: with IPSYNC_TAG_ALLOW_COVER.
TAG_ALLOWED = frozenset({"families", "fit", "policy"})
#: Values no tag may carry, whatever IPSYNC_TAG_OVERRIDES allows: they open to everyone.
TAG_FORBIDDEN_VALUES = frozenset({"*", "internet", "any", "0.0.0.0/0", "::/0"})
#: Tags ipsync writes on resources itself (an IP Group's owner; the release and generation
#: of a list): not settings.
OWN_TAGS = frozenset({MANAGED_TAG, RELEASE_TAG, GENERATION_TAG})
#: Fields whose tag value is a list (split on commas, semicolons or spaces).
_LISTS = {"families", "exclude_prefixes", "extra_prefixes", "ports", "local_prefixes"}
_SPLIT = re.compile(r"[\s,;]+")
_PORTS = re.compile(r"(\d+)(?:-(\d+))?")
#: The target field holding ports: a set of ranges covering every port counts as ``*``.
_PORT_FIELD = "ports"


def explicit_targets(settings: Settings) -> list[TargetSpec | TargetError]:
    """The targets of ``IPSYNC_TARGETS`` (or a settings file) and the lists of
    ``IPSYNC_LISTS``, each validated on its own."""
    found: list[TargetSpec | TargetError] = []
    origins = settings.origins
    raws: list[tuple[Any, str]] = []
    for index, raw in enumerate(settings.targets):
        where = origins.get(f"targets.{index}") or origins.get("targets")
        named = raw.get("resource") or raw.get("nsg") if isinstance(raw, dict) else None
        label = str(named or f"#{index + 1} of IPSYNC_TARGETS")
        raws.append((raw, f"#{index + 1} ({where})" if where is not None else label))
    for name, fields in settings.lists.items():
        raw = {"kind": "list", **fields, "name": name} if isinstance(fields, dict) else fields
        raws.append((raw, f"list {name} of IPSYNC_LISTS"))
    for raw, label in raws:
        try:
            found.append(parse_target(raw, label))
        except TargetError as exc:
            found.append(exc)
    return found


def named_in_settings(settings: Settings) -> set[str]:
    """Resource ids (lower-case) that ``IPSYNC_TARGETS`` and ``IPSYNC_LISTS`` name, valid
    targets or not."""
    lists = {f"lists/{name}".lower() for name in settings.lists}
    return ({resource_of(raw).lower() for raw in settings.targets} | lists) - {""}


def tag_bound(
    target: TargetSpec, settings: Settings, named: Collection[str]
) -> dict[str, int] | None:
    """The most addresses per family the target may allow because an Azure tag selected it
    (``IPSYNC_TAG_MAX_ADDRESSES_V4``/``_V6``), or None for a target the settings name
    (``named``: :func:`named_in_settings`)."""
    if target.resource_id.lower() in named:
        return None
    return {"v4": settings.tag_max_addresses_v4, "v6": settings.tag_max_addresses_v6}


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
    settings: Settings,
    kind: str = "nsg",
) -> TargetSpec | None:
    """The target a resource's Azure tags ask for, or None when it does not opt in.

    Beyond service tags that ``IPSYNC_TAG_SELECT`` allows, tags may set only
    :data:`TAG_ALLOWED` and what ``IPSYNC_TAG_OVERRIDES`` names, never a value of
    :data:`TAG_FORBIDDEN_VALUES` (nor every port), ``fit: cover`` only with
    ``IPSYNC_TAG_ALLOW_COVER``, and no suffix the kind does not know. Asking for more fails
    the target, loudly, naming every tag at fault.
    """
    discover_tag = settings.discover_tag
    lowered = {k.lower(): v for k, v in tags.items()}
    key = discover_tag.lower()
    if key not in lowered:
        return None
    spec: Kind = get_kind(kind)
    fields = {**COMMON_TAG_FIELDS, **spec.tag_fields}
    raw: dict[str, Any] = {"kind": kind, spec.id_field: resource_id}
    raw["service_tags"] = _items(lowered[key])
    refused = _unknown_suffixes(lowered, key, discover_tag, fields, kind)
    refused += _unselectable(raw["service_tags"], discover_tag, settings.tag_select)
    overrides = {o.lower() for o in settings.tag_overrides}
    allowed = TAG_ALLOWED | overrides
    for suffix, name in fields.items():
        value = lowered.get(f"{key}-{suffix}")
        if value is None:
            continue
        tag = f"{discover_tag}-{suffix}"
        wide = [v for v in _items(value) if v.lower() in TAG_FORBIDDEN_VALUES]
        if name == _PORT_FIELD and not wide and _every_port(_items(value)):
            wide = [f"{value.strip()} (every port, as *)"]
        if suffix not in allowed:
            refused.append(f"{tag} (not in IPSYNC_TAG_OVERRIDES)")
            continue
        if wide or (suffix == "policy" and value.strip() != "add-only" and suffix not in overrides):
            refused.append(f"{tag}={value.strip()} (a tag may not set {', '.join(wide) or value})")
            continue
        if suffix == "fit" and value.strip().lower() == "cover" and not settings.tag_allow_cover:
            refused.append(f"{tag}={value.strip()} (IPSYNC_TAG_ALLOW_COVER is off)")
            continue
        if name == "priority_range":
            raw[name] = _band(value, f"{discover_tag}-{suffix}", resource_id, kind)
        else:
            raw[name] = _items(value) if name in _LISTS else value.strip()
    if getattr(spec.target, "whole_list", False) and not _handed_over(resource_id, settings):
        refused.append(
            f"{discover_tag} (its whole list would become ipsync's: name it in IPSYNC_TARGETS "
            "or its resource group in IPSYNC_TAG_HANDOVER_RESOURCE_GROUPS)"
        )
    label = f"{resource_id} (from its '{discover_tag}' tags)"
    if refused:
        raise TargetError(
            f"target {label}: tags may not set {'; '.join(refused)}: settings decide that",
            resource=resource_id,
            kind=kind,
        )
    return parse_target(raw, label)


def _unknown_suffixes(
    lowered: Mapping[str, str], key: str, discover_tag: str, fields: Mapping[str, str], kind: str
) -> list[str]:
    """``<discover_tag>-<suffix>`` tags that set nothing the kind knows: a typo must not be
    ignored (``ipsync-familes=v4`` would sync both families)."""
    unknown = []
    for name in sorted(lowered):
        suffix = name.removeprefix(f"{key}-")
        if suffix == name or name in OWN_TAGS or suffix in fields:
            continue
        close = difflib.get_close_matches(suffix, fields, n=1, cutoff=0.6)
        hint = (
            f"did you mean {discover_tag}-{close[0]}?"
            if close
            else f"known: {', '.join(sorted(fields))}"
        )
        unknown.append(f"{discover_tag}-{suffix} (unknown for {kind} targets; {hint})")
    return unknown


def _unselectable(names: Iterable[str], discover_tag: str, patterns: Iterable[str]) -> list[str]:
    """Selected names that no pattern of ``IPSYNC_TAG_SELECT`` allows a tag to select."""
    globs = [p.lower() for p in patterns]
    refused = [n for n in names if not any(fnmatch.fnmatchcase(n.lower(), g) for g in globs)]
    if not refused:
        return []
    return [
        f"{discover_tag}={', '.join(refused)} (IPSYNC_TAG_SELECT allows tags to select only "
        f"{', '.join(globs) or 'nothing'})"
    ]


def _every_port(values: Iterable[str]) -> bool:
    """Whether port values (``443``, ``1000-2000``) together cover every port 1-65535."""
    spans = []
    for value in values:
        match = _PORTS.fullmatch(value)
        if match is None:
            return False  # not a port: the kind judges it
        low = int(match[1])
        spans.append((low, int(match[2]) if match[2] else low))
    reach = 1
    for low, high in sorted(spans):
        if low > reach:
            break
        reach = max(reach, high + 1)
    return reach > 65535


def _handed_over(resource_id: str, settings: Settings) -> bool:
    """Whether the settings let a tag hand this resource's whole list over to ipsync."""
    group_id = "/".join(resource_id.split("/")[:5]).lower()  # /subscriptions/s/resourceGroups/g
    group = group_id.rsplit("/", 1)[-1]
    return any(item.lower() in (group_id, group) for item in settings.tag_handover_resource_groups)


def discovered_targets(
    resources: Iterable[tuple[str, Mapping[str, str]]],
    settings: Settings,
    taken: set[str],
    kind: str = "nsg",
) -> list[TargetSpec | TargetError]:
    """Targets from (resource id, Azure tags) pairs; ids in ``taken`` (lower-case) are skipped,
    and so is every resource ``IPSYNC_TARGETS`` names, even one whose target failed there."""
    found: list[TargetSpec | TargetError] = []
    skip = taken | named_in_settings(settings)
    for resource_id, tags in resources:
        if resource_id.lower() in skip:
            continue
        try:
            target = target_from_tags(resource_id, tags, settings, kind)
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
