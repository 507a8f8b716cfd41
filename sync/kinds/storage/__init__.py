"""Storage account firewall: ``properties.networkAcls.ipRules`` (PATCH the account).

A rule is a public IPv4 address or a CIDR of /30 or wider: a single address is written
without a mask and a /31 as its two addresses (Storage refuses /31 and /32 CIDRs). At most
400 rules. ipsync writes ``ipRules`` only; ``ipv6Rules``, ``defaultAction``, ``bypass``,
virtual network and resource access rules are sent back as read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from sync.azure.writes import raw
from sync.kinds.base import Needs, TargetSpec
from sync.kinds.iprules import IpRuleKind, IpRuleTarget, Listed, ResourceApi, rules_copy

if TYPE_CHECKING:
    from azure.mgmt.storage import StorageManagementClient

    from sync.azure.client import Clients


class StorageTarget(IpRuleTarget):
    kind: Literal["storage"] = "storage"
    provider_type: ClassVar[str] = "Microsoft.Storage/storageAccounts"
    noun: ClassVar[str] = "Storage account"


class StorageApi(ResourceApi):
    client: StorageManagementClient

    def get(self) -> Listed:
        account = self.client.storage_accounts.get_properties(self._rg, self._name)
        rules = account.network_rule_set
        values = tuple(
            r.ip_address_or_range or "" for r in (rules.ip_rules if rules else None) or []
        )
        return Listed(values, rules)

    def put(self, listed: Listed, values: Sequence[str], headers: dict[str, str]) -> Any:
        from azure.mgmt.storage import models

        rules = rules_copy(listed.rules, lambda: models.NetworkRuleSet(default_action="Allow"))
        rules.ip_rules = [models.IPRule(ip_address_or_range=v, action="Allow") for v in values]
        update = models.StorageAccountUpdateParameters(
            properties=models.StorageAccountPropertiesUpdateParameters(network_rule_set=rules)
        )
        return self.client.storage_accounts.update(
            self._rg, self._name, update, headers=headers, cls=raw
        )


class StorageKind(IpRuleKind):
    name: ClassVar[str] = "storage"
    arm_type: ClassVar[str] = "microsoft.storage/storageaccounts"
    target: ClassVar[type[TargetSpec]] = StorageTarget
    limit: ClassVar[int] = 400
    field: ClassVar[str] = "networkAcls.ipRules"
    forbidden_lengths: ClassVar[frozenset[int]] = frozenset({31})
    needs: ClassVar[Needs] = Needs(
        docs="kinds/storage.md",
        actions=frozenset(
            {"Microsoft.Storage/storageAccounts/read", "Microsoft.Storage/storageAccounts/write"}
        ),
        sdk="azure-mgmt-storage",
        emulated=("Microsoft.Storage/storageAccounts",),
    )

    def api(self, clients: Clients, resource_id: str) -> StorageApi:
        from azure.mgmt.storage import StorageManagementClient

        return StorageApi(*clients.for_resource(StorageManagementClient, resource_id))


KIND = StorageKind()
