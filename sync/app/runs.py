"""Performing a run in the Functions app: the run store, the lock, the notice.

Every run holds the blob lease and runs inside a Functions invocation the host tracks: the
timer's own, or, for a manual run, the invocation of a queue-triggered function
(:mod:`sync.app.triggers`). ``POST /api/sync`` (:mod:`sync.app.http_api`) reserves the lock
for a new run id, records it as queued and puts it on the ``ipsync-runs`` Storage queue. The
host retries a run that raised and, after ``maxDequeueCount`` tries (host.json), moves it to
the poison queue, whose function marks it failed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from azure.core.exceptions import AzureError, ResourceExistsError, ResourceNotFoundError

from sync.app import fanout, notify, telemetry
from sync.app.app_settings import AppSettings, RunRequest
from sync.app.changelog import ChangeLog
from sync.app.fanout import FanoutPlan, Parts
from sync.app.feedwatch import FeedWatch
from sync.app.history import History
from sync.app.runlock import RunLock
from sync.azure.storage import cached_service, storage_env
from sync.core.redact import mask_secrets_in
from sync.errors import IpsyncError
from sync.feeds import recording
from sync.report import Report
from sync.state.lists import BlobLists

if TYPE_CHECKING:
    from azure.storage.queue import QueueClient

    from sync.changes import ChangeEntry
    from sync.core.feed import Release
    from sync.resourceplan import PlanWatch
    from sync.settings import Settings

log = logging.getLogger(__name__)

#: Set by the platform to the app's default host name: the base of links to stored reports.
HOSTNAME = "WEBSITE_HOSTNAME"
#: The queue of manual runs; ``function_app.py`` names it in the queue trigger too.
QUEUE = "ipsync-runs"
#: Progress states after which a queued run is never started.
SETTLED = frozenset({"refused", "failed"})


@dataclass
class Store:
    """The lock and the history in the app settings' container, and the queue of manual runs."""

    lock: RunLock
    history: History
    queue: QueueClient
    #: The published lists, as the app serves them, and the last run's outcome of each.
    lists: BlobLists
    changes: ChangeLog
    #: Plans and items' reports of runs fanned out over several invocations.
    parts: Parts
    #: What each feed gave, run after run: since when it is stale or unreachable.
    feeds: FeedWatch

    @classmethod
    def from_env(
        cls, app: AppSettings, env: Mapping[str, str] | None = None, *, quick: bool = False
    ) -> Store:
        """``quick``: clients that fail within seconds, for answering HTTP callers."""
        from azure.storage.queue import TextBase64EncodePolicy

        env = os.environ if env is None else env
        values = storage_env(env)
        profile = "quick" if quick else "run"
        container = cached_service("blob", values, profile).get_container_client(app.container)
        queue = cached_service("queue", values, profile).get_queue_client(
            QUEUE, message_encode_policy=TextBase64EncodePolicy()
        )
        return cls(
            RunLock(container, duration_s=app.lease_s),
            History(container, keep=app.history_keep),
            queue,
            BlobLists(container),
            ChangeLog(container),
            Parts(container),
            FeedWatch(container),
        )

    def enqueue(self, request: RunRequest) -> None:
        """Queue a manual run, creating the queue on the account's first one."""
        body = request.model_dump_json(exclude_none=True)
        try:
            self.queue.send_message(body)
        except ResourceNotFoundError:
            with contextlib.suppress(ResourceExistsError):
                self.queue.create_queue()
            self.queue.send_message(body)


def perform(
    store: Store,
    settings: Settings,
    run_id: str,
    *,
    app: AppSettings,
    force: bool,
    on_start: Callable[[], None] | None = None,
) -> Report | None:
    """Run under the lock (or raise :class:`RunBusy`) in this invocation; store the report.
    None when the run was fanned out (``IPSYNC_PARTITION_SIZE``): its items, queued, do it
    and the last of them stores the report (:mod:`sync.app.fanout`).

    The run syncs the targets and publishes the lists (targets of the ``list`` kind); the
    outcome of each list is kept for ``/api/health``. The report is stored before the lock is
    released, so a released lock whose run has no report means its worker died; a run that
    was no dry run then keeps the releases it read and what each new one changed
    (:mod:`sync.app.changelog`), and the history is pruned, so a caller that got the report
    finds both done. If the lease is lost, the engine starts no further write and the report
    says why the run stopped.
    After the lock is released, a run that did something is notified.
    """
    lease = store.lock.acquire(run_id)
    changes: list[ChangeEntry] = []
    with lease:
        log.info(
            "run %s started%s%s",
            run_id,
            " (dry run)" if settings.dry_run else "",
            " with force" if force else "",
            extra={"run_id": run_id, "force": force},
        )
        if on_start is not None:
            on_start()
        if app.partition_size and _fan_out(store, settings, run_id, app, force):
            return None
        with recording() as read:
            report = _execute(settings, force, run_id, lease.lost)
        if settings.lists and not settings.dry_run:
            _record_lists(store.lists, settings, report)
        if lease.lost.is_set():
            report = _stopped(report, lease.lost_reason or "lease lost")
        report.notes.extend(_watch_feeds(store.feeds, read, report, app))
        telemetry.log_report(report)
        store.history.save(report)
        if not (settings.dry_run or lease.lost.is_set()):
            changes = _keep_changes(store.changes, report, read)
        try:
            store.history.prune()
        except AzureError as exc:
            log.warning("run %s: could not prune the history: %s", run_id, describe(exc))
    _notify(app, report, changes[0] if changes else None)
    return report


