"""The Functions app's logic behind the thin ``function_app.py``: runs, lock, history, HTTP.

Every run holds the blob lease and runs inside a Functions invocation the host tracks: the
timer's own, or, for a manual run, the invocation of a queue-triggered function. ``POST
/api/sync`` reserves the lock for a new run id, records it as queued, puts it on the
``ipsync-runs`` Storage queue, and waits at most ``IPSYNC_HTTP_WAIT_S`` for its report; after
that it answers ``202`` and a ``Location`` to poll. The host retries a run that raised and,
after ``maxDequeueCount`` tries (host.json), moves it to the poison queue, whose function marks
it failed.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import TYPE_CHECKING, Annotated, Any

import azure.functions as func
from azure.core.exceptions import AzureError, ResourceExistsError, ResourceNotFoundError
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from sync.app import notify, telemetry
from sync.app.history import History
from sync.app.runlock import RunBusy, RunLock
from sync.azure.storage import STORAGE, cached_service, storage_env
from sync.errors import IpsyncError, SettingsError
from sync.lists import ListSpec, ListStore, Outcome, check_names, publish_all
from sync.report import RUN_ID, Report, SourceInfo, new_run_id
from sync.settings import build_settings

if TYPE_CHECKING:
    from azure.storage.queue import QueueClient

    from sync.core.feed import Release
    from sync.settings import Settings

log = logging.getLogger(__name__)

#: Set by the platform to the app's default host name: the base of links to stored reports.
HOSTNAME = "WEBSITE_HOSTNAME"
#: The queue of manual runs; ``function_app.py`` names it in the queue trigger too.
QUEUE = "ipsync-runs"
_TRUE, _FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off", ""}

#: ``/api/health`` answers within this, whatever storage does.
HEALTH_BUDGET_S = 5.0
#: Progress states after which a queued run is never started.
SETTLED = frozenset({"refused", "failed"})


class AppSettings(BaseSettings):
    """Settings of the Functions app itself (the run's own are :class:`sync.settings.Settings`)."""

    model_config = SettingsConfigDict(env_prefix="IPSYNC_", extra="ignore", frozen=True)

    #: How long an HTTP caller waits for the report before getting 202 (responses end at 230 s).
    http_wait_s: float = Field(default=200.0, gt=0, lt=230)
    #: Stored reports to keep; older ones are deleted after each run.
    history_keep: int = Field(default=200, ge=1)
    #: Must be true for ``POST /api/sync/force`` (admin key only) to run.
    allow_force: bool = False
    #: Container for the lock blob and the run history.
    container: str = Field(default="ipsync", pattern=r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
    #: Lease length; renewed every third of it, so a dead worker frees the lock this fast.
    lease_s: int = Field(default=60, ge=15, le=60)
    #: ``/api/health`` reports unhealthy when the last run is older than this.
    health_max_age_h: float = Field(default=48.0, gt=0)
    #: Published lists (JSON object: name -> list), served at ``/api/lists/<name>``.
    lists: Annotated[dict[str, ListSpec], NoDecode] = Field(default_factory=dict)
    #: Webhook for run notifications (a secret: never logged); empty or an unresolved Key
    #: Vault reference turns them off.
    notify_url: SecretStr | None = None

    @field_validator("lists", mode="before")
    @classmethod
    def _lists_json(cls, value: Any) -> Any:
        """A JSON object; empty text is no lists (as an unset setting)."""
        if isinstance(value, str):
            try:
                return json.loads(value) if value.strip() else {}
            except ValueError as exc:
                raise ValueError(
                    f'not JSON like {{"name": {{"service_tags": [...]}}}}: {exc}'
                ) from None
        return value

    @field_validator("lists")
    @classmethod
    def _list_names(cls, value: dict[str, ListSpec]) -> dict[str, ListSpec]:
        check_names(value)
        return value

    @field_validator("notify_url")
    @classmethod
    def _webhook(cls, value: SecretStr | None) -> SecretStr | None:
        url = notify.webhook(value.get_secret_value() if value is not None else None)
        return None if url is None else SecretStr(url)

    def list_named(self, name: str) -> tuple[str, ListSpec] | None:
        """The configured list of that name (any case) and its own spelling, or None."""
        return next(((n, s) for n, s in self.lists.items() if n.lower() == name.lower()), None)


class RunFailed(Exception):
    """A scheduled run ended with an error or a refused/failed target (marks it failed)."""


class RunRequest(BaseModel):
    """A manual run on the queue (JSON, base64-encoded as the Functions host expects)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    run_id: str = Field(pattern=RUN_ID.pattern)
    dry_run: bool = False
    force: bool = False
    requested_at: str

    def details(self) -> dict[str, Any]:
        """What a progress record repeats of the request."""
        return self.model_dump(exclude={"run_id"})


def load_app_settings() -> AppSettings:
    """Read :class:`AppSettings`; raises :class:`SettingsError` naming the setting."""
    _warn_unknown_variables()
    return build_settings(AppSettings, {})


@functools.cache
def _warn_unknown_variables() -> None:
    """Once per worker: an ``IPSYNC_*`` app setting that names nothing is likely a typo."""
    from sync.feedsettings import unknown_variables
    from sync.settings import Settings

    for warning in unknown_variables({*Settings.model_fields, *AppSettings.model_fields}):
        log.warning("%s", warning)


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
        log.warning("run %s: could not prune the history: %s", run_id, _describe(exc))
    _notify(app, report)
    return report


def _publish(
    lists: ListStore, app: AppSettings, settings: Settings, report: Report, force: bool
) -> Report:
    """The report with the outcome of every published list among its targets.

    The release is read again (its download is cached, so this costs a conditional GET); a
    release that cannot be read fails every list and leaves the published ones as they are.
    """
    from sync.sources.release import load_release

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
            update={"ok": False, "error": f"lists not published: storage: {_describe(exc)}"}
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
    """Post the run's summary when it did something; a webhook that fails only logs."""
    if app.notify_url is None or report.run_id is None:
        return
    host = os.environ.get(HOSTNAME, "").strip()
    path = f"/api/runs/{report.run_id}"
    body = notify.summary(report, f"https://{host}{path}" if host else path)
    if body is not None:
        notify.post(app.notify_url.get_secret_value(), body)


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


def _describe(exc: BaseException) -> str:
    """One line: the exception's type, first line, and the storage error code if it has one."""
    lines = str(exc).strip().splitlines()
    text = f"{type(exc).__name__}: {lines[0] if lines else 'no details'}"
    code = getattr(exc, "error_code", None)
    return f"{text} ({code})" if code and str(code) not in text else text


# --- HTTP -------------------------------------------------------------------------------------


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(body, indent=2),
        status_code=status,
        mimetype="application/json",
        headers=headers,
    )


def _error(status: int, message: str, **more: Any) -> func.HttpResponse:
    return _json(status, {"ok": False, "error": message, **more})


def _storage_error(exc: AzureError) -> func.HttpResponse:
    """503 naming the storage problem (the host would answer a bare 500 to an exception)."""
    message = f"storage ({STORAGE}) unavailable: {_describe(exc)}"
    log.error("%s", message)
    return _error(503, message)


def _busy(holder: str | None) -> func.HttpResponse:
    return _error(409, str(RunBusy(holder)), run_id=holder, location=_location(holder))


def _flag(req: func.HttpRequest, body: Mapping[str, Any], name: str) -> bool:
    """A boolean from the query string or the JSON body; ValueError names a bad value."""
    if name in req.params:
        text = req.params[name].strip().lower()
        if text not in _TRUE | _FALSE:
            raise ValueError(f"query parameter {name}: expected true or false, got {text!r}")
        return text in _TRUE
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise ValueError(f"body field {name}: expected true or false, got {value!r}")
    return value


def _body(req: func.HttpRequest) -> dict[str, Any]:
    raw = req.get_body()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise ValueError("request body: not valid JSON") from None
    if not isinstance(data, dict):
        raise ValueError('request body: expected a JSON object like {"dry_run": true}')
    return data


def http_sync(req: func.HttpRequest, *, force_route: bool = False) -> func.HttpResponse:
    """``POST /api/sync`` (and ``/api/sync/force``): queue a run, answer its report or 202."""
    from sync.settings import load_settings

    telemetry.setup()
    try:
        body = _body(req)
        dry_run = _flag(req, body, "dry_run")
        force_asked = _flag(req, body, "force")
    except ValueError as exc:
        return _error(400, str(exc))
    if force_asked and not force_route:
        return _error(
            403,
            "force is not available with a function key: use POST /api/sync/force with the "
            "host's master key, and set IPSYNC_ALLOW_FORCE=true",
        )
    try:
        app = load_app_settings()
        if force_route and not app.allow_force:
            return _error(403, "force runs are disabled: set IPSYNC_ALLOW_FORCE=true to allow")
        load_settings()  # a bad setting is told to this caller, not left to the queued run
        store = Store.from_env(app, quick=True)
    except SettingsError as exc:
        log.error("%s", exc)
        return _error(500, str(exc))
    request = RunRequest(
        run_id=new_run_id(),
        dry_run=dry_run,
        force=force_route,
        requested_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    try:
        store.lock.reserve(request.run_id)
        store.history.mark(request.run_id, "queued", **request.details())
        store.enqueue(request)
    except RunBusy as busy:
        return _busy(busy.holder)
    except AzureError as exc:
        with contextlib.suppress(AzureError):
            store.history.mark(
                request.run_id, "failed", error=f"not queued: {_describe(exc)}", **request.details()
            )
        return _storage_error(exc)
    log.info("run %s queued", request.run_id, extra={"run_id": request.run_id})
    report, progress = _await(store, request.run_id, app.http_wait_s)
    if report is not None:
        code = Report.model_validate(report).exit_code()
        return _json(200, report, headers={"X-Ipsync-Exit-Code": str(code)})
    status = progress["status"] if progress else "queued"
    if status == "refused":
        return _busy(progress.get("holder") if progress else None)
    if status == "failed":
        return _json(500, {"ok": False, **(progress or {})})
    location = f"/api/runs/{request.run_id}"
    return _json(
        202,
        {"run_id": request.run_id, "status": status, "location": location},
        headers={"Location": location, "Retry-After": "10"},
    )


def _await(
    store: Store, run_id: str, wait_s: float
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The run's report, or its last progress record once it is settled or ``wait_s`` is up.

    The report is stored just before the run frees the lock: that is awaited too, so that a
    caller that got the report can start the next run at once. A storage hiccup while polling
    is no answer yet: the run is queued and can be polled later.
    """
    deadline = time.monotonic() + wait_s
    delay = 0.1
    progress: dict[str, Any] | None = None
    while True:
        try:
            report = store.history.get(run_id)
            if report is not None:
                while _holds(store.lock, run_id) and time.monotonic() < deadline:
                    time.sleep(0.05)
                return report, None
            progress = store.history.progress(run_id) or progress
        except AzureError as exc:
            log.warning("run %s: polling for its report failed: %s", run_id, _describe(exc))
        if (progress and progress["status"] in SETTLED) or time.monotonic() + delay > deadline:
            return None, progress
        time.sleep(delay)
        delay = min(delay * 1.5, 2.0)


def _holds(lock: RunLock, run_id: str) -> bool:
    holder = lock.holder()
    return holder.leased and holder.run_id == run_id


def _location(run_id: str | None) -> str | None:
    return None if run_id is None else f"/api/runs/{run_id}"


def http_run(req: func.HttpRequest) -> func.HttpResponse:
    """``GET /api/runs/{id}`` and ``/api/runs/latest``: a report, or how the run is getting on."""
    run_id = req.route_params.get("run_id", "")
    try:
        store = Store.from_env(load_app_settings(), quick=True)
    except SettingsError as exc:
        log.error("%s", exc)
        return _error(500, str(exc))
    try:
        return _run_answer(store, run_id)
    except AzureError as exc:
        return _storage_error(exc)


def _run_answer(store: Store, run_id: str) -> func.HttpResponse:
    # The lock is read first: a run stores its report before it releases the lock, so a free
    # lock and no report means the run ended without one.
    holder = store.lock.holder()
    running = holder.leased and holder.run_id is not None
    if run_id == "latest":
        if running and holder.run_id is not None:
            progress = store.history.progress(holder.run_id)
            return _json(200, progress or _running(holder.run_id, holder.started_at))
        latest = store.history.latest()
        return _json(200, latest) if latest else _error(404, "no run has been stored yet")
    report = store.history.get(run_id) or store.history.progress(run_id)
    if report is not None:
        return _json(200, report)
    if holder.run_id == run_id:
        if running:
            return _json(200, _running(run_id, holder.started_at))
        return _error(404, f"run {run_id} ended without storing a report (its worker stopped?)")
    return _error(404, f"unknown run id {run_id!r}")


def _running(run_id: str | None, started_at: str | None) -> dict[str, Any]:
    return {"run_id": run_id, "status": "running", "started_at": started_at}


def http_health(req: func.HttpRequest) -> func.HttpResponse:
    """``GET /api/health``: settings, storage, the last run's outcome and age; within seconds."""
    from sync.settings import load_settings

    checks: dict[str, Any] = {"settings": "ok", "storage": "ok", "last_run": None, "running": None}
    healthy = True
    try:
        load_settings()
        app = load_app_settings()
        store = Store.from_env(app, quick=True)
    except SettingsError as exc:
        checks["settings"] = str(exc)
        return _json(503, {"healthy": False, **checks})
    # The quick clients bound each call; the deadline bounds them together (and a token
    # request of an identity-based connection, which has its own timeouts).
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="health")
    reads = pool.submit(
        lambda: (
            store.lock.holder(),
            store.history.latest_pointer(),
            store.lists.status() if app.lists else {},
        )
    )
    pool.shutdown(wait=False)
    try:
        holder, pointer, lists = reads.result(timeout=HEALTH_BUDGET_S)
    except TimeoutError:
        checks["storage"] = f"unreachable: no answer within {HEALTH_BUDGET_S:g} s"
        return _json(503, {"healthy": False, **checks})
    except Exception as exc:
        checks["storage"] = f"unreachable: {_describe(exc)}"
        return _json(503, {"healthy": False, **checks})
    if holder.leased:
        checks["running"] = holder.run_id
    if pointer is not None:
        from sync.app.history import run_time

        age_h = (datetime.now(UTC) - run_time(str(pointer["run_id"]))).total_seconds() / 3600
        checks["last_run"] = {**pointer, "age_h": round(age_h, 2)}
        if not pointer.get("ok"):
            healthy = False
            checks["last_run"]["problem"] = "the last run failed"
        elif age_h > app.health_max_age_h:
            healthy = False
            checks["last_run"]["problem"] = (
                f"older than IPSYNC_HEALTH_MAX_AGE_H={app.health_max_age_h:g} h"
            )
    if app.lists:
        checks["lists"] = _list_health(app, lists)
        healthy = healthy and all(v["problem"] is None for v in checks["lists"].values())
    return _json(200 if healthy else 503, {"healthy": healthy, **checks})


def _list_health(app: AppSettings, status: Mapping[str, Any]) -> dict[str, Any]:
    """Each configured list's last outcome; ``problem`` says why its last good copy is served."""
    result: dict[str, Any] = {}
    for name in app.lists:
        last = status.get(name)
        if last is None:
            result[name] = {"status": "not published yet", "problem": None}
        else:
            result[name] = {**last, "problem": last.get("problem")}
    return result


def http_list(req: func.HttpRequest) -> func.HttpResponse:
    """``GET /api/lists/{name}``: a published list, in the format its extension names.

    No extension: the list's own ``format`` (plain by default, one CIDR per line). Answers
    ``ETag`` and ``Last-Modified`` (when the list's content last changed) and ``304`` to a
    conditional GET that already has it. A list that has not been published yet is ``503``
    with ``Retry-After``: an empty ``200`` would tell a firewall to allow nothing.
    """
    from sync.core.formats import MEDIA_TYPES, render, split_name

    asked, fmt = split_name(req.route_params.get("name", ""))
    try:
        app = load_app_settings()
    except SettingsError as exc:
        log.error("%s", exc)
        return _error(500, str(exc))
    found = app.list_named(asked)
    if found is None:
        known = ", ".join(sorted(app.lists)) or "none (set IPSYNC_LISTS)"
        return _error(404, f"unknown list {asked!r}; published lists: {known}")
    name, spec = found
    try:
        stored = Store.from_env(app, quick=True).lists.document(name)
    except SettingsError as exc:
        log.error("%s", exc)
        return _error(500, str(exc))
    except AzureError as exc:
        return _storage_error(exc)
    if stored is None:
        return func.HttpResponse(
            json.dumps(
                {
                    "ok": False,
                    "error": f"list {name} is not published yet: the next run publishes it",
                }
            ),
            status_code=503,
            mimetype="application/json",
            headers={"Retry-After": "300"},
        )
    document, written = stored
    fmt = fmt or spec.format
    body = render(fmt, name, document)
    modified = _published_at(document, written)
    headers = {
        "ETag": f'"{hashlib.sha256(body).hexdigest()[:32]}"',
        "Last-Modified": format_datetime(modified, usegmt=True),
        "Cache-Control": "no-cache",
    }
    if document.get("release"):
        headers["X-Ipsync-Release"] = str(document["release"])
    if _not_modified(req, headers["ETag"], modified):
        return func.HttpResponse(status_code=304, headers=headers)
    mimetype, _, _ = MEDIA_TYPES[fmt].partition(";")
    return func.HttpResponse(
        body, status_code=200, mimetype=mimetype, charset="utf-8", headers=headers
    )


def _published_at(document: Mapping[str, Any], written: datetime) -> datetime:
    """When the list's content last changed (whole seconds, as HTTP dates have)."""
    try:
        when = datetime.fromisoformat(str(document["published_at"]))
    except (KeyError, ValueError):
        when = written
    return when.astimezone(UTC).replace(microsecond=0)


def _not_modified(req: func.HttpRequest, etag: str, modified: datetime) -> bool:
    """True when the caller has this copy: ``If-None-Match`` first, else ``If-Modified-Since``."""
    match = req.headers.get("If-None-Match")
    if match is not None:
        tags = {t.strip().removeprefix("W/") for t in match.split(",")}
        return "*" in tags or etag in tags
    since = req.headers.get("If-Modified-Since")
    if since is None:
        return False
    try:
        when = parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return modified <= when


# --- timer and queue --------------------------------------------------------------------------


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
    if not report.ok:
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
                run_id, "retrying", error=_describe(exc), attempt=dequeue_count, **details
            )
        raise


def queue_poisoned(body: bytes) -> None:
    """A manual run the host gave up on: mark it failed, with the last error it recorded."""
    telemetry.setup()
    request = _request(body)
    if request is None:
        return
    history = Store.from_env(load_app_settings()).history
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
        log.error("queue message dropped, not a run request: %s", _describe(exc))
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
