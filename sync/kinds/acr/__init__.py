"""Container Registry firewall: ``properties.networkRuleSet.ipRules`` (PATCH the registry).

A rule is a public IPv4 address or CIDR. IP rules need the Premium SKU and stop at 100 per
registry. The PATCH is a long-running operation (``Azure-AsyncOperation``); ``defaultAction``
and every other property are sent back as read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from sync.azure.writes import raw
from sync.kinds.base import Needs, TargetSpec
from sync.kinds.iprules import IpRuleKind, IpRuleTarget, Listed, ResourceApi, rules_copy

if TYPE_CHECKING:
    from azure.mgmt.containerregistry import ContainerRegistryManagementClient

    from sync.azure.client import Clients

#: The only SKU whose registries take IP rules.
PREMIUM = "Premium"


class AcrTarget(IpRuleTarget):
    kind: Literal["acr"] = "acr"
    provider_type: ClassVar[str] = "Microsoft.ContainerRegistry/registries"
    noun: ClassVar[str] = "Container Registry"


class AcrApi(ResourceApi):
    client: ContainerRegistryManagementClient

    def get(self) -> Listed:
        registry = self.client.registries.get(self._rg, self._name)
        rules = registry.properties.network_rule_set if registry.properties else None
        values = tuple(
            r.ip_address_or_range or "" for r in (rules.ip_rules if rules else None) or []
        )
        name = registry.sku.name if registry.sku else None
        sku = str(getattr(name, "value", name)) if name else None
        return Listed(values, rules, sku, tags=dict(registry.tags or {}))

    def put(self, listed: Listed, values: Sequence[str], headers: dict[str, str]) -> Any:
        from azure.mgmt.containerregistry import models

        rules = rules_copy(listed.rules, lambda: models.NetworkRuleSet(default_action="Allow"))
        rules.ip_rules = [models.IPRule(ip_address_or_range=v, action="Allow") for v in values]
        update = models.RegistryUpdateParameters(
            tags=listed.tags,
            properties=models.RegistryPropertiesUpdateParameters(network_rule_set=rules),
        )
        return self.client.registries.begin_update(
            self._rg, self._name, update, headers=headers, polling=False, cls=raw
        ).result()


class AcrKind(IpRuleKind):
    name: ClassVar[str] = "acr"
    arm_type: ClassVar[str] = "microsoft.containerregistry/registries"
    target: ClassVar[type[TargetSpec]] = AcrTarget
    limit: ClassVar[int] = 100
    field: ClassVar[str] = "networkRuleSet.ipRules"
    needs: ClassVar[Needs] = Needs(
        docs="kinds/acr.md",
        actions=frozenset(
            {
                "Microsoft.ContainerRegistry/registries/read",
                "Microsoft.ContainerRegistry/registries/write",
                # A registry PATCH is long-running; its status URL is under the registry.
                "Microsoft.ContainerRegistry/registries/operationStatuses/read",
            }
        ),
        sdk="azure-mgmt-containerregistry",
        emulated=("Microsoft.ContainerRegistry/registries",),
    )

    def api(self, clients: Clients, resource_id: str) -> AcrApi:
        from azure.mgmt.containerregistry import ContainerRegistryManagementClient

        return AcrApi(*clients.for_resource(ContainerRegistryManagementClient, resource_id))

    def check(self, target: IpRuleTarget, listed: Listed) -> str | None:
        if listed.sku == PREMIUM:
            return None
        return (
            f"{target.where}: the registry is on the {listed.sku or 'unknown'} SKU; IP rules "
            f"need {PREMIUM} (up to {self.limit} rules): upgrade it or drop this target"
        )


KIND = AcrKind()
