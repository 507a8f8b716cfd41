"""``run(settings) -> Report``: the one entry point the CLI and the Functions app share.

One run resolves the targets (explicit and discovered), reads each feed they take from once
(:mod:`sync.releases`), and syncs each resource in its own worker: writes to one resource are
serial, resources run in parallel with a small bound. A failure is contained to its target (or
resource); nothing that fails removes an allowed range, because every resource's writes run
make-before-break and stop at the first error. The engine knows allow-lists only through the
kind protocol (:mod:`sync.kinds.base`).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sync.azure.writes import ArmWriter, Deadline, OutOfTime, Stale
from sync.candidates import candidates as visited
from sync.core.guards import Proposal, Thresholds, judge, trusted
from sync.core.headroom import Thresholds as Headroom
from sync.core.plan import TargetPlan, Write, add_only, make_before_break
from sync.core.selection import Selection
from sync.errors import ArmError, IpsyncError, TargetError
from sync.kinds import get_kind
from sync.kinds.base import Gateway, Kind, PlanContext, Snapshot, TargetSpec, details_of
from sync.releases import RunFeeds
from sync.report import (
    Change,
    Report,
    SourceInfo,
    SourceMark,
    TargetReport,
    new_run_id,
    primary,
)
from sync.resourceplan import PlanWatch, ResourcePlan
from sync.state import State
from sync.state.ownership import Conflict, Record
from sync.state.records import TargetRecords, sizes
from sync.targetnotes import describe, drift_of
from sync.targets import (
    check_breadth,
    named_in_settings,
    tag_bound,
)

if TYPE_CHECKING:
    from sync.azure.client import Clients
    from sync.core.feed import Release
    from sync.settings import Settings

log = logging.getLogger(__name__)

#: How often one resource is re-read and re-planned after a 412 or a lost response.
MAX_REPLANS = 4


@dataclass(eq=False)
class _Item:
    """One target on a resource: what it selects, and what it has done so far in this run."""

    target: TargetSpec
    selection: Selection
    report: TargetReport
    #: Selected tags that came out empty in this release (the guard stage refuses them).
    empty: tuple[str, ...] = ()
    #: The target's own record, read once it has something to write (or keeps everything).
    record: Record | None = None
    #: The most addresses per family it may allow, when an Azure tag selected it.
    bound: Mapping[str, int] | None = None
    #: Its record as this run claimed it before writing (:meth:`TargetRecords.claim`).
    claimed: Record | None = None
    #: Per feed, what it selects of each, when it takes from several (the guards judge each
    #: feed as well as the union).
    parts: Mapping[str, Selection] = field(default_factory=dict)
    #: Drift notes, from the first read of this run (None: not looked at yet).
    drift: tuple[str, ...] | None = None


@dataclass(frozen=True)
class _Run:
    """What every resource's sync shares: the releases' marks, the guards, the records."""

    context: PlanContext
    thresholds: Thresholds
    force: bool
    records: TargetRecords
    #: Sees each resource's plan before its writes, and may stop them (saved plans).
    watch: PlanWatch | None = None


@dataclass
class _Job:
    """The targets on one resource, in the order they were given."""

    kind: Kind
    resource_id: str
    items: list[_Item] = field(default_factory=list)


def run(
    settings: Settings,
    *,
    force: bool = False,
    stop: threading.Event | None = None,
    run_id: str | None = None,
    watch: PlanWatch | None = None,
    only: Callable[[str], bool] | None = None,
) -> Report:
    """Sync (or, with ``settings.dry_run``, plan) every target; never raises for bad input.

    ``stop``, once set, lets no further write start (the Functions app sets it when its run
    lock is lost); what is left is reported and waits for the next run. ``watch`` sees the
    release and each resource's plan before its writes (:mod:`sync.resourceplan`). ``only``
    keeps the resources (by id) this run syncs, the rest being another's: a work item of a
    run fanned out over several invocations (:mod:`sync.app.fanout`).
    """
    from sync.azure.client import Clients

    began = time.monotonic()
    report = Report(
        ok=False,
        dry_run=settings.dry_run,
        run_id=run_id or new_run_id(),
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    try:
        if settings.nothing_to_sync:
            raise TargetError(settings.nothing_to_sync)
        clients = Clients(settings)
        deadline = Deadline(settings.time_budget_s, start=began, stop=stop)  # downloads count
        feeds = RunFeeds(settings)
        jobs, failed = _resolve(settings, feeds, clients, deadline)
        if watch is not None:
            for loaded in feeds.loaded.values():
                watch.release(loaded)
        if only is not None:
            jobs = [job for job in jobs if only(job.resource_id)]
            failed = [row for row in failed if only(row.resource)]
        if any(job.kind.arm_type for job in jobs):
            clients.sign_in()  # once, before any target: a failure is one line for the run
        report.targets.extend(failed)
        report.sources = _source_info(feeds, jobs)
        report.source = primary(report.sources)
        state = State.open(settings)
        first = report.source
        shared = _Run(
            PlanContext(
                first.mark if first else "", first.cloud if first else "", feeds.marks, feeds.labels
            ),
            guard_thresholds(settings, feeds.loaded.values()),
            force,
            state.records,
            watch,
        )
        with ThreadPoolExecutor(max_workers=min(settings.parallelism, max(len(jobs), 1))) as pool:
            done = pool.map(
                lambda job: _sync(job, clients, settings, state, shared, deadline), jobs
            )
            for reports in done:
                report.targets.extend(reports)
    except IpsyncError as exc:
        report.error = str(exc)
    report.writes = sum(t.writes for t in report.targets)
    report.ok = report.error is None and all(
        t.status not in ("failed", "refused") for t in report.targets
    )
    report.duration_s = round(time.monotonic() - began, 3)
    return report


def _resolve(
    settings: Settings, feeds: RunFeeds, clients: Clients, deadline: Deadline
) -> tuple[list[_Job], list[TargetReport]]:
    """Targets grouped by resource, each with its selection; invalid ones become failed reports,
    and so do those taking from a feed that could not be read."""
    candidates = visited(settings, clients, deadline)
    if not candidates:
        raise TargetError(
            f"nothing to sync: IPSYNC_TARGETS is empty and no resource carries the tag "
            f"'{settings.discover_tag}'"
        )
    named = named_in_settings(settings)
    feeds.load(feed for c in candidates if isinstance(c, TargetSpec) for feed in c.feeds)
    failed: list[TargetReport] = []
    groups: dict[str, _Job] = {}
    marks = feeds.marks
    for candidate in candidates:
        if isinstance(candidate, TargetError):
            failed.append(_report_error(candidate))
            continue
        try:
            check_breadth(candidate, settings)
            problem = feeds.problem(candidate)
            if problem is not None:
                raise TargetError(problem)
            selection, parts, empty = feeds.chosen(candidate)
        except IpsyncError as exc:
            message = f"target {candidate.resource_id}: {exc}"
            failed.append(_report(candidate, "failed", message, marks))
            continue
        key = candidate.resource_id.lower()
        job = groups.setdefault(key, _Job(get_kind(candidate.kind), candidate.resource_id))
        report = _report(candidate, "unchanged", marks=marks)
        bound = tag_bound(candidate, settings, named)
        job.items.append(_Item(candidate, selection, report, empty, bound=bound, parts=parts))
    for job in groups.values():
        clashes = job.kind.conflicts([item.target for item in job.items])
        for index in sorted(clashes, reverse=True):
            failed.append(_report(job.items[index].target, "failed", clashes[index]))
        job.items = [item for index, item in enumerate(job.items) if index not in clashes]
    return [job for job in groups.values() if job.items], failed


def _report(
    target: TargetSpec,
    status: Any,
    error: str | None = None,
    marks: Mapping[str, str] | None = None,
) -> TargetReport:
    """A target's report row: its selectors by feed, with the marks of the releases read."""
    found = marks or {}
    return TargetReport(
        kind=target.kind,
        resource=target.resource_id,
        status=status,
        error=error,
        service_tags=list(target.service_tags),
        sources=[
            SourceMark(feed=feed, select=list(names), mark=found.get(feed))
            for feed, names in target.feeds.items()
        ],
    )


