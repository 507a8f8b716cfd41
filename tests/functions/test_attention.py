"""What needs a look, through the app: drift and a feed gone stale or unreachable, in the
stored report, the notification (JSON, Slack, Teams) and ``/api/health``. Real runs against
the ARM emulator, storage in Azurite."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jsonschema
import pytest
from azure.functions.timer import TimerRequest

import function_app
from sync.app import notify
from sync.app.feedwatch import BLOB
from sync.app.triggers import RunFailed
from sync.report import Report, TargetReport

from ._app import RG, App
from ._http import call
from .adaptive_card import CARD_1_4, WORKFLOWS_MESSAGE
from .test_notify import Hook, hook  # noqa: F401  (the loopback webhook fixture)


def _backdate(app: App, field: str, hours: float) -> None:
    """Move the watch's ``field`` of the azure feed ``hours`` into the past."""
    blob = app.storage.get_blob_client(BLOB)
    watch = json.loads(blob.download_blob().readall())
    watch["azure"][field] = (datetime.now(UTC) - timedelta(hours=hours)).isoformat()
    blob.upload_blob(json.dumps(watch).encode(), overwrite=True)


def _latest(app: App) -> dict[str, Any]:
    latest = app.history().latest()
    assert latest is not None
    return latest


def test_drift_and_a_stale_release_reach_the_notification_and_health(
    app: App,
    hook: Hook,  # noqa: F811
    network_client: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    function_app.sync_timer(TimerRequest())
    health = call(function_app.health, "GET", "/api/health")
    assert health.status == 200, health.body
    assert health.body["feeds"]["azure"]["release"] == "373"
    assert health.body["feeds"]["azure"]["problem"] is None
    assert health.body["attention"] == []

    # Someone deletes a rule ipsync wrote; the next run says so, and writes it back.
    (rule,) = [
        r.name for r in network_client.security_rules.list(RG, "nsg-a") if r.name.endswith("v4")
    ]
    network_client.security_rules.begin_delete(RG, "nsg-a", rule).result()
    monkeypatch.setenv("IPSYNC_NOTIFY_URL", hook.url)
    monkeypatch.setenv("IPSYNC_NOTIFY_FORMAT", "teams")
    function_app.sync_timer(TimerRequest())

    (row,) = _latest(app)["targets"]
    drift = [n for n in row["notes"] if n.startswith("drift: ")]
    assert drift[0].startswith("drift: the IPv4 entries ipsync wrote were removed by someone")
    (posted,) = hook.received
    jsonschema.validate(posted, WORKFLOWS_MESSAGE)
    card = posted["attachments"][0]["content"]
    jsonschema.Draft6Validator(CARD_1_4).validate(card)
    assert f"nsg nsg-a: {drift[0]}" in json.dumps(card["body"])
    assert "1 changed, 0 refused, 0 failed, 1 to look at" in card["fallbackText"]
    health = call(function_app.health, "GET", "/api/health")
    assert health.body["attention"] == [
        {"kind": "nsg", "resource": row["resource"], "notes": drift}
    ]
    assert health.status == 200  # the run put it right: worth a look, not unhealthy

    # The same release for longer than the setting allows: the feed is stale.
    _backdate(app, "since", 300)
    stale = call(function_app.health, "GET", "/api/health")
    assert stale.status == 503
    assert "unchanged for 300 h" in stale.body["feeds"]["azure"]["problem"]
    assert "IPSYNC_FEED_STALE_AFTER_HOURS=240" in stale.body["feeds"]["azure"]["problem"]
    monkeypatch.setenv("IPSYNC_FEED_STALE_AFTER_HOURS", "400")
    assert call(function_app.health, "GET", "/api/health").status == 200


def test_a_feed_unreachable_for_longer_than_the_setting_is_told(
    app: App,
    hook: Hook,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Any,
) -> None:
    function_app.sync_timer(TimerRequest())
    monkeypatch.setenv("IPSYNC_SOURCE", str(tmp_path / "gone.json"))
    with pytest.raises(RunFailed):
        function_app.sync_timer(TimerRequest())
    assert _latest(app)["notes"] == []  # failing, but not for long yet
    _backdate(app, "failing_since", 50)
    monkeypatch.setenv("IPSYNC_FEED_STALE_AFTER_HOURS", "48")
    monkeypatch.setenv("IPSYNC_NOTIFY_URL", hook.url)
    with pytest.raises(RunFailed):
        function_app.sync_timer(TimerRequest())

    (note,) = _latest(app)["notes"]
    assert note.startswith("feed azure: not read for 50 h (since ")
    assert "IPSYNC_FEED_STALE_AFTER_HOURS=48): " in note
    assert "gone.json" in note  # the run's own error says what could not be read
    (posted,) = hook.received
    assert posted["attention"] == [{"kind": "", "resource": "", "notes": [note]}]
    health = call(function_app.health, "GET", "/api/health")
    assert health.status == 503
    assert health.body["feeds"]["azure"]["problem"].startswith("feed azure: not read for 50 h")


def test_a_dry_run_that_finds_drift_notifies_and_headroom_alone_does_not() -> None:
    drift = "drift: the IPv4 entries ipsync wrote were removed by someone else since its last run"
    near = "near capacity: 399 of 400 entries in use (100%, notes from 90%)"
    planned = TargetReport(kind="nsg", resource="/x/nsg-a", status="planned", notes=[drift, near])
    quiet = TargetReport(kind="nsg", resource="/x/nsg-b", status="unchanged", notes=[near])
    body = notify.summary(Report(ok=True, dry_run=True, targets=[planned, quiet]), None)
    assert body is not None
    assert body["attention"] == [
        {"kind": "nsg", "resource": "/x/nsg-a", "notes": [drift, near]},
        {"kind": "nsg", "resource": "/x/nsg-b", "notes": [near]},
    ]
    assert body["text"].endswith("0 failed, 3 to look at (drift, limits near, feeds)")
    assert notify.summary(Report(ok=True, dry_run=False, targets=[quiet]), None) is None
