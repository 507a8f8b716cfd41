"""Resource Graph over every kind, api-version checks, NSG default rules, flushConnection,
serviceTagDetails, write stats and the ``--seed`` sample set."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.network.models import IpGroup, NetworkSecurityGroup
from azure.mgmt.resourcegraph import ResourceGraphClient
from azure.mgmt.resourcegraph.models import QueryRequest, QueryRequestOptions

from armemu import Emulator, seed

from .helpers import SUB, raw, sdk_client

AUTH = {"Authorization": "Bearer t"}
OTHER = "11111111-1111-1111-1111-111111111111"
QUERY = "resources | where isnotempty(tags['ipsync']) | project id, type, tags"
FEED = Path(__file__).parent.parent / "data" / "ServiceTags_Public_20251017.json.xz"


def put(emulator: Emulator, sub: str, path: str, body: dict[str, Any]) -> None:
    status = raw(emulator, "PUT", f"/subscriptions/{sub}/resourceGroups/rg/providers/{path}"
                 "?api-version=2024-05-01", body=body, headers=AUTH)[0]  # fmt: skip
    assert status in (200, 201), path


@pytest.fixture
def tagged(emulator: Emulator) -> Emulator:
    """Nine tagged IP Groups and one untagged NSG in SUB, one tagged NSG in OTHER."""
    for i in range(9):
        put(emulator, SUB, f"Microsoft.Network/ipGroups/g{i}",
            {"location": "westeurope", "tags": {"ipsync": f"Tag{i}"}})  # fmt: skip
    put(emulator, SUB, "Microsoft.Network/networkSecurityGroups/plain", {"location": "westeurope"})
    put(emulator, OTHER, "Microsoft.Network/networkSecurityGroups/n",
        {"location": "westeurope", "tags": {"ipsync": "Storage"}})  # fmt: skip
    return emulator


def graph(emulator: Emulator) -> Any:
    return sdk_client(ResourceGraphClient, emulator, subscription=False)


def test_graph_pages_with_skip_token(tagged: Emulator) -> None:
    client = graph(tagged)
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        answer = client.resources(QueryRequest(
            subscriptions=[SUB, OTHER], query=QUERY,
            options=QueryRequestOptions(top=4, skip_token=token)))  # fmt: skip
        pages += 1
        assert answer.total_records == 10
        assert answer.count == len(answer.data) <= 4
        assert answer.result_truncated == "false"
        assert all(set(row) == {"id", "type", "tags"} for row in answer.data)
        seen += [row["id"] for row in answer.data]
        token = answer.skip_token
        if token is None:
            break
    assert pages == 3
    assert len(set(seen)) == 10
    assert {row.split("/")[2] for row in seen} == {SUB, OTHER}


def test_graph_scopes_types_and_raw_shape(tagged: Emulator) -> None:
    status, _, body = raw(tagged, "POST", "/providers/Microsoft.ResourceGraph/resources"
                          "?api-version=2022-10-01", headers=AUTH, body={
        "subscriptions": [OTHER], "query": QUERY + " | order by id asc"})  # fmt: skip
    assert status == 200
    assert list(body) == ["totalRecords", "count", "resultTruncated", "data", "facets"]
    assert body["facets"] == []
    assert body["data"] == [{
        "id": f"/subscriptions/{OTHER}/resourceGroups/rg/providers/Microsoft.Network/"
              "networkSecurityGroups/n",
        "type": "microsoft.network/networksecuritygroups", "tags": {"ipsync": "Storage"},
    }]  # fmt: skip
    client = graph(tagged)
    typed = "resources | where type in~ ('Microsoft.Network/networkSecurityGroups') " \
            "and isnotempty(tags['ipsync']) | project id"  # fmt: skip
    found = client.resources(QueryRequest(management_groups=["any-name"], query=typed))
    assert found.total_records == 1  # management groups search every subscription
    exact = typed.replace("in~", "in")  # case-sensitive: the type comes back lower-case
    assert client.resources(QueryRequest(subscriptions=[SUB, OTHER], query=exact)).count == 0
    no_id = client.resources(QueryRequest(subscriptions=[SUB], query=QUERY.replace("id, ", ""),
                                          options=QueryRequestOptions(top=2)))  # fmt: skip
    assert (no_id.result_truncated, no_id.skip_token) == ("true", None)


@pytest.mark.parametrize(
    "query",
    [
        "resources | summarize count()",
        "securityresources",
        "resources | where name startswith 'x'",
        "resources | limit ten",
    ],
)
def test_graph_refuses_what_it_does_not_understand(emulator: Emulator, query: str) -> None:
    with pytest.raises(HttpResponseError) as info:
        graph(emulator).resources(QueryRequest(subscriptions=[SUB], query=query))
    assert info.value.status_code == 400
    assert info.value.error.code == "BadRequest"
    assert [d.code for d in info.value.error.details] == ["InvalidQuery", "ParserFailure"]
    assert "emulator" in info.value.error.details[1].message


def test_graph_limit_take_contains_has_and_paging(tagged: Emulator) -> None:
    client = graph(tagged)

    def ids(query: str, top: int = 100) -> list[str]:
        seen, token = [], None
        while True:
            answer = client.resources(QueryRequest(subscriptions=[SUB, OTHER], query=query,
                options=QueryRequestOptions(top=top, skip_token=token)))  # fmt: skip
            seen += [row["id"].rsplit("/", 1)[1] for row in answer.data]
            token = answer.skip_token
            if token is None:
                return seen

    base = "resources | where isnotempty(tags['ipsync']) | project id, name"
    assert ids(base + " | order by name desc | limit 4") == ["n", "g8", "g7", "g6"]
    assert ids(base + " | take 5 | order by name desc") == ["g4", "g3", "g2", "g1", "g0"]
    paged = ids(base + " | order by name asc | limit 7", top=3)  # pages of 3 within the 7
    assert paged == ["g0", "g1", "g2", "g3", "g4", "g5", "g6"]
    limited = QueryRequest(subscriptions=[SUB], query=base + " | limit 4",
                           options=QueryRequestOptions(top=3))  # fmt: skip
    assert client.resources(limited).total_records == 4
    assert ids("resources | where name contains 'G' and type has 'ipgroups' | project id") == [
        f"g{i}" for i in range(9)]  # fmt: skip
    assert ids("resources | where name !contains 'g' | project id") == ["plain", "n"]
    assert ids("resources | where name contains_cs 'G' | project id") == []
    assert ids("resources | where id has 'networksecuritygroups' and name has 'n' "
               "| project id") == ["n"]  # fmt: skip
    assert ids("resources | where name has 'lai' | project id") == []  # not a whole term


def test_graph_reads_tags_as_text_and_refuses_too_many_subscriptions(tagged: Emulator) -> None:
    client = graph(tagged)
    put(tagged, SUB, "Microsoft.Network/ipGroups/mention", {"location": "westeurope",
        "tags": {"owner": "the-IPSYNC-team"}})  # fmt: skip

    def names(query: str) -> list[str]:
        answer = client.resources(QueryRequest(subscriptions=[SUB, OTHER], query=query))
        return sorted(row["id"].rsplit("/", 1)[1] for row in answer.data)

    mentions = names("resources | where tostring(tags) contains 'ipsync' | project id")
    assert mentions == sorted(["mention", "n", *(f"g{i}" for i in range(9))])
    assert names("resources | where tostring(tags) contains '\"ipsync\":' | project id") == (
        sorted(["n", *(f"g{i}" for i in range(9))]))  # fmt: skip
    assert names("resources | where tostring(tags) contains_cs 'IPSYNC' | project id") == [
        "mention"]  # fmt: skip
    many = [f"{i:08d}-0000-4000-8000-000000000000" for i in range(1001)]
    with pytest.raises(HttpResponseError) as info:
        client.resources(QueryRequest(subscriptions=many, query=QUERY))
    assert info.value.status_code == 400
    assert [d.code for d in info.value.error.details] == ["TooManySubscriptions"]
    assert client.resources(QueryRequest(subscriptions=many[:1000], query=QUERY)).count == 0


@pytest.mark.parametrize(
    ("version", "code"),
    [("2099-01-01", "NoRegisteredProviderFound"), ("yesterday", "InvalidApiVersionParameter"),
     ("2020-06-01", "NoRegisteredProviderFound")],
)  # fmt: skip
def test_unknown_api_version_is_400(emulator: Emulator, version: str, code: str) -> None:
    path = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/s"
    status, _, body = raw(emulator, "PUT", f"{path}?api-version={version}", headers=AUTH,
                          body={"location": "westeurope", "kind": "StorageV2",
                                "sku": {"name": "Standard_LRS"}})  # fmt: skip
    assert (status, body["error"]["code"]) == (400, code)
    assert "2026-09-01" in body["error"]["message"]
    if code == "NoRegisteredProviderFound":
        assert "location 'westeurope'" in body["error"]["message"]
        assert "for type 'storageAccounts'" in body["error"]["message"]
    assert raw(emulator, "GET", f"{path}?api-version=2026-09-01", headers=AUTH)[0] == 404


def test_sdk_default_versions_are_accepted(emulator: Emulator) -> None:
    network = sdk_client(NetworkManagementClient, emulator)
    network.ip_groups.begin_create_or_update(
        "rg", "g", IpGroup(location="westeurope", tags={"ipsync": "AzureCloud"})
    ).result()
    assert network.ip_groups.get("rg", "g").name == "g"
    assert graph(emulator).resources(QueryRequest(subscriptions=[SUB], query=QUERY)).count == 1


def test_nsg_default_rules_and_flush_connection(emulator: Emulator, network_client: Any) -> None:
    groups = network_client.network_security_groups
    made = groups.begin_create_or_update(
        "rg", "n", NetworkSecurityGroup(location="westeurope", flush_connection=True)
    ).result()
    assert made.flush_connection is True
    defaults = list(network_client.default_security_rules.list("rg", "n"))
    assert [(d.name, d.priority) for d in defaults] == [
        ("AllowVnetInBound", 65000), ("AllowAzureLoadBalancerInBound", 65001),
        ("DenyAllInBound", 65500), ("AllowVnetOutBound", 65000),
        ("AllowInternetOutBound", 65001), ("DenyAllOutBound", 65500),
    ]  # fmt: skip
    one = network_client.default_security_rules.get("rg", "n", "denyallinbound")
    assert (one.name, one.access, one.etag) == ("DenyAllInBound", "Deny", made.etag)
    with pytest.raises(HttpResponseError) as info:
        network_client.default_security_rules.get("rg", "n", "NoSuchRule")
    assert info.value.status_code == 404
    plain = groups.begin_create_or_update("rg", "m", NetworkSecurityGroup(location="x")).result()
    _, _, body = raw(emulator, "GET", f"/subscriptions/{SUB}/resourceGroups/rg/providers/"
                          "Microsoft.Network/networkSecurityGroups/m?api-version=2024-05-01",
                          headers=AUTH)  # fmt: skip
    assert body["properties"]["flushConnection"] is False  # ARM reads false when never set
    assert plain.flush_connection is False
    old = raw(emulator, "GET", f"/subscriptions/{SUB}/resourceGroups/rg/providers/"
              "Microsoft.Network/networkSecurityGroups/m?api-version=2021-08-01",
              headers=AUTH)[2]  # fmt: skip
    assert "flushConnection" not in old["properties"]  # a version that predates the field


def test_service_tag_details(network_client: Any) -> None:
    with Emulator(feed=FEED) as emu:
        base = f"/subscriptions/{SUB}/providers/Microsoft.Network/locations/westeurope/"
        status, _, body = raw(emu, "GET", base + "serviceTagDetails?api-version=2024-05-01"
                              "&tagName=Storage.WestEurope", headers=AUTH)  # fmt: skip
        assert status == 200
        (tag,) = body["value"]
        # ServiceTagInformationListResult example: name, id, properties{changeNumber, region,
        # systemService, addressPrefixes}
        assert list(tag) == ["name", "id", "properties"]
        assert list(tag["properties"]) == [
            "changeNumber", "region", "systemService", "addressPrefixes"
        ]  # fmt: skip
        assert tag["name"] == "Storage.WestEurope"
        bare = raw(emu, "GET", base + "serviceTagDetails?api-version=2024-05-01"
                   "&noAddressPrefixes=true", headers=AUTH)[2]  # fmt: skip
        assert len(bare["value"]) > 100
        assert all("addressPrefixes" not in v["properties"] for v in bare["value"])


def test_stats_count_writes_per_resource(emulator: Emulator) -> None:
    put(emulator, SUB, "Microsoft.Network/ipGroups/g", {"location": "westeurope"})
    path = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Network/ipGroups/g"
    raw(emulator, "PATCH", path + "?api-version=2024-05-01", body={"tags": {"a": "b"}},
        headers=AUTH)  # fmt: skip
    stats = emulator.stats()
    assert (stats["writes"], stats["puts"], stats["patches"]) == (2, 1, 1)
    assert stats["writes_by_resource"] == {path.lower(): 2}


def test_cli_seed_creates_sample_set(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "armemu", "--seed", "--lro-polls", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        assert process.stderr is not None
        first = json.loads(process.stdout.readline())
        assert seed.SUBSCRIPTION in process.stderr.readline()
        emu = Emulator()
        emu.endpoint, emu.ca_bundle = first["endpoint"], Path(first["ca_bundle"])
        request = {"subscriptions": [seed.SUBSCRIPTION], "query": QUERY}
        status, _, body = raw(emu, "POST", "/providers/Microsoft.ResourceGraph/resources"
                              "?api-version=2021-03-01", headers=AUTH, body=request)  # fmt: skip
        assert status == 200
        assert sorted(row["type"] for row in body["data"]) == sorted(
            [t.lower() for t, _, _ in seed.SAMPLES] + ["microsoft.network/networksecuritygroups"]
        )
        history = emu.history()
        sql_id = next(k for k in history if "Microsoft.Sql" in k)
        assert history[sql_id][-1] == {
            "owner-office": "203.0.113.10-203.0.113.20",
            "AllowAllWindowsAzureIps": "0.0.0.0-0.0.0.0",
        }
    finally:
        process.terminate()
        process.wait(timeout=10)
