"""Run notifications, posted to a real HTTP server on loopback."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from azure.functions.timer import TimerRequest

import function_app
from sync.app import notify
from sync.app.app_settings import load_app_settings
from sync.errors import SettingsError
from sync.report import Change, Report, SourceInfo, TargetReport

from ._app import App

TOKEN = "s3cr3t-t0ken"


class Hook:
    """A webhook receiver: records each POST and answers from a script (then 200)."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.script: list[tuple[int, dict[str, str]]] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                hook.received.append(json.loads(self.rfile.read(length)))
                status, headers = hook.script.pop(0) if hook.script else (200, {})
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/{TOKEN}"


@pytest.fixture
def hook() -> Iterator[Hook]:
    made = Hook()
    thread = threading.Thread(target=made.server.serve_forever, daemon=True)
    thread.start()
    yield made
    made.server.shutdown()
    made.server.server_close()


BODY = {"text": "hello"}


def test_post_retries_server_errors_then_delivers(
    hook: Hook, caplog: pytest.LogCaptureFixture
) -> None:
    hook.script = [(503, {"Retry-After": "0"}), (500, {})]
    with caplog.at_level(logging.INFO):
        assert notify.post(hook.url, BODY, first_delay_s=0.01) is True
    assert hook.received == [BODY] * 3
    assert TOKEN not in caplog.text
    assert "http://127.0.0.1/***" in caplog.text


def test_post_does_not_retry_a_client_error(hook: Hook) -> None:
    hook.script = [(404, {})]
    assert notify.post(hook.url, BODY, first_delay_s=0.01) is False
    assert len(hook.received) == 1


def test_post_gives_up_within_its_time_budget(hook: Hook) -> None:
    hook.script = [(503, {})] * 10
    began = time.monotonic()
    assert notify.post(hook.url, BODY, attempts=10, first_delay_s=0.2, budget_s=1.0) is False
    assert time.monotonic() - began < 2.0
    # 0.2 + 0.4 s of backoff fit in the budget, the next 0.8 s would not.
    assert len(hook.received) == 3


def test_post_honours_retry_after(hook: Hook) -> None:
    hook.script = [(429, {"Retry-After": "1"})]
    waits: list[float] = []

    async def wait(seconds: float) -> None:
        waits.append(seconds)

    assert notify.post(hook.url, BODY, first_delay_s=0.01, sleep=wait) is True
    assert waits == [1.0]


class Trickle:
    """A webhook that answers one byte at a time, each well within any read timeout."""

    ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"

    def __init__(self, every_s: float) -> None:
        self.every_s = every_s
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}/hooks/{TOKEN}"
        self.answered = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        connection, _ = self.server.accept()
        with connection:
            connection.recv(65536)
            try:
                for byte in self.ANSWER:
                    connection.sendall(bytes([byte]))
                    time.sleep(self.every_s)
            except OSError:
                return  # the client hung up: the notification gave up
            self.answered.set()


def test_a_trickling_webhook_cannot_hold_the_notification_past_its_deadline() -> None:
    """Each byte comes within the read timeout; only a deadline for the whole notification
    stops it (the full answer would take 30 s)."""
    trickle = Trickle(every_s=0.5)
    assert notify.post(trickle.url, BODY, budget_s=1.0) is False
    assert not trickle.answered.is_set()
    trickle.server.close()


