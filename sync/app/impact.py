"""``plan --impact``: what a new release does to your own allow-lists, before it is applied.

For a config: which targets and published lists the release changes, the entries (CIDRs)
each adds and removes, the writes expected, and whether a guard would refuse it, summed
across every target. Two ways to know:

- from the plan itself (:func:`from_report`, the dry run's report): exact, since it reads
  each resource as it is;
- ``--offline`` (:func:`offline_impact`), reading no Azure resource: each explicit target is
  taken to hold what ipsync last wrote into it (its record in the state place) or, without a
  record, what the previous release selected; the guard stage judges that change as it would
  the plan. A target taking ``sources`` from other feeds reads them as a run does
  (:class:`sync.releases.RunFeeds`); without a record it counts as a first sync. Writes are
  not known offline (they depend on how the resource holds its entries), nor are targets that
  opt in by an Azure tag (discovery reads Azure).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from sync.core.guards import Proposal, judge
from sync.core.selection import select
from sync.errors import FeedError, IpsyncError, TargetError

if TYPE_CHECKING:
    from sync.core.diff import ReleaseDiff
    from sync.core.feed import Release
    from sync.core.guards import Thresholds
    from sync.kinds.base import TargetSpec
    from sync.releases import RunFeeds
    from sync.report import Report, TargetReport
    from sync.settings import Settings


class TargetImpact(NamedTuple):
    """What the release does to one target."""

    kind: str
    resource: str
    service_tags: tuple[str, ...]
    #: The selected tags (any case) whose addresses the release changed.
    tags_changed: tuple[str, ...]
    #: ``planned``, ``unchanged``, ``refused`` or ``failed``.
    status: str
    #: Entries (CIDRs) added and removed.
    added: int
    removed: int
    #: Writes a sync would send; None when not known (offline).
    writes: int | None
    #: Why a guard refuses it, or why it cannot be planned.
    reason: str | None = None


class Impact(NamedTuple):
    """The release's impact on every target of a config."""

    release: str
    #: The release compared with for the tags changed; None when none is known.
    previous: str | None
    targets: tuple[TargetImpact, ...]
    offline: bool = False
    notes: tuple[str, ...] = ()

    def totals(self) -> dict[str, int | None]:
        """Across every target: how many a sync would change, entries added and removed
        (refused targets' too), writes, refusals and failures."""
        writes = [t.writes for t in self.targets if t.status == "planned"]
        return {
            "targets": len(self.targets),
            "changed": sum(1 for t in self.targets if t.status == "planned"),
            "added": sum(t.added for t in self.targets),
            "removed": sum(t.removed for t in self.targets),
            "writes": None if None in writes else sum(w or 0 for w in writes),
            "refused": sum(1 for t in self.targets if t.status == "refused"),
            "failed": sum(1 for t in self.targets if t.status == "failed"),
        }

    def exit_code(self) -> int:
        """As ``plan``'s: 1 a target failed, 3 one is refused, 2 changes, 0 none."""
        totals = self.totals()
        if totals["failed"]:
            return 1
        if totals["refused"]:
            return 3
        return 2 if totals["changed"] else 0

    def as_json(self) -> dict[str, Any]:
        return {
            "release": self.release,
            "previous": self.previous,
            "offline": self.offline,
            "totals": self.totals(),
            "targets": [t._asdict() for t in self.targets],
            "notes": list(self.notes),
        }


def _changed(tags: Sequence[str], diff: ReleaseDiff | None) -> tuple[str, ...]:
    if diff is None:
        return ()
    moved = {change.name.lower() for change in diff.tags}
    return tuple(tag for tag in tags if tag.lower() in moved)


def from_report(report: Report, diff: ReleaseDiff | None) -> Impact:
    """The impact a dry run's ``report`` planned; ``diff`` (previous release -> this one)
    says which selected tags moved."""
    if report.error is not None:
        raise IpsyncError(report.error)
    rows = [_row(target, diff) for target in report.targets]
    release = str(report.source.change_number) if report.source else "?"
    return Impact(release, diff.old if diff else None, tuple(rows))


def _row(target: TargetReport, diff: ReleaseDiff | None) -> TargetImpact:
    changes = target.changes
    return TargetImpact(
        target.kind,
        target.resource,
        tuple(target.service_tags),
        _changed(target.service_tags, diff),
        target.status,
        sum(len(c.added) for c in changes),
        sum(len(c.removed) for c in changes),
        len(changes) if target.status == "planned" else 0,
        target.error,
    )