def _report_error(error: TargetError) -> TargetReport:
    """The report of a target that could not even be parsed."""
    return TargetReport(
        kind=error.kind,
        resource=error.resource,
        status="failed",
        error=str(error),
    )


def guard_thresholds(settings: Settings, releases: Iterable[Release]) -> Thresholds:
    """The guard stage's settings: the operator's ratios and bounds, and how far each release's
    feed ever steps its marks."""
    from sync.releases import steps_of

    return Thresholds(
        max_remove_ratio=settings.max_remove_ratio,
        max_add_ratio=settings.max_add_ratio,
        broadest={"v4": settings.min_prefixlen_v4, "v6": settings.min_prefixlen_v6},
        steps=steps_of(releases),
    )


def _sync(
    job: _Job,
    clients: Clients,
    settings: Settings,
    state: State,
    run: _Run,
    deadline: Deadline,
) -> list[TargetReport]:
    """Plan and apply every target of one resource; re-read and re-plan when it moved."""
    reports = [item.report for item in job.items]
    writer = ArmWriter(job.resource_id, deadline, settings.poll_interval_s)
    try:
        gateway = job.kind.gateway(clients, job.resource_id, writer, state)
        name = job.resource_id.rsplit("/", 1)[-1]
        for _ in range(MAX_REPLANS):
            snapshot = gateway.read()
            log.info("%s %s: read", job.kind.name, name)
            plans = _plan(job, snapshot, run)
            log.info("%s: %d changes planned", name, sum(len(p.to_apply) for _, p in plans))
            if run.watch is not None:
                _show(job, snapshot, plans, run.watch, run.context.release, settings.headroom)
            if settings.dry_run:
                _record_plans(job, plans, settings.headroom)
                return reports
            try:
                _claim(plans, run, writer)
                _apply(job, plans, gateway, writer, snapshot.etag, settings.headroom)
                log.info("%s: written (%d requests)", name, writer.writes)
                _remember(plans, run)
                return reports
            except Stale as exc:
                log.info("%s: %s; re-reading and re-planning", job.resource_id, exc)
                _withdraw(job, run)
        raise ArmError(
            f"{job.resource_id}: it kept changing under us; gave up after {MAX_REPLANS} re-plans"
        )
    except IpsyncError as exc:
        _withdraw(job, run)
        for report in reports:
            if report.status not in ("refused", "failed") and report.error is None:
                report.status = "failed"
                report.error = str(exc)
        return reports


