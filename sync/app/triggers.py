"""The timer and queue functions: the scheduled run, a queued manual run, a poisoned one."""

from __future__ import annotations

import contextlib
import logging

from sync.app import telemetry
from sync.app.app_settings import RunRequest, load_app_settings
from sync.app.history import History
from sync.app.runlock import RunBusy
from sync.app.runs import SETTLED, Store, describe, perform, perform_item, poisoned_item
from sync.errors import SettingsError
from sync.report import new_run_id

log = logging.getLogger(__name__)


class RunFailed(Exception):
    """A scheduled run ended with an error or a refused/failed target (marks it failed)."""


def timer_sync(past_due: bool = False) -> None:
    """The scheduled run: skip if one is running; raise at the end if anything failed."""
    from sync.settings import load_settings

    telemetry.setup()
    if past_due:
        log.warning("scheduled run is past due")
    try:
        app = load_app_settings()
        settings = load_settings()
        store = Store.from_env(app)
    except SettingsError as exc:
        log.error("scheduled run not started: %s", exc)
        raise
    try:
        report = perform(store, settings, new_run_id(), app=app, force=False)
    except RunBusy as busy:
        log.warning(
            "scheduled run skipped: run %s holds the lock",
            busy.holder,
            extra={"run_id": busy.holder},
        )
        return
    if report is not None and not report.ok:  # None: fanned out, its items report
        raise RunFailed(f"run {report.run_id} failed; see the log lines above")


def queue_sync(body: bytes, dequeue_count: int) -> None:
    """A queued manual run, performed at most once however often its message is delivered.

    A run that raises is marked ``retrying`` with the error and raised again, so the host
    delivers it again (and after the last try moves it to the poison queue). A failed target
    is no exception: its report is stored like any other.
    """
    from sync.settings import load_settings

    telemetry.setup()
    request = _request(body)
    if request is None:
        return
    app = load_app_settings()
    store = Store.from_env(app)
    run_id, details = request.run_id, request.details()
    if request.item is not None:
        perform_item(store, load_settings(), request, app)  # RunBusy: delivered again later
        return
    if _settled(store.history, run_id):
        return
    try:
        settings = load_settings()
        if request.force and not app.allow_force:
            raise SettingsError("force runs are disabled: set IPSYNC_ALLOW_FORCE=true to allow")
    except SettingsError as exc:
        log.error("run %s not started: %s", run_id, exc, extra={"run_id": run_id})
        store.history.mark(run_id, "failed", error=str(exc), **details)
        return
    if request.dry_run:
        settings = settings.model_copy(update={"dry_run": True})
    try:
        perform(
            store,
            settings,
            run_id,
            app=app,
            force=request.force,
            on_start=lambda: store.history.mark(
                run_id, "running", attempt=dequeue_count, **details
            ),
        )
    except RunBusy as busy:
        log.warning("run %s refused: %s", run_id, busy, extra={"run_id": run_id})
        store.history.mark(run_id, "refused", error=str(busy), holder=busy.holder, **details)
    except Exception as exc:
        log.exception("run %s raised (try %d)", run_id, dequeue_count, extra={"run_id": run_id})
        with contextlib.suppress(Exception):
            store.history.mark(
                run_id, "retrying", error=describe(exc), attempt=dequeue_count, **details
            )
        raise


def queue_poisoned(body: bytes) -> None:
    """A manual run the host gave up on: mark it failed, with the last error it recorded."""
    telemetry.setup()
    request = _request(body)
    if request is None:
        return
    app = load_app_settings()
    store = Store.from_env(app)
    if request.item is not None:
        from sync.settings import load_settings

        poisoned_item(store, load_settings(), request, app)
        return
    history = store.history
    if _settled(history, request.run_id):
        return
    last = history.progress(request.run_id) or {}
    tries = f"{last['attempt']} tries" if "attempt" in last else "its tries"
    error = last.get("error") or "the worker stopped without recording an error; see the logs"
    reason = f"given up after {tries}: {error}"
    log.error("run %s failed: %s", request.run_id, reason, extra={"run_id": request.run_id})
    history.mark(request.run_id, "failed", error=reason, **request.details())


def _request(body: bytes) -> RunRequest | None:
    """The queued request, or None (logged) for a message that is not one: it is dropped."""
    try:
        return RunRequest.model_validate_json(body)
    except ValueError as exc:
        log.error("queue message dropped, not a run request: %s", describe(exc))
        return None


def _settled(history: History, run_id: str) -> bool:
    """True (logged) when the run already has its report, or was refused or failed."""
    if history.get(run_id) is not None:
        log.info("run %s already finished: message ignored", run_id, extra={"run_id": run_id})
        return True
    progress = history.progress(run_id)
    if progress is not None and progress["status"] in SETTLED:
        log.info(
            "run %s already %s: message ignored",
            run_id,
            progress["status"],
            extra={"run_id": run_id},
        )
        return True
    return False
