"""What changed between two releases, per selector (service tag), judged on addresses.

A text diff of the JSON misleads: when Microsoft merges two prefixes into one, or splits one,
lines come and go while the addresses stay. So prefix strings serve only to skip a selector
whose list is unchanged; every other one is compared as address ranges
(:mod:`sync.core.prefixes`): what the new release allows and the old did not is added, the
reverse removed, each aggregated into the fewest CIDRs. A selector that only re-aggregated is
no change. A selector that appears or disappears lists all its addresses as added or removed.

Pure: two :class:`~sync.core.feed.Release` in, a :class:`ReleaseDiff` out. Any feed that
builds the release model (selectors with prefixes and a region) is compared the same way.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from sync.core.prefixes import FAMILIES, Family, aggregate, family_of
from sync.core.selection import addresses
from sync.errors import FeedError

if TYPE_CHECKING:
    from sync.core.feed import Release, ServiceTag


class TagChange(NamedTuple):
    """One selector's change: aggregated CIDRs added and removed (IPv4 first, by address)."""

    name: str
    region: str
    added: tuple[str, ...]
    removed: tuple[str, ...]
    #: ``changed``, ``new`` (only in the new release) or ``gone`` (only in the old one).
    status: str = "changed"

    def addresses(self, family: Family) -> tuple[int, int]:
        """Addresses of ``family`` added and removed."""
        return (
            addresses([p for p in self.added if family_of(p) == family]),
            addresses([p for p in self.removed if family_of(p) == family]),
        )


class ReleaseDiff(NamedTuple):
    """The selectors whose addresses changed from release ``old`` to ``new`` (their marks)."""

    old: str
    new: str
    tags: tuple[TagChange, ...]

    @property
    def changed(self) -> bool:
        return bool(self.tags)

    def totals(self) -> dict[Family, tuple[int, int]]:
        """Per family, addresses added and removed, summed over the selectors listed.

        Selectors overlap (``AzureCloud`` holds every ``AzureCloud.<region>``), so an address
        counts once per selector that gained or lost it.
        """
        result: dict[Family, tuple[int, int]] = {}
        for family in FAMILIES:
            counts = [tag.addresses(family) for tag in self.tags]
            result[family] = (sum(a for a, _ in counts), sum(r for _, r in counts))
        return result

    def restricted(self, names: Iterable[str]) -> ReleaseDiff:
        """Only the selectors named (any case): what one configuration selects."""
        wanted = {name.lower() for name in names}
        return self._replace(tags=tuple(t for t in self.tags if t.name.lower() in wanted))

    def as_json(self) -> dict[str, Any]:
        """``{"old", "new", "tags": {name: {"added": [...], "removed": [...]}}}``."""
        return {
            "old": self.old,
            "new": self.new,
            "tags": {
                tag.name: {"added": list(tag.added), "removed": list(tag.removed)}
                for tag in self.tags
            },
        }


def diff_releases(
    old: Release,
    new: Release,
    *,
    tags: Sequence[str] = (),
    match: str | None = None,
    region: str | None = None,
) -> ReleaseDiff:
    """The selectors whose addresses differ between ``old`` and ``new``, by name.

    ``tags`` keeps only those names (any case; a name in neither release is an error with a
    "did you mean"), ``match`` those whose name contains the text (any case), ``region``
    those of that region (exact, any case); every filter given must hold.
    """
    names = _names(old, new, tags)
    needle = (match or "").lower()
    place = (region or "").lower()
    changes = []
    for name in sorted(names, key=str.lower):
        if needle and needle not in name.lower():
            continue
        before, after = old.tags.get(name), new.tags.get(name)
        where = after.region if after is not None else before.region if before else ""
        if place and where.lower() != place:
            continue
        change = compare(name, where, before, after)
        if change is not None:
            changes.append(change)
    return ReleaseDiff(old.mark, new.mark, tuple(changes))


def _names(old: Release, new: Release, wanted: Sequence[str]) -> Collection[str]:
    """Every selector of either release, or the exact names of ``wanted`` as they are spelled."""
    if not wanted:
        return set(old.tags) | set(new.tags)
    found = set()
    for name in wanted:
        try:
            found.add(new.find(name).name)
            continue
        except FeedError as missing:
            problem = missing
        try:
            found.add(old.find(name).name)
        except FeedError:
            raise FeedError(f"{problem} It is not in release {old.mark} either.") from None
    return found


def compare(
    name: str, region: str, before: ServiceTag | None, after: ServiceTag | None
) -> TagChange | None:
    """One selector's change, or None when it allows the same addresses in both releases."""
    old = before.address_prefixes if before is not None else []
    new = after.address_prefixes if after is not None else []
    if set(old) == set(new):
        return None  # same prefixes: same addresses, no need to look closer
    added = aggregate(new, exclude=old)
    removed = aggregate(old, exclude=new)
    if not any(added.values()) and not any(removed.values()):
        return None  # only re-aggregated
    status = "new" if before is None else "gone" if after is None else "changed"
    return TagChange(
        name,
        region,
        tuple(added["v4"] + added["v6"]),
        tuple(removed["v4"] + removed["v6"]),
        status,
    )


#: IPv6 amounts of a /64 or more are told in /64 networks (2**64 addresses each).
SLASH_64 = 1 << 64


def amounts(added: int, removed: int, family: Family) -> str:
    """``+42 -0 addresses``; IPv6 from a /64 up in ``/64s`` (``~`` when rounded)."""
    if family == "v4" or max(added, removed) < SLASH_64:
        return f"+{added:,} -{removed:,} addresses"

    def in_64s(count: int) -> str:
        rounded = round(count / SLASH_64)
        return f"{rounded:,}" if rounded * SLASH_64 == count else f"~{rounded:,}"

    return f"+{in_64s(added)} -{in_64s(removed)} /64s"