Planned = list[tuple[_Item, TargetPlan[Any]]]


def _plan(job: _Job, snapshot: Snapshot, run: _Run) -> Planned:
    """Plans of the resource's targets still in play, each through the one guard stage; a
    target that cannot be planned fails alone.

    ``policy: add-only`` is applied here, once, for every kind: what the target holds (as
    ipsync wrote it) joins the selection before the kind plans, so nothing leaves. A target
    with writes is checked for drift on the first read of the run (a later read would count
    this run's own writes).
    """
    live = [item for item in job.items if item.report.status != "failed"]
    wanted = [(item.target, _wanted(item, job.kind, snapshot, run)) for item in live]
    results = job.kind.plan(wanted, snapshot, run.context)
    plans: Planned = []
    for item, result in zip(live, results, strict=True):
        if isinstance(result, str):
            item.report.status, item.report.error = "failed", result
            continue
        if result.writes and item.drift is None:
            written = run.records.written(item.target, _record(item, run.records))
            item.drift = drift_of(item.target, job.kind, snapshot, written)
        reason = None
        if result.refused is None and result.writes:
            proposal = _proposal(item, job.kind, snapshot, result, run)
            reason = judge(proposal, run.thresholds, force=run.force)
        plans.append((item, result.refuse(reason) if reason else result))
    return plans


def _record(item: _Item, records: TargetRecords) -> Record:
    if item.record is None:
        item.record = records.load(item.target)
    return item.record


