"""The HTTP functions: queue a run and await its report, read runs, health, published lists,
the change feed and the status page.

``POST /api/sync`` reserves the lock for a new run id, records it as queued, puts it on the
queue, and waits at most ``IPSYNC_HTTP_WAIT_S`` for its report; after that it answers ``202``
and a ``Location`` to poll. Every answer is JSON except a published list (in the format its
name asks for), the Atom change feed and the HTML status page; those three and the JSON
change feed answer conditional GETs with ``304``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import TYPE_CHECKING, Any

import azure.functions as func
from azure.core.exceptions import AzureError

from sync.app import telemetry
from sync.app.app_settings import RunRequest, load_app_settings
from sync.app.attention import attention, feed_health
from sync.app.history import run_time
from sync.app.runlock import RunBusy, RunLock
from sync.app.runs import SETTLED, Store, describe
from sync.azure.storage import STORAGE
from sync.errors import SettingsError, TargetError
from sync.report import Report, new_run_id

if TYPE_CHECKING:
    from sync.app.status import PublishedList
    from sync.changes import ChangeEntry

log = logging.getLogger(__name__)

_TRUE, _FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off", ""}
#: ``/api/health`` answers within this, whatever storage does.
HEALTH_BUDGET_S = 5.0


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
    message = f"storage ({STORAGE}) unavailable: {describe(exc)}"
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
                request.run_id, "failed", error=f"not queued: {describe(exc)}", **request.details()
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
            log.warning("run %s: polling for its report failed: %s", run_id, describe(exc))
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
    """``GET /api/health``: settings, storage, the last run's outcome and age, the feeds'
    freshness and the last run's drift and headroom notes; within seconds."""
    from sync.settings import load_settings

    checks: dict[str, Any] = {"settings": "ok", "storage": "ok", "last_run": None, "running": None}
    healthy = True
    try:
        settings = load_settings()
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
            store.lists.status() if settings.lists else {},
            store.feeds.load(),
        )
    )
    pool.shutdown(wait=False)
    try:
        holder, pointer, lists, feeds = reads.result(timeout=HEALTH_BUDGET_S)
    except TimeoutError:
        checks["storage"] = f"unreachable: no answer within {HEALTH_BUDGET_S:g} s"
        return _json(503, {"healthy": False, **checks})
    except Exception as exc:
        checks["storage"] = f"unreachable: {describe(exc)}"
        return _json(503, {"healthy": False, **checks})
    if holder.leased:
        checks["running"] = holder.run_id
    if pointer is not None:
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
    if settings.lists:
        checks["lists"] = _list_health(settings.lists, lists)
        healthy = healthy and all(v["problem"] is None for v in checks["lists"].values())
    checks["feeds"] = feed_health(feeds, app.feed_stale_after_hours)
    healthy = healthy and all(v["problem"] is None for v in checks["feeds"].values())
    checks["attention"] = _attention(store, pointer)
    return _json(200 if healthy else 503, {"healthy": healthy, **checks})


def _attention(store: Store, pointer: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The last run's drift and headroom notes (the run put drift right; a limit near is a
    warning): shown, never unhealthy. Within the health budget, or left out."""
    if pointer is None:
        return []
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="health")
    read = pool.submit(store.history.get, str(pointer["run_id"]))
    pool.shutdown(wait=False)
    try:
        stored = read.result(timeout=HEALTH_BUDGET_S)
    except Exception as exc:
        log.warning("/api/health: the last report was not read: %s", describe(exc))
        return []
    return attention(Report.model_validate(stored)) if stored else []


def _list_health(names: Iterable[str], status: Mapping[str, Any]) -> dict[str, Any]:
    """Each configured list's last outcome; ``problem`` says why its last good copy is served."""
    result: dict[str, Any] = {}
    for name in names:
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
    from sync.kinds.list import configured
    from sync.settings import load_settings

    asked, fmt = split_name(req.route_params.get("name", ""))
    try:
        settings = load_settings()
        app = load_app_settings()
        spec = configured(settings.lists, asked)
    except (SettingsError, TargetError) as exc:
        log.error("%s", exc)
        return _error(500, str(exc))
    if spec is None:
        known = ", ".join(sorted(settings.lists)) or "none (set IPSYNC_LISTS)"
        return _error(404, f"unknown list {asked!r}; published lists: {known}")
    name = spec.name
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
    document, written = stored.document, stored.modified
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


def _not_modified(req: func.HttpRequest, etag: str, modified: datetime | None) -> bool:
    """True when the caller has this copy: ``If-None-Match`` first, else ``If-Modified-Since``
    (where the answer has a date)."""
    match = req.headers.get("If-None-Match")
    if match is not None:
        tags = {t.strip().removeprefix("W/") for t in match.split(",")}
        return "*" in tags or etag in tags
    since = req.headers.get("If-Modified-Since")
    if since is None or modified is None:
        return False
    try:
        when = parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return modified <= when


#: Stored reports the status page reads (the newest): its table shows 20, its chart the
#: releases these runs applied.
STATUS_RUNS = 60
#: Reports and lists read at once for the status page.
STATUS_READERS = 8


