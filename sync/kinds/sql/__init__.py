"""SQL server firewall rules: named IPv4 ranges, owned by name prefix, 256 per server."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, cast

from sync.core.plan import TargetPlan
from sync.kinds.base import Needs, PlanContext, Snapshot, TargetSpec
from sync.kinds.sql.plan import check_limits, check_prefixes, owned_cidrs, plan_target
from sync.kinds.sql.target import SqlTarget

if TYPE_CHECKING:
    from sync.azure.client import Clients
    from sync.azure.writes import ArmWriter
    from sync.core.selection import Selection
    from sync.kinds.sql.gateway import SqlGateway
    from sync.state import State


class SqlKind:
    name: ClassVar[str] = "sql"
    arm_type: ClassVar[str] = "microsoft.sql/servers"
    target: ClassVar[type[TargetSpec]] = SqlTarget
    id_field: ClassVar[str] = "resource"
    tag_fields: ClassVar[Mapping[str, str]] = {"prefix": "rule_prefix"}
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

    def conflicts(self, targets: Sequence[TargetSpec]) -> dict[int, str]:
        return check_prefixes(cast(Sequence[SqlTarget], targets))

    def gateway(
        self, clients: Clients, resource_id: str, writer: ArmWriter, state: State
    ) -> SqlGateway:
        from azure.mgmt.sql import SqlManagementClient

        from sync.kinds.sql.gateway import SqlGateway

        return SqlGateway(*clients.for_resource(SqlManagementClient, resource_id), writer)

    def owned(self, target: TargetSpec, snapshot: Snapshot) -> frozenset[str]:
        return owned_cidrs(cast(SqlTarget, target), snapshot.state)

    def plan(
        self,
        items: Sequence[tuple[TargetSpec, Selection]],
        snapshot: Snapshot,
        context: PlanContext,
    ) -> list[TargetPlan[Any] | str]:
        results: list[TargetPlan[Any] | str] = [
            plan_target(cast(SqlTarget, target), selection.v4, snapshot.state)
            for target, selection in items
        ]
        planned = [(i, p) for i, p in enumerate(results) if not isinstance(p, str)]
        for position, reason in check_limits(snapshot.state, [p for _, p in planned]).items():
            index, plan = planned[position]
            results[index] = plan.refuse(reason)
        return results


KIND = SqlKind()
