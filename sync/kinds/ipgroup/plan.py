"""What a target's IP Groups should hold, and the writes that get them there (no I/O).

ipsync owns the whole address list of a group it manages, so it manages a group only when the
group says so: an Azure tag ``ipsync-managed=<name of the set's first group>``. ipsync sets it
on the groups it creates for a numbered set; an operator sets it on an existing group to hand
it over. A group without it is refused, never written. The tag can only allow what the target
already names: it never makes ipsync look for other groups.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

from sync.core.budget import Budget, fit_to_budget
from sync.core.plan import TargetPlan, Write, parsed_prefix
from sync.kinds.base import held_marks
from sync.kinds.ipgroup.target import IpGroupTarget
from sync.kinds.marks import RELEASE_TAG

#: Addresses, CIDRs and ranges per IP Group.
MAX_ENTRIES = 5000
#: The tag that hands a group to ipsync; its value names the set (its first group).
MANAGED_TAG = "ipsync-managed"


def normalise(entry: str) -> tuple[str, ...]:
    """An entry as CIDRs: ``1.2.3.4`` is ``1.2.3.4/32``, ``a-b`` its covering CIDRs.

    An entry that is none of these (the service refuses them) stays as written, so it is
    replaced, never silently kept.
    """
    import netaddr

    text = entry.strip()
    try:
        if "-" in text:
            first, last = text.split("-", 1)
            return tuple(str(c) for c in netaddr.iprange_to_cidrs(first.strip(), last.strip()))
        return (parsed_prefix(text if "/" in text else f"{text}/32").text,)
    except (ValueError, netaddr.AddrFormatError):
        return (text,)


@dataclass(frozen=True)
class Group:
    """An IP Group as read: what ipsync needs to rewrite it without losing anything else."""

    name: str
    location: str
    tags: Mapping[str, str]
    entries: tuple[str, ...]
    etag: str | None

    @cached_property
    def cidrs(self) -> frozenset[str]:
        """Its entries as CIDRs (worked out once: a plan asks several times)."""
        return frozenset(c for entry in self.entries for c in normalise(entry))

    @property
    def managed_by(self) -> str | None:
        """The set named by the group's ``ipsync-managed`` tag (tag keys ignore case)."""
        return next((v for k, v in self.tags.items() if k.lower() == MANAGED_TAG), None)


@dataclass(frozen=True)
class GroupWrite:
    """A PUT of a whole group: where it lives, its tags, its entries and the etag read."""

    location: str
    tags: tuple[tuple[str, str], ...]
    entries: tuple[str, ...]
    etag: str | None


def _number(target: IpGroupTarget, name: str) -> int | None:
    """The group's number in the target's set (1 for the named group), else None."""
    if name.lower() == target.group_name.lower():
        return 1
    match = re.fullmatch(re.escape(target.group_name) + r"-(\d+)", name, re.IGNORECASE)
    return int(match[1]) if match and int(match[1]) >= 2 else None


def spread(wanted: Sequence[str], held: Sequence[frozenset[str]], size: int) -> list[list[str]]:
    """Entries per group: an entry stays in the group holding it, new ones fill the first room.

    So a release that changes a few entries rewrites only the groups they belong to.
    """
    out: list[list[str]] = [[] for _ in held]
    home = {cidr: k for k in reversed(range(len(held))) for cidr in held[k]}
    rest: list[str] = []
    for cidr in wanted:
        k = home.get(cidr)
        if k is not None and len(out[k]) < size:
            out[k].append(cidr)
        else:
            rest.append(cidr)
    for cidr in rest:
        k = next(k for k in range(len(out)) if len(out[k]) < size)
        out[k].append(cidr)
    return out


def _sorted(cidrs: Iterable[str]) -> tuple[str, ...]:
    def key(text: str) -> tuple[int, int, str]:
        try:
            parsed = parsed_prefix(text)
        except ValueError:
            return (1, 0, text)
        return (0, parsed.network, text)

    return tuple(sorted(cidrs, key=key))


