"""Azure Functions entry point (Python v2 model): a thin adapter over ``sync.app.triggers``
(timer and queue) and ``sync.app.http_api`` (HTTP).

Only ``azure.functions`` is imported here; the app's logic, the storage SDK and the engine are
imported on the first invocation, so indexing and cold start stay fast and do no network I/O.
"""

import azure.functions as func

app = func.FunctionApp()


@app.timer_trigger(schedule="%IPSYNC_SCHEDULE%", arg_name="timer", run_on_startup=False)
def sync_timer(timer: func.TimerRequest) -> None:
    """Scheduled sync (6-field NCRONTAB in UTC from IPSYNC_SCHEDULE)."""
    from sync.app import triggers

    triggers.timer_sync(past_due=timer.past_due)


@app.queue_trigger(arg_name="msg", queue_name="ipsync-runs", connection="AzureWebJobsStorage")
def sync_queued(msg: func.QueueMessage) -> None:
    """A manual run queued by ``POST /api/sync``: run in this invocation, under the lock."""
    from sync.app import triggers

    triggers.queue_sync(msg.get_body(), dequeue_count=msg.dequeue_count or 1)


@app.queue_trigger(
    arg_name="msg", queue_name="ipsync-runs-poison", connection="AzureWebJobsStorage"
)
def sync_poisoned(msg: func.QueueMessage) -> None:
    """A queued run the host gave up on after maxDequeueCount tries: mark it failed."""
    from sync.app import triggers

    triggers.queue_poisoned(msg.get_body())


@app.route(route="sync", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
def sync_http(req: func.HttpRequest) -> func.HttpResponse:
    """Manual run, queued; ``?dry_run=true`` previews. Answers the report, or 202 and a Location."""
    from sync.app import http_api

    return http_api.http_sync(req)


@app.route(route="sync/force", methods=["POST"], auth_level=func.AuthLevel.ADMIN)
def sync_force_http(req: func.HttpRequest) -> func.HttpResponse:
    """Run overriding the safety guards: master key only, and IPSYNC_ALLOW_FORCE=true."""
    from sync.app import http_api

    return http_api.http_sync(req, force_route=True)


@app.route(route="runs/{run_id}", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def get_run(req: func.HttpRequest) -> func.HttpResponse:
    """A stored report, ``latest``, or a running record."""
    from sync.app import http_api

    return http_api.http_run(req)


@app.route(route="health", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def health(req: func.HttpRequest) -> func.HttpResponse:
    """Settings valid, storage reachable, last run's outcome and age: 200 or 503."""
    from sync.app import http_api

    return http_api.http_health(req)


@app.route(route="lists/{name}", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def get_list(req: func.HttpRequest) -> func.HttpResponse:
    """A published list: plain (one CIDR per line), .json, .csv or .checkpoint.json; ETag/304."""
    from sync.app import http_api

    return http_api.http_list(req)


@app.route(route="changes", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def get_changes(req: func.HttpRequest) -> func.HttpResponse:
    """What each kept release changed in the selected service tags, newest first; ETag/304."""
    from sync.app import http_api

    return http_api.http_changes(req)


@app.route(route="changes.atom", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def get_changes_atom(req: func.HttpRequest) -> func.HttpResponse:
    """The same as an Atom 1.0 feed, for feed readers, Teams and Slack; ETag/304."""
    from sync.app import http_api

    return http_api.http_changes(req, atom=True)


@app.route(route="status", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def get_status(req: func.HttpRequest) -> func.HttpResponse:
    """The operators' status page: last runs, every target's state, lists, the latest change."""
    from sync.app import http_api

    return http_api.http_status(req)
