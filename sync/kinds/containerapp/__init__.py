"""Container Apps ingress IP restrictions: named IPv4 Allow rules, owned by name prefix."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, cast

from sync.core.plan import TargetPlan
from sync.kinds.base import Needs, PlanContext, Snapshot, TargetSpec
from sync.kinds.containerapp.plan import owned_cidrs, plan_target
from sync.kinds.containerapp.target import ContainerAppTarget
from sync.kinds.iprules import one_target_each

if TYPE_CHECKING:
    from sync.azure.client import Clients
    from sync.azure.writes import ArmWriter
    from sync.core.selection import Selection
    from sync.kinds.containerapp.gateway import ContainerAppGateway
    from sync.state import State


class ContainerAppKind:
    name: ClassVar[str] = "containerapp"
    arm_type: ClassVar[str] = "microsoft.app/containerapps"
    target: ClassVar[type[TargetSpec]] = ContainerAppTarget
    id_field: ClassVar[str] = "resource"
    tag_fields: ClassVar[Mapping[str, str]] = {"prefix": "rule_prefix"}
    needs: ClassVar[Needs] = Needs(
        docs="kinds/containerapp.md",
        actions=frozenset(
            {
                "Microsoft.App/containerApps/read",
                "Microsoft.App/containerApps/write",
                # the PATCH is long-running: its status URL (containerappOperationResults in
                # the spec's example; the statuses form is Microsoft.App's other one)
                "Microsoft.App/locations/containerAppOperationStatuses/read",
                "Microsoft.App/locations/containerAppOperationResults/read",
            }
        ),
        sdk="azure-mgmt-appcontainers",
        emulated=("Microsoft.App/containerApps",),
    )

    def conflicts(self, targets: Sequence[TargetSpec]) -> dict[int, str]:
        """One target per app: the list is written whole, once per run."""
        return one_target_each(targets)

    def gateway(
        self, clients: Clients, resource_id: str, writer: ArmWriter, state: State
    ) -> ContainerAppGateway:
        from azure.mgmt.appcontainers import ContainerAppsAPIClient

        from sync.kinds.containerapp.gateway import ContainerAppGateway

        return ContainerAppGateway(
            *clients.for_resource(ContainerAppsAPIClient, resource_id), writer
        )

    def owned(self, target: TargetSpec, snapshot: Snapshot) -> frozenset[str]:
        return owned_cidrs(cast(ContainerAppTarget, target), snapshot.state)

    def plan(
        self,
        items: Sequence[tuple[TargetSpec, Selection]],
        snapshot: Snapshot,
        context: PlanContext,
    ) -> list[TargetPlan[Any] | str]:
        return [
            plan_target(cast(ContainerAppTarget, target), selection.v4, snapshot.state)
            for target, selection in items
        ]


KIND = ContainerAppKind()
