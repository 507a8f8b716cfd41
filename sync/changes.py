"""Kept changes: per release that changed something selected, what changed and where.

The change feed (``GET /api/changes``, its Atom form) and the status page read these: one
:class:`ChangeEntry` per release a run applied that changed the addresses of a service tag
some target or list selects, holding the diff restricted to those tags and the targets and
lists it touched. Pure: a :class:`~sync.core.diff.ReleaseDiff` and a run's targets in, an
entry out; the entries are small JSON documents, kept by the caller (bounded).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

from pydantic import BaseModel, Field

from sync.core.diff import ReleaseDiff
from sync.core.prefixes import FAMILIES
from sync.report import TargetReport

#: Namespace of entry ids: the same release change is the same entry wherever it is read.
ENTRY_NAMESPACE = uuid.UUID("5f0c6a43-8e53-4b5e-9d55-2c3c8f4d7a10")


class TagDelta(BaseModel):
    """One service tag's change: aggregated CIDRs and their address counts per family."""

    added: list[str] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)
    #: Addresses added and removed, per family (``v4``, ``v6``).
    addresses: dict[str, tuple[int, int]] = Field(default_factory=dict)


class TargetImpact(BaseModel):
    """A target or published list whose selection the release changed."""

    kind: str
    resource: str
    #: The run's outcome for it (``applied``, ``planned``, ``refused``, ...).
    status: str
    #: Its service tags that changed.
    service_tags: list[str]
    #: Prefixes its writes added and removed (0 and 0 when a guard held it back).
    added: int = 0
    removed: int = 0
    error: str | None = None


class ChangeEntry(BaseModel):
    """What one release changed in what a configuration selects."""

    id: str
    #: The feed of the releases (``azure``: Microsoft's service tags).
    feed: str = "azure"
    cloud: str
    #: The release marks: the one applied, and the one before it.
    mark: str
    previous: str
    #: When the run that applied it started (ISO 8601, UTC).
    seen_at: str
    run_id: str | None = None
    tags: dict[str, TagDelta]
    targets: list[TargetImpact] = Field(default_factory=list)
    #: True when the CIDRs were left out to keep the entry small; the counts remain.
    cidrs_omitted: bool = False

    def without_cidrs(self) -> ChangeEntry:
        """The entry with its address counts but no CIDRs (:attr:`cidrs_omitted`)."""
        tags = {
            name: delta.model_copy(update={"added": [], "removed": []})
            for name, delta in self.tags.items()
        }
        return self.model_copy(update={"tags": tags, "cidrs_omitted": True})

    def totals(self) -> dict[str, tuple[int, int]]:
        """Per family, addresses added and removed over the tags."""
        return {
            family: (
                sum(t.addresses.get(family, (0, 0))[0] for t in self.tags.values()),
                sum(t.addresses.get(family, (0, 0))[1] for t in self.tags.values()),
            )
            for family in FAMILIES
        }


def entry_id(cloud: str, previous: str, mark: str) -> str:
    """A stable id for the change from ``previous`` to ``mark``: ``urn:uuid:...``."""
    return uuid.uuid5(ENTRY_NAMESPACE, f"{cloud}\n{previous}\n{mark}").urn


def change_entry(
    diff: ReleaseDiff,
    *,
    feed: str = "azure",
    cloud: str,
    selected: Iterable[str],
    targets: Sequence[TargetReport],
    seen_at: datetime,
    run_id: str | None = None,
) -> ChangeEntry | None:
    """The entry for ``diff`` restricted to the ``selected`` tags; None if none changed.

    ``targets`` are the run's target reports (published lists among them): those selecting a
    changed tag of ``feed`` are listed, with what their writes added and removed.
    """
    wanted = diff.restricted(selected)
    if not wanted.changed:
        return None
    changed = {tag.name.lower(): tag.name for tag in wanted.tags}
    impacts = []
    for target in targets:
        names = [changed[t.lower()] for t in target.selected(feed) if t.lower() in changed]
        if not names:
            continue
        written = target.changes if target.status in ("applied", "planned") else []
        impacts.append(
            TargetImpact(
                kind=target.kind,
                resource=target.resource,
                status=target.status,
                service_tags=names,
                added=sum(len(c.added) for c in written),
                removed=sum(len(c.removed) for c in written),
                error=target.error,
            )
        )
    return ChangeEntry(
        id=entry_id(cloud, diff.old, diff.new),
        feed=feed,
        cloud=cloud,
        mark=diff.new,
        previous=diff.old,
        seen_at=seen_at.isoformat(timespec="seconds"),
        run_id=run_id,
        tags={
            tag.name: TagDelta(
                added=list(tag.added),
                removed=list(tag.removed),
                addresses={f: tag.addresses(f) for f in FAMILIES},
            )
            for tag in wanted.tags
        },
        targets=impacts,
    )
