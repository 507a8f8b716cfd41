"""The m365 feed: the version asked first, the endpoints only for a new version, the
clientrequestid kept, strict versions, and the selector forms (documented shapes)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
import respx

from sync.core.selection import select
from sync.errors import FeedError
from sync.feeds import load_release
from sync.feeds.m365 import BASE, CLIENT_ID_FILE
from sync.feedsettings import FeedSettings

from .conftest import m365_sets, write

VERSION = re.compile(rf"{re.escape(BASE)}/version/Worldwide\?clientrequestid=.+")
ENDPOINTS = re.compile(rf"{re.escape(BASE)}/endpoints/Worldwide\?clientrequestid=.+")


@pytest.fixture
def service(router: respx.MockRouter) -> dict[str, respx.Route]:
    latest = {"instance": "Worldwide", "latest": "2025073000"}
    return {
        "version": router.get(url__regex=VERSION.pattern).mock(
            side_effect=lambda _: httpx.Response(200, json=latest)
        ),
        "endpoints": router.get(url__regex=ENDPOINTS.pattern).mock(
            return_value=httpx.Response(200, json=m365_sets())
        ),
        "latest": latest,  # type: ignore[dict-item]
    }


def test_an_unchanged_version_costs_one_small_request(
    settings: FeedSettings, service: dict[str, respx.Route]
) -> None:
    first = load_release(settings, "m365")
    second = load_release(settings, "m365")
    assert first.mark == second.mark == "m365-2025073000"
    assert (service["version"].call_count, service["endpoints"].call_count) == (2, 1)
    assert first.tags.keys() == second.tags.keys()


def test_a_new_version_downloads_the_endpoints_again(
    settings: FeedSettings, service: dict[str, respx.Route]
) -> None:
    load_release(settings, "m365")
    service["latest"]["latest"] = "2025082800"  # type: ignore[index]
    assert load_release(settings, "m365").mark == "m365-2025082800"
    assert service["endpoints"].call_count == 2


def test_the_client_request_id_is_generated_once_and_kept(
    settings: FeedSettings, service: dict[str, respx.Route]
) -> None:
    load_release(settings, "m365")
    load_release(settings, "m365")
    sent = {call.request.url.params["clientrequestid"] for call in service["version"].calls}
    assert len(sent) == 1
    assert (settings.cache_dir / CLIENT_ID_FILE).read_text() == sent.pop()
    given = "0e2a3c4d-5b6f-4a7b-8c9d-0e1f2a3b4c5d"
    load_release(settings._replace(m365_client_request_id=given), "m365")
    assert service["version"].calls[-1].request.url.params["clientrequestid"] == given


@pytest.mark.parametrize("latest", [2025073000, "2025-07-30", "2025073000 ", "2025133000"])
def test_a_version_not_yyyymmddnn_is_refused_with_its_value(
    settings: FeedSettings, service: dict[str, respx.Route], latest: object
) -> None:
    service["latest"]["latest"] = latest  # type: ignore[index]
    with pytest.raises(FeedError, match=rf"version {re.escape(repr(latest))} is not YYYYMMDDNN"):
        load_release(settings, "m365")
    assert service["endpoints"].call_count == 0


def test_selector_forms(settings: FeedSettings, tmp_path: Path) -> None:
    path = write(tmp_path / "endpoints-Worldwide-2025073000.json", m365_sets())
    release = load_release(settings, "m365", source=str(path))
    assert release.mark == "m365-2025073000"
    assert {"Exchange", "Exchange.Optimize", "Skype.Allow", "Common"} <= release.tags.keys()
    assert "Exchange.Default" not in release.tags  # its one set has no addresses
    optimize = select(release, ["Exchange.Optimize"], families=["v4"]).v4
    assert "40.96.0.0/13" in optimize
    assert "40.92.0.0/15" not in optimize
    assert (
        select(release, ["skype+udp:3478"]).prefixes == select(release, ["Skype.Optimize"]).prefixes
    )
    assert select(release, ["Common+required"], families=["v4"]).v4 == (
        "20.190.128.0/18",
        "40.126.0.0/18",
        "52.108.0.0/14",
    )
    assert "104.42.230.91/32" in select(release, ["Common+tcp:443"]).v4
    assert select(release, ["Exchange+tcp:25"], families=["v4"]).v4 == (
        "40.92.0.0/15",
        "52.100.0.0/14",
    )
    with pytest.raises(FeedError, match=r"'udp:x' is not a filter"):
        release.find("Skype+udp:x")
    with pytest.raises(FeedError, match=r"m365 selector 'Teams' is not in release m365-2025073000"):
        release.find("Teams")


def test_a_file_must_name_its_version(settings: FeedSettings, tmp_path: Path) -> None:
    path = write(tmp_path / "endpoints.json", m365_sets())
    with pytest.raises(FeedError, match="the file's name must hold its version"):
        load_release(settings, "m365", source=str(path))


def test_a_set_of_the_wrong_shape_is_named(settings: FeedSettings, tmp_path: Path) -> None:
    sets = m365_sets()
    sets[3]["udpPorts"] = "3478-x"
    path = write(tmp_path / "endpoints-2025073000.json", sets)
    with pytest.raises(FeedError, match=r"\[3\] \(id 11\): field 'udpPorts': '3478-x'"):
        load_release(settings, "m365", source=str(path))
