"""The Functions app's logic behind the thin ``function_app.py``: runs, lock, history, HTTP.

A run takes the blob lease first (so a refusal is immediate), then goes on in a background
thread that stores its report and releases the lease at the end. HTTP callers wait at most
``IPSYNC_HTTP_WAIT_S`` (the platform cuts responses at 230 s) and otherwise get ``202`` and a
``Location`` to poll; the timer waits for the end.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import azure.functions as func
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from sync.app import telemetry
from sync.errors import IpsyncError, SettingsError
from sync.report import Report
from sync.settings import build_settings

if TYPE_CHECKING:
    from azure.storage.blob import BlobServiceClient

    from sync.app.history import History
    from sync.app.runlock import RunLock
    from sync.settings import Settings

log = logging.getLogger(__name__)

#: Azurite's well-known development account (public, documented; not a secret).
DEV_STORAGE = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
    "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
    "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"
)
STORAGE = "AzureWebJobsStorage"
_TRUE, _FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off", ""}


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


class RunFailed(Exception):
    """A scheduled run ended with an error or a refused/failed target (marks it failed)."""


def load_app_settings() -> AppSettings:
    """Read :class:`AppSettings`; raises :class:`SettingsError` naming the setting."""
    return build_settings(AppSettings, {})


def blob_service(env: Mapping[str, str]) -> BlobServiceClient:
    """The storage client of ``AzureWebJobsStorage``: a connection string or an identity.

    Identity-based (no keys, as on Flex Consumption): ``AzureWebJobsStorage__blobServiceUri``
    or ``__accountName``, with ``__credential=managedidentity`` and ``__clientId`` for a
    user-assigned identity; otherwise ``DefaultAzureCredential``.
    """
    from azure.storage.blob import BlobServiceClient

    connection = env.get(STORAGE, "").strip()
    if connection:
        if connection.replace(" ", "").lower().rstrip(";") == "usedevelopmentstorage=true":
            connection = DEV_STORAGE
        try:
            return BlobServiceClient.from_connection_string(connection)
        except ValueError as exc:
            raise SettingsError(
                f"setting {STORAGE}: not a valid connection string: {exc}"
            ) from None
    uri = env.get(f"{STORAGE}__blobServiceUri", "").strip()
    account = env.get(f"{STORAGE}__accountName", "").strip()
    if not uri and account:
        uri = f"https://{account}.blob.core.windows.net"
    if not uri:
        raise SettingsError(
            f"setting {STORAGE}: missing; set a connection string, or "
            f"{STORAGE}__blobServiceUri / {STORAGE}__accountName for a managed identity"
        )
    from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

    client_id = env.get(f"{STORAGE}__clientId", "").strip() or None
    credential: Any
    if env.get(f"{STORAGE}__credential", "").strip().lower() == "managedidentity":
        credential = ManagedIdentityCredential(client_id=client_id)
    else:
        credential = DefaultAzureCredential(managed_identity_client_id=client_id)
    return BlobServiceClient(uri, credential=credential)


_STORAGE_KEYS = (
    STORAGE,
    f"{STORAGE}__blobServiceUri",
    f"{STORAGE}__accountName",
    f"{STORAGE}__credential",
    f"{STORAGE}__clientId",
)


@functools.lru_cache(maxsize=4)
def _cached_service(values: tuple[tuple[str, str], ...]) -> BlobServiceClient:
    """One client (and connection pool, and token cache) per storage configuration."""
    return blob_service(dict(values))


@dataclass
class Store:
    """The lock and the history, both in the app settings' container."""

    lock: RunLock
    history: History

    @classmethod
    def from_env(cls, app: AppSettings, env: Mapping[str, str] | None = None) -> Store:
        from sync.app.history import History
        from sync.app.runlock import RunLock

        env = os.environ if env is None else env
        service = _cached_service(tuple((k, env.get(k, "")) for k in _STORAGE_KEYS))
        container = service.get_container_client(app.container)
        return cls(
            RunLock(container, duration_s=app.lease_s),
            History(container, keep=app.history_keep),
        )


@dataclass
class Run:
    """A run that holds the lock; its thread sets :attr:`report` when done."""

    run_id: str
    done: threading.Event = field(default_factory=threading.Event)
    report: Report | None = None

    def wait(self, timeout_s: float | None) -> Report | None:
        self.done.wait(timeout_s)
        return self.report


