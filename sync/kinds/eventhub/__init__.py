"""Event Hubs namespace firewall: ``networkRuleSets/default`` ``ipRules`` (one PUT of the set).

A rule is ``{ipMask, action: Allow}`` with a public IPv4 address or CIDR (IPv6 is not
supported). At most 128 IP and virtual network rules together per namespace (the quotas
table), so the virtual network rules present shrink the budget; none in the Basic tier. The
PUT replaces the whole set: virtual network rules, ``defaultAction``,
``trustedServiceAccessEnabled`` and ``publicNetworkAccess`` are sent back as read
(:mod:`sync.kinds.namespaces`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

from sync.kinds.base import Needs, TargetSpec
from sync.kinds.namespaces import NamespaceApi, NamespaceKind, NamespaceTarget

if TYPE_CHECKING:
    from sync.azure.client import Clients


class EventHubTarget(NamespaceTarget):
    kind: Literal["eventhub"] = "eventhub"
    provider_type: ClassVar[str] = "Microsoft.EventHub/namespaces"
    noun: ClassVar[str] = "Event Hubs namespace"


class EventHubKind(NamespaceKind):
    name: ClassVar[str] = "eventhub"
    arm_type: ClassVar[str] = "microsoft.eventhub/namespaces"
    target: ClassVar[type[TargetSpec]] = EventHubTarget
    limit: ClassVar[int] = 128
    tiers: ClassVar[frozenset[str]] = frozenset({"Standard", "Premium", "Dedicated"})
    needs: ClassVar[Needs] = Needs(
        docs="kinds/eventhub.md",
        actions=frozenset(
            {
                "Microsoft.EventHub/namespaces/read",
                "Microsoft.EventHub/namespaces/networkrulesets/read",
                "Microsoft.EventHub/namespaces/networkrulesets/write",
            }
        ),
        sdk="azure-mgmt-eventhub",
        emulated=("Microsoft.EventHub/namespaces",),
    )

    def api(self, clients: Clients, resource_id: str) -> NamespaceApi:
        from azure.mgmt.eventhub import EventHubManagementClient, models

        client, group, name = clients.for_resource(EventHubManagementClient, resource_id)
        return NamespaceApi(client, models, group, name)


KIND = EventHubKind()