def offline_impact(
    settings: Settings, release: Release, previous: Release | None, diff: ReleaseDiff | None
) -> Impact:
    """The impact on each explicit target, reading no Azure resource (see the module)."""
    from sync.engine import guard_thresholds
    from sync.releases import RunFeeds
    from sync.state import State
    from sync.targets import explicit_targets

    records = State.open(settings).records
    targets = explicit_targets(settings)
    feeds = RunFeeds(settings)
    feeds.loaded[release.feed] = release
    feeds.load(f for t in targets if not isinstance(t, TargetError) for f in t.feeds)
    thresholds = guard_thresholds(settings, feeds.loaded.values())
    rows = []
    for target in targets:
        if isinstance(target, TargetError):
            rows.append(
                TargetImpact(target.kind, target.resource, (), (), "failed", 0, 0, 0, str(target))
            )
            continue
        try:
            rows.append(_offline_row(target, feeds, previous, diff, records, thresholds))
        except IpsyncError as exc:
            rows.append(
                TargetImpact(target.kind, target.resource_id, tuple(target.service_tags), (),
                             "failed", 0, 0, 0, str(exc))
            )  # fmt: skip
    notes = [
        "offline: entries are the published CIDRs (before a cover's fit), writes are not "
        "known, and targets that opt in by an Azure tag are not seen"
    ]
    if previous is None:
        notes.append("no earlier release known: targets without a record count as first syncs")
    return Impact(release.mark, diff.old if diff else None, tuple(rows), True, tuple(notes))


def _offline_row(
    target: TargetSpec,
    feeds: RunFeeds,
    previous: Release | None,
    diff: ReleaseDiff | None,
    records: Any,
    thresholds: Thresholds,
) -> TargetImpact:
    problem = feeds.problem(target)
    if problem is not None:
        raise FeedError(problem)
    chosen = feeds.chosen(target)
    now = chosen.selection
    record = records.load(target)
    written = records.written(target, record)
    if written is not None:
        before = written
    elif previous is not None and list(target.feeds) == [previous.feed]:
        before = frozenset(
            select(previous, target.service_tags, families=target.families,
                   extra=target.extra_prefixes, exclude=target.exclude_prefixes).prefixes
        )  # fmt: skip
    else:
        before = frozenset()
    after = frozenset(now.prefixes)
    if target.policy == "add-only":
        after |= before
    added, removed = after - before, before - after
    reason = None
    if added or removed:
        proposal = Proposal(
            where=target.where,
            families=target.families,
            before=before,
            after=after,
            published={f: now.family(f) for f in target.families},
            parts={
                feed: {f: part.family(f) for f in target.families}
                for feed, part in chosen.parts.items()
            },
            written=written,
            empty=chosen.empty,
            held=record.marks,
            incoming=tuple(feeds.marks[feed] for feed in target.feeds),
            peaks=record.peaks,
            max_extra_ratio=target.max_extra_ratio,
        )
        reason = judge(proposal, thresholds)
    status = "refused" if reason else "planned" if added or removed else "unchanged"
    return TargetImpact(
        target.kind,
        target.resource_id,
        tuple(target.service_tags),
        _changed(target.service_tags, diff),
        status,
        len(added),
        len(removed),
        None,
        reason,
    )


def render_impact(impact: Impact) -> str:
    """The summary line, then a line per target, refusals with their reason."""
    t = impact.totals()
    since = f" (since {impact.previous})" if impact.previous else ""
    writes = "writes not known offline" if t["writes"] is None else f"{t['writes']} writes"
    lines = [
        f"impact of release {impact.release}{since} on {t['targets']} targets: "
        f"{t['changed']} to change, +{t['added']} -{t['removed']} entries, {writes}, "
        f"{t['refused']} refused, {t['failed']} failed"
    ]
    for row in impact.targets:
        parts = row.resource.split("/")
        name = f"{parts[4]}/{parts[-1]}" if len(parts) > 8 else row.resource
        line = f"  {row.kind} {name} [{', '.join(row.service_tags)}]: {row.status}"
        if row.added or row.removed:
            line += f", +{row.added} -{row.removed} entries"
        if row.writes:
            line += f", {row.writes} writes"
        if row.tags_changed:
            line += f"; the release changed {', '.join(row.tags_changed)}"
        if row.reason:
            line += f"\n    {'refused' if row.status == 'refused' else 'failed'}: {row.reason}"
        lines.append(line)
    lines += [f"note: {note}" for note in impact.notes]
    return "\n".join(lines)


def impact_command(settings: Settings, offline: bool, since: str | None) -> Impact:
    """``plan --impact``: the release the settings name, against ``since`` (a release file)
    or the newest other release kept in the cache; planned against Azure unless ``offline``."""
    from sync.core.diff import diff_releases
    from sync.feeds import load_release
    from sync.feeds.archive import cache_archive
    from sync.feeds.cache import default_cache_dir

    release = load_release(settings)
    archive = cache_archive(settings.cache_dir or default_cache_dir())
    kept = archive.keep(release)
    entry = kept.before if kept is not None else archive.before(release)
    previous = (
        load_release(settings, release.feed, source=since)
        if since
        else archive.load(entry)
        if entry is not None
        else None
    )
    diff = diff_releases(previous, release) if previous is not None else None
    if offline:
        return offline_impact(settings, release, previous, diff)
    from sync.engine import run

    return from_report(run(settings), diff)
