"""Storage account firewall: ``properties.networkAcls.ipRules`` and ``ipv6Rules`` (one PATCH
of the account).

A rule is a public IPv4 address or a CIDR of /30 or wider: a single address is written
without a mask and a /31 as its two addresses (Storage refuses /31 and /32 CIDRs). At most
400 rules. IPv6 rules (``families: ["v4", "v6"]``) go to ``ipv6Rules``, which an account
takes where it publishes IPv6 endpoints (``dualStackEndpointPreference.publishIpv6Endpoint``);
their syntax and limit are written as the IPv4 rules' by analogy, since the spec states
neither: a public IPv6 address (no mask) or a CIDR of /126 or wider, a /127 as its two
addresses, at most 400 apart from the IPv4 rules (unconfirmed). ``defaultAction``,
``bypass``, virtual network and resource access rules are sent back as read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import field_validator

from sync.azure.writes import raw
from sync.kinds.base import Family, Needs, TargetSpec
from sync.kinds.iprules import (
    IpRuleKind,
    IpRuleTarget,
    Listed,
    ResourceApi,
    family_of,
    rules_copy,
)

if TYPE_CHECKING:
    from azure.mgmt.storage import StorageManagementClient

    from sync.azure.client import Clients


class StorageTarget(IpRuleTarget):
    kind: Literal["storage"] = "storage"
    provider_type: ClassVar[str] = "Microsoft.Storage/storageAccounts"
    noun: ClassVar[str] = "Storage account"

    @field_validator("families")
    @classmethod
    def _ipv4_only(cls, value: tuple[Family, ...]) -> tuple[Family, ...]:
        """Storage takes IPv6 rules too (where the account publishes IPv6 endpoints)."""
        return value


class StorageApi(ResourceApi):
    client: StorageManagementClient

    def get(self) -> Listed:
        account = self.client.storage_accounts.get_properties(self._rg, self._name)
        rules = account.network_rule_set
        read = [
            *((rules.ip_rules or []) if rules else []),
            *((rules.ipv6_rules or []) if rules else []),
        ]
        dual = account.dual_stack_endpoint_preference
        v6 = bool(dual and dual.publish_ipv6_endpoint)
        return Listed(
            tuple(r.ip_address_or_range or "" for r in read),
            rules,
            takes_v6=v6,
            tags=dict(account.tags or {}),
        )

    def put(self, listed: Listed, values: Sequence[str], headers: dict[str, str]) -> Any:
        from azure.mgmt.storage import models

        rules = rules_copy(listed.rules, lambda: models.NetworkRuleSet(default_action="Allow"))
        by_family: dict[str, list[Any]] = {"v4": [], "v6": []}
        for v in values:
            by_family[family_of(v)].append(models.IPRule(ip_address_or_range=v, action="Allow"))
        rules.ip_rules = by_family["v4"]
        if by_family["v6"] or rules.ipv6_rules:
            rules.ipv6_rules = by_family["v6"]
        update = models.StorageAccountUpdateParameters(
            tags=listed.tags,
            properties=models.StorageAccountPropertiesUpdateParameters(network_rule_set=rules),
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
    v6_limit: ClassVar[int] = 400
    v6_forbidden_lengths: ClassVar[frozenset[int]] = frozenset({127})
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

    def check(self, target: IpRuleTarget, listed: Listed) -> str | None:
        if "v6" not in target.families or listed.takes_v6:
            return None
        return (
            f"{target.where}: the account publishes no IPv6 endpoints "
            "(dualStackEndpointPreference.publishIpv6Endpoint), so it takes no ipv6Rules: "
            'enable them or set families: ["v4"]'
        )


KIND = StorageKind()
