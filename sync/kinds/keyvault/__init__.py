"""Key Vault firewall: ``properties.networkAcls.ipRules`` (PATCH the vault).

A rule is a public IPv4 address or CIDR; Key Vault answers a bare address as ``a.b.c.d/32``,
which ipsync compares as the same rule. At most 1,000 rules. ``defaultAction``, ``bypass``
and virtual network rules are sent back as read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from sync.azure.writes import raw
from sync.kinds.base import Needs, TargetSpec
from sync.kinds.iprules import IpRuleKind, IpRuleTarget, Listed, ResourceApi, rules_copy

if TYPE_CHECKING:
    from azure.mgmt.keyvault import KeyVaultManagementClient

    from sync.azure.client import Clients


class KeyVaultTarget(IpRuleTarget):
    kind: Literal["keyvault"] = "keyvault"
    provider_type: ClassVar[str] = "Microsoft.KeyVault/vaults"
    noun: ClassVar[str] = "Key Vault"


class KeyVaultApi(ResourceApi):
    client: KeyVaultManagementClient

    def get(self) -> Listed:
        vault = self.client.vaults.get(self._rg, self._name)
        rules = vault.properties.network_acls if vault.properties else None
        values = tuple(r.value or "" for r in (rules.ip_rules if rules else None) or [])
        return Listed(values, rules, tags=dict(vault.tags or {}))

    def put(self, listed: Listed, values: Sequence[str], headers: dict[str, str]) -> Any:
        from azure.mgmt.keyvault import models

        rules = rules_copy(listed.rules, models.NetworkRuleSet)
        rules.ip_rules = [models.IPRule(value=v) for v in values]
        patch = models.VaultPatchParameters(
            tags=listed.tags, properties=models.VaultPatchProperties(network_acls=rules)
        )
        return self.client.vaults.update(self._rg, self._name, patch, headers=headers, cls=raw)


class KeyVaultKind(IpRuleKind):
    name: ClassVar[str] = "keyvault"
    arm_type: ClassVar[str] = "microsoft.keyvault/vaults"
    target: ClassVar[type[TargetSpec]] = KeyVaultTarget
    limit: ClassVar[int] = 1000
    field: ClassVar[str] = "networkAcls.ipRules"
    needs: ClassVar[Needs] = Needs(
        docs="kinds/keyvault.md",
        actions=frozenset({"Microsoft.KeyVault/vaults/read", "Microsoft.KeyVault/vaults/write"}),
        sdk="azure-mgmt-keyvault",
        emulated=("Microsoft.KeyVault/vaults",),
    )

    def api(self, clients: Clients, resource_id: str) -> KeyVaultApi:
        from azure.mgmt.keyvault import KeyVaultManagementClient

        return KeyVaultApi(*clients.for_resource(KeyVaultManagementClient, resource_id))


KIND = KeyVaultKind()
