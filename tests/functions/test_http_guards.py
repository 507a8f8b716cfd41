"""HTTP answers decided before any run: force, bad input, settings, the lock, run look-ups."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from azure.functions.timer import TimerRequest
from azure.storage.blob import ContainerClient

import function_app
from sync.app.app_settings import AppSettings
from sync.app.history import History
from sync.app.runlock import RunLock
from sync.errors import SettingsError
from sync.report import Report, new_run_id

from ._http import call, run_of


@pytest.mark.parametrize(
    ("params", "body"), [({"force": "true"}, b""), ({}, {"force": True}), ({"force": "1"}, b"")]
)
def test_force_is_refused_on_the_function_key_route(
    storage: ContainerClient, params: dict[str, str], body: bytes | dict[str, bool]
) -> None:
    answer = call(function_app.sync_http, "POST", "/api/sync", params=params, body=body)
    assert answer.status == 403
    assert "/api/sync/force" in answer.body["error"]
    assert "IPSYNC_ALLOW_FORCE" in answer.body["error"]
    assert not storage.exists()  # refused before touching storage


def test_force_route_needs_allow_force(storage: ContainerClient) -> None:
    answer = call(function_app.sync_force_http, "POST", "/api/sync/force")
    assert answer.status == 403
    assert "IPSYNC_ALLOW_FORCE=true" in answer.body["error"]


@pytest.mark.parametrize(
    ("params", "body", "named"),
    [
        ({"dry_run": "maybe"}, b"", "dry_run"),
        ({}, b"{not json", "not valid JSON"),
        ({}, b"[1]", "JSON object"),
        ({}, {"dry_run": "yes"}, "dry_run"),
    ],
)
def test_bad_request_is_400_naming_the_problem(
    storage: ContainerClient, params: dict[str, str], body: bytes | dict[str, str], named: str
) -> None:
    answer = call(function_app.sync_http, "POST", "/api/sync", params=params, body=body)
    assert answer.status == 400
    assert named in answer.body["error"]


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("IPSYNC_MAX_REMOVE_RATIO", "2"),
        ("IPSYNC_TARGETS", "not json"),
        ("IPSYNC_HTTP_WAIT_S", "300"),
        ("IPSYNC_LEASE_S", "5"),
    ],
)
def test_invalid_setting_is_named_in_the_answer_and_the_log(
    storage: ContainerClient,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    var: str,
    value: str,
) -> None:
    monkeypatch.setenv(var, value)
    answer = call(function_app.sync_http, "POST", "/api/sync")
    assert answer.status == 500
    assert answer.body["error"].startswith(f"setting {var}:")
    assert any(var in r.getMessage() and r.levelno == logging.ERROR for r in caplog.records)
    health = call(function_app.health, "GET", "/api/health")
    assert health.status == 503
    assert health.body["settings"].startswith(f"setting {var}:")


def test_missing_storage_setting_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    answer = call(function_app.sync_http, "POST", "/api/sync")
    assert answer.status == 500
    assert answer.body["error"].startswith("setting AzureWebJobsStorage: missing")


def test_timer_with_invalid_settings_fails_loudly(
    storage: ContainerClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("IPSYNC_CLOUD", "Mars")
    with pytest.raises(SettingsError, match="IPSYNC_CLOUD"):
        function_app.sync_timer(TimerRequest(past_due=False))
    assert any(
        "IPSYNC_CLOUD" in r.getMessage() and r.levelno == logging.ERROR for r in caplog.records
    )


def test_run_while_the_lock_is_held_is_409_naming_the_holder(
    storage: ContainerClient, caplog: pytest.LogCaptureFixture
) -> None:
    holder = new_run_id()
    with RunLock(storage, duration_s=15).acquire(holder):
        answer = call(function_app.sync_http, "POST", "/api/sync")
        assert answer.status == 409
        assert (answer.body["run_id"], answer.body["location"]) == (holder, f"/api/runs/{holder}")
        running = run_of(function_app.get_run, holder)
        assert (running.status, running.body["status"]) == (200, "running")
        latest = run_of(function_app.get_run, "latest")
        assert latest.body == running.body
        with caplog.at_level(logging.INFO):
            function_app.sync_timer(TimerRequest(past_due=True))  # skips, does not fail
        assert any("skipped" in r.getMessage() and holder in r.getMessage() for r in caplog.records)
    gone = run_of(function_app.get_run, holder)
    assert gone.status == 404
    assert "without storing a report" in gone.body["error"]


def test_unknown_runs_are_404(storage: ContainerClient) -> None:
    assert run_of(function_app.get_run, new_run_id()).status == 404
    assert run_of(function_app.get_run, "latest").status == 404
    assert run_of(function_app.get_run, "..%2Flock").status == 404


def test_health_reports_last_run_outcome_and_age(
    storage: ContainerClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh = call(function_app.health, "GET", "/api/health")
    assert (fresh.status, fresh.body["healthy"], fresh.body["last_run"]) == (200, True, None)
    storage.create_container()
    history = History(storage, keep=AppSettings().history_keep)
    old = new_run_id(datetime.now(UTC) - timedelta(hours=50))
    history.save(Report(ok=True, dry_run=False, run_id=old))
    stale = call(function_app.health, "GET", "/api/health")
    assert stale.status == 503
    assert stale.body["last_run"]["run_id"] == old
    assert "IPSYNC_HEALTH_MAX_AGE_H" in stale.body["last_run"]["problem"]
    monkeypatch.setenv("IPSYNC_HEALTH_MAX_AGE_H", "72")
    assert call(function_app.health, "GET", "/api/health").status == 200
    history.save(Report(ok=False, dry_run=False, run_id=new_run_id(), error="boom"))
    failed = call(function_app.health, "GET", "/api/health")
    assert (failed.status, failed.body["last_run"]["ok"]) == (503, False)