def _wanted(item: _Item, kind: Kind, snapshot: Snapshot, run: _Run) -> Selection:
    """The selection the kind should plan for: with add-only, what the target holds joins it
    (kept back from removal and reported as held back)."""
    item.report.held_back = []
    if item.target.policy != "add-only":
        return item.selection
    record = _record(item, run.records)
    holds = trusted(kind.owned(item.target, snapshot), run.records.written(item.target, record))
    grown, kept = add_only(frozenset(item.selection.prefixes), holds)
    if not kept:
        return item.selection
    item.report.held_back = [
        Change(rule=item.target.resource_id.rsplit("/", 1)[-1], action="update",
               removed=sorted(kept))
    ]  # fmt: skip
    v4 = tuple(sorted(p for p in grown if ":" not in p))
    v6 = tuple(sorted(p for p in grown if ":" in p))
    return item.selection._replace(v4=v4, v6=v6)


def _proposal(
    item: _Item, kind: Kind, snapshot: Snapshot, plan: TargetPlan[Any], run: _Run
) -> Proposal:
    """What the guard stage judges of one target's plan."""
    target, selection = item.target, item.selection
    record = _record(item, run.records)
    return Proposal(
        where=target.where,
        families=target.families,
        before=kind.owned(target, snapshot),
        after=plan.after,
        published={f: selection.family(f) for f in target.families},
        parts={
            feed: {f: part.family(f) for f in target.families} for feed, part in item.parts.items()
        },
        written=run.records.written(target, record),
        empty=item.empty,
        held=(*snapshot.releases, *record.marks),
        incoming=run.context.marks_of(target),
        peaks=record.peaks,
        fit=plan.fit,
        max_extra_ratio=target.max_extra_ratio,
        tag_bound=item.bound,
    )


def _claim(plans: Planned, run: _Run, writer: ArmWriter) -> None:
    """Announce each target's writes in its record, over the record its plan read: a run
    that planned from the same record meanwhile re-reads and meets this release."""
    for item, plan in plans:
        if plan.refused is None and plan.to_apply and item.claimed is None:
            record = _record(item, run.records)
            try:
                item.claimed = run.records.claim(
                    item.target, record, run.context.release, writer.pause
                )
            except Conflict:
                raise Stale("its record changed since it was read") from None


def _withdraw(job: _Job, run: _Run) -> None:
    """Take back the claims of targets that wrote nothing; read every record again."""
    for item in job.items:
        wrote = any(c.confirmed for c in item.report.changes)
        if item.claimed is not None and item.record is not None and not wrote:
            run.records.withdraw(item.target, item.claimed, item.record)
        item.record = item.claimed = None


def _remember(plans: Planned, run: _Run) -> None:
    """After the writes: each target that wrote keeps what it wrote, from which release, and
    its largest selection. One whose writes stopped part-way counts what it held too, so an
    entry it may have written is never mistaken for one widened by hand."""
    for item, plan in plans:
        report = item.report
        if report.status == "refused" or not any(c.confirmed for c in report.changes):
            if item.claimed is not None and item.record is not None:
                run.records.withdraw(item.target, item.claimed, item.record)
            continue
        written = plan.after
        if report.status != "applied":
            record = _record(item, run.records)
            written = written | (record.written or frozenset())
        run.records.record(
            item.target,
            written=written,
            marks=run.context.marks_of(item.target),
            now=sizes(item.target, item.selection),
            reset=run.force,
        )


def _change(write: Write[Any], kind: Kind) -> Change:
    return Change(
        rule=write.name,
        action=write.action,
        added=list(write.added),
        removed=list(write.removed),
        details=details_of(kind, write.payload) if write.action == "create" else None,
    )


