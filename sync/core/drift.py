"""Drift: entries ipsync wrote that someone else removed or changed since it wrote them.

A redeployed template that rewrites a whole list, or a hand edit in the portal, takes away
what ipsync allowed; the next sync puts it back, but the operator should hear that it
happened (and that someone else writes there). Compared per IP family on addresses, between
what the target's record says ipsync last wrote and what the target's own entries allow now
(:meth:`sync.kinds.base.Kind.owned`): entries rewritten as other prefixes covering the same
addresses have not drifted. Pure: two sets of CIDRs in, the facts out.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import NamedTuple

from sync.core.diff import amounts
from sync.core.prefixes import FAMILIES, Family, aggregate, family_of
from sync.core.selection import addresses

#: How every drift note begins: the report's readers (notifications, ``/api/health``, the
#: status page) tell drift from other notes by it.
PREFIX = "drift: "
_NAMES = {"v4": "IPv4", "v6": "IPv6"}


class Drifted(NamedTuple):
    """One family of a target's entries that is not as ipsync wrote it."""

    family: Family
    #: ``removed`` (none of what ipsync wrote is left) or ``changed``.
    how: str
    #: Addresses the entries allow now that ipsync did not write, and those they no longer do.
    added: int = 0
    removed: int = 0


def drift(written: Collection[str], found: Collection[str]) -> list[Drifted]:
    """Per family, how the target's own entries (``found``, canonical CIDRs) differ from
    what ipsync last wrote into them (``written``)."""
    result = []
    for family in FAMILIES:
        wrote = [p for p in written if family_of(p) == family]
        now = [p for p in found if family_of(p) == family]
        if set(now) == set(wrote):
            continue
        gained, lost = addresses(_minus(now, wrote)), addresses(_minus(wrote, now))
        if wrote and not now:
            result.append(Drifted(family, "removed", 0, lost))
        elif gained or lost:
            result.append(Drifted(family, "changed", gained, lost))
    return result


def drift_notes(drifted: list[Drifted]) -> list[str]:
    """One note per drifted family, for the report."""
    notes = []
    for item in drifted:
        told = amounts(item.added, item.removed, item.family)
        what = f"{PREFIX}the {_NAMES[item.family]} entries ipsync wrote were {item.how}"
        back = "writes them again" if item.how == "removed" else "sets them back"
        notes.append(f"{what} by someone else since its last run ({told}); a sync {back}")
    return notes


def is_drift(note: str) -> bool:
    return note.startswith(PREFIX)


def _minus(prefixes: list[str], other: list[str]) -> list[str]:
    parts = aggregate(prefixes, exclude=other)
    return [p for family in FAMILIES for p in parts[family]]