@pytest.mark.parametrize("url", [f"https://h:abc/{TOKEN}", f"https://h:99999/{TOKEN}", "ftp://h/x"])
def test_a_url_httpx_cannot_post_to_is_refused_with_the_settings(
    monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("IPSYNC_NOTIFY_URL", url)
    with pytest.raises(SettingsError, match="IPSYNC_NOTIFY_URL") as error:
        load_app_settings()
    assert TOKEN not in str(error.value)


def test_a_notification_never_raises(caplog: pytest.LogCaptureFixture) -> None:
    assert notify.post(f"https://h:abc/{TOKEN}", BODY) is False
    assert notify.post(f"http://127.0.0.1:99999/{TOKEN}", BODY) is False
    assert "not delivered" in caplog.text
    assert TOKEN not in caplog.text


def test_unreachable_webhook_is_logged_without_its_url(caplog: pytest.LogCaptureFixture) -> None:
    hook = Hook()
    url = hook.url
    hook.server.server_close()  # nothing listens there now
    assert notify.post(url, BODY, attempts=2, first_delay_s=0.01) is False
    assert TOKEN not in caplog.text
    assert "not delivered" in caplog.text


def test_webhook_setting(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("IPSYNC_NOTIFY_URL", "@Microsoft.KeyVault(SecretUri=https://kv/secrets/x)")
    assert load_app_settings().notify_url is None
    assert "Key Vault reference" in caplog.text
    monkeypatch.setenv("IPSYNC_NOTIFY_URL", f"http://hooks.example.com/{TOKEN}")
    with pytest.raises(SettingsError, match="IPSYNC_NOTIFY_URL") as error:
        load_app_settings()
    assert TOKEN not in str(error.value)
    monkeypatch.setenv("IPSYNC_NOTIFY_URL", "")
    assert load_app_settings().notify_url is None


def _target(status: str, *, added: int = 0, removed: int = 0, error: str | None = None) -> Any:
    change = Change(
        rule="r",
        action="update",
        added=[f"10.0.{i}.0/24" for i in range(added)],
        removed=[f"10.1.{i}.0/24" for i in range(removed)],
    )
    return TargetReport(
        kind="nsg",
        resource=f"/nsg-{status}",
        status=status,  # type: ignore[arg-type]
        changes=[change],
        error=error,
        service_tags=["Storage.WestEurope"],
    )


def test_summary_tells_changes_per_tag_refusals_and_failures() -> None:
    report = Report(
        ok=False,
        dry_run=False,
        run_id="20251117T043000123Z-1a2b3c4d",
        source=SourceInfo(cloud="Public", change_number=373, origin="o", sha256="0"),
        targets=[
            _target("applied", added=3, removed=1),
            _target("refused", removed=9, error="too much"),
            _target("failed", error="boom"),
            _target("unchanged"),
        ],
    )
    body = notify.summary(report, "https://app/api/runs/x")
    assert body is not None
    assert [t["resource"] for t in body["changed"]] == ["/nsg-applied"]
    assert (body["changed"][0]["added"], body["changed"][0]["removed"]) == (3, 1)
    assert body["by_service_tags"] == {"Storage.WestEurope": {"added": 3, "removed": 1}}
    assert body["refused"][0]["error"] == "too much"
    assert body["failed"][0]["error"] == "boom"
    assert body["release"] == 373
    assert body["text"].endswith("1 changed, 1 refused, 1 failed - https://app/api/runs/x")
    # The body docs/notifications.md shows has exactly these fields.
    page = (Path(__file__).resolve().parents[2] / "docs" / "notifications.md").read_text()
    shown = json.loads(page.split("```json\n", 1)[1].split("```", 1)[0])
    assert set(shown) == set(body)
    assert set(shown["changed"][0]) == set(body["changed"][0])


def test_nothing_to_tell_posts_nothing_and_a_dry_run_tells_only_problems() -> None:
    quiet = Report(ok=True, dry_run=False, targets=[_target("unchanged")])
    assert notify.summary(quiet, None) is None
    planned = Report(ok=True, dry_run=True, targets=[_target("planned", added=2)])
    assert notify.summary(planned, None) is None
    refused = Report(ok=False, dry_run=True, targets=[_target("refused", error="no")])
    body = notify.summary(refused, None)
    assert body is not None
    assert len(body["refused"]) == 1
    errored = Report(ok=False, dry_run=False, error="feed down")
    assert notify.summary(errored, None) is not None


def test_a_run_that_changed_something_notifies_once(
    app: App, hook: Hook, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IPSYNC_NOTIFY_URL", hook.url)
    monkeypatch.setenv("WEBSITE_HOSTNAME", "ipsync-example.azurewebsites.net")
    function_app.sync_timer(TimerRequest())
    (body,) = hook.received
    run_id = app.history().run_ids()[-1]
    assert body["run_id"] == run_id
    assert body["report_url"] == f"https://ipsync-example.azurewebsites.net/api/runs/{run_id}"
    (changed,) = body["changed"]
    assert changed["added"] > 0
    stored = app.history().get(run_id)
    assert stored is not None
    assert TOKEN not in json.dumps(stored)
    function_app.sync_timer(TimerRequest())  # nothing changes: nothing is posted
    assert len(hook.received) == 1