def _write(
    name: str, old: Group | None, new: frozenset[str], location: str, base: str, release: str
) -> Write[GroupWrite]:
    before = old.cidrs if old else frozenset()
    tags = {**(dict(old.tags) if old else {MANAGED_TAG: base}), RELEASE_TAG: release}
    etag = old.etag if old else None
    payload = GroupWrite(location, tuple(sorted(tags.items())), _sorted(new), etag)
    return Write(
        "create" if old is None else "update",
        name,
        payload,
        _sorted(new - before),
        _sorted(before - new),
    )


def _members(target: IpGroupTarget, groups: Iterable[Group]) -> dict[int, Group]:
    """The target's set by number: group 1 is the named group, then ``<name>-2``, ..."""
    members: dict[int, Group] = {}
    for group in groups:
        number = _number(target, group.name)
        if number is not None:
            members[number] = group
    return members


def _beyond(target: IpGroupTarget, members: Mapping[int, Group]) -> list[int]:
    """Managed groups of the set past ``max_groups`` (the target was lowered): emptied."""
    base = target.group_name.lower()
    return sorted(
        number
        for number, group in members.items()
        if number > target.max_groups and (group.managed_by or "").lower() == base
    )


def held_cidrs(target: IpGroupTarget, groups: Iterable[Group]) -> frozenset[str]:
    """What the target's groups hold now."""
    members = _members(target, groups)
    numbers = [*range(1, target.max_groups + 1), *_beyond(target, members)]
    return frozenset().union(*(members[n].cidrs for n in numbers if n in members))


def plan_target(
    target: IpGroupTarget, prefixes: Sequence[str], groups: Sequence[Group], release: str
) -> TargetPlan[GroupWrite] | str:
    """The target's group writes, or a refusal (ownership, fit), or why it cannot be.

    Groups 1..max_groups hold the selection; a group of the set beyond ``max_groups`` (the
    target was lowered) is emptied, never deleted: a firewall rule may still name it, and a
    group in use cannot be deleted.
    """
    base = target.group_name
    members = _members(target, groups)
    if 1 not in members:
        return (
            f"{target.where}: IP Group {base} does not exist; create it (with the tag "
            f"{MANAGED_TAG}={base}) and run again"
        )
    for number, group in sorted(members.items()):
        if number <= target.max_groups and (group.managed_by or "").lower() != base.lower():
            return TargetPlan(
                target,
                refused=(
                    f"{target.where}: IP Group {group.name} has no tag {MANAGED_TAG}={base}, "
                    "so ipsync will not replace its addresses; tag it to hand it over"
                ),
            )
    extra = _beyond(target, members)
    slots = range(1, target.max_groups + 1)
    budget = Budget(
        MAX_ENTRIES * target.max_groups,
        f"limit {MAX_ENTRIES} entries per IP Group, max_groups {target.max_groups}",
    )
    fitted = fit_to_budget(
        {"v4": _sorted(prefixes)},
        budget,
        mode=target.fit,
        max_entries=target.max_entries,
        where=target.where,
        prefer=held_cidrs(target, groups),
    )
    if fitted.refused is not None:
        return TargetPlan(target, refused=fitted.refused, fit=fitted.account)
    desired = fitted.by_family["v4"]
    current = [members[n].cidrs if n in members else frozenset[str]() for n in slots]
    layout = spread(desired, current, MAX_ENTRIES)
    location = members[1].location
    writes: list[Write[GroupWrite]] = []
    for number, entries in zip(slots, layout, strict=True):
        old, new = members.get(number), frozenset(entries)
        if (old is None and not new) or (old is not None and old.cidrs == new):
            continue
        writes.append(_write(target.member(number), old, new, location, base, release))
    for number in extra:
        if members[number].cidrs:
            writes.append(
                _write(members[number].name, members[number], frozenset(), location, base, release)
            )
    return TargetPlan(target, tuple(writes), frozenset(desired), fit=fitted.account)


def held_releases(groups: Iterable[Group]) -> tuple[str, ...]:
    """The releases ipsync last wrote the groups from, read back from their tags."""
    return tuple(
        mark
        for group in groups
        for key, value in group.tags.items()
        if key.lower() == RELEASE_TAG and group.managed_by is not None
        for mark in held_marks(value)
    )