def http_changes(req: func.HttpRequest, *, atom: bool = False) -> func.HttpResponse:
    """``GET /api/changes`` (JSON) and ``/api/changes.atom`` (Atom 1.0): the kept change
    entries, newest first, with ``ETag``, ``Last-Modified`` and ``304``.

    Entries never change once stored, so their names make the ETag: a conditional GET costs
    one listing, not a read of every entry.
    """
    from sync.app.changefeed import changes_atom, changes_json

    try:
        store = Store.from_env(load_app_settings(), quick=True)
        names = store.changes.names()
        checked = None if names or not atom else store.history.latest_pointer()
    except SettingsError as exc:
        log.error("%s", exc)
        return _error(500, str(exc))
    except AzureError as exc:
        return _storage_error(exc)
    feed_url = _public_url(req, "/api/changes.atom")
    # An Atom feed says when it last changed: with no entry yet, when a run last looked.
    empty_since = datetime.fromisoformat(str((checked or {}).get("finished_at") or _EPOCH))
    etag = _etag("atom" if atom else "json", feed_url if atom else "", str(empty_since), *names)
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    modified = _entry_time(names[-1]) if names else None
    if modified is not None:
        headers["Last-Modified"] = format_datetime(modified, usegmt=True)
    if _not_modified(req, etag, modified):
        return func.HttpResponse(status_code=304, headers=headers)
    try:
        entries = store.changes.entries(names)
    except AzureError as exc:
        return _storage_error(exc)
    if not atom:
        body, mimetype = changes_json(entries), "application/json"
    else:
        body = changes_atom(entries, feed_url=feed_url, when_empty=empty_since)
        mimetype = "application/atom+xml"
    return func.HttpResponse(
        body, status_code=200, mimetype=mimetype, charset="utf-8", headers=headers
    )


_EPOCH = "1970-01-01T00:00:00+00:00"


def _public_url(req: func.HttpRequest, path: str) -> str:
    """The public URL of the app's ``path``: on its host name (``WEBSITE_HOSTNAME``), else on
    the request's; never with a query (the request's may hold the function key)."""
    from urllib.parse import urlsplit

    from sync.app.runs import HOSTNAME

    host = os.environ.get(HOSTNAME, "").strip()
    if host:
        return f"https://{host}{path}"
    parts = urlsplit(req.url)
    return f"{parts.scheme}://{parts.netloc}{path}" if parts.netloc else path


def _entry_time(name: str) -> datetime | None:
    """When the run that stored a change entry started (its name begins with it)."""
    from sync.app.changelog import NAME

    match = NAME.match(name)
    if match is None:
        return None
    return datetime.strptime(match[1], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def _etag(*parts: str) -> str:
    """A strong validator of what an answer is made from (and of this version's forms)."""
    from sync import __version__

    digest = hashlib.sha256("\n".join((__version__, *parts)).encode())
    return f'"{digest.hexdigest()[:32]}"'


def http_status(req: func.HttpRequest) -> func.HttpResponse:
    """``GET /api/status``: the operators' status page (HTML, no script, nothing loaded from
    elsewhere, its Content-Security-Policy as a header too), with ``ETag``, ``Last-Modified``
    (the start of the newest run shown) and ``304``."""
    from sync.app.status import CSP, render_status
    from sync.settings import load_settings

    try:
        app = load_app_settings()
        settings = load_settings()
        thresholds, names = settings.headroom, list(settings.lists)
        store = Store.from_env(app, quick=True)
        run_ids = store.history.run_ids()[-STATUS_RUNS:]
        changes = store.changes.names()[-1:]
        lists = store.lists.status() if names else {}
    except SettingsError as exc:
        log.error("%s", exc)
        return _error(500, str(exc))
    except AzureError as exc:
        return _storage_error(exc)
    seed = json.dumps([run_ids, changes, lists, names, thresholds], sort_keys=True)
    etag = _etag("status", seed)
    modified = run_time(run_ids[-1]).replace(microsecond=0) if run_ids else None
    headers = {"ETag": etag, "Cache-Control": "no-cache", "Content-Security-Policy": CSP}
    if modified is not None:
        headers["Last-Modified"] = format_datetime(modified, usegmt=True)
    if _not_modified(req, etag, modified):
        return func.HttpResponse(status_code=304, headers=headers)
    try:
        reports, published, change = _status_inputs(store, names, run_ids, changes, lists, req)
    except AzureError as exc:
        return _storage_error(exc)
    page = render_status(
        reports,
        lists=published,
        change=change,
        thresholds=thresholds,
        generated_at=datetime.now(UTC).replace(microsecond=0),
    )
    return func.HttpResponse(
        page, status_code=200, mimetype="text/html", charset="utf-8", headers=headers
    )


def _status_inputs(
    store: Store,
    names: list[str],
    run_ids: list[str],
    changes: list[str],
    lists: Mapping[str, Any],
    req: func.HttpRequest,
) -> tuple[list[Report], list[PublishedList], ChangeEntry | None]:
    """The reports of ``run_ids`` (oldest first), the published lists and the latest change,
    read in parallel."""
    from sync.app.status import PublishedList

    with ThreadPoolExecutor(max_workers=STATUS_READERS, thread_name_prefix="status") as pool:
        stored = pool.map(store.history.get, run_ids)
        documents = pool.map(store.lists.document, names)
        entries = pool.submit(store.changes.entries, changes)
        reports = [Report.model_validate(r) for r in stored if r is not None]
        published = []
        for name, found in zip(names, documents, strict=True):
            document = found.document if found is not None else {}
            count = sum(len(document.get(f) or ()) for f in ("v4", "v6")) if found else None
            published.append(
                PublishedList(
                    name,
                    _public_url(req, f"/api/lists/{name}"),
                    lists.get(name) or {},
                    published_at=document.get("published_at"),
                    entries=count,
                )
            )
        change = next(iter(entries.result()), None)
    return reports, published, change
