"""ARM's token buckets: off by default; on, every answer says what is left of the bucket it
drew from, and an empty bucket answers 429 with Retry-After. Buckets are tiny and refill slowly
here, so what is left does not depend on how fast the test runs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.network import NetworkManagementClient

from armemu import Emulator
from armemu.throttle import Limits

from .helpers import SUB, raw, sdk_client

AUTH = {"Authorization": "Bearer t"}
SLOW = 0.001  # one token every 1,000 s
NSG = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups"
HEADER = "x-ms-ratelimit-remaining-subscription-{}"


@pytest.fixture
def throttled() -> Iterator[Emulator]:
    limits = Limits(reads=(3, SLOW), writes=(2, SLOW), deletes=(1, SLOW))
    with Emulator(lro_polls=0, throttle=limits) as emu:
        yield emu


def test_off_by_default(emulator: Emulator) -> None:
    headers = raw(emulator, "GET", f"{NSG}?api-version=2024-05-01", headers=AUTH)[1]
    assert not [h for h in headers if h.startswith("x-ms-ratelimit")]


def test_reads_count_down_then_429_with_retry_after(throttled: Emulator) -> None:
    seen = []
    for _ in range(3):
        status, headers, _ = raw(throttled, "GET", f"{NSG}?api-version=2024-05-01",
                                 headers=AUTH)  # fmt: skip
        assert status == 200
        seen.append((headers[HEADER.format("reads")], headers[HEADER.format("global-reads")]))
    assert seen == [("2", "44"), ("1", "43"), ("0", "42")]  # global: 15 times the bucket
    status, headers, body = raw(throttled, "GET", f"{NSG}/n?api-version=2024-05-01",
                                headers=AUTH)  # fmt: skip
    assert status == 429
    assert body["error"]["code"] == "SubscriptionRequestsThrottled"
    assert f"Number of 'read' requests for subscription '{SUB}'" in body["error"]["message"]
    assert headers["retry-after"] == "1000"
    assert headers[HEADER.format("reads")] == "0"
    # writes and deletes have buckets of their own
    put = raw(throttled, "PUT", f"{NSG}/n?api-version=2024-05-01",
              body={"location": "westeurope"}, headers=AUTH)  # fmt: skip
    assert (put[0], put[1][HEADER.format("writes")]) == (201, "1")
    assert HEADER.format("reads") not in put[1]
    deleted = raw(throttled, "DELETE", f"{NSG}/n?api-version=2024-05-01", headers=AUTH)
    assert (deleted[0], deleted[1][HEADER.format("deletes")]) == (202, "0")
    assert raw(throttled, "DELETE", f"{NSG}/n?api-version=2024-05-01", headers=AUTH)[0] == 429


def test_buckets_are_per_subscription_and_principal(throttled: Emulator) -> None:
    other_sub = NSG.replace(SUB, "11111111-1111-1111-1111-111111111111")
    for _ in range(3):
        raw(throttled, "GET", f"{NSG}?api-version=2024-05-01", headers=AUTH)
    assert raw(throttled, "GET", f"{other_sub}?api-version=2024-05-01", headers=AUTH)[0] == 200
    someone_else = {"Authorization": "Bearer another-principal"}
    status, headers, _ = raw(throttled, "GET", f"{NSG}?api-version=2024-05-01",
                             headers=someone_else)  # fmt: skip
    assert (status, headers[HEADER.format("global-reads")]) == (200, "41")
    tenant = raw(throttled, "POST", "/providers/Microsoft.ResourceGraph/resources?api-version="
                 "2022-10-01", body={"query": "resources"}, headers=AUTH)[1]  # fmt: skip
    assert tenant["x-ms-ratelimit-remaining-tenant-writes"] == "1"


def test_the_sdk_sees_429_when_the_bucket_is_empty(throttled: Emulator) -> None:
    client = sdk_client(NetworkManagementClient, throttled)
    for _ in range(3):
        list(client.network_security_groups.list("rg"))
    with pytest.raises(HttpResponseError) as info:
        list(client.network_security_groups.list("rg"))
    assert info.value.status_code == 429
    assert info.value.response.headers["Retry-After"] == "1000"


def test_resource_graph_counts_queries_per_user_in_windows() -> None:
    """ARG's quota: every answer says what is left of the window and when it resets; past the
    quota, 429 RateLimiting with both headers. Another user has a quota of its own."""
    graph = "/providers/Microsoft.ResourceGraph/resources?api-version=2022-10-01"
    limits = Limits(graph=(2, 1000))
    with Emulator(lro_polls=0, throttle=limits) as emu:
        answers = [raw(emu, "POST", graph, body={"query": "resources"}, headers=AUTH)
                   for _ in range(3)]  # fmt: skip
        assert [a[0] for a in answers] == [200, 200, 429]
        assert [a[1]["x-ms-user-quota-remaining"] for a in answers] == ["1", "0", "0"]
        assert all(a[1]["x-ms-user-quota-resets-after"].startswith("00:16:") for a in answers)
        _, headers, body = answers[2]
        assert body["error"]["code"] == "RateLimiting"
        assert "Client application has been throttled" in body["error"]["details"][0]["message"]
        assert int(headers["retry-after"]) > 900
        other = raw(emu, "POST", graph, body={"query": "resources"},
                    headers={"Authorization": "Bearer another-user"})  # fmt: skip
        assert (other[0], other[1]["x-ms-user-quota-remaining"]) == (200, "1")
        assert emu.stats()["throttled"] == 1
