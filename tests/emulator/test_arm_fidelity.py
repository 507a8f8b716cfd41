"""What real ARM does that the Azure CLI relies on: Key Vault's ``tags: {}`` and its LRO's
Retry-After, Storage's extendedLocation, empty path segments, published preview versions."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from armemu import Emulator

from .helpers import SUB, raw

AUTH = {"Authorization": "Bearer t"}
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
RG_PATH = f"/subscriptions/{SUB}/resourceGroups/rg/providers"
VAULT = {
    "location": "westeurope",
    "properties": {"tenantId": TENANT, "sku": {"family": "A", "name": "standard"}},
}


def test_key_vault_answers_empty_tags_and_retry_after_while_registering_dns() -> None:
    with Emulator(lro_polls=1, retry_after=3) as emu:
        path = f"{RG_PATH}/Microsoft.KeyVault/vaults/kv1?api-version=2026-02-01"
        status, headers, body = raw(emu, "PUT", path, body=VAULT, headers=AUTH)
        assert (status, body["properties"]["provisioningState"]) == (201, "RegisteringDns")
        assert headers["retry-after"] == "3"  # without it clients poll every 30 s
        assert body["tags"] == {}
        _, headers, body = raw(emu, "GET", path, headers=AUTH)  # one poll: still registering
        assert headers["retry-after"] == "3"
        _, headers, body = raw(emu, "GET", path, headers=AUTH)
        assert body["properties"]["provisioningState"] == "Succeeded"
        assert "retry-after" not in headers
        assert body["tags"] == {}


def test_storage_keeps_extended_location(emulator: Emulator) -> None:
    edge = {"type": "EdgeZone", "name": "losangeles001"}
    path = f"{RG_PATH}/Microsoft.Storage/storageAccounts/edge1?api-version=2025-08-01"
    account = {"location": "westus", "kind": "StorageV2", "sku": {"name": "Premium_LRS"},
               "extendedLocation": edge}  # fmt: skip
    assert raw(emulator, "PUT", path, body=account, headers=AUTH)[0] == 202
    body = raw(emulator, "GET", path, headers=AUTH)[2]
    assert body["extendedLocation"] == edge
    assert "tags" not in body  # only Key Vault answers an empty object
    listed = raw(emulator, "GET", f"/subscriptions/{SUB}/providers/Microsoft.Storage/"
                 "storageAccounts?api-version=2025-08-01", headers=AUTH)[2]  # fmt: skip
    assert listed["value"][0]["extendedLocation"] == edge


def test_an_empty_path_segment_is_read_as_none(emulator: Emulator) -> None:
    path = f"{RG_PATH}/Microsoft.KeyVault//vaults/kv2?api-version=2026-02-01"
    assert raw(emulator, "PUT", path, body=VAULT, headers=AUTH)[0] == 201
    status, _, body = raw(emulator, "GET", path.replace("//", "/"), headers=AUTH)
    assert (status, body["name"]) == (200, "kv2")


@pytest.mark.parametrize(
    ("path", "version"),
    [
        ("Microsoft.ContainerRegistry/registries/r1", "2026-09-01-preview"),  # the CLI's default
        ("Microsoft.Sql/servers/s1", "2024-11-01-preview"),  # the CLI's default
        ("Microsoft.Network/ipGroups/g1", "2019-09-01"),  # IP Groups' first version
        ("Microsoft.Network/networkSecurityGroups/n1", "2022-01-01"),  # the CLI's aaz version
        ("Microsoft.Storage/storageAccounts/s1", "2018-03-01-preview"),
    ],
)
def test_published_versions_previews_included_are_served(
    emulator: Emulator, path: str, version: str
) -> None:
    status, _, body = raw(emulator, "GET", f"{RG_PATH}/{path}?api-version={version}",
                          headers=AUTH)  # fmt: skip
    assert (status, body["error"]["code"]) == (404, "ResourceNotFound")


def test_a_type_refuses_versions_from_before_it_existed(emulator: Emulator) -> None:
    status, _, body = raw(emulator, "GET", f"{RG_PATH}/Microsoft.Network/ipGroups/g1"
                          "?api-version=2019-08-01", headers=AUTH)  # fmt: skip
    assert (status, body["error"]["code"]) == (400, "NoRegisteredProviderFound")
    assert "for type 'ipGroups'" in body["error"]["message"]
    assert "'2026-03-01, " in body["error"]["message"]  # newest first
    nsg = raw(emulator, "GET", f"{RG_PATH}/Microsoft.Network/networkSecurityGroups/n"
              "?api-version=2019-08-01", headers=AUTH)[0]  # fmt: skip
    assert nsg == 404  # the same version serves NSGs


def group_path(name: str, version: str = "2024-11-01") -> str:
    return f"/subscriptions/{SUB}/resourcegroups/{name}?api-version={version}"


def test_resource_groups_put_get_head_patch_list_delete(emulator: Emulator) -> None:
    assert raw(emulator, "HEAD", group_path("g1"), headers=AUTH)[:3:2] == (404, None)
    status, _, body = raw(emulator, "PUT", group_path("g1"), body={"location": "westeurope"},
                          headers=AUTH)  # fmt: skip
    # ResourceGroups_CreateOrUpdate example: id, name, type, location, properties
    assert (status, list(body)) == (201, ["id", "name", "type", "location", "properties"])
    assert body["id"] == f"/subscriptions/{SUB}/resourceGroups/g1"
    same = {"location": "West Europe", "tags": {"a": "b"}}
    again = raw(emulator, "PUT", group_path("G1"), body=same, headers=AUTH)
    assert (again[0], again[2]["name"], again[2]["tags"]) == (200, "g1", {"a": "b"})
    moved = raw(emulator, "PUT", group_path("g1"), body={"location": "westus"}, headers=AUTH)
    assert (moved[0], moved[2]["error"]["code"]) == (409, "InvalidResourceGroupLocation")
    assert raw(emulator, "HEAD", group_path("g1"), headers=AUTH)[0] == 204
    patched = raw(emulator, "PATCH", group_path("g1"), body={"tags": {}}, headers=AUTH)[2]
    assert "tags" not in patched
    # a group nobody created exists while a resource lives in it
    raw(emulator, "PUT", f"/subscriptions/{SUB}/resourceGroups/implied/providers/Microsoft."
        "Network/ipGroups/g?api-version=2024-05-01", body={"location": "westeurope"},
        headers=AUTH)  # fmt: skip
    listed = raw(emulator, "GET", f"/subscriptions/{SUB}/resourcegroups?api-version=2024-11-01",
                 headers=AUTH)[2]  # fmt: skip
    assert [g["name"] for g in listed["value"]] == ["g1", "implied"]
    status, headers, body = raw(emulator, "DELETE", group_path("implied"), headers=AUTH)
    assert (status, body) == (202, None)
    assert raw(emulator, "GET", headers["location"].removeprefix(emulator.endpoint),
               headers=AUTH)[0] == 200  # fmt: skip
    gone = raw(emulator, "GET", group_path("implied"), headers=AUTH)
    assert (gone[0], gone[2]["error"]["code"]) == (404, "ResourceGroupNotFound")
    assert "ipGroups" not in str(raw(emulator, "POST", "/providers/Microsoft.ResourceGraph/"
                                     "resources?api-version=2022-10-01", headers=AUTH,
                                     body={"query": "resources"})[2]["data"])  # fmt: skip


def test_resource_lists_of_a_group_and_a_subscription(emulator: Emulator) -> None:
    raw(emulator, "PUT", group_path("g2"), body={"location": "westeurope"}, headers=AUTH)
    for name, tags in (("a", {"ipsync": "AzureCloud"}), ("b", {})):
        raw(emulator, "PUT", f"/subscriptions/{SUB}/resourceGroups/g2/providers/Microsoft.Network"
            f"/ipGroups/{name}?api-version=2024-05-01", headers=AUTH,
            body={"location": "westeurope", "tags": tags})  # fmt: skip
    base = f"/subscriptions/{SUB}/resourceGroups/g2/resources?api-version=2024-11-01"
    status, _, body = raw(emulator, "GET", base, headers=AUTH)
    assert status == 200
    assert body["value"][0] == {
        "id": f"/subscriptions/{SUB}/resourceGroups/g2/providers/Microsoft.Network/ipGroups/a",
        "name": "a", "type": "Microsoft.Network/ipGroups", "location": "westeurope",
        "tags": {"ipsync": "AzureCloud"},
    }  # fmt: skip
    tagged = raw(emulator, "GET", base + "&$filter=tagName%20eq%20'ipsync'", headers=AUTH)[2]
    assert [r["name"] for r in tagged["value"]] == ["a"]
    both = "resourceGroup eq 'g2' and resourceType eq 'Microsoft.Network/ipGroups'"
    everything = f"/subscriptions/{SUB}/resources?api-version=2024-11-01&$filter={quote(both)}"
    assert len(raw(emulator, "GET", everything, headers=AUTH)[2]["value"]) == 2
    bad = raw(emulator, "GET", base + "&$filter=location%20eq%20'x'", headers=AUTH)
    assert (bad[0], bad[2]["error"]["code"]) == (400, "InvalidFilterInQueryString")
    missing = raw(emulator, "GET", base.replace("/g2/", "/nope/"), headers=AUTH)
    assert (missing[0], missing[2]["error"]["code"]) == (404, "ResourceGroupNotFound")


def test_storage_check_name_availability(emulator: Emulator) -> None:
    path = f"/subscriptions/{SUB}/providers/Microsoft.Storage/checkNameAvailability" \
           "?api-version=2025-08-01"  # fmt: skip

    def check(name: str) -> dict[str, object]:
        body = {"name": name, "type": "Microsoft.Storage/storageAccounts"}
        status, _, answer = raw(emulator, "POST", path, body=body, headers=AUTH)
        assert status == 200
        return dict(answer)

    assert check("freename1") == {"nameAvailable": True}
    assert check("Bad_Name")["reason"] == "AccountNameInvalid"
    raw(emulator, "PUT", f"{RG_PATH}/Microsoft.Storage/storageAccounts/taken1?api-version="
        "2025-08-01", headers=AUTH, body={"location": "westeurope", "kind": "StorageV2",
                                          "sku": {"name": "Standard_LRS"}})  # fmt: skip
    taken = check("taken1")
    assert (taken["nameAvailable"], taken["reason"]) == (False, "AlreadyExists")
    assert taken["message"] == "The storage account named taken1 is already taken."


def test_subscriptions_tenants_and_providers() -> None:
    other = "11111111-1111-1111-1111-111111111111"
    with Emulator(subscriptions=(other,)) as emu:
        subs = raw(emu, "GET", "/subscriptions?api-version=2022-12-01", headers=AUTH)[2]
        assert [s["subscriptionId"] for s in subs["value"]] == [other]
        assert subs["value"][0]["state"] == "Enabled"
        tenants = raw(emu, "GET", "/tenants?api-version=2022-12-01", headers=AUTH)[2]
        assert tenants["value"][0]["tenantId"] == subs["value"][0]["tenantId"]
        unknown = raw(emu, "GET", f"/subscriptions/{SUB}?api-version=2022-12-01", headers=AUTH)
        assert (unknown[0], unknown[2]["error"]["code"]) == (404, "SubscriptionNotFound")
        network = raw(emu, "GET", f"/subscriptions/{other}/providers/microsoft.network"
                      "?api-version=2024-11-01", headers=AUTH)[2]  # fmt: skip
        types = {t["resourceType"]: t["apiVersions"] for t in network["resourceTypes"]}
        assert types["ipGroups"][0] == "2026-03-01"
        assert types["ipGroups"][-1] == "2019-09-01"
        assert "2015-06-15" in types["networkSecurityGroups"]


def test_cloud_metadata_and_sign_in_endpoints(emulator: Emulator) -> None:
    cloud = raw(emulator, "GET", "/metadata/endpoints?api-version=2022-09-01")[2]
    assert cloud["resourceManager"] == emulator.endpoint + "/"
    assert cloud["authentication"]["loginEndpoint"] == emulator.endpoint
    assert isinstance(raw(emulator, "GET", "/metadata/endpoints?api-version=2019-05-01")[2], list)
    discovery = raw(emulator, "GET", "/organizations/v2.0/.well-known/openid-configuration")[2]
    assert discovery["token_endpoint"] == f"{emulator.endpoint}/organizations/oauth2/v2.0/token"
    assert emulator.stats()["requests"] == 0  # sign-in is not ARM traffic
