"""Whole runs through the app: the real engine against the ARM emulator, storage in Azurite.

Manual runs go through the run queue, performed by the host's part in the background.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

import pytest
from azure.functions.timer import TimerRequest

import function_app
from sync.app.triggers import RunFailed
from sync.report import new_run_id

from ._app import App, nsg_id, target, wait_for
from ._host import QueueHost
from ._http import Answer, call, run_of


@pytest.fixture(autouse=True)
def _queued_runs_are_performed(app: App, host: QueueHost) -> Iterator[None]:
    """The host's queue polling, from after the app's set-up to before its storage goes."""
    with host.running():
        yield


def test_dry_run_then_apply_over_http(app: App) -> None:
    preview = app.sync(dry_run="true")
    assert preview.status == 200, preview.body
    assert preview.body["dry_run"] is True
    assert [t["status"] for t in preview.body["targets"]] == ["planned"]
    planned = {c["rule"]: c for c in preview.body["targets"][0]["changes"]}
    assert planned
    assert app.arm_writes() == 0
    assert preview.headers["X-Ipsync-Exit-Code"] == "2"

    applied = app.sync()
    assert applied.status == 200, applied.body
    report = applied.body
    assert (report["ok"], report["dry_run"]) == (True, False)
    assert [t["status"] for t in report["targets"]] == ["applied"]
    assert {c["rule"]: c for c in report["targets"][0]["changes"]} == planned
    assert report["writes"] == app.arm_writes() > 0

    again = app.sync()
    assert [t["status"] for t in again.body["targets"]] == ["unchanged"]
    assert again.body["writes"] == 0

    for answer in (preview, applied, again):
        stored = run_of(function_app.get_run, answer.body["run_id"])
        assert (stored.status, stored.body) == (200, answer.body)
    assert run_of(function_app.get_run, "latest").body == again.body
    assert app.history().run_ids() == sorted(a.body["run_id"] for a in (preview, applied, again))
    health = call(function_app.health, "GET", "/api/health")
    assert (health.status, health.body["last_run"]["run_id"]) == (200, again.body["run_id"])


def test_slow_run_answers_202_then_polls_and_refuses_a_second_run(
    app: App, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("IPSYNC_HTTP_WAIT_S", "0.5")
    app.emulator.add_faults(
        [{"method": "PUT", "path_contains": "securityRules", "count": 1, "delay_s": 3}]
    )
    started = app.sync()
    assert started.status == 202, started.body
    run_id = started.body["run_id"]
    assert started.headers["Location"] == f"/api/runs/{run_id}"

    running = run_of(function_app.get_run, run_id)
    assert (running.status, running.body["status"]) == (200, "running")
    second = app.sync()
    assert (second.status, second.body["run_id"]) == (409, run_id)
    with caplog.at_level(logging.INFO):
        function_app.sync_timer(TimerRequest())
    assert any("skipped" in r.getMessage() for r in caplog.records)

    def finished() -> Answer | None:
        answer = run_of(function_app.get_run, run_id)
        return answer if "status" not in answer.body else None

    report = wait_for(finished, "the background run's report").body
    assert (report["run_id"], report["ok"]) == (run_id, True)
    assert [t["status"] for t in report["targets"]] == ["applied"]
    assert report["writes"] == app.arm_writes()
    assert app.history().run_ids() == [run_id]  # the refused runs stored nothing


def test_two_simultaneous_requests_one_runs_one_is_refused(app: App) -> None:
    answers: list[Answer] = []
    threads = [threading.Thread(target=lambda: answers.append(app.sync())) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(a.status for a in answers) == [200, 409]
    ran = next(a for a in answers if a.status == 200)
    refused = next(a for a in answers if a.status == 409)
    assert refused.body["run_id"] in (ran.body["run_id"], None)
    assert app.history().run_ids() == [ran.body["run_id"]]
    assert ran.body["writes"] == app.arm_writes()


def test_lock_left_by_a_crashed_run_frees_itself(app: App) -> None:
    """A worker that died keeps the lock only until its lease (15 s here) expires."""
    app.storage.create_container()
    lock = app.storage.get_blob_client("lock")
    lock.upload_blob(b"")
    crashed = new_run_id()
    lease = lock.acquire_lease(lease_duration=15)
    lock.set_blob_metadata({"run_id": crashed}, lease=lease)

    refused = app.sync()
    assert (refused.status, refused.body["run_id"]) == (409, crashed)

    def after_expiry() -> Answer | None:
        answer = app.sync(dry_run="true")
        return answer if answer.status != 409 else None

    answer = wait_for(after_expiry, "the crashed run's lease to expire", timeout_s=30)
    assert answer.status == 200
    assert [t["status"] for t in answer.body["targets"]] == ["planned"]
    gone = run_of(function_app.get_run, crashed)
    assert gone.status == 404


def test_history_keeps_the_configured_number(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IPSYNC_HISTORY_KEEP", "2")
    ids = [app.sync(dry_run="true").body["run_id"] for _ in range(3)]
    assert app.history().run_ids() == ids[1:]
    assert run_of(function_app.get_run, ids[0]).status == 404
    assert run_of(function_app.get_run, "latest").body["run_id"] == ids[2]


def test_emulator_fault_fails_its_target_and_shows_in_the_report(app: App) -> None:
    app.targets(target("nsg-a"), target("nsg-b"))
    app.emulator.add_faults(
        [{"method": "PUT", "path_contains": "nsg-b", "count": 1, "lro": "Failed"}]
    )
    answer = app.sync()
    assert answer.status == 200
    by_nsg = {t["nsg"]: t for t in answer.body["targets"]}
    assert by_nsg[nsg_id("nsg-a")]["status"] == "applied"
    assert by_nsg[nsg_id("nsg-b")]["status"] == "failed"
    assert by_nsg[nsg_id("nsg-b")]["error"]
    assert answer.body["ok"] is False
    assert answer.headers["X-Ipsync-Exit-Code"] == "1"
    assert run_of(function_app.get_run, answer.body["run_id"]).body == answer.body
    assert call(function_app.health, "GET", "/api/health").status == 503


def test_timer_syncs_everything_and_logs_each_target(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    app.targets(target("nsg-a"), target("nsg-b"))
    with caplog.at_level(logging.INFO):
        function_app.sync_timer(TimerRequest())
    report = app.history().latest()
    assert report is not None
    assert sorted(t["status"] for t in report["targets"]) == ["applied", "applied"]
    assert report["writes"] == app.arm_writes() > 0
    lines = [r for r in caplog.records if getattr(r, "run_id", None) == report["run_id"]]
    assert {getattr(r, "resource", None) for r in lines} >= {nsg_id("nsg-a"), nsg_id("nsg-b")}
    assert all(r.levelno == logging.INFO for r in lines)


def test_timer_with_a_failed_target_logs_all_stores_and_raises(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    app.targets(target("nsg-a"), target("nsg-b"))
    fault = {"status": 400, "code": "InvalidRequest", "message": "nope"}
    app.emulator.add_faults([{"method": "PUT", "path_contains": "nsg-b", "count": 5, **fault}])
    with caplog.at_level(logging.INFO), pytest.raises(RunFailed):
        function_app.sync_timer(TimerRequest())
    report = app.history().latest()
    assert report is not None
    assert {t["nsg"]: t["status"] for t in report["targets"]} == {
        nsg_id("nsg-a"): "applied",
        nsg_id("nsg-b"): "failed",
    }
    levels = {r.resource: r.levelno for r in caplog.records if hasattr(r, "resource")}
    assert levels == {nsg_id("nsg-a"): logging.INFO, nsg_id("nsg-b"): logging.ERROR}


def test_force_route_overrides_a_guard_only_when_allowed(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = app.sync()
    added = first.body["targets"][0]["changes"][0]["added"]
    prefix = next(p for p in added if "/" in p)
    monkeypatch.setenv("IPSYNC_MAX_REMOVE_RATIO", "0")
    app.targets(target("nsg-a", exclude_prefixes=[prefix]))

    refused = app.sync()
    assert [t["status"] for t in refused.body["targets"]] == ["refused"]
    assert refused.headers["X-Ipsync-Exit-Code"] == "3"
    writes_before = app.arm_writes()
    assert app.force().status == 403  # IPSYNC_ALLOW_FORCE is off
    assert app.arm_writes() == writes_before

    monkeypatch.setenv("IPSYNC_ALLOW_FORCE", "true")
    forced = app.force()
    assert forced.status == 200, forced.body
    (report,) = forced.body["targets"]
    assert report["status"] == "applied"
    assert any(prefix in c["removed"] for c in report["changes"])
