"""What ipsync keeps on a resource itself, beside its ownership record, and how far the record
is trusted against it.

A record lives apart from the resource, so it can be lost or restored from an older copy.
Where the resource takes Azure tags, every write of ipsync also sets two tags of its own in
the same request as the entries: ``ipsync-release`` (the release written, so losing the
registry does not re-open a rollback) and ``ipsync-generation`` (a number that grows with each
write). The record remembers the generation its ``owned`` describes. A record whose generation
is not the resource's describes another state of the list (an older copy restored, a write
whose record was never saved, a tag changed by hand): it is not trusted to remove anything,
and every entry present is kept, as when there is no record at all.

Pure: tags and records in, a verdict out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sync.state.ownership import Record

#: The Azure tag recording the release (its mark) a resource was last written from.
RELEASE_TAG = "ipsync-release"
#: The Azure tag numbering ipsync's writes to a resource's list.
GENERATION_TAG = "ipsync-generation"


def _tag(tags: Mapping[str, str], name: str) -> str | None:
    """A tag's value; Azure tag names ignore case."""
    return next((v for k, v in tags.items() if k.lower() == name), None)


def released(tags: Mapping[str, str] | None) -> tuple[str, ...]:
    """The release the resource's tag says it holds (none when it has no such tag)."""
    value = _tag(tags or {}, RELEASE_TAG)
    return tuple(value.split()) if value else ()  # one mark per feed, space-separated


@dataclass(frozen=True)
class Generation:
    """The resource's generation as read: a number, none (no tag), or not a number."""

    value: int | None
    #: The tag's text when it is not a whole number (someone wrote it by hand).
    unreadable: str | None = None

    @classmethod
    def of(cls, tags: Mapping[str, str]) -> Generation:
        text = _tag(tags, GENERATION_TAG)
        if text is None:
            return cls(None)
        if text.isascii() and text.isdigit():
            return cls(int(text))
        return cls(None, text)


@dataclass(frozen=True)
class Trust:
    """What of a list ipsync may treat as its own, and why not more."""

    owned: frozenset[str]
    #: The resource's generation as read (None when the kind keeps no tags).
    generation: Generation | None
    #: The generation ipsync's next write gives the list.
    next: int
    #: Why the record is not trusted, for the report.
    note: str | None = None


def trust(record: Record, tags: Mapping[str, str] | None, where: str) -> Trust:
    """How far ``record`` describes the list whose resource carries ``tags``.

    ``tags`` None: the kind keeps nothing on the resource, so the record is all there is
    (while a write is announced and unsettled, only what both sides of it agree on is owned).
    """
    pending = record.pending
    claimed = pending.generation if pending is not None else None
    known = [g for g in (record.generation, claimed) if g is not None]
    if tags is None:
        owned = record.owned & pending.owned if pending is not None else record.owned
        return Trust(owned, None, max(known, default=0) + 1)
    now = Generation.of(tags)
    following = max([*known, now.value or 0]) + 1
    if now.value == record.generation and now.unreadable is None:
        return Trust(record.owned, now, following)
    if pending is not None and now.value == pending.generation:
        return Trust(pending.owned, now, following)  # written, its record never settled
    if not record.exists:
        return Trust(frozenset(), now, following)
    shown = (
        f"{GENERATION_TAG}={now.unreadable or now.value}"
        if now != Generation(None)
        else f"no {GENERATION_TAG} tag"
    )
    mine = "no generation" if record.generation is None else f"generation {record.generation}"
    return Trust(
        frozenset(),
        now,
        following,
        f"the ownership record in {where} describes {mine} of the list, but the resource "
        f"carries {shown} (a record restored from an older copy, or a tag changed by hand): "
        "it is not trusted to remove anything, and every entry present is kept",
    )


def marked(tags: Mapping[str, str], release: str, generation: int) -> dict[str, str]:
    """The resource's tags with ipsync's release and generation set (any case replaced)."""
    ours = {RELEASE_TAG: release, GENERATION_TAG: str(generation)}
    kept = {k: v for k, v in tags.items() if k.lower() not in ours}
    return {**kept, **ours}
