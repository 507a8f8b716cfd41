"""Manual runs as queued invocations: the message, the queue function, redelivery, poison."""

from __future__ import annotations

import base64
import http.client
import json
import logging
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from azure.storage.queue import QueueServiceClient

import function_app

from ._app import App
from ._host import POISON, RUNS, QueueHost
from ._http import run_of


def _raw_messages(connection: str, queue: str) -> list[str]:
    """The stored text of the messages on ``queue``, as the host would read it."""
    client = QueueServiceClient.from_connection_string(connection).get_queue_client(queue)
    return [m.content for m in client.peek_messages(max_messages=32)]


def test_a_request_is_queued_as_base64_json_and_performed_by_the_queue_function(
    app: App, host: QueueHost, azurite: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IPSYNC_HTTP_WAIT_S", "0.3")
    queued = app.sync(dry_run="true")
    assert queued.status == 202, queued.body
    run_id = queued.body["run_id"]
    assert (queued.body["status"], queued.headers["Location"]) == ("queued", f"/api/runs/{run_id}")
    (text,) = _raw_messages(azurite, RUNS)
    message = json.loads(base64.b64decode(text, validate=True))
    assert set(message) == {"run_id", "dry_run", "force", "requested_at"}
    assert (message["run_id"], message["dry_run"], message["force"]) == (run_id, True, False)
    record = run_of(function_app.get_run, run_id)
    assert (record.status, record.body["status"], record.body["dry_run"]) == (200, "queued", True)
    assert app.history().run_ids() == []

    host.drain()
    assert host.errors == []
    report = run_of(function_app.get_run, run_id).body
    assert (report["run_id"], report["dry_run"], report["ok"]) == (run_id, True, True)
    assert [t["status"] for t in report["targets"]] == ["planned"]
    assert app.arm_writes() == 0
    assert _raw_messages(azurite, RUNS) == []
    assert run_of(function_app.get_run, "latest").body == report


def test_a_redelivered_message_of_a_finished_run_does_not_run_again(
    app: App, host: QueueHost, azurite: str, caplog: pytest.LogCaptureFixture
) -> None:
    with host.running():
        applied = app.sync()
    assert applied.status == 200, applied.body
    writes = app.arm_writes()
    assert writes > 0
    message = base64.b64encode(
        json.dumps(
            {
                "run_id": applied.body["run_id"],
                "dry_run": False,
                "force": False,
                "requested_at": applied.body["started_at"],
            }
        ).encode()
    ).decode()
    queue = QueueServiceClient.from_connection_string(azurite).get_queue_client(RUNS)
    app.targets()  # were it run again, it would now fail: nothing to sync
    with caplog.at_level(logging.INFO):
        queue.send_message(message)  # the host delivers a message again, e.g. after a crash
        host.drain()
    assert host.errors == []
    assert app.arm_writes() == writes
    assert app.history().run_ids() == [applied.body["run_id"]]
    assert run_of(function_app.get_run, applied.body["run_id"]).body == applied.body
    assert any("already finished" in r.getMessage() for r in caplog.records)


class _DenyReports(BaseHTTPRequestHandler):
    """Forwards to Azurite's blob service, except that writing a report is denied (403)."""

    upstream: int
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's connection pool expects

    def _handle(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.command == "PUT" and re.search(r"/runs/[^/?]+\.json", self.path):
            self.send_response(403)
            self.send_header("x-ms-error-code", "AuthorizationPermissionMismatch")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        upstream = http.client.HTTPConnection("127.0.0.1", self.upstream, timeout=10)
        upstream.request(self.command, self.path, body=body, headers=dict(self.headers))
        answer = upstream.getresponse()
        data = answer.read()
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        upstream.close()

    do_GET = do_PUT = do_HEAD = do_DELETE = do_POST = _handle

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def reports_denied(azurite: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The app's blob storage behind a proxy that refuses to store any report."""
    endpoint = re.search(r"BlobEndpoint=http://127.0.0.1:(\d+)/", azurite)
    assert endpoint is not None
    blob_port = int(endpoint[1])
    handler = type("Handler", (_DenyReports,), {"upstream": blob_port})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    proxied = azurite.replace(f"127.0.0.1:{blob_port}/", f"127.0.0.1:{server.server_port}/")
    monkeypatch.setenv("AzureWebJobsStorage", proxied)
    yield
    server.shutdown()
    server.server_close()


def test_a_run_that_keeps_raising_is_tried_max_dequeue_count_times_then_marked_failed(
    app: App, host: QueueHost, azurite: str, monkeypatch: pytest.MonkeyPatch, reports_denied: None
) -> None:
    monkeypatch.setenv("IPSYNC_HTTP_WAIT_S", "0.3")
    queued = app.sync(dry_run="true")
    assert queued.status == 202, queued.body
    run_id = queued.body["run_id"]

    host.step()
    retrying = run_of(function_app.get_run, run_id).body
    assert (retrying["status"], retrying["attempt"]) == ("retrying", 1)
    assert "AuthorizationPermissionMismatch" in retrying["error"]
    host.drain()
    assert len(host.errors) == host.max_dequeue_count
    assert _raw_messages(azurite, RUNS) == _raw_messages(azurite, POISON) == []

    failed = run_of(function_app.get_run, run_id)
    assert (failed.status, failed.body["status"]) == (200, "failed")
    assert failed.body["error"].startswith(f"given up after {host.max_dequeue_count} tries: ")
    assert "AuthorizationPermissionMismatch" in failed.body["error"]
    assert app.history().run_ids() == []
    assert app.storage.get_blob_client("lock").get_blob_properties().lease.state != "leased"
