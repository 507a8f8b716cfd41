"""Cosmos DB account firewall: ``properties.ipRules[].ipAddressOrRange`` (PATCH the account).

A rule is a public IPv4 address or CIDR; the service refuses ranges inside 10.0.0.0/8,
100.64.0.0/10, 172.16.0.0/12 and 192.168.0.0/16 (ipsync refuses every non-public range
before that). ``0.0.0.0`` (Azure's datacenters) and the Azure portal's addresses are the
owner's entries like any other: kept, never claimed. The PATCH carries ``ipRules`` alone, so
locations and every other property stay as they are (Cosmos DB refuses a location change in the
same request anyway).

The update is long-running and takes up to 15 minutes. It is polled within the run's time
budget; a run that ends first leaves it running, records the entries it added as ipsync's, and
the next run reads what it did. While an update of the account runs (``provisioningState`` not
final, ipsync's or anyone's), no second one is sent: Cosmos DB would refuse it, and the next run
resumes from what the update left.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from sync.azure.writes import raw
from sync.kinds.base import Needs, TargetSpec
from sync.kinds.iprules import IpRuleKind, IpRuleTarget, Listed, ResourceApi

if TYPE_CHECKING:
    from azure.mgmt.cosmosdb import CosmosDBManagementClient

    from sync.azure.client import Clients

#: IP rules per account: Cosmos DB documents none; ipsync stops here.
COSMOS_IP_RULES = 1000
#: Provisioning states after which the account takes a new update.
SETTLED = frozenset({"succeeded", "failed", "canceled", "cancelled"})


class CosmosDbTarget(IpRuleTarget):
    kind: Literal["cosmosdb"] = "cosmosdb"
    provider_type: ClassVar[str] = "Microsoft.DocumentDB/databaseAccounts"
    noun: ClassVar[str] = "Cosmos DB account"


class CosmosDbApi(ResourceApi):
    client: CosmosDBManagementClient

    def get(self) -> Listed:
        account = self.client.database_accounts.get(self._rg, self._name)
        props = account.properties
        values = tuple(
            r.ip_address_or_range or "" for r in (props.ip_rules if props else None) or []
        )
        state = str((props.provisioning_state if props else None) or "Succeeded")
        busy = None if state.lower() in SETTLED else state
        return Listed(values, None, busy=busy, tags=dict(account.tags or {}))

    def put(self, listed: Listed, values: Sequence[str], headers: dict[str, str]) -> Any:
        from azure.mgmt.cosmosdb import models

        rules = [models.IpAddressOrRange(ip_address_or_range=v) for v in values]
        update = models.DatabaseAccountUpdateParameters(
            properties=models.DatabaseAccountUpdateProperties(ip_rules=rules),
            tags=listed.tags,  # ipsync's marks set, the owner's tags as read
        )
        return self.client.database_accounts.begin_update(
            self._rg, self._name, update, headers=headers, polling=False, cls=raw
        ).result()


class CosmosDbKind(IpRuleKind):
    name: ClassVar[str] = "cosmosdb"
    arm_type: ClassVar[str] = "microsoft.documentdb/databaseaccounts"
    target: ClassVar[type[TargetSpec]] = CosmosDbTarget
    limit: ClassVar[int] = COSMOS_IP_RULES
    field: ClassVar[str] = "ipRules"
    needs: ClassVar[Needs] = Needs(
        docs="kinds/cosmosdb.md",
        actions=frozenset(
            {
                "Microsoft.DocumentDB/databaseAccounts/read",
                "Microsoft.DocumentDB/databaseAccounts/write",
            }
        ),
        sdk="azure-mgmt-cosmosdb",
        emulated=("Microsoft.DocumentDB/databaseAccounts",),
    )

    def api(self, clients: Clients, resource_id: str) -> CosmosDbApi:
        from azure.mgmt.cosmosdb import CosmosDBManagementClient

        return CosmosDbApi(*clients.for_resource(CosmosDBManagementClient, resource_id))


KIND = CosmosDbKind()
