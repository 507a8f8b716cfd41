"""Published lists: computed by each run, stored in Azurite, served at ``/api/lists/{name}``.

The guards of the allow-lists hold for lists too: a bad release leaves the last good list
served and ``/api/health`` says why.
"""

from __future__ import annotations

import json
import lzma
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest
from azure.functions.timer import TimerRequest
from azure.storage.blob import ContainerClient

import function_app
from sync.app.triggers import RunFailed
from sync.core.selection import select
from sync.feeds.azure.parse import parse_release

from ._app import FEED, App, target
from ._http import call

TAGS = ["Storage.WestEurope", "AzureMonitor"]


def get(name: str, **headers: str) -> func.HttpResponse:
    request = func.HttpRequest(
        method="GET",
        url=f"/api/lists/{name}",
        params={},
        body=b"",
        route_params={"name": name},
        headers=headers,
    )
    response: func.HttpResponse = function_app.get_list(request)
    return response


def doctored(tmp_path: Path, keep: int) -> Path:
    """The release with Storage.WestEurope cut to its first ``keep`` IPv4 prefixes (a bad
    release when ``keep`` is small; IPv6 stays, so only the IPv4 side shrinks)."""
    data = json.loads(lzma.decompress(FEED.read_bytes()))
    for value in data["values"]:
        if value["name"] == "Storage.WestEurope":
            prefixes = value["properties"]["addressPrefixes"]
            v4 = [p for p in prefixes if ":" not in p]
            value["properties"]["addressPrefixes"] = v4[:keep] + [p for p in prefixes if ":" in p]
    path = tmp_path / f"ServiceTags_Public_cut{keep}.json"
    path.write_text(json.dumps(data))
    return path


def lists_only(monkeypatch: pytest.MonkeyPatch, source: Path, **specs: dict[str, Any]) -> None:
    """A deployment that only publishes lists: no targets, no discovery."""
    monkeypatch.setenv("IPSYNC_SOURCE", str(source))
    monkeypatch.setenv("IPSYNC_LISTS", json.dumps(specs))


def expected(**spec: Any) -> dict[str, Any]:
    release = parse_release(FEED.read_bytes(), origin=str(FEED))
    return select(
        release, spec["service_tags"], families=spec.get("families", ("v4", "v6"))
    ).as_dict()


