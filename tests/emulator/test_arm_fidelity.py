"""What real ARM does that the Azure CLI relies on: Key Vault's ``tags: {}`` and its LRO's
Retry-After, Storage's extendedLocation, empty path segments, published preview versions."""

from __future__ import annotations

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
