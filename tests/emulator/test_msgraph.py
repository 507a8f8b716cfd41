"""Entra ID named locations through httpx against the emulator's Microsoft Graph routes: the
bodies and status codes of the Graph reference pages, the limits, Graph's error shape, token,
faults, history and stats."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from armemu import Emulator

from .helpers import ranges

LOCATIONS = "/identity/conditionalAccess/namedLocations"
IP_LOCATION = "#microsoft.graph.ipNamedLocation"
V4, V6 = "#microsoft.graph.iPv4CidrRange", "#microsoft.graph.iPv6CidrRange"


def cidr(value: str) -> dict[str, str]:
    return {"@odata.type": V6 if ":" in value else V4, "cidrAddress": value}


def location(*values: str, name: str = "Untrusted IP named location", **more: Any) -> Any:
    """Shaped like the request of conditionalaccessroot-post-namedlocations.md, example 1."""
    return {"@odata.type": IP_LOCATION, "displayName": name, "isTrusted": False,
            "ipRanges": [cidr(v) for v in values], **more}  # fmt: skip


def trusting(emulator: Emulator) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(emulator.ca_bundle))


@pytest.fixture
def graph(emulator: Emulator) -> Iterator[httpx.Client]:
    """A client whose Graph base URL is the emulator's ``/v1.0``."""
    with httpx.Client(base_url=f"{emulator.endpoint}/v1.0", verify=trusting(emulator),
                      headers={"Authorization": "Bearer t"}) as client:  # fmt: skip
        yield client


def create(graph: httpx.Client, *values: str, **more: Any) -> dict[str, Any]:
    answer = graph.post(LOCATIONS, json=location(*values, **more))
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_post_is_201_with_the_object(emulator: Emulator, graph: httpx.Client) -> None:
    body = create(graph, "12.34.221.11/22", "2001:0:9d38:90d6:0:0:0:0/63")
    # the create page's response: @odata.context, type, id, names, dates, the ranges as sent
    assert list(body) == [
        "@odata.context", "@odata.type", "id", "displayName", "modifiedDateTime",
        "createdDateTime", "isTrusted", "ipRanges",
    ]  # fmt: skip
    assert body["@odata.context"] == f"{emulator.endpoint}/v1.0/$metadata#namedLocations/$entity"
    assert body["ipRanges"] == [cidr("12.34.221.11/22"), cidr("2001:0:9d38:90d6:0:0:0:0/63")]
    got = graph.get(f"{LOCATIONS}/{body['id']}")
    assert (got.status_code, got.json()) == (200, body)  # namedlocation-get.md: 200, the same
    listed = graph.get(LOCATIONS).json()
    assert [v["id"] for v in listed["value"]] == [body["id"]]
    assert emulator.history()[body["id"]] == [["12.34.221.11/22", "2001:0:9d38:90d6:0:0:0:0/63"]]


def test_patch_is_204_and_replaces_the_ranges(emulator: Emulator, graph: httpx.Client) -> None:
    made = create(graph, "20.1.2.0/24", "20.1.3.0/24")
    patch = {"@odata.type": IP_LOCATION, "ipRanges": [cidr("20.1.4.0/24")]}
    answer = graph.patch(f"{LOCATIONS}/{made['id']}", json=patch)
    # ipnamedlocation-update.md: 204 No Content, no body
    assert (answer.status_code, answer.content) == (204, b"")
    after = graph.get(f"{LOCATIONS}/{made['id']}").json()
    assert after["ipRanges"] == [cidr("20.1.4.0/24")]
    assert (after["displayName"], after["createdDateTime"]) == (
        made["displayName"],
        made["createdDateTime"],
    )
    assert after["modifiedDateTime"] >= made["modifiedDateTime"]
    assert emulator.history()[made["id"]] == [["20.1.2.0/24", "20.1.3.0/24"], ["20.1.4.0/24"]]
    stats = emulator.stats()
    assert stats["patches"] == 1
    assert stats["writes_by_resource"] == {f"/v1.0{LOCATIONS}/{made['id']}".lower(): 1}


