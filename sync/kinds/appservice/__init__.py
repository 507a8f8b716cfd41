"""App Service access restrictions: a Web App's or Function App's (or a slot's) rules on its
main and/or SCM site, owned by name prefix and priority band, up to 8 ranges a rule."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, cast

from sync.core.plan import TargetPlan
from sync.kinds.appservice.plan import owned, plan_target
from sync.kinds.appservice.target import AppServiceTarget
from sync.kinds.base import Needs, PlanContext, Snapshot, TargetSpec
from sync.kinds.iprules import one_target_each

if TYPE_CHECKING:
    from sync.azure.client import Clients
    from sync.azure.writes import ArmWriter
    from sync.core.selection import Selection
    from sync.kinds.appservice.gateway import AppServiceGateway
    from sync.state import State


class AppServiceKind:
    name: ClassVar[str] = "appservice"
    arm_type: ClassVar[str] = "microsoft.web/sites"
    target: ClassVar[type[TargetSpec]] = AppServiceTarget
    id_field: ClassVar[str] = "resource"
    tag_fields: ClassVar[Mapping[str, str]] = {
        "prefix": "rule_prefix",
        "priority": "priority_range",
        "site": "site",
    }
    needs: ClassVar[Needs] = Needs(
        docs="kinds/appservice.md",
        actions=frozenset(
            {
                "Microsoft.Web/sites/read",
                "Microsoft.Web/sites/config/read",
                "Microsoft.Web/sites/config/write",
                "Microsoft.Web/sites/slots/config/read",
                "Microsoft.Web/sites/slots/config/write",
            }
        ),
        sdk="azure-mgmt-web",
        emulated=("Microsoft.Web/sites", "Microsoft.Web/sites/slots"),
    )

    def conflicts(self, targets: Sequence[TargetSpec]) -> dict[int, str]:
        """One target per app or slot: its lists are written in one PATCH, once per run."""
        return one_target_each(targets)

    def gateway(
        self, clients: Clients, resource_id: str, writer: ArmWriter, state: State
    ) -> AppServiceGateway:
        from azure.mgmt.web import WebSiteManagementClient

        from sync.kinds.appservice.gateway import AppServiceGateway

        site, _, slot = resource_id.partition("/slots/")
        client, group, name = clients.for_resource(WebSiteManagementClient, site)
        return AppServiceGateway(client, group, name, slot or None, writer)

    def owned(self, target: TargetSpec, snapshot: Snapshot) -> frozenset[str]:
        return owned(cast(AppServiceTarget, target), snapshot.state)

    def plan(
        self,
        items: Sequence[tuple[TargetSpec, Selection]],
        snapshot: Snapshot,
        context: PlanContext,
    ) -> list[TargetPlan[Any] | str]:
        return [
            plan_target(cast(AppServiceTarget, target), selection, snapshot.state)
            for target, selection in items
        ]


KIND = AppServiceKind()
