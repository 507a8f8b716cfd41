"""PostgreSQL flexible server firewall rules: named IPv4 ranges, owned by name prefix, at most
256 per server (ipsync's bound: the service documents none)."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from sync.kinds.base import Needs, TargetSpec
from sync.kinds.postgresql.target import PostgresqlTarget
from sync.kinds.rangekind import RangeRuleKind

if TYPE_CHECKING:
    from sync.azure.client import Clients
    from sync.azure.writes import ArmWriter
    from sync.kinds.postgresql.gateway import PostgresqlGateway
    from sync.state import State


class PostgresqlKind(RangeRuleKind):
    name: ClassVar[str] = "postgresql"
    arm_type: ClassVar[str] = "microsoft.dbforpostgresql/flexibleservers"
    target: ClassVar[type[TargetSpec]] = PostgresqlTarget
    needs: ClassVar[Needs] = Needs(
        docs="kinds/postgresql.md",
        actions=frozenset(
            {
                "Microsoft.DBforPostgreSQL/flexibleServers/read",
                "Microsoft.DBforPostgreSQL/flexibleServers/firewallRules/read",
                "Microsoft.DBforPostgreSQL/flexibleServers/firewallRules/write",
                "Microsoft.DBforPostgreSQL/flexibleServers/firewallRules/delete",
                # Rule writes are long-running: their status is read under the location.
                "Microsoft.DBforPostgreSQL/locations/azureAsyncOperation/read",
                "Microsoft.DBforPostgreSQL/locations/operationResults/read",
            }
        ),
        sdk="azure-mgmt-postgresqlflexibleservers",
        emulated=("Microsoft.DBforPostgreSQL/flexibleServers",),
    )

    def gateway(
        self, clients: Clients, resource_id: str, writer: ArmWriter, state: State
    ) -> PostgresqlGateway:
        from azure.mgmt.postgresqlflexibleservers import PostgreSQLManagementClient

        from sync.kinds.postgresql.gateway import PostgresqlGateway

        client = clients.for_resource(PostgreSQLManagementClient, resource_id)
        return PostgresqlGateway(*client, writer)


KIND = PostgresqlKind()
