"""The list kinds against the ARM emulator with their real SDKs: one helper per kind that
creates a resource with an owner's own entries and settings, and reads it back."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import netaddr
import pytest
from azure.mgmt.containerregistry import ContainerRegistryManagementClient
from azure.mgmt.containerregistry import models as acr
from azure.mgmt.keyvault import KeyVaultManagementClient
from azure.mgmt.keyvault import models as kv
from azure.mgmt.storage import StorageManagementClient
from azure.mgmt.storage import models as st

from armemu import Emulator
from sync.settings import Settings, load_settings
from tests.engine.conftest import write_release
from tests.functions.conftest import azurite  # noqa: F401  (the session's Azurite)

SUB = "00000000-0000-0000-0000-000000000000"
RG = "rg"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
SUBNET = (
    f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Network/virtualNetworks/v"
    "/subnets/s"
)


@dataclass
class Firewall:
    """One list kind as a user sees it through the SDK."""

    kind: str
    provider: str
    limit: int
    make: Callable[[Any, str, Sequence[str], str], None]
    read: Callable[[Any, str], Any]  # the SDK rule set
    client_type: Any
    value_field: str

    def resource_id(self, name: str) -> str:
        return f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/{self.provider}/{name}"

    def values(self, client: Any, name: str) -> list[str]:
        rules = self.read(client, name)
        return [getattr(r, self.value_field) for r in (rules.ip_rules or [])]


def _storage_make(client: Any, name: str, values: Sequence[str], sku: str) -> None:
    rules = st.NetworkRuleSet(
        default_action="Deny",
        bypass="Logging, Metrics",
        ip_rules=[st.IPRule(ip_address_or_range=v) for v in values],
        virtual_network_rules=[st.VirtualNetworkRule(virtual_network_resource_id=SUBNET)],
    )
    params = st.StorageAccountCreateParameters(
        sku=st.Sku(name="Standard_LRS"),
        kind="StorageV2",
        location="westeurope",
        properties=st.StorageAccountPropertiesCreateParameters(network_rule_set=rules),
    )
    client.storage_accounts.begin_create(RG, name, params).result()


def _vault_make(client: Any, name: str, values: Sequence[str], sku: str) -> None:
    rules = kv.NetworkRuleSet(
        default_action="Deny",
        bypass="None",
        ip_rules=[kv.IPRule(value=v) for v in values],
        virtual_network_rules=[kv.VirtualNetworkRule(id=SUBNET)],
    )
    params = kv.VaultCreateOrUpdateParameters(
        location="westeurope",
        properties=kv.VaultProperties(
            tenant_id=TENANT, sku=kv.Sku(family="A", name="standard"), network_acls=rules
        ),
    )
    client.vaults.begin_create_or_update(RG, name, params).result()


def _registry_make(client: Any, name: str, values: Sequence[str], sku: str) -> None:
    rules = None
    if sku == "Premium":
        rules = acr.NetworkRuleSet(
            default_action="Deny",
            ip_rules=[acr.IPRule(ip_address_or_range=v) for v in values],
        )
    registry = acr.Registry(
        location="westeurope",
        sku=acr.Sku(name=sku),
        properties=acr.RegistryProperties(network_rule_set=rules),
    )
    client.registries.begin_create(RG, name, registry).result()


FIREWALLS = {
    "storage": Firewall(
        "storage",
        "Microsoft.Storage/storageAccounts",
        400,
        _storage_make,
        lambda c, n: c.storage_accounts.get_properties(RG, n).network_rule_set,
        StorageManagementClient,
        "ip_address_or_range",
    ),
    "keyvault": Firewall(
        "keyvault",
        "Microsoft.KeyVault/vaults",
        1000,
        _vault_make,
        lambda c, n: c.vaults.get(RG, n).properties.network_acls,
        KeyVaultManagementClient,
        "value",
    ),
    "acr": Firewall(
        "acr",
        "Microsoft.ContainerRegistry/registries",
        100,
        _registry_make,
        lambda c, n: c.registries.get(RG, n).properties.network_rule_set,
        ContainerRegistryManagementClient,
        "ip_address_or_range",
    ),
}


@dataclass
class Resource:
    """A created resource of one kind, with the SDK client that reads it back."""

    firewall: Firewall
    client: Any
    name: str

    @property
    def id(self) -> str:
        return self.firewall.resource_id(self.name)

    @property
    def kind(self) -> str:
        return self.firewall.kind

    def values(self) -> list[str]:
        return self.firewall.values(self.client, self.name)

    def entries(self) -> set[str]:
        """The rules as networks (``1.2.3.4`` and ``1.2.3.4/32`` alike)."""
        return {str(netaddr.IPNetwork(v).cidr) for v in self.values()}

    def rules(self) -> Any:
        return self.firewall.read(self.client, self.name)


Make = Callable[..., Resource]


@pytest.fixture(autouse=True)
def _no_ipsync_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        ours = key.upper().startswith("IPSYNC_") or key.startswith("AzureWebJobsStorage")
        if ours:
            monkeypatch.delenv(key)


@pytest.fixture(params=sorted(FIREWALLS))
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make(emulator: Emulator, emulator_settings: Settings) -> Make:
    """``make(kind, name, owner_values, sku=...)``: a resource holding an owner's entries."""
    from sync.azure.client import arm_client

    def create(kind: str, name: str, values: Sequence[str] = (), sku: str = "Premium") -> Resource:
        firewall = FIREWALLS[kind]
        client = arm_client(emulator_settings, firewall.client_type)
        firewall.make(client, name, values, sku)
        return Resource(firewall, client, name)

    return create


@pytest.fixture
def settings_for(emulator_settings: Settings, tmp_path: Path) -> Callable[..., Settings]:
    """Settings against the emulator; the ownership registry is ``<tmp>/state``."""

    def build(source: Path, targets: list[dict[str, Any]], **overrides: Any) -> Settings:
        base = emulator_settings.model_dump(exclude={"targets", "source", "cache_dir"})
        values = {"source": str(source), "targets": targets, "cache_dir": tmp_path}
        return load_settings(**{**base, **values, **overrides})

    return build


def release(path: Path, tags: dict[str, list[str]], change: int = 1) -> Path:
    return write_release(path, tags, change, tag_change=change)


def target(resource: Resource, tags: Sequence[str], **fields: Any) -> dict[str, Any]:
    return {"kind": resource.kind, "resource": resource.id, "service_tags": list(tags), **fields}
