"""The app platform types in Resource Graph: discovery by tag finds them, with ARG's lower-case
type, and slots, as ARG lists them, are rows of their own."""

from __future__ import annotations

from azure.mgmt.resourcegraph import ResourceGraphClient
from azure.mgmt.resourcegraph.models import QueryRequest

from armemu import Emulator

from .helpers import SUB, raw, sdk_client

AUTH = {"Authorization": "Bearer t"}
BASE = f"/subscriptions/{SUB}/resourceGroups/rg/providers"
TAGS = {"ipsync": "Storage.WestEurope"}
#: one of each, by plain REST calls, each at a version its spec folder publishes
CREATED = [
    ("Microsoft.Web/sites/app1", "2024-04-01", {"kind": "app"}),
    ("Microsoft.Web/sites/app1/slots/staging", "2024-04-01", {}),
    ("Microsoft.App/containerApps/ca1", "2025-07-01", {"properties": {}}),
    ("Microsoft.ContainerService/managedClusters/aks1", "2025-10-01", {"properties": {}}),
    ("Microsoft.Network/FrontDoorWebApplicationFirewallPolicies/waf1", "2025-03-01", {}),
]


def test_graph_finds_every_app_platform_type_by_tag(emulator: Emulator) -> None:
    for path, version, extra in CREATED:
        body = {"location": "westeurope", "tags": TAGS, **extra}
        status = raw(emulator, "PUT", f"{BASE}/{path}?api-version={version}", body=body,
                     headers=AUTH)[0]  # fmt: skip
        assert status in (200, 201), path
    raw(emulator, "PUT", f"{BASE}/Microsoft.Web/sites/untagged?api-version=2024-04-01",
        body={"location": "westeurope"}, headers=AUTH)  # fmt: skip
    query = "resources | where isnotempty(tags['ipsync']) | project id, type, kind, tags"
    client = sdk_client(ResourceGraphClient, emulator, subscription=False)
    rows = client.resources(QueryRequest(subscriptions=[SUB], query=query)).data
    assert sorted((r["type"], r["kind"]) for r in rows) == [
        ("microsoft.app/containerapps", ""),
        ("microsoft.containerservice/managedclusters", ""),
        ("microsoft.network/frontdoorwebapplicationfirewallpolicies", ""),
        ("microsoft.web/sites", "app"),
        ("microsoft.web/sites/slots", "app"),
    ]
    assert {r["id"] for r in rows} == {f"{BASE}/{path}" for path, _, _ in CREATED}
    typed = "resources | where type =~ 'Microsoft.Web/sites' | project id"
    found = client.resources(QueryRequest(subscriptions=[SUB], query=typed)).data
    assert sorted(r["id"].rsplit("/", 1)[1] for r in found) == ["app1", "untagged"]