def test_run_publishes_every_format_and_serves_it(
    storage: ContainerClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    lists_only(
        monkeypatch,
        FEED,
        edl={"service_tags": TAGS},
        cp={"service_tags": ["AzureMonitor"], "families": ["v4"], "format": "checkpoint"},
    )
    function_app.sync_timer(TimerRequest())
    want = expected(service_tags=TAGS)
    plain = get("edl")
    assert plain.status_code == 200
    assert plain.mimetype == "text/plain"
    assert plain.get_body().decode().splitlines() == want["v4"] + want["v6"]
    assert plain.headers["X-Ipsync-Release"] == "373"

    document = json.loads(get("edl.json").get_body())
    assert (document["v4"], document["v6"], document["name"]) == (want["v4"], want["v6"], "edl")
    assert get("edl.csv").get_body().decode().startswith("prefix,family\r\n")
    # The list's own format is what its bare name serves; case does not matter.
    checkpoint = json.loads(get("CP").get_body())
    assert (
        checkpoint["objects"][0]["ranges"]
        == expected(service_tags=["AzureMonitor"], families=["v4"])["v4"]
    )
    # Static readers get the same bytes from the blobs.
    for blob, name in (("lists/edl.txt", "edl"), ("lists/edl.csv", "edl.csv")):
        assert storage.download_blob(blob).readall() == get(name).get_body()
    stored = storage.download_blob("lists/cp.checkpoint.json").readall()
    assert stored == get("cp").get_body()

    report = call(
        function_app.get_run, "GET", "/api/runs/latest", route_params={"run_id": "latest"}
    )
    lists = {t["resource"]: t for t in report.body["targets"]}
    assert lists["lists/edl"]["status"] == "applied"
    assert lists["lists/edl"]["changes"][0]["added"] == want["v4"] + want["v6"]
    assert report.body["ok"] is True


def test_conditional_get_answers_304_until_the_list_changes(
    storage: ContainerClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    lists_only(monkeypatch, FEED, edl={"service_tags": TAGS})
    function_app.sync_timer(TimerRequest())
    first = get("edl")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert get("edl", **{"If-None-Match": etag}).status_code == 304
    assert get("edl", **{"If-None-Match": f'"other", W/{etag}'}).status_code == 304
    assert get("edl", **{"If-Modified-Since": modified}).status_code == 304
    earlier = datetime.now(UTC) - timedelta(days=1)
    assert (
        get("edl", **{"If-Modified-Since": format_datetime(earlier, usegmt=True)}).status_code
        == 200
    )
    assert get("edl", **{"If-None-Match": '"stale"'}).status_code == 200
    # Each format has its own ETag.
    assert get("edl.json").headers["ETag"] != etag

    # The same content again: nothing is rewritten, so the validators still match.
    function_app.sync_timer(TimerRequest())
    assert get("edl", **{"If-None-Match": etag}).status_code == 304
    assert get("edl").headers["Last-Modified"] == modified

    # A small real change (within the removal guard) is published: the old ETag is stale.
    monkeypatch.setenv("IPSYNC_SOURCE", str(doctored(tmp_path, keep=90)))
    function_app.sync_timer(TimerRequest())
    changed = get("edl", **{"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
    assert len(changed.get_body().splitlines()) < len(first.get_body().splitlines())


def test_a_bad_release_keeps_the_last_good_list_and_health_says_why(
    storage: ContainerClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    lists_only(monkeypatch, FEED, edl={"service_tags": ["Storage.WestEurope"], "families": ["v4"]})
    function_app.sync_timer(TimerRequest())
    good = get("edl").get_body()
    assert call(function_app.health, "GET", "/api/health").status == 200

    monkeypatch.setenv("IPSYNC_SOURCE", str(doctored(tmp_path, keep=3)))
    with pytest.raises(RunFailed):
        function_app.sync_timer(TimerRequest())
    assert get("edl").get_body() == good
    assert storage.download_blob("lists/edl.txt").readall() == good
    health = call(function_app.health, "GET", "/api/health")
    assert health.status == 503
    problem = health.body["lists"]["edl"]["problem"]
    assert "max_remove_ratio" in problem
    assert "last good list stays published" in problem
    assert health.body["lists"]["edl"]["status"] == "refused"

    # The release comes back: the list is current again and health recovers.
    monkeypatch.setenv("IPSYNC_SOURCE", str(FEED))
    function_app.sync_timer(TimerRequest())
    health = call(function_app.health, "GET", "/api/health")
    assert (health.status, health.body["lists"]["edl"]["problem"]) == (200, None)


def test_unknown_unpublished_and_bad_settings(
    storage: ContainerClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    lists_only(monkeypatch, FEED, edl={"service_tags": TAGS})
    unknown = get("nope.json")
    assert unknown.status_code == 404
    assert "edl" in json.loads(unknown.get_body())["error"]
    waiting = get("edl")
    assert (waiting.status_code, waiting.headers["Retry-After"]) == (503, "300")
    monkeypatch.setenv("IPSYNC_LISTS", json.dumps({"edl": {"service_tags": TAGS, "format": "x"}}))
    broken = get("edl")
    assert broken.status_code == 500
    assert "list edl of IPSYNC_LISTS: format" in json.loads(broken.get_body())["error"]


def test_lists_ride_along_with_targets_and_a_dry_run_publishes_nothing(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    app.targets(target("nsg-a"))
    monkeypatch.setenv("IPSYNC_LISTS", json.dumps({"edl": {"service_tags": TAGS}}))
    monkeypatch.setenv("IPSYNC_DRY_RUN", "true")
    function_app.sync_timer(TimerRequest())
    assert get("edl").status_code == 503
    latest = call(
        function_app.get_run, "GET", "/api/runs/latest", route_params={"run_id": "latest"}
    )
    assert {t["kind"]: t["status"] for t in latest.body["targets"]} == {
        "nsg": "planned",
        "list": "planned",
    }
    monkeypatch.setenv("IPSYNC_DRY_RUN", "false")
    function_app.sync_timer(TimerRequest())
    assert get("edl").status_code == 200
    assert app.arm_writes() > 0


def test_a_run_reads_its_release_once_for_its_targets_and_lists(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sync.feeds.azure import FEED as AZURE

    reads: list[str] = []
    read = AZURE.read

    def counted(*args: Any, **kwargs: Any) -> Any:
        release = read(*args, **kwargs)
        reads.append(release.mark)
        return release

    monkeypatch.setattr(AZURE, "read", counted)
    app.targets(target("nsg-a"))
    monkeypatch.setenv("IPSYNC_LISTS", json.dumps({"edl": {"service_tags": TAGS}}))
    function_app.sync_timer(TimerRequest())
    assert reads == ["373"]  # once, by the engine
    assert get("edl").headers["X-Ipsync-Release"] == "373"
    # Lists only (no target, no subscription to discover in): one read all the same.
    monkeypatch.delenv("IPSYNC_TARGETS")
    monkeypatch.delenv("IPSYNC_SUBSCRIPTION_ID")
    function_app.sync_timer(TimerRequest())
    assert reads == ["373", "373"]
