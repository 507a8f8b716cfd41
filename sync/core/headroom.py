"""Headroom: when a target is near the end of its capacity or of its ``max_extra_ratio``.

A target that fills its capacity is refused (``fit: exact``) or covered with more unpublished
addresses (``fit: cover``) the week its tags grow; one whose cover nears ``max_extra_ratio``
is refused the week the cover grows past it. Both are worth knowing a week early, in the
report's notes and on the status page, before a guard has to refuse. Pure.
"""

from __future__ import annotations

from typing import NamedTuple

#: Near capacity from this share of the capacity in use (``IPSYNC_NEAR_CAPACITY_RATIO``).
NEAR_CAPACITY_RATIO = 0.9
#: Near the limit from this share of ``max_extra_ratio`` in use (``IPSYNC_NEAR_EXTRA_RATIO``).
NEAR_EXTRA_RATIO = 0.8


class Thresholds(NamedTuple):
    """From which share of each limit a target counts as near it (0..1)."""

    capacity: float = NEAR_CAPACITY_RATIO
    extra: float = NEAR_EXTRA_RATIO


class Headroom(NamedTuple):
    """What is left of one target's limits; ``None`` where the number is not known."""

    entries: int
    capacity: int
    #: The largest share, over the families, of unpublished addresses a cover allows.
    extra_ratio: float | None = None
    max_extra_ratio: float | None = None

    @property
    def capacity_used(self) -> float:
        return self.entries / self.capacity if self.capacity else 1.0

    @property
    def extra_used(self) -> float | None:
        """The share of ``max_extra_ratio`` in use; None when either is unknown."""
        if self.extra_ratio is None or self.max_extra_ratio is None:
            return None
        if not self.max_extra_ratio:
            return 1.0 if self.extra_ratio else 0.0
        return self.extra_ratio / self.max_extra_ratio


DEFAULT = Thresholds()
#: How headroom notes begin: the report's readers tell them from other notes by it.
PREFIXES = ("near capacity: ", "near max_extra_ratio: ")


def headroom_notes(headroom: Headroom, thresholds: Thresholds = DEFAULT) -> list[str]:
    """A note per limit the target is near; none when it has room."""
    notes = []
    # Beyond the capacity the target is refused, and the refusal says so with the numbers.
    if _reached(headroom.capacity_used, thresholds.capacity) and headroom.capacity_used <= 1:
        notes.append(
            f"{PREFIXES[0]}{headroom.entries} of {headroom.capacity} entries in use "
            f"({headroom.capacity_used:.0%}, notes from {thresholds.capacity:.0%}); a growing "
            "tag will need a cover or be refused"
        )
    used = headroom.extra_used
    if used is not None and headroom.extra_ratio and _reached(used, thresholds.extra):
        notes.append(
            f"{PREFIXES[1]}the cover allows {headroom.extra_ratio:.2%} unpublished "
            f"addresses of {headroom.max_extra_ratio:.0%} ({used:.0%} of it, notes from "
            f"{thresholds.extra:.0%}); a larger cover will be refused"
        )
    return notes


def is_headroom(note: str) -> bool:
    return note.startswith(PREFIXES)


def _reached(used: float, threshold: float) -> bool:
    """``used >= threshold``, blind to float noise (0.08 / 0.1 is 0.7999999999999999)."""
    return round(used, 9) >= threshold