def _apply(
    job: _Job,
    plans: Planned,
    gateway: Gateway,
    writer: ArmWriter,
    etag: str | None,
    headroom: Headroom,
) -> None:
    """Send the writes of every target of the resource, make-before-break across targets too.

    An address may move from one target's entry to another's in one run, so the writes of all
    targets are ordered together: those that only add go first, then updates that take
    something away, deletes last. A target stops at its first failed write; others go on.
    """
    queue: list[tuple[_Item, Write[Any]]] = []
    for item, plan in plans:
        report = item.report
        describe(report, item.target, plan, item.drift, headroom)
        if plan.refused is not None:
            report.status, report.error = "refused", plan.refused
            report.changes = [_change(w, job.kind) for w in plan.writes]
            continue
        queue.extend((item, write) for write in plan.to_apply)
    queue = make_before_break(queue)
    stopped: set[_Item] = set()
    for position, (item, write) in enumerate(queue):
        if item in stopped:
            continue
        report = item.report
        left = [w.name for i, w in queue[position:] if i is item]
        if stopped and (write.action == "delete" or write.removed):
            # An address may be moving to the target that failed: take nothing away now.
            report.status = "failed"
            report.error = f"removals held back after another target failed; left: {left}"
            stopped.add(item)
            continue
        before = writer.writes
        try:
            etag = gateway.send(write, etag)
        except OutOfTime as exc:
            report.status, report.error = "failed", f"{exc}; left for the next run: {left}"
            stopped.add(item)
            continue
        except ArmError as exc:
            report.status, report.error = "failed", str(exc)
            stopped.add(item)
            continue
        except Stale as exc:
            if exc.maybe_written:
                # The write may have happened: the audit shows it, the re-read decides.
                _sent(report, write, job.kind, unconfirmed=True)
            raise
        finally:
            report.writes += writer.writes - before
        _sent(report, write, job.kind)


def _sent(
    report: TargetReport, write: Write[Any], kind: Kind, *, unconfirmed: bool = False
) -> None:
    """Add a sent write to the report, once, even when a re-plan sends it again."""
    change = _change(write, kind)
    change.confirmed = not unconfirmed
    report.changes = [c for c in report.changes if c.rule != write.name]
    report.changes.append(change)
    report.status = "applied"


def _record_plans(job: _Job, plans: Planned, headroom: Headroom) -> None:
    for item, plan in plans:
        _as_planned(item.report, item, plan, job.kind, headroom)


def _as_planned(
    report: TargetReport, item: _Item, plan: TargetPlan[Any], kind: Kind, headroom: Headroom
) -> None:
    """What a dry run reports of a target's plan (into ``report``: the item's, or a copy)."""
    describe(report, item.target, plan, item.drift, headroom)
    report.changes = [_change(w, kind) for w in plan.writes]
    if plan.refused is not None:
        report.status, report.error = "refused", plan.refused
    elif plan.writes:
        report.status = "planned"


def _show(
    job: _Job,
    snapshot: Snapshot,
    plans: Planned,
    watch: PlanWatch,
    release: str,
    headroom: Headroom,
) -> None:
    """Show the resource's plan to the run's watch before any write; its objection stops
    every write to the resource (its targets fail with it)."""
    views = []
    for item, plan in plans:
        view = item.report.model_copy(deep=True)
        _as_planned(view, item, plan, job.kind, headroom)
        views.append(view)
    objection = watch.planned(
        ResourcePlan(
            kind=job.kind.name,
            resource_id=job.resource_id,
            read=snapshot,
            release=release,
            given=tuple(item.target for item, _ in plans),
            targets=tuple(views),
        )
    )
    if objection is not None:
        raise TargetError(objection, job.resource_id, job.kind.name)


def _source_info(feeds: RunFeeds, jobs: list[_Job]) -> list[SourceInfo]:
    """One entry per feed read: its release, and a fingerprint of what the run's targets that
    take from it select."""
    found = []
    for feed, release in feeds.loaded.items():
        digest = hashlib.sha256()
        selections = (i.selection for job in jobs for i in job.items if feed in i.target.feeds)
        for fingerprint in sorted(selection.sha256 for selection in selections):
            digest.update(fingerprint.encode())
        found.append(
            SourceInfo(
                feed=feed,
                cloud=release.cloud,
                mark=release.mark,
                change_number=release.change_number,
                origin=release.origin,
                sha256=digest.hexdigest(),
            )
        )
    return found
