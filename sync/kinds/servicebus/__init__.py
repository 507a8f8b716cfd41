"""Service Bus namespace firewall: ``networkRuleSets/default`` ``ipRules`` (one PUT of the set).

A rule is ``{ipMask, action: Allow}`` with a public IPv4 address or CIDR (IPv6 is not
supported). The IP firewall is a Premium-tier feature: a namespace in another tier is refused
before any write, saying so. Service Bus documents no limit on the rules; ipsync stops at 128
IP and virtual network rules together, Event Hubs' documented figure for the same rule set
(``SERVICEBUS_RULES``). The PUT replaces the whole set: every field but ``ipRules`` is sent
back as read (:mod:`sync.kinds.namespaces`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

from sync.kinds.base import Needs, TargetSpec
from sync.kinds.namespaces import NamespaceApi, NamespaceKind, NamespaceTarget

if TYPE_CHECKING:
    from sync.azure.client import Clients

#: IP and virtual network rules per namespace: none documented, Event Hubs' 128 chosen.
SERVICEBUS_RULES = 128


class ServiceBusTarget(NamespaceTarget):
    kind: Literal["servicebus"] = "servicebus"
    provider_type: ClassVar[str] = "Microsoft.ServiceBus/namespaces"
    noun: ClassVar[str] = "Service Bus namespace"


class ServiceBusKind(NamespaceKind):
    name: ClassVar[str] = "servicebus"
    arm_type: ClassVar[str] = "microsoft.servicebus/namespaces"
    target: ClassVar[type[TargetSpec]] = ServiceBusTarget
    limit: ClassVar[int] = SERVICEBUS_RULES
    tiers: ClassVar[frozenset[str]] = frozenset({"Premium"})
    needs: ClassVar[Needs] = Needs(
        docs="kinds/servicebus.md",
        actions=frozenset(
            {
                "Microsoft.ServiceBus/namespaces/read",
                "Microsoft.ServiceBus/namespaces/networkrulesets/read",
                "Microsoft.ServiceBus/namespaces/networkrulesets/write",
            }
        ),
        sdk="azure-mgmt-servicebus",
        emulated=("Microsoft.ServiceBus/namespaces",),
    )

    def api(self, clients: Clients, resource_id: str) -> NamespaceApi:
        from azure.mgmt.servicebus import ServiceBusManagementClient, models

        client, group, name = clients.for_resource(ServiceBusManagementClient, resource_id)
        return NamespaceApi(client, models, group, name)


KIND = ServiceBusKind()