def test_a_token_is_required(emulator: Emulator) -> None:
    messages = []
    for headers in ({}, {"Authorization": "Basic abc"}):
        answer = httpx.get(f"{emulator.endpoint}/v1.0{LOCATIONS}", headers=headers,
                           verify=trusting(emulator))  # fmt: skip
        assert answer.status_code == 401
        error = answer.json()["error"]
        assert error["code"] == "InvalidAuthenticationToken"
        assert set(error["innerError"]) == {"date", "request-id", "client-request-id"}
        assert answer.headers["request-id"] == error["innerError"]["request-id"]
        messages.append(error["message"])
    assert messages[0] == "Access token is empty."


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({**location("20.1.2.0/24"), "@odata.type": None}, "@odata.type"),
        (location("20.0.0.0/7"), "broader than /8"),
        (location("2001:db8::/7"), "broader than /8"),
        ({**location(), "ipRanges": [{"@odata.type": V4, "cidrAddress": "2001:db8::/48"}]},
         "not a valid iPv4CidrRange"),
        ({**location(), "ipRanges": [{"cidrAddress": "20.1.2.0/24"}]}, "@odata.type"),
        (location("20.1.2.3"), "not a valid"),
        (location(*ranges(2001)), "at most 2000"),
        (location(), "non-empty"),
        ({k: v for k, v in location("20.1.2.0/24").items() if k != "displayName"}, "displayName"),
    ],
    ids=["no-type", "slash7", "v6-slash7", "family", "range-type", "bare", "2001", "empty",
         "unnamed"],
)  # fmt: skip
def test_refuses(emulator: Emulator, graph: httpx.Client, body: Any, fragment: str) -> None:
    answer = graph.post(LOCATIONS, json=body)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "BadRequest"
    assert fragment in answer.json()["error"]["message"]
    assert graph.get(LOCATIONS).json()["value"] == []


def test_limits_2000_ranges_and_195_locations(graph: httpx.Client) -> None:
    made = create(graph, "20.0.0.0/8", "2001:db8::/8", *ranges(1998))
    assert len(made["ipRanges"]) == 2000
    for i in range(194):
        create(graph, f"20.1.{i}.0/24", name=f"n{i}")
    answer = graph.post(LOCATIONS, json=location("20.2.0.0/24"))
    assert (answer.status_code, answer.json()["error"]["code"]) == (400, "BadRequest")
    assert "at most 195" in answer.json()["error"]["message"]


def test_delete_and_trusted_locations(graph: httpx.Client) -> None:
    trusted = create(graph, "20.1.2.0/24", isTrusted=True)
    url = f"{LOCATIONS}/{trusted['id']}"
    assert graph.delete(url).status_code == 400  # the concept page: untrust it first
    patch = {"@odata.type": IP_LOCATION, "isTrusted": False}
    assert graph.patch(url, json=patch).status_code == 204
    assert graph.delete(url).status_code == 204
    missing = graph.get(url)
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "itemNotFound")
    assert graph.patch(url, json=patch).status_code == 404


def test_faults_reset_and_unknown_routes(emulator: Emulator, graph: httpx.Client) -> None:
    made = create(graph, "20.1.2.0/24")
    emulator.add_faults([{"method": "PATCH", "path_contains": "namedLocations", "status": 429,
                          "code": "TooManyRequests", "retry_after": 7}])  # fmt: skip
    patch = {"@odata.type": IP_LOCATION, "ipRanges": [cidr("20.1.4.0/24")]}
    answer = graph.patch(f"{LOCATIONS}/{made['id']}", json=patch)
    assert (answer.status_code, answer.headers["retry-after"]) == (429, "7")
    assert answer.json()["error"]["code"] == "TooManyRequests"
    emulator.add_faults([{"method": "PATCH", "path_contains": "namedLocations",
                          "lose_response": True}])  # fmt: skip
    with pytest.raises(httpx.HTTPError):
        graph.patch(f"{LOCATIONS}/{made['id']}", json=patch)
    assert graph.get(f"{LOCATIONS}/{made['id']}").json()["ipRanges"] == [cidr("20.1.4.0/24")]
    assert graph.get("/identity/conditionalAccess/policies").status_code == 400
    assert graph.put(LOCATIONS, json={}).status_code == 405
    emulator.reset()
    assert graph.get(LOCATIONS).json()["value"] == []
