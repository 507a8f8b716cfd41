"""``GET /api/changes``, ``/api/changes.atom`` and ``/api/status`` against Azurite after real
runs: the bodies, the Atom feed read back by a real feed parser, conditional GETs, and the
status page as headless Chromium shows it."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import azure.functions as func
import feedparser
import pytest
from azure.functions.timer import TimerRequest
from azure.storage.blob import ContainerClient

import function_app
from sync.app.changelog import ChangeLog
from sync.app.status import CSP
from sync.app.triggers import RunFailed
from sync.changes import ChangeEntry, entry_id
from tests.engine.test_status_page import Tables, browse

from ._app import FEED, App, target

OLD = FEED.with_name("ServiceTags_Public_20251010.json.xz")
HOST = "ipsync-example.azurewebsites.net"
KEY = "the-function-key"

Route = Callable[[func.HttpRequest], func.HttpResponse]


def get(route: Route, path: str, **headers: str) -> func.HttpResponse:
    """A GET as the host hands it over: an absolute URL whose query holds the function key."""
    request = func.HttpRequest(
        method="GET",
        url=f"https://{HOST}{path}?code={KEY}",
        params={"code": KEY},
        body=b"",
        headers=headers,
    )
    response: func.HttpResponse = route(request)
    return response


def week(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    """The bundled week: 2025-10-10, then 2025-10-17, one target selecting AzureMonitor."""
    app.targets(target("nsg-a", service_tags=["Storage.WestEurope", "AzureMonitor"]))
    for source in (OLD, FEED):
        monkeypatch.setenv("IPSYNC_SOURCE", str(source))
        function_app.sync_timer(TimerRequest())


def test_the_change_feed_in_json_and_atom(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBSITE_HOSTNAME", HOST)
    week(app, monkeypatch)
    answer = get(function_app.get_changes, "/api/changes")
    assert answer.status_code == 200
    assert answer.mimetype == "application/json"
    (change,) = json.loads(answer.get_body())["changes"]
    assert change["id"] == entry_id("Public", "372", "373")
    assert list(change["tags"]) == ["AzureMonitor"]
    assert change["targets"][0]["status"] == "applied"
    seen = datetime.fromisoformat(change["seen_at"])
    assert answer.headers["Last-Modified"] == format_datetime(seen, usegmt=True)

    atom = get(function_app.get_changes_atom, "/api/changes.atom")
    assert atom.status_code == 200
    assert atom.mimetype == "application/atom+xml"
    assert atom.headers["ETag"] != answer.headers["ETag"]
    parsed = feedparser.parse(atom.get_body())
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    feed_url = f"https://{HOST}/api/changes.atom"
    assert [link.href for link in parsed.feed.links if link.rel == "self"] == [feed_url]
    assert KEY not in atom.get_body().decode()  # the key never makes it into the feed
    (entry,) = parsed.entries
    assert entry.id == change["id"]
    assert entry.title.startswith("Public release 373: 1 service tag changed, 1 target")
    assert "AzureMonitor" in entry.content[0].value


def test_conditional_gets_answer_304_until_a_new_entry(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    week(app, monkeypatch)
    for route, path in (
        (function_app.get_changes, "/api/changes"),
        (function_app.get_changes_atom, "/api/changes.atom"),
    ):
        first = get(route, path)
        etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
        again = get(route, path, **{"If-None-Match": etag})
        assert (again.status_code, again.get_body()) == (304, b"")
        assert again.headers["ETag"] == etag
        assert get(route, path, **{"If-Modified-Since": modified}).status_code == 304
        assert get(route, path, **{"If-None-Match": '"other"'}).status_code == 200
    later = datetime.now(UTC).replace(microsecond=0) + timedelta(days=7)
    ChangeLog(app.storage).add(
        ChangeEntry(
            id=entry_id("Public", "373", "374"),
            cloud="Public",
            mark="374",
            previous="373",
            seen_at=later.isoformat(),
            tags={},
        )
    )
    newer = get(function_app.get_changes, "/api/changes", **{"If-None-Match": etag})
    assert newer.status_code == 200
    assert [c["mark"] for c in json.loads(newer.get_body())["changes"]] == ["374", "373"]
    assert newer.headers["Last-Modified"] == format_datetime(later, usegmt=True)


def test_an_empty_feed_is_a_valid_feed(storage: ContainerClient) -> None:
    answer = get(function_app.get_changes, "/api/changes")
    assert (answer.status_code, json.loads(answer.get_body())) == (200, {"changes": []})
    assert "Last-Modified" not in answer.headers
    atom = feedparser.parse(get(function_app.get_changes_atom, "/api/changes.atom").get_body())
    assert atom.bozo == 0
    assert atom.entries == []
    assert atom.feed.updated == "1970-01-01T00:00:00Z"  # no run has looked yet
    # Without WEBSITE_HOSTNAME the feed is where it was asked for, without the query.
    assert atom.feed.id.startswith("urn:uuid:")
    assert [link.href for link in atom.feed.links] == [f"https://{HOST}/api/changes.atom"]


def test_the_status_page_in_chromium(
    app: App, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("IPSYNC_LISTS", json.dumps({"edl": {"service_tags": ["AzureMonitor"]}}))
    refused = target("nsg-b", service_tags=["AzureCloud.westeurope"], max_entries=50)
    app.targets(target("nsg-a", service_tags=["Storage.WestEurope", "AzureMonitor"]), refused)
    for source in (OLD, FEED):
        monkeypatch.setenv("IPSYNC_SOURCE", str(source))
        with pytest.raises(RunFailed):  # nsg-b is refused in both runs
            function_app.sync_timer(TimerRequest())
    answer = get(function_app.get_status, "/api/status")
    assert answer.status_code == 200
    assert answer.mimetype == "text/html"
    assert answer.headers["Content-Security-Policy"] == CSP
    run_ids = app.history().run_ids()
    page = tmp_path / "status.html"
    page.write_bytes(answer.get_body())
    seen = Tables()
    seen.feed(browse(page, "--dump-dom"))

    rows = {row[1].split()[0]: row for row in seen.rows["targets"][1:]}
    assert set(rows) == {"rg-app/nsg-a", "rg-app/nsg-b", "lists/edl"}
    assert [rows[name][2] for name in sorted(rows)] == ["applied", "applied", "refused"]
    assert rows["rg-app/nsg-b"][6].startswith("refused: ")
    assert "max_entries 50" in rows["rg-app/nsg-b"][6]
    (edl,) = seen.rows["lists"][1:]
    assert edl[:3] == ["edl", f"https://{HOST}/api/lists/edl", "applied"]
    assert [row[0] for row in seen.rows["runs"][1:]] == list(reversed(run_ids))
    text = " ".join(" ".join(seen.text).split())
    assert "Latest change Public release 372 -> 373: IPv4 +" in text

    etag, modified = answer.headers["ETag"], answer.headers["Last-Modified"]
    assert get(function_app.get_status, "/api/status", **{"If-None-Match": etag}).status_code == 304
    again = get(function_app.get_status, "/api/status", **{"If-Modified-Since": modified})
    assert again.status_code == 304
    with pytest.raises(RunFailed):
        function_app.sync_timer(TimerRequest())
    newer = get(function_app.get_status, "/api/status", **{"If-None-Match": etag})
    assert newer.status_code == 200


def test_the_status_page_before_any_run(storage: ContainerClient) -> None:
    answer = get(function_app.get_status, "/api/status")
    assert answer.status_code == 200
    assert "No run has been stored yet." in answer.get_body().decode()


def test_a_bad_setting_is_named(storage: ContainerClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IPSYNC_CONTAINER", "Not_A_Container")
    for route, path in (
        (function_app.get_changes, "/api/changes"),
        (function_app.get_changes_atom, "/api/changes.atom"),
        (function_app.get_status, "/api/status"),
    ):
        answer = get(route, path)
        assert answer.status_code == 500
        assert "IPSYNC_CONTAINER" in json.loads(answer.get_body())["error"]


def test_the_documented_week_is_what_the_app_serves(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    week(app, monkeypatch)
    (served,) = json.loads(get(function_app.get_changes, "/api/changes").get_body())["changes"]
    page = (Path(__file__).parents[2] / "docs" / "changes.md").read_text(encoding="utf-8")
    section = page.split("## The change feed of the Functions app", 1)[1]
    documented = json.loads(section.split("```json\n", 1)[1].split("```", 1)[0])
    same = ("id", "feed", "cloud", "mark", "previous", "tags", "cidrs_omitted")
    assert {k: documented[k] for k in same} == {k: served[k] for k in same}
    impact = ("kind", "status", "service_tags", "added", "removed", "error")
    assert [{k: t[k] for k in impact} for t in documented["targets"]] == [
        {k: t[k] for k in impact} for t in served["targets"]
    ]
    parsed = feedparser.parse(get(function_app.get_changes_atom, "/api/changes.atom").get_body())
    (entry,) = parsed.entries
    assert f"> **{entry.title}**" in section
    assert f"> {entry.summary}" in section
