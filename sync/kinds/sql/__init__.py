"""SQL server firewall rules: named IPv4 ranges, owned by name prefix, 256 per server."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from sync.kinds.base import Needs, TargetSpec
from sync.kinds.rangekind import RangeRuleKind
from sync.kinds.sql.target import SqlTarget

if TYPE_CHECKING:
    from sync.azure.client import Clients
    from sync.azure.writes import ArmWriter
    from sync.kinds.sql.gateway import SqlGateway
    from sync.state import State


class SqlKind(RangeRuleKind):
    name: ClassVar[str] = "sql"
    arm_type: ClassVar[str] = "microsoft.sql/servers"
    target: ClassVar[type[TargetSpec]] = SqlTarget
    needs: ClassVar[Needs] = Needs(
        docs="kinds/sql.md",
        actions=frozenset(
            {
                "Microsoft.Sql/servers/read",
                "Microsoft.Sql/servers/firewallRules/read",
                "Microsoft.Sql/servers/firewallRules/write",
                "Microsoft.Sql/servers/firewallRules/delete",
            }
        ),
        sdk="azure-mgmt-sql",
        emulated=("Microsoft.Sql/servers",),
    )

    def gateway(
        self, clients: Clients, resource_id: str, writer: ArmWriter, state: State
    ) -> SqlGateway:
        from azure.mgmt.sql import SqlManagementClient

        from sync.kinds.sql.gateway import SqlGateway

        return SqlGateway(*clients.for_resource(SqlManagementClient, resource_id), writer)


KIND = SqlKind()
