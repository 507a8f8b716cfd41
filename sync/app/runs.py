"""Performing a run in the Functions app: the run store, the lock, the lists, the notice.

Every run holds the blob lease and runs inside a Functions invocation the host tracks: the
timer's own, or, for a manual run, the invocation of a queue-triggered function
(:mod:`sync.app.triggers`). ``POST /api/sync`` (:mod:`sync.app.http_api`) reserves the lock
for a new run id, records it as queued and puts it on the ``ipsync-runs`` Storage queue. The
host retries a run that raised and, after ``maxDequeueCount`` tries (host.json), moves it to
the poison queue, whose function marks it failed.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from azure.core.exceptions import AzureError, ResourceExistsError, ResourceNotFoundError

from sync.app import notify, telemetry
from sync.app.app_settings import AppSettings, RunRequest
from sync.app.history import History
from sync.app.runlock import RunLock
from sync.azure.storage import cached_service, storage_env
from sync.core.redact import mask_secrets_in
from sync.errors import IpsyncError
from sync.lists import ListStore, Outcome, publish_all
from sync.report import Report, SourceInfo

if TYPE_CHECKING:
    from azure.storage.queue import QueueClient

    from sync.core.feed import Release
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
    lists: ListStore

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
            ListStore(container),
        )

    def enqueue(self, request: RunRequest) -> None:
        """Queue a manual run, creating the queue on the account's first one."""
        body = request.model_dump_json()
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
) -> Report:
    """Run under the lock (or raise :class:`RunBusy`) in this invocation; store the report.

    The run syncs the targets, then publishes the lists; their outcomes are part of its
    report. The report is stored before the lock is released, so a released lock whose run
    has no report means its worker died. If the lease is lost, the engine starts no further
    write, no list is published, and the report says why the run stopped. After the lock is
    released, a run that did something is notified.
    """
    lease = store.lock.acquire(run_id)
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
        report = _execute(settings, force, run_id, lease.lost, lists_only=bool(app.lists))
        if app.lists and not lease.lost.is_set():
            report = _publish(store.lists, app, settings, report, force)
        if lease.lost.is_set():
            report = _stopped(report, lease.lost_reason or "lease lost")
        telemetry.log_report(report)
        store.history.save(report)
    try:
        store.history.prune()
    except AzureError as exc:
        log.warning("run %s: could not prune the history: %s", run_id, describe(exc))
    _notify(app, report)
    return report


def _publish(
    lists: ListStore, app: AppSettings, settings: Settings, report: Report, force: bool
) -> Report:
    """The report with the outcome of every published list among its targets.

    The release is read again (its download is cached, so this costs a conditional GET); a
    release that cannot be read fails every list and leaves the published ones as they are.
    """
    from sync.feeds import load_release

    release: Release | IpsyncError
    try:
        release = load_release(settings)
    except IpsyncError as exc:
        release = exc
    except Exception as exc:
        log.exception("run %s: reading the release for the lists crashed", report.run_id)
        release = IpsyncError(f"internal error: {exc!r}")
    try:
        outcomes = publish_all(
            lists,
            app.lists,
            release,
            max_remove_ratio=settings.max_remove_ratio,
            force=force,
            dry_run=settings.dry_run,
            run_id=report.run_id,
        )
    except AzureError as exc:
        return report.model_copy(
            update={"ok": False, "error": f"lists not published: storage: {describe(exc)}"}
        )
    return _with_lists(report, outcomes, None if isinstance(release, IpsyncError) else release)


def _with_lists(report: Report, outcomes: list[Outcome], release: Release | None) -> Report:
    targets = [*report.targets, *(o.report for o in outcomes)]
    source = report.source
    if source is None and release is not None:
        fingerprints = "".join(
            sorted(str(o.document.get("sha256")) for o in outcomes if o.document)
        )
        source = SourceInfo(
            cloud=release.cloud,
            change_number=release.change_number,
            origin=release.origin,
            sha256=hashlib.sha256(fingerprints.encode()).hexdigest(),
        )
    ok = report.error is None and all(t.status not in ("failed", "refused") for t in targets)
    return report.model_copy(update={"targets": targets, "ok": ok, "source": source})


def _notify(app: AppSettings, report: Report) -> None:
    """Post the run's summary when it did something; a notification that fails only logs."""
    if app.notify_url is None or report.run_id is None:
        return
    host = os.environ.get(HOSTNAME, "").strip()
    path = f"/api/runs/{report.run_id}"
    try:
        body = notify.summary(report, f"https://{host}{path}" if host else path)
        if body is not None:
            notify.post(app.notify_url.get_secret_value(), body)
    except Exception as exc:  # the run is done and stored: nothing here may undo that
        log.error("run %s: notification failed: %s", report.run_id, type(exc).__name__)


def _execute(
    settings: Settings, force: bool, run_id: str, stop: threading.Event, *, lists_only: bool
) -> Report:
    """The engine's report under our run id; an unexpected crash becomes a failed report.

    With ``lists_only`` and no target or discovery configured, the engine is not run: the
    run only publishes the lists.
    """
    try:
        from sync import engine

        if lists_only and not settings.targets and settings.discovery_scope is None:
            report = Report(ok=True, dry_run=settings.dry_run)
        else:
            report = engine.run(settings, force=force, stop=stop, run_id=run_id)
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
