"""IP Groups (Azure Firewall): ipsync owns the whole list of a group handed over to it."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, cast

from sync.core.plan import TargetPlan
from sync.kinds.base import Needs, PlanContext, Snapshot, TargetSpec
from sync.kinds.ipgroup.plan import Group, held_cidrs, plan_target
from sync.kinds.ipgroup.target import IpGroupTarget

if TYPE_CHECKING:
    from sync.azure.client import Clients
    from sync.azure.writes import ArmWriter
    from sync.core.selection import Selection
    from sync.kinds.ipgroup.gateway import IpGroupGateway
    from sync.state import State


class IpGroupKind:
    name: ClassVar[str] = "ipgroup"
    arm_type: ClassVar[str] = "microsoft.network/ipgroups"
    target: ClassVar[type[TargetSpec]] = IpGroupTarget
    id_field: ClassVar[str] = "resource"
    tag_fields: ClassVar[Mapping[str, str]] = {"groups": "max_groups"}
    needs: ClassVar[Needs] = Needs(
        docs="kinds/ipgroup.md",
        actions=frozenset({"Microsoft.Network/ipGroups/read", "Microsoft.Network/ipGroups/write"}),
        shared=frozenset({"networkOperationStatus"}),
        sdk="azure-mgmt-network",
        emulated=("Microsoft.Network/ipGroups",),
    )

    def conflicts(self, targets: Sequence[TargetSpec]) -> dict[int, str]:
        """A group's list has one owner: several targets on one group are all refused."""
        if len(targets) < 2:
            return {}
        return {
            i: (
                f"{target.where}: {len(targets)} targets name this IP Group, whose whole list "
                "one target owns; merge their service_tags into one target"
            )
            for i, target in enumerate(targets)
        }

    def gateway(
        self, clients: Clients, resource_id: str, writer: ArmWriter, state: State
    ) -> IpGroupGateway:
        from azure.mgmt.network import NetworkManagementClient

        from sync.kinds.ipgroup.gateway import IpGroupGateway

        client, group, _ = clients.for_resource(NetworkManagementClient, resource_id)
        where = resource_id.lower().split("/providers/", 1)[0]  # its resource group

        def first(read: Callable[[], tuple[Group, ...]]) -> tuple[Group, ...]:
            return clients.shared(("ipgroups", where), read)

        return IpGroupGateway(client, group, writer, first)

    def owned(self, target: TargetSpec, snapshot: Snapshot) -> frozenset[str]:
        return held_cidrs(cast(IpGroupTarget, target), snapshot.state)

    def plan(
        self,
        items: Sequence[tuple[TargetSpec, Selection]],
        snapshot: Snapshot,
        context: PlanContext,
    ) -> list[TargetPlan[Any] | str]:
        return [
            plan_target(
                cast(IpGroupTarget, target),
                selection.v4,
                snapshot.state,
                context.release_of(target),
            )
            for target, selection in items
        ]


KIND = IpGroupKind()
