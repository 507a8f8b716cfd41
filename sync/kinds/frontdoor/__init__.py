"""Front Door WAF policy: the allow-list is one custom rule, a Block rule whose IPMatch
condition (``RemoteAddr`` or ``SocketAddr``) is negated, found by its name.

The rule holds at most 600 ranges, an owner's included: a longer selection is fitted
(``fit: cover``) or refused (``exact``). The ranges ipsync added are kept in the ownership
registry, as for the other nameless lists, so an owner's range in the rule stays. The rest of
the policy (other custom rules, managed rule sets, settings) is sent back as read.
"""

from __future__ import annotations

from dataclasses import fields, replace
from typing import TYPE_CHECKING, Any, ClassVar, cast

from sync.core.plan import TargetPlan
from sync.kinds.base import Needs, PlanContext, TargetSpec
from sync.kinds.frontdoor.policy import MAX_RANGES, free_priority, problem
from sync.kinds.frontdoor.target import FrontDoorTarget
from sync.kinds.iprules import IpRuleKind, IpRuleTarget, Listed, ListState

if TYPE_CHECKING:
    from sync.azure.client import Clients
    from sync.azure.writes import ArmWriter
    from sync.core.selection import Selection
    from sync.kinds.frontdoor.api import FrontDoorApi, FrontDoorGateway
    from sync.state import State


class FrontDoorKind(IpRuleKind):
    name: ClassVar[str] = "frontdoor"
    arm_type: ClassVar[str] = "microsoft.network/frontdoorwebapplicationfirewallpolicies"
    target: ClassVar[type[TargetSpec]] = FrontDoorTarget
    limit: ClassVar[int] = MAX_RANGES
    field: ClassVar[str] = "customRules IPMatch"
    public_only: ClassVar[bool] = False
    needs: ClassVar[Needs] = Needs(
        docs="kinds/frontdoor.md",
        actions=frozenset(
            {
                "Microsoft.Network/frontDoorWebApplicationFirewallPolicies/read",
                "Microsoft.Network/frontDoorWebApplicationFirewallPolicies/write",
                # the PUT is long-running: Front Door's operation results (the path of its
                # Location is unconfirmed, so Microsoft.Network's status actions too)
                "Microsoft.Network/frontdooroperationresults/read",
            }
        ),
        shared=frozenset({"networkOperationStatus"}),
        sdk="azure-mgmt-frontdoor",
        emulated=("Microsoft.Network/FrontDoorWebApplicationFirewallPolicies",),
    )

    def api(self, clients: Clients, resource_id: str) -> FrontDoorApi:
        from azure.mgmt.frontdoor import FrontDoorManagementClient

        from sync.kinds.frontdoor.api import FrontDoorApi

        return FrontDoorApi(*clients.for_resource(FrontDoorManagementClient, resource_id))

    def gateway(
        self, clients: Clients, resource_id: str, writer: ArmWriter, state: State
    ) -> FrontDoorGateway:
        from sync.kinds.frontdoor.api import FrontDoorGateway

        api = self.api(clients, resource_id)
        return FrontDoorGateway(api, state.registry, resource_id, writer, self.field)

    def check(self, target: IpRuleTarget, listed: Listed) -> str | None:
        from sync.kinds.frontdoor.api import read_rules

        spec = cast(FrontDoorTarget, target)
        policy = spec.resource.rsplit("/", 1)[-1]
        found = problem(read_rules(listed.rules), spec.rule, spec.priority, policy)
        return f"{target.where}: {found}" if found else None

    def _plan(
        self, target: IpRuleTarget, selection: Selection, state: ListState, context: PlanContext
    ) -> TargetPlan[Any] | str:
        """The shared plan, its write naming the rule (and how to create it)."""
        from sync.kinds.frontdoor.api import RuleWrite, read_rules

        planned = super()._plan(target, selection, state, context)
        if isinstance(planned, str):
            return planned
        spec = cast(FrontDoorTarget, target)
        priority = spec.priority
        if priority is None:
            priority = free_priority(read_rules(state.listed.rules))
        writes = tuple(
            replace(
                w,
                name=f"customRules.{spec.rule}",
                payload=RuleWrite(
                    **{f.name: getattr(w.payload, f.name) for f in fields(w.payload)},
                    rule=spec.rule,
                    priority=priority,
                    variable=spec.match_variable,
                ),
            )
            for w in planned.writes
        )
        return replace(planned, writes=writes)


KIND = FrontDoorKind()
