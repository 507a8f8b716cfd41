"""``run(settings) -> Report``: the one entry point the CLI and the Functions app share.

One run reads the release once, resolves the targets (explicit and discovered), and syncs each
NSG in its own worker: writes to one NSG are serial, NSGs run in parallel with a small bound.
A failure is contained to its target (or NSG); nothing that fails removes an allowed range,
because every NSG's writes run make-before-break and stop at the first error.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sync.core.selection import Selection, select
from sync.errors import ArmError, IpsyncError, TargetError
from sync.kinds.nsg.gateway import Deadline, NsgGateway, OutOfTime, StaleNsg
from sync.kinds.nsg.plan import (
    RulePlan,
    TargetPlan,
    check_bands,
    check_limits,
    desired_rules,
    make_before_break,
    plan_target,
)
from sync.kinds.nsg.rules import Rule
from sync.report import Report, SourceInfo, TargetReport
from sync.settings import Settings, Target
from sync.targets import discovered_targets, explicit_targets

if TYPE_CHECKING:
    from collections.abc import Callable

    from azure.mgmt.network import NetworkManagementClient

    from sync.core.feed import Release

    _ClientFor = Callable[[str], NetworkManagementClient]

log = logging.getLogger(__name__)

#: How often one NSG is re-read and re-planned after a 412 or a lost response.
MAX_REPLANS = 4


@dataclass
class _Job:
    """The targets of one NSG and what they have done so far in this run."""

    nsg_id: str
    items: list[tuple[Target, Selection]]
    reports: dict[int, TargetReport] = field(default_factory=dict)


def run(settings: Settings, *, force: bool = False) -> Report:
    """Sync (or, with ``settings.dry_run``, plan) every target; never raises for bad input."""
    from sync.azure.client import make_client
    from sync.sources.release import load_release

    began = time.monotonic()
    report = Report(
        ok=False,
        dry_run=settings.dry_run,
        run_id=uuid.uuid4().hex,
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    try:
        if not settings.targets and not (settings.subscription_id and settings.discover_tag):
            raise TargetError(
                "nothing to sync: set IPSYNC_TARGETS, or IPSYNC_SUBSCRIPTION_ID to discover "
                f"NSGs tagged '{settings.discover_tag or 'ipsync'}'"
            )
        release = load_release(settings)
        clients: dict[str, NetworkManagementClient] = {}

        def client_for(subscription: str) -> NetworkManagementClient:
            key = subscription.lower()
            if key not in clients:
                clients[key] = make_client(settings, subscription)
            return clients[key]

        jobs, failed = _resolve(settings, release, client_for)
        report.targets.extend(failed)
        report.source = _source_info(release, jobs)
        deadline = Deadline(settings.time_budget_s, start=began)  # downloads count too
        with ThreadPoolExecutor(max_workers=min(settings.parallelism, max(len(jobs), 1))) as pool:
            done = pool.map(
                lambda job: _sync_nsg(job, client_for, settings, release, deadline, force), jobs
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
    settings: Settings, release: Release, client_for: _ClientFor
) -> tuple[list[_Job], list[TargetReport]]:
    """Targets grouped by NSG, each with its selection; invalid ones become failed reports."""
    candidates = explicit_targets(settings)
    if settings.subscription_id and settings.discover_tag:
        taken = {t.nsg.lower() for t in candidates if isinstance(t, Target)}
        client = client_for(settings.subscription_id)
        try:
            nsgs = [(n.id, n.tags or {}) for n in client.network_security_groups.list_all() if n.id]
        except Exception as exc:
            raise ArmError(f"cannot list the subscription's NSGs for discovery: {exc}") from None
        candidates += discovered_targets(nsgs, settings, taken)
    failed: list[TargetReport] = []
    groups: dict[str, _Job] = {}
    for candidate in candidates:
        if isinstance(candidate, TargetError):
            failed.append(_failed(candidate.nsg, str(candidate)))
            continue
        try:
            selection = select(
                release,
                candidate.service_tags,
                families=candidate.families,
                extra=candidate.extra_prefixes,
                exclude=candidate.exclude_prefixes,
            )
        except IpsyncError as exc:
            failed.append(_failed(candidate.nsg, f"target {candidate.nsg}: {exc}", candidate))
            continue
        job = groups.setdefault(candidate.nsg.lower(), _Job(candidate.nsg, []))
        job.items.append((candidate, selection))
    if not candidates:
        raise TargetError(
            f"nothing to sync: IPSYNC_TARGETS is empty and no NSG carries the tag "
            f"'{settings.discover_tag}'"
        )
    for job in groups.values():
        clashes = check_bands([t for t, _ in job.items])
        for index in sorted(clashes, reverse=True):
            target, _ = job.items.pop(index)
            failed.append(_failed(target.nsg, clashes[index], target))
    return [job for job in groups.values() if job.items], failed


def _sync_nsg(
    job: _Job,
    client_for: _ClientFor,
    settings: Settings,
    release: Release,
    deadline: Deadline,
    force: bool,
) -> list[TargetReport]:
    """Plan and apply every target of one NSG; re-read and re-plan when the NSG moved."""
    for index, (target, _) in enumerate(job.items):
        job.reports[index] = TargetReport(
            nsg=target.nsg, status="unchanged", service_tags=list(target.service_tags)
        )
    first = job.items[0][0]
    try:
        gateway = NsgGateway(
            client_for(first.subscription_id),
            job.nsg_id,
            first.resource_group,
            first.nsg_name,
            deadline,
        )
        for _ in range(MAX_REPLANS):
            snapshot = gateway.read()
            plans = _plan(job, snapshot.rules, settings, release, force)
            if settings.dry_run:
                _record_plans(job, plans)
                return list(job.reports.values())
            try:
                _apply(job, plans, gateway, snapshot.etag)
                return list(job.reports.values())
            except StaleNsg as exc:
                log.info("NSG %s: %s; re-reading and re-planning", job.nsg_id, exc)
        raise ArmError(
            f"NSG {job.nsg_id}: it kept changing under us; gave up after {MAX_REPLANS} re-plans"
        )
    except IpsyncError as exc:
        for report in job.reports.values():
            if report.status not in ("refused", "failed") and report.error is None:
                report.status = "failed"
                report.error = str(exc)
        return list(job.reports.values())


def _plan(
    job: _Job, current: list[Rule], settings: Settings, release: Release, force: bool
) -> dict[int, TargetPlan]:
    """Plans of the NSG's targets still in play; a target that cannot be planned fails alone."""
    plans: dict[int, TargetPlan] = {}
    for index, (target, selection) in enumerate(job.items):
        if job.reports[index].status == "failed":
            continue
        prefixes = {"v4": selection.v4, "v6": selection.v6}
        try:
            desired = desired_rules(target, prefixes, current, change_number=release.change_number)
        except TargetError as exc:
            job.reports[index].status, job.reports[index].error = "failed", str(exc)
            continue
        plans[index] = plan_target(
            target, desired, current, max_remove_ratio=settings.max_remove_ratio, force=force
        )
    keys = list(plans)
    for position, reason in check_limits(current, list(plans.values())).items():
        plans[keys[position]] = plans[keys[position]].refuse(reason)
    return plans


