"""Storage that fails or does not answer, and a run that loses its lock."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from azure.functions.timer import TimerRequest
from azure.storage.blob import BlobLeaseClient

import function_app
from sync.app.http_api import HEALTH_BUDGET_S
from sync.app.triggers import RunFailed

from ._app import App, wait_for
from ._http import call, run_of
from .conftest import connection_string


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on: connections are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


@pytest.mark.parametrize("endpoint", ["closed_port", "silent_port"])
@pytest.mark.timeout(30)
def test_storage_problems_answer_503_naming_storage_within_seconds(
    endpoint: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    port: int = request.getfixturevalue(endpoint)
    monkeypatch.setenv("AzureWebJobsStorage", connection_string(port, port))
    for function, method, url, route in [
        (function_app.sync_http, "POST", "/api/sync", {}),
        (function_app.get_run, "GET", "/api/runs/latest", {"run_id": "latest"}),
    ]:
        started = time.monotonic()
        answer = call(function, method, url, route_params=route)
        assert time.monotonic() - started < 15
        assert answer.status == 503, answer.body
        assert answer.body["ok"] is False
        assert answer.body["error"].startswith("storage (AzureWebJobsStorage) unavailable: ")

    started = time.monotonic()
    health = call(function_app.health, "GET", "/api/health")
    assert time.monotonic() - started < HEALTH_BUDGET_S + 1
    assert (health.status, health.body["healthy"]) == (503, False)
    assert health.body["storage"].startswith("unreachable: ")


def test_a_run_that_loses_its_lock_stops_and_says_so(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IPSYNC_LEASE_S", "15")  # renewed every 5 s
    app.emulator.add_faults(
        [{"method": "PUT", "path_contains": "securityRules", "count": 1, "delay_s": 7}]
    )
    raised: list[BaseException] = []

    def timer() -> None:
        try:
            function_app.sync_timer(TimerRequest())
        except BaseException as exc:
            raised.append(exc)

    run = threading.Thread(target=timer)
    run.start()
    lock = app.storage.get_blob_client("lock")
    wait_for(
        lambda: lock.exists() and lock.get_blob_properties().lease.state == "leased",
        "the run to take the lock",
    )
    BlobLeaseClient(lock).break_lease(lease_break_period=0)  # e.g. an operator broke it
    run.join(60)
    assert [type(e) for e in raised] == [RunFailed]
    report = app.history().latest()
    assert report is not None
    assert report["ok"] is False
    assert report["error"].startswith("run stopped: it lost the run lock (renewal refused")
    assert run_of(function_app.get_run, report["run_id"]).body == report
