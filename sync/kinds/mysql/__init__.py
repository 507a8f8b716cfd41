"""MySQL flexible server firewall rules: named IPv4 ranges, owned by name prefix, 500 per
server."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from sync.kinds.base import Needs, TargetSpec
from sync.kinds.mysql.target import MysqlTarget
from sync.kinds.rangekind import RangeRuleKind

if TYPE_CHECKING:
    from sync.azure.client import Clients
    from sync.azure.writes import ArmWriter
    from sync.kinds.mysql.gateway import MysqlGateway
    from sync.state import State


class MysqlKind(RangeRuleKind):
    name: ClassVar[str] = "mysql"
    arm_type: ClassVar[str] = "microsoft.dbformysql/flexibleservers"
    target: ClassVar[type[TargetSpec]] = MysqlTarget
    needs: ClassVar[Needs] = Needs(
        docs="kinds/mysql.md",
        actions=frozenset(
            {
                "Microsoft.DBforMySQL/flexibleServers/read",
                "Microsoft.DBforMySQL/flexibleServers/firewallRules/read",
                "Microsoft.DBforMySQL/flexibleServers/firewallRules/write",
                "Microsoft.DBforMySQL/flexibleServers/firewallRules/delete",
                # Rule writes are long-running: their status is read under the location.
                "Microsoft.DBforMySQL/locations/azureAsyncOperation/read",
                "Microsoft.DBforMySQL/locations/operationResults/read",
            }
        ),
        sdk="azure-mgmt-mysqlflexibleservers",
        emulated=("Microsoft.DBforMySQL/flexibleServers",),
    )

    def gateway(
        self, clients: Clients, resource_id: str, writer: ArmWriter, state: State
    ) -> MysqlGateway:
        from azure.mgmt.mysqlflexibleservers import MySQLManagementClient

        from sync.kinds.mysql.gateway import MysqlGateway

        client = clients.for_resource(MySQLManagementClient, resource_id)
        return MysqlGateway(*client, writer)


KIND = MysqlKind()