def _fan_out(store: Store, settings: Settings, run_id: str, app: AppSettings, force: bool) -> bool:
    """Queue the run's work items, if it has more than one; False to run it here. A run that
    cannot list its resources runs here too, and reports why in the usual way."""
    from sync.candidates import inventory
    from sync.feeds import load_release

    try:
        items = fanout.divide(inventory(settings), app.partition_size)
        if len(items) < 2:
            return False
        release = load_release(settings)
    except IpsyncError:
        return False
    now = datetime.now(UTC).isoformat(timespec="seconds")
    plan = FanoutPlan(
        run_id=run_id,
        started_at=now,
        dry_run=settings.dry_run,
        force=force,
        release=release.mark,
        items=list(items),
        resources={item.key: found for item, found in items.items()},
    )
    store.parts.start(plan)
    store.history.mark(run_id, "running", items=len(items), items_done=0)
    for item in items:
        store.enqueue(
            RunRequest(
                run_id=run_id, dry_run=settings.dry_run, force=force, requested_at=now, item=item
            )
        )
    log.info("run %s fanned out in %d work items", run_id, len(items), extra={"run_id": run_id})
    return True


def perform_item(store: Store, settings: Settings, request: RunRequest, app: AppSettings) -> None:
    """One work item of a fanned-out run, under its subscription's lease (or
    :class:`RunBusy`, so the host delivers it again later); the last item assembles the run."""
    item = request.item
    plan = store.parts.plan(request.run_id)
    if item is None or plan is None or store.parts.done(request.run_id, item):
        log.info("run %s: work item already done or its run is gone", request.run_id)
        return
    lock = store.lock.beside(fanout.lease_slot(item, app.subscription_parallelism))
    with lock.acquire(f"{request.run_id}/{item.key}") as lease:
        narrowed = fanout.item_settings(settings, item)
        if plan.dry_run:
            narrowed = narrowed.model_copy(update={"dry_run": True})
        report = _execute(
            narrowed,
            plan.force,
            request.run_id,
            lease.lost,
            item.holds,
            fanout.Pinned(plan.release),
        )
        if lease.lost.is_set():
            report = _stopped(report, lease.lost_reason or "lease lost")
    store.parts.finish(request.run_id, item, report)
    complete(store, settings, plan, app)


def complete(store: Store, settings: Settings, plan: FanoutPlan, app: AppSettings) -> None:
    """Store the run's report once every item has stored its own; until then say how far."""
    run_id = plan.run_id
    results = store.parts.results(plan)
    if len(results) < len(plan.items):
        store.history.mark(run_id, "running", items=len(plan.items), items_done=len(results))
        return
    if not store.parts.claim(run_id):
        return
    report = fanout.assemble(plan, results)
    if settings.lists and not plan.dry_run:
        _record_lists(store.lists, settings, report)
    telemetry.log_report(report)
    store.history.save(report)
    changes: list[ChangeEntry] = []
    if not plan.dry_run:
        from sync.feeds import load_release

        with recording() as read, contextlib.suppress(IpsyncError):
            load_release(settings)  # the run's release, from this instance's cache
        changes = _keep_changes(store.changes, report, read)
    with contextlib.suppress(AzureError):
        store.history.prune()
        store.parts.drop(run_id)
    _notify(app, report, changes[0] if changes else None)


def poisoned_item(store: Store, settings: Settings, request: RunRequest, app: AppSettings) -> None:
    """A work item the host gave up on: its resources fail, saying so, and the run completes."""
    item = request.item
    plan = store.parts.plan(request.run_id)
    if item is None or plan is None or store.parts.done(request.run_id, item):
        return
    reason = "the host gave up on it after its tries (see the run's log lines)"
    log.error(
        "run %s: work item %s %s", plan.run_id, item.key, reason, extra={"run_id": plan.run_id}
    )
    store.parts.finish(plan.run_id, item, fanout.given_up(plan, item, reason))
    complete(store, settings, plan, app)