def _apply(job: _Job, plans: dict[int, TargetPlan], gateway: NsgGateway, etag: str | None) -> None:
    """Send the writes of every target of the NSG, make-before-break across targets too.

    An address may move from one target's rule to another's in one run, so the writes of all
    targets are ordered together: those that only add go first, then updates that take
    something away, deletes last. A target stops at its first failed write; others go on.
    """
    queue: list[tuple[int, RulePlan]] = []
    for index, plan in plans.items():
        report = job.reports[index]
        report.held_back = [w.change() for w in plan.held_back]
        if plan.refused is not None:
            report.status, report.error = "refused", plan.refused
            report.changes = [w.change() for w in plan.writes]
            continue
        queue.extend((index, write) for write in plan.to_apply)
    queue = make_before_break(queue)
    stopped: set[int] = set()
    for position, (index, write) in enumerate(queue):
        if index in stopped:
            continue
        report = job.reports[index]
        if stopped and (write.action == "delete" or write.removed):
            # An address may be moving to the target that failed: take nothing away now.
            left = [w.rule.name for i, w in queue[position:] if i == index]
            report.status = "failed"
            report.error = f"removals held back after another target failed; left: {left}"
            stopped.add(index)
            continue
        before = gateway.writes
        try:
            etag = _send(gateway, write, etag)
        except OutOfTime as exc:
            left = [w.rule.name for i, w in queue[position:] if i == index]
            report.status, report.error = "failed", f"{exc}; left for the next run: {left}"
            stopped.add(index)
            continue
        except ArmError as exc:
            report.status, report.error = "failed", str(exc)
            stopped.add(index)
            continue
        finally:
            report.writes += gateway.writes - before
        report.changes.append(write.change())
        report.status = "applied"


def _send(gateway: NsgGateway, write: RulePlan, etag: str | None) -> str | None:
    if write.action == "delete":
        gateway.delete(write.rule.name, etag)
        return gateway.read().etag
    return gateway.put(write.rule, etag)


def _record_plans(job: _Job, plans: dict[int, TargetPlan]) -> None:
    for index, plan in plans.items():
        report = job.reports[index]
        report.held_back = [w.change() for w in plan.held_back]
        report.changes = [w.change() for w in plan.writes]
        if plan.refused is not None:
            report.status, report.error = "refused", plan.refused
        elif plan.writes:
            report.status = "planned"


def _failed(nsg: str, error: str, target: Target | None = None) -> TargetReport:
    tags = list(target.service_tags) if target else []
    return TargetReport(nsg=nsg, status="failed", error=error, service_tags=tags)


def _source_info(release: Release, jobs: list[_Job]) -> SourceInfo:
    digest = hashlib.sha256()
    for fingerprint in sorted(sel.sha256 for job in jobs for _, sel in job.items):
        digest.update(fingerprint.encode())
    return SourceInfo(
        cloud=release.cloud,
        change_number=release.change_number,
        origin=release.origin,
        sha256=digest.hexdigest(),
    )
