"""What the Functions host indexes, and the deployment files that go with it."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sync.app.app_settings import AppSettings, load_app_settings
from sync.app.runs import QUEUE
from sync.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
#: Settings with no useful example value (optional paths); documented in the README instead.
OPTIONAL = {"IPSYNC_CA_BUNDLE", "IPSYNC_CACHE_DIR"}


@pytest.fixture(scope="module")
def indexed() -> dict[str, dict[str, Any]]:
    """The function.json the worker would hand the host, by function name.

    ``get_functions()`` may be called once per app: this fixture is its only caller.
    """
    import function_app

    return {
        str(f.get_function_name()): json.loads(f.get_function_json())
        for f in function_app.app.get_functions()
    }


def _trigger(function: dict[str, Any]) -> dict[str, Any]:
    triggers: list[dict[str, Any]] = [
        b for b in function["bindings"] if b["type"].endswith("Trigger")
    ]
    assert len(triggers) == 1
    return triggers[0]


def test_functions_and_triggers(indexed: dict[str, dict[str, Any]]) -> None:
    http = {
        name: (t["route"], t["methods"], t["authLevel"])
        for name, f in indexed.items()
        if (t := _trigger(f))["type"] == "httpTrigger"
    }
    assert http == {
        "sync_http": ("sync", ["POST"], "FUNCTION"),
        "sync_force_http": ("sync/force", ["POST"], "ADMIN"),
        "get_run": ("runs/{run_id}", ["GET"], "FUNCTION"),
        "health": ("health", ["GET"], "FUNCTION"),
        "get_list": ("lists/{name}", ["GET"], "FUNCTION"),
        "get_changes": ("changes", ["GET"], "FUNCTION"),
        "get_changes_atom": ("changes.atom", ["GET"], "FUNCTION"),
        "get_status": ("status", ["GET"], "FUNCTION"),
    }
    timer = _trigger(indexed["sync_timer"])
    assert (timer["type"], timer["schedule"], timer["runOnStartup"]) == (
        "timerTrigger",
        "%IPSYNC_SCHEDULE%",
        False,
    )
    queued = {
        name: (t["queueName"], t["connection"])
        for name, f in indexed.items()
        if (t := _trigger(f))["type"] == "queueTrigger"
    }
    assert queued == {
        "sync_queued": (QUEUE, "AzureWebJobsStorage"),
        "sync_poisoned": (f"{QUEUE}-poison", "AzureWebJobsStorage"),
    }
    assert set(indexed) == {*http, *queued, "sync_timer"}


def _example() -> dict[str, str]:
    values: dict[str, str] = json.loads((ROOT / "local.settings.json.example").read_text())[
        "Values"
    ]
    return values


def test_every_referenced_setting_is_in_the_example(indexed: dict[str, dict[str, Any]]) -> None:
    """The host silently skips a function whose %SETTING% is undefined."""
    referenced = set(re.findall(r"%(\w+)%", json.dumps(indexed)))
    assert referenced == {"IPSYNC_SCHEDULE"}
    assert referenced <= set(_example())


def test_example_lists_every_setting_and_they_validate(monkeypatch: pytest.MonkeyPatch) -> None:
    example = _example()
    fields = {f"IPSYNC_{n.upper()}" for n in (*Settings.model_fields, *AppSettings.model_fields)}
    assert fields - OPTIONAL <= set(example)
    assert {"AzureWebJobsStorage", "FUNCTIONS_WORKER_RUNTIME"} <= set(example)
    for key, value in example.items():
        monkeypatch.setenv(key, value)
    settings = load_settings()
    assert settings.schedule == example["IPSYNC_SCHEDULE"]
    assert len(settings.schedule.split()) == 6  # NCRONTAB with seconds
    assert load_app_settings().http_wait_s == float(example["IPSYNC_HTTP_WAIT_S"])


def _seconds(hms: str) -> int:
    hours, minutes, seconds = (int(p) for p in hms.split(":"))
    return hours * 3600 + minutes * 60 + seconds


def test_host_json_timeout_leaves_room_for_the_time_budget() -> None:
    host = json.loads((ROOT / "host.json").read_text())
    assert host["version"] == "2.0"
    assert host["extensionBundle"] == {
        "id": "Microsoft.Azure.Functions.ExtensionBundle",
        "version": "[4.*, 5.0.0)",
    }
    queues = host["extensions"]["queues"]
    # what Store.enqueue writes (base64 text) and how often a raising run is tried
    assert queues["messageEncoding"] == "base64"
    assert 1 < queues["maxDequeueCount"] <= 5
    timeout = _seconds(host["functionTimeout"])
    assert Settings().time_budget_s < timeout
    assert float(_example()["IPSYNC_TIME_BUDGET_S"]) < timeout
    assert AppSettings().http_wait_s < 230  # the platform cuts HTTP responses at 230 s


def test_funcignore_keeps_tests_and_tooling_out_of_the_package() -> None:
    ignored = set((ROOT / ".funcignore").read_text().split())
    assert {"tests/", "bench/", "infra/", ".venv/", ".azurite/", "local.settings.json"} <= ignored
    assert not {"function_app.py", "host.json", "requirements.txt", "sync/"} & ignored


def test_import_defers_sdks_and_engine() -> None:
    """Indexing imports only azure.functions: no storage SDK, engine or pydantic at start."""
    code = (
        "import sys, function_app\n"
        "heavy = ['azure.storage.blob', 'azure.identity', 'azure.mgmt.network', 'sync.engine',"
        " 'sync.app.app_settings', 'sync.app.runs', 'sync.app.http_api', 'sync.app.triggers',"
        " 'pydantic_settings', 'azure.monitor.opentelemetry']\n"
        "print([m for m in heavy if m in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_an_unknown_ipsync_setting_is_warned_about_with_a_suggestion(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from sync.app import app_settings

    app_settings._warn_unknown_variables.cache_clear()
    monkeypatch.setenv("IPSYNC_TARGTES", "[]")
    monkeypatch.setenv("IPSYNC_HISTORY_KEEP", "10")
    with caplog.at_level(logging.WARNING, logger="sync"):
        app_settings.load_app_settings()
    (message,) = [r.getMessage() for r in caplog.records if "TARGTES" in r.getMessage()]
    assert "IPSYNC_TARGTES is not a setting" in message
    assert "did you mean IPSYNC_TARGETS?" in message
    app_settings._warn_unknown_variables.cache_clear()
