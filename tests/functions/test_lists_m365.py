"""A published list of Microsoft 365's ``Optimize`` ranges, served at ``/api/lists/{name}``;
the web service answers as it documents (the endpoint sets of ``tests/feeds/conftest.py``,
mocked HTTPS), and a run whose ``version`` did not change asks only for the version."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import netaddr
import pytest
import respx
from azure.functions.timer import TimerRequest
from azure.storage.blob import ContainerClient

import function_app
from sync.feeds.m365 import BASE
from tests.feeds.conftest import m365_sets

from .test_lists import get

OPTIMIZE = ["Exchange.Optimize", "SharePoint.Optimize", "Skype.Optimize"]


@pytest.fixture
def service() -> Iterator[dict[str, respx.Route]]:
    """The Microsoft 365 web service of the Worldwide instance; any other request fails."""
    with respx.mock(assert_all_called=False) as mock:
        yield {
            name: mock.get(url__regex=rf"{re.escape(BASE)}/{name}/Worldwide\?clientrequestid=.+")
            for name in ("version", "endpoints")
        }


def test_optimize_ranges_are_served_and_an_unchanged_version_costs_one_request(
    storage: ContainerClient,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    service: dict[str, respx.Route],
) -> None:
    latest = {"instance": "Worldwide", "latest": "2025073000"}
    service["version"].mock(side_effect=lambda _: httpx.Response(200, json=latest))
    service["endpoints"].mock(return_value=httpx.Response(200, json=m365_sets()))
    spec = {"sources": [{"feed": "m365", "select": OPTIMIZE}], "families": ["v4"]}
    monkeypatch.setenv("IPSYNC_LISTS", json.dumps({"m365-optimize": spec}))
    monkeypatch.setenv("IPSYNC_CACHE_DIR", str(tmp_path))

    function_app.sync_timer(TimerRequest())

    served = get("m365-optimize")
    assert served.status_code == 200
    want = netaddr.IPSet(
        ip
        for item in m365_sets()
        if item["category"] == "Optimize"
        for ip in item["ips"]
        if ":" not in ip
    )
    assert netaddr.IPSet(served.get_body().decode().split()) == want
    assert served.headers["X-Ipsync-Release"] == "m365-2025073000"
    assert (service["version"].call_count, service["endpoints"].call_count) == (1, 1)

    function_app.sync_timer(TimerRequest())  # the same version: only the version is asked

    assert (service["version"].call_count, service["endpoints"].call_count) == (2, 1)
    assert len(service["version"].calls.last.response.content) < 100
    assert get("m365-optimize").get_body() == served.get_body()