def start_run(store: Store, settings: Settings, *, force: bool) -> Run:
    """Take the lock (or raise :class:`sync.app.runlock.RunBusy`) and run in the background."""
    from sync.app.history import new_run_id

    run = Run(new_run_id())
    lease = store.lock.acquire(run.run_id)
    log.info(
        "run %s started%s%s",
        run.run_id,
        " (dry run)" if settings.dry_run else "",
        " with force" if force else "",
        extra={"run_id": run.run_id, "force": force},
    )

    def work() -> None:
        try:
            with lease:
                report = _execute(settings, force, run.run_id)
                telemetry.log_report(report)
                try:
                    store.history.save(report)
                    store.history.prune()
                except Exception:
                    log.exception("run %s: could not store the report", run.run_id)
                run.report = report
        finally:
            run.done.set()

    threading.Thread(target=work, name=f"run-{run.run_id}", daemon=True).start()
    return run


def _execute(settings: Settings, force: bool, run_id: str) -> Report:
    """The engine's report under our run id; an unexpected crash becomes a failed report."""
    try:
        from sync import engine

        report = engine.run(settings, force=force)
    except IpsyncError as exc:
        report = Report(ok=False, dry_run=settings.dry_run, error=str(exc))
    except Exception as exc:
        log.exception("run %s crashed", run_id)
        report = Report(ok=False, dry_run=settings.dry_run, error=f"internal error: {exc!r}")
    started = report.started_at or datetime.now(UTC).isoformat(timespec="seconds")
    return report.model_copy(update={"run_id": run_id, "started_at": started})


# --- HTTP -------------------------------------------------------------------------------------


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(body, indent=2),
        status_code=status,
        mimetype="application/json",
        headers=headers,
    )


def _error(status: int, message: str, **more: Any) -> func.HttpResponse:
    return _json(status, {"error": message, **more})


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
    """``POST /api/sync`` (and ``/api/sync/force``): run, answer the report or 202."""
    from sync.app.runlock import RunBusy
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
        settings = load_settings()
        store = Store.from_env(app)
    except SettingsError as exc:
        log.error("%s", exc)
        return _error(500, str(exc))
    if dry_run:
        settings = settings.model_copy(update={"dry_run": True})
    try:
        run = start_run(store, settings, force=force_route)
    except RunBusy as busy:
        return _error(409, str(busy), run_id=busy.holder, location=_location(busy.holder))
    report = run.wait(app.http_wait_s)
    if report is None:
        location = f"/api/runs/{run.run_id}"
        return _json(
            202,
            {"run_id": run.run_id, "status": "running", "location": location},
            headers={"Location": location, "Retry-After": "10"},
        )
    return _json(
        200, report.model_dump(mode="json"), headers={"X-Ipsync-Exit-Code": str(report.exit_code())}
    )


def _location(run_id: str | None) -> str | None:
    return None if run_id is None else f"/api/runs/{run_id}"


def http_run(req: func.HttpRequest) -> func.HttpResponse:
    """``GET /api/runs/{id}`` and ``/api/runs/latest``: a stored report or a running record."""
    run_id = req.route_params.get("run_id", "")
    try:
        store = Store.from_env(load_app_settings())
    except SettingsError as exc:
        log.error("%s", exc)
        return _error(500, str(exc))
    holder = store.lock.holder()
    running = holder.leased and holder.run_id is not None
    if run_id == "latest":
        if running:
            return _json(200, _running(holder.run_id, holder.started_at))
        latest = store.history.latest()
        return _json(200, latest) if latest else _error(404, "no run has been stored yet")
    report = store.history.get(run_id)
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
    """``GET /api/health``: settings, storage, the last run's outcome and age."""
    from sync.settings import load_settings

    checks: dict[str, Any] = {"settings": "ok", "storage": "ok", "last_run": None, "running": None}
    healthy = True
    try:
        load_settings()
        app = load_app_settings()
        store = Store.from_env(app)
    except SettingsError as exc:
        checks["settings"] = str(exc)
        return _json(503, {"healthy": False, **checks})
    try:
        holder = store.lock.holder()
        pointer = store.history.latest_pointer()
    except Exception as exc:
        checks["storage"] = f"unreachable: {type(exc).__name__}: {str(exc).splitlines()[0]}"
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
    return _json(200 if healthy else 503, {"healthy": healthy, **checks})


# --- timer ------------------------------------------------------------------------------------


def timer_sync(past_due: bool = False) -> None:
    """The scheduled run: skip if one is running; raise at the end if anything failed."""
    from sync.app.runlock import RunBusy
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
        run = start_run(store, settings, force=False)
    except RunBusy as busy:
        log.warning(
            "scheduled run skipped: run %s holds the lock",
            busy.holder,
            extra={"run_id": busy.holder},
        )
        return
    report = run.wait(None)
    if report is None:
        raise RunFailed(f"run {run.run_id} ended without a report; see the log lines above")
    if not report.ok:
        raise RunFailed(f"run {report.run_id} failed; see the log lines above")
