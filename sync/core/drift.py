"""Drift: entries ipsync wrote that someone else removed or changed since it wrote them.

A redeployed template that rewrites a whole list, or a hand edit in the portal, takes away
what ipsync allowed; the next run puts it back, but the operator should hear that it happened
(and who else writes there). Compared on addresses: an entry rewritten as other prefixes
covering the same addresses has not drifted. Pure: what ipsync last wrote, entry by entry,
and what the resource holds now, in; the facts out.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import NamedTuple

from sync.core.prefixes import FAMILIES, aggregate
from sync.core.selection import addresses


class Drifted(NamedTuple):
    """One entry that is not as ipsync wrote it."""

    entry: str
    #: ``removed`` (the entry is gone) or ``changed`` (it allows other addresses).
    how: str
    #: Addresses it allows now and did not, and no longer allows.
    added: int = 0
    removed: int = 0


def drift(
    written: Mapping[str, Collection[str]], found: Mapping[str, Collection[str]]
) -> list[Drifted]:
    """Entries of ``written`` that ``found`` lacks or changed; both map an entry's name (a
    rule, or one key for a whole nameless list) to its canonical CIDRs."""
    result = []
    for name in sorted(written):
        wrote = list(written[name])
        if name not in found:
            result.append(Drifted(name, "removed", 0, _addresses(wrote)))
            continue
        now = list(found[name])
        if set(now) == set(wrote):
            continue
        gained, lost = _addresses(_minus(now, wrote)), _addresses(_minus(wrote, now))
        if gained or lost:
            result.append(Drifted(name, "changed", gained, lost))
    return result


def drift_notes(drifted: list[Drifted]) -> list[str]:
    """One note per drifted entry, for the report."""
    notes = []
    for item in drifted:
        if item.how == "removed":
            notes.append(
                f"drift: {item.entry} that ipsync wrote was removed by someone else "
                f"({item.removed:,} addresses); a sync writes it again"
            )
        else:
            notes.append(
                f"drift: {item.entry} was changed by someone else since ipsync wrote it "
                f"(+{item.added:,} -{item.removed:,} addresses)"
            )
    return notes


def _minus(prefixes: list[str], other: list[str]) -> list[str]:
    parts = aggregate(prefixes, exclude=other)
    return [p for family in FAMILIES for p in parts[family]]


def _addresses(prefixes: list[str]) -> int:
    return addresses(_minus(prefixes, []))
