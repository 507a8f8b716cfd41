"""Container Apps and AKS as azure-mgmt-appcontainers and azure-mgmt-containerservice see them:
status codes and long-running answers of the REST spec examples, the ingress restrictions and
authorized ranges validated, AKS's etag, slow cluster updates and their 409."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceModifiedError
from azure.mgmt.appcontainers import ContainerAppsAPIClient
from azure.mgmt.containerservice import ContainerServiceClient

from armemu import Emulator

from .helpers import SUB, Recorder, ranges, raw, sdk_client

RG = "rg"
AUTH = {"Authorization": "Bearer t"}
APP_PATH = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.App/containerApps/app1"
AKS_PATH = (
    f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.ContainerService"
    "/managedClusters/aks1"
)


def restriction(name: str, value: str, action: str = "Allow") -> dict[str, str]:
    return {"name": name, "description": f"{name} rule", "ipAddressRange": value, "action": action}


def app_body(*rules: dict[str, str]) -> dict[str, Any]:
    """Shaped like the request of ContainerApps/stable/2026-07-01/examples/
    ContainerApps_CreateOrUpdate.json, cut to what matters here."""
    return {
        "location": "East US",
        "tags": {"ipsync": "Storage.WestEurope"},
        "properties": {
            "environmentId": f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.App"
            "/managedEnvironments/demokube",
            "configuration": {
                "ingress": {
                    "external": True,
                    "targetPort": 3000,
                    "ipSecurityRestrictions": list(rules),
                }
            },
            "template": {"containers": [{"name": "app1", "image": "repo/app1:v1"}]},
        },
    }


@pytest.fixture
def apps(emulator: Emulator) -> Any:
    return sdk_client(ContainerAppsAPIClient, emulator).container_apps


def test_app_put_is_201_with_azure_async_operation(emulator: Emulator, apps: Any) -> None:
    hook = Recorder()
    app = apps.begin_create_or_update(
        RG, "app1", app_body(restriction("a", "20.1.2.0/24")), raw_response_hook=hook
    ).result()
    put, *polls = hook.seen
    # ContainerApps_CreateOrUpdate.json: 200/201 with the app, LRO via Azure-AsyncOperation
    assert put.status == 201
    assert put.headers["azure-asyncoperation"].startswith(
        f"{emulator.endpoint}/subscriptions/{SUB}/providers/Microsoft.App/locations/eastus/"
    )
    assert put.body["properties"]["provisioningState"] == "InProgress"  # as the 201 example
    assert "/containerappOperationResults/" in put.headers["azure-asyncoperation"]
    assert [p.body.get("status") for p in polls[:-1]] == ["InProgress", "Succeeded"]
    props = polls[-1].body["properties"]
    assert props["provisioningState"] == "Succeeded"
    assert set(props) >= {"configuration", "managedEnvironmentId", "runningStatus", "template"}
    assert set(props["configuration"]["ingress"]) >= {"fqdn", "transport", "ipSecurityRestrictions"}
    assert [r.ip_address_range for r in app.configuration.ingress.ip_security_restrictions] == [
        "20.1.2.0/24"
    ]
    # the examples echo host bits: 192.168.1.1/8 comes back as sent
    apps.begin_create_or_update(RG, "app1", app_body(restriction("b", "192.168.1.1/8"))).result()
    assert emulator.history()[app.id] == [["20.1.2.0/24"], ["192.168.1.1/8"]]


def test_app_patch_is_202_and_replaces_the_list_only(emulator: Emulator, apps: Any) -> None:
    apps.begin_create_or_update(RG, "app1", app_body(restriction("a", "20.1.2.0/24"))).result()
    hook = Recorder()
    patch = {
        "properties": {
            "configuration": {
                "ingress": {
                    "ipSecurityRestrictions": [
                        restriction("b", "20.1.3.0/24"),
                        restriction("c", "20.1.4.0/24"),
                    ]
                }
            }
        }
    }
    app = apps.begin_update(RG, "app1", patch, raw_response_hook=hook).result()
    first = hook.seen[0]
    # ContainerApps_Patch.json: 202 with azure-asyncoperation and no body
    assert (first.method, first.status, first.body) == ("PATCH", 202, None)
    assert {"azure-asyncoperation", "location"} <= set(first.headers)
    assert hook.seen[-1].method == "GET"  # the app is read once the operation succeeds
    ingress = app.configuration.ingress
    assert [r.name for r in ingress.ip_security_restrictions] == ["b", "c"]
    assert (ingress.target_port, ingress.external) == (3000, True)  # merge patch keeps the rest
    assert emulator.history()[app.id][-1] == ["20.1.3.0/24", "20.1.4.0/24"]


def test_deny_rules_and_no_rules_admit_any(emulator: Emulator, apps: Any) -> None:
    app = apps.begin_create_or_update(RG, "app1", app_body()).result()
    apps.begin_create_or_update(
        RG, "app1", app_body(restriction("x", "20.1.2.0/24", "deny"))
    ).result()
    assert apps.get(RG, "app1").configuration.ingress.ip_security_restrictions[0].action == "Deny"
    assert emulator.history()[app.id] == [["Any"], ["Any"]]


@pytest.mark.parametrize(
    ("rules", "fragment"),
    [
        ([restriction("a", "20.1.2.0/24"), restriction("b", "20.1.3.0/24", "Deny")], "ALL Allow"),
        ([restriction("a", "2001:db8::/32")], "IPv4"),
        ([restriction("a", "20.1.2.3")], "CIDR"),
        ([restriction("a", "20.1.2.0/33")], "CIDR"),
        ([{"ipAddressRange": "20.1.2.0/24", "action": "Allow"}], "name"),
        ([restriction("a", "20.1.2.0/24", "Maybe")], "Allow or Deny"),
    ],
    ids=["mixed", "ipv6", "bare", "prefix", "unnamed", "action"],
)
def test_app_refuses(emulator: Emulator, apps: Any, rules: list[Any], fragment: str) -> None:
    apps.begin_create_or_update(RG, "app1", app_body(restriction("a", "20.1.2.0/24"))).result()
    for call in (
        lambda: apps.begin_create_or_update(RG, "app1", app_body(*rules)),
        lambda: apps.begin_update(RG, "app1", {"properties": app_body(*rules)["properties"]}),
    ):
        with pytest.raises(HttpResponseError) as info:
            call()
        assert info.value.status_code == 400
        assert info.value.error.code == "ContainerAppInvalidIpSecurityRestrictions"
        assert fragment in info.value.error.message
    rules_now = apps.get(RG, "app1").configuration.ingress.ip_security_restrictions
    assert [r.name for r in rules_now] == ["a"]


# ----- AKS -------------------------------------------------------------------------------------
def cluster_body(*authorized: str, **profile: Any) -> dict[str, Any]:
    """Shaped like the request of aks/stable/2026-07-01/examples/ManagedClustersCreate_Update.json,
    cut to what matters here, with the ranges of api-server-authorized-ip-ranges."""
    return {
        "location": "location1",
        "tags": {"ipsync": "AzureCloud"},
        "sku": {"name": "Base", "tier": "Free"},
        "properties": {
            "dnsPrefix": "dnsprefix1",
            "kubernetesVersion": "",
            "agentPoolProfiles": [
                {
                    "name": "nodepool1",
                    "count": 3,
                    "vmSize": "Standard_DS2_v2",
                    "osType": "Linux",
                    "mode": "System",
                }
            ],
            "networkProfile": {"loadBalancerSku": "standard", "outboundType": "loadBalancer"},
            "apiServerAccessProfile": {"authorizedIPRanges": list(authorized), **profile},
        },
    }


@pytest.fixture
def clusters(emulator: Emulator) -> Any:
    return sdk_client(ContainerServiceClient, emulator).managed_clusters


def test_cluster_put_is_long_running_with_etag(emulator: Emulator, clusters: Any) -> None:
    hook = Recorder()
    cluster = clusters.begin_create_or_update(
        RG, "aks1", cluster_body("137.117.106.88/29", "20.1.2.3"), raw_response_hook=hook
    ).result()
    put = hook.seen[0]
    # ManagedClustersCreate_Update.json: 200/201 with Azure-AsyncOperation
    assert put.status == 201
    assert "azure-asyncoperation" in put.headers
    assert put.body["properties"]["provisioningState"] == "Creating"
    got = raw(emulator, "GET", AKS_PATH + "?api-version=2026-08-01", headers=AUTH)[2]
    # ManagedClustersGet.json: the etag is "eTag" beside id, name, type and location
    assert got["eTag"] == cluster.e_tag
    assert "etag" not in got
    assert got["properties"]["apiServerAccessProfile"]["authorizedIPRanges"] == [
        "137.117.106.88/29",
        "20.1.2.3/32",
    ]
    assert emulator.history()[cluster.id] == [["137.117.106.88/29", "20.1.2.3/32"]]


def test_cluster_if_match(emulator: Emulator, clusters: Any) -> None:
    cluster = clusters.begin_create_or_update(RG, "aks1", cluster_body("20.1.2.0/24")).result()
    cluster.api_server_access_profile.authorized_ip_ranges = ["20.1.3.0/24"]
    with pytest.raises(ResourceModifiedError) as info:
        clusters.begin_create_or_update(
            RG, "aks1", cluster, etag='"stale"', match_condition=MatchConditions.IfNotModified
        )
    assert (info.value.status_code, info.value.error.code) == (412, "PreconditionFailed")
    assert clusters.get(RG, "aks1").api_server_access_profile.authorized_ip_ranges == [
        "20.1.2.0/24"
    ]
    updated = clusters.begin_create_or_update(
        RG, "aks1", cluster, etag=cluster.e_tag, match_condition=MatchConditions.IfNotModified
    ).result()
    assert updated.e_tag != cluster.e_tag
    assert updated.api_server_access_profile.authorized_ip_ranges == ["20.1.3.0/24"]


def test_slow_cluster_update_refuses_other_writes() -> None:
    # a long Retry-After keeps the operations from ending by the clock: only polls end them
    with Emulator(slow={"managedClusters": 4}, retry_after=60) as emulator:
        clusters = sdk_client(ContainerServiceClient, emulator).managed_clusters

        def put(*authorized: str) -> list[str]:
            """A PUT, then its operation polled until it ends: the statuses seen."""
            hook = Recorder()
            clusters.begin_create_or_update(
                RG, "aks1", cluster_body(*authorized), raw_response_hook=hook, polling=False
            )
            url = hook.seen[0].headers["azure-asyncoperation"].removeprefix(emulator.endpoint)
            if authorized == ("20.1.3.0/24",):
                with pytest.raises(ResourceExistsError) as info:
                    clusters.begin_create_or_update(RG, "aks1", cluster_body("20.1.4.0/24"))
                assert info.value.status_code == 409
                assert info.value.error.code == "OperationNotAllowed"
                assert "in progress update managed cluster operation" in info.value.error.message
                seen = clusters.get(RG, "aks1")
                assert seen.provisioning_state == "Updating"
            return [raw(emulator, "GET", url, headers=AUTH)[2]["status"] for _ in range(5)]

        assert put("20.1.2.0/24") == ["InProgress"] * 4 + ["Succeeded"]
        assert put("20.1.3.0/24") == ["InProgress"] * 4 + ["Succeeded"]
        cluster = clusters.get(RG, "aks1")
        assert cluster.api_server_access_profile.authorized_ip_ranges == ["20.1.3.0/24"]
        assert emulator.history()[cluster.id] == [["20.1.2.0/24"], ["20.1.3.0/24"]]


@pytest.mark.parametrize(
    ("values", "profile", "fragment"),
    [
        (["137.117.106.90/29"], {}, "network address"),
        (["2001:db8::/32"], {}, "IPv4"),
        (["0.0.0.0/32", "20.1.2.0/24"], {}, "0.0.0.0/32 is not allowed with other IP ranges"),
        (ranges(201), {}, "at most 200"),
        (["20.1.2.0/24"], {"enablePrivateCluster": True}, "private clusters"),
    ],
    ids=["hostbits", "ipv6", "lb-only-mixed", "201", "private"],
)
def test_cluster_refuses(
    emulator: Emulator, clusters: Any, values: list[str], profile: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(HttpResponseError) as info:
        clusters.begin_create_or_update(RG, "aks1", cluster_body(*values, **profile))
    assert (info.value.status_code, info.value.error.code) == (400, "InvalidParameter")
    assert fragment in info.value.error.message
    assert emulator.stats()["writes"] == 1
    assert emulator.history() == {}


def test_cluster_limit_and_update_tags(emulator: Emulator, clusters: Any) -> None:
    values = ranges(200)
    clusters.begin_create_or_update(RG, "aks1", cluster_body(*values)).result()
    tagged = clusters.begin_update_tags(RG, "aks1", {"tags": {"ipsync": "other"}}).result()
    assert tagged.tags == {"ipsync": "other"}
    assert tagged.api_server_access_profile.authorized_ip_ranges == values  # tags only


@pytest.mark.parametrize(
    ("path", "version", "status"),
    [
        (AKS_PATH, "2026-08-01", 404),
        (AKS_PATH, "2025-10-02-preview", 404),
        (AKS_PATH, "2021-02-01", 404),
        (AKS_PATH, "2020-12-01", 400),
        (APP_PATH, "2026-07-01", 404),
        (APP_PATH, "2022-01-01-preview", 404),
        (APP_PATH, "2021-03-01", 400),
    ],
)
def test_api_versions(emulator: Emulator, path: str, version: str, status: int) -> None:
    code, _, body = raw(emulator, "GET", f"{path}?api-version={version}", headers=AUTH)
    assert code == status, body
    if status == 400:
        assert body["error"]["code"] == "NoRegisteredProviderFound"


def test_a_failed_cluster_update_restores_the_ranges(emulator: Emulator, clusters: Any) -> None:
    cluster = clusters.begin_create_or_update(RG, "aks1", cluster_body("20.1.2.0/24")).result()
    emulator.add_faults([{"method": "PUT", "path_contains": "managedClusters", "lro": "Failed",
                          "code": "InternalOperationError"}])  # fmt: skip
    with pytest.raises(HttpResponseError) as info:
        clusters.begin_create_or_update(RG, "aks1", cluster_body("20.1.3.0/24")).result()
    assert "InternalOperationError" in str(info.value)
    after = clusters.get(RG, "aks1")
    assert after.api_server_access_profile.authorized_ip_ranges == ["20.1.2.0/24"]
    assert after.e_tag == cluster.e_tag
    assert emulator.history()[cluster.id] == [["20.1.2.0/24"]]