def _keep_changes(
    changelog: ChangeLog, report: Report, read: Sequence[Release]
) -> list[ChangeEntry]:
    """The hook after a run that wrote: archive the releases it read (as
    :func:`~sync.feeds.recording` saw them, not read again) and store what each new one
    changed. A failure here is logged and never fails the run, whose report is stored."""
    try:
        return changelog.record(read, report)
    except (AzureError, IpsyncError) as exc:
        log.warning("run %s: the change feed was not updated: %s", report.run_id, describe(exc))
    except Exception:
        log.exception("run %s: updating the change feed crashed", report.run_id)
    return []


def _watch_feeds(
    feeds: FeedWatch, read: Sequence[Release], report: Report, app: AppSettings
) -> list[str]:
    """Keep what the run read of each feed; the notes of feeds stale or unreachable for
    longer than ``IPSYNC_FEED_STALE_AFTER_HOURS``. A storage failure here only logs."""
    from sync.core.freshness import problems

    now = datetime.now(UTC)
    try:
        watch = feeds.update(read, report, now)
    except AzureError as exc:
        log.warning("run %s: could not keep the feeds' watch: %s", report.run_id, describe(exc))
        return []
    return list(problems(watch, now, app.feed_stale_after_hours).values())


def _record_lists(lists: BlobLists, settings: Settings, report: Report) -> None:
    """Keep each configured list's outcome: ``/api/health`` says why a last good copy is
    served. A storage failure here only logs; the lists themselves are published already."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    rows = {t.resource.removeprefix("lists/"): t for t in report.targets if t.kind == "list"}
    status: dict[str, Any] = {}
    for name in settings.lists:
        row = rows.get(name)
        problem = row.error if row is not None else report.error or "the run reached no list"
        status[name] = {
            "status": row.status if row is not None else "failed",
            "problem": f"{problem}; the last good list stays published" if problem else None,
            "run_id": report.run_id,
            "release": report.release,
            "checked_at": now,
        }
    try:
        lists.record(status)
    except AzureError as exc:
        log.warning("run %s: could not keep the lists' status: %s", report.run_id, describe(exc))


def _notify(app: AppSettings, report: Report, change: ChangeEntry | None) -> None:
    """Post the run's summary, with what its release changed, when it did something; a
    notification that fails only logs."""
    if app.notify_url is None or report.run_id is None:
        return
    host = os.environ.get(HOSTNAME, "").strip()
    path = f"/api/runs/{report.run_id}"
    try:
        body = notify.summary(report, f"https://{host}{path}" if host else path, change)
        if body is not None:
            notify.post(app.notify_url.get_secret_value(), notify.payload(app.notify_format, body))
    except Exception as exc:  # the run is done and stored: nothing here may undo that
        log.error("run %s: notification failed: %s", report.run_id, type(exc).__name__)


def _execute(
    settings: Settings,
    force: bool,
    run_id: str,
    stop: threading.Event,
    only: Callable[[str], bool] | None = None,
    watch: PlanWatch | None = None,
) -> Report:
    """The engine's report under our run id; an unexpected crash becomes a failed report.
    A work item syncs ``only`` its resources, each as its ``watch`` allows."""
    try:
        from sync import engine

        report = engine.run(settings, force=force, stop=stop, run_id=run_id, only=only, watch=watch)
    except IpsyncError as exc:
        report = Report(ok=False, dry_run=settings.dry_run, error=str(exc))
    except Exception as exc:
        log.exception("run %s crashed", run_id)
        report = Report(ok=False, dry_run=settings.dry_run, error=f"internal error: {exc!r}")
    started = report.started_at or datetime.now(UTC).isoformat(timespec="seconds")
    return report.model_copy(update={"run_id": run_id, "started_at": started})


def _stopped(report: Report, reason: str) -> Report:
    """The report of a run that lost the lock: failed, saying so first."""
    error = f"run stopped: it lost the run lock ({reason}); no write was started after that"
    if report.error:
        error = f"{error}; {report.error}"
    return report.model_copy(update={"ok": False, "error": error})


def describe(exc: BaseException) -> str:
    """One line: the exception's type, first line (secrets masked: it reaches reports and
    HTTP answers), and the storage error code if it has one."""
    lines = mask_secrets_in(str(exc)).strip().splitlines()
    text = f"{type(exc).__name__}: {lines[0] if lines else 'no details'}"
    code = getattr(exc, "error_code", None)
    return f"{text} ({code})" if code and str(code) not in text else text
