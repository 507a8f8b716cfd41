"""NSG security rules: one rule per target and IP family, owned by name prefix and priority band."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar, cast

from sync.core.budget import fit_to_budget
from sync.core.plan import TargetPlan
from sync.errors import TargetError
from sync.kinds.base import Needs, PlanContext, Snapshot, TargetSpec
from sync.kinds.nsg.plan import (
    check_bands,
    check_limits,
    desired_rules,
    owned_prefixes,
    plan_target,
    remote_budget,
)
from sync.kinds.nsg.target import NsgTarget

if TYPE_CHECKING:
    from sync.azure.client import Clients
    from sync.azure.writes import ArmWriter
    from sync.core.selection import Selection
    from sync.kinds.nsg.gateway import NsgGateway
    from sync.kinds.nsg.rules import Rule
    from sync.state import State


class NsgKind:
    name: ClassVar[str] = "nsg"
    arm_type: ClassVar[str] = "microsoft.network/networksecuritygroups"
    target: ClassVar[type[TargetSpec]] = NsgTarget
    id_field: ClassVar[str] = "nsg"
    tag_fields: ClassVar[Mapping[str, str]] = {
        "direction": "direction",
        "access": "access",
        "protocol": "protocol",
        "ports": "ports",
        "local": "local_prefixes",
        "priority": "priority_range",
    }
    needs: ClassVar[Needs] = Needs(
        docs="kinds/nsg.md",
        actions=frozenset(
            {
                "Microsoft.Network/networkSecurityGroups/read",
                "Microsoft.Network/networkSecurityGroups/securityRules/read",
                "Microsoft.Network/networkSecurityGroups/securityRules/write",
                "Microsoft.Network/networkSecurityGroups/securityRules/delete",
                # The Discovery API source (IPSYNC_SOURCE=api) reads the service tags.
                "Microsoft.Network/locations/serviceTags/read",
            }
        ),
        shared=frozenset({"networkOperationStatus"}),
        sdk="azure-mgmt-network",
        emulated=("Microsoft.Network/networkSecurityGroups",),
    )

    def describe(self, payload: Any) -> dict[str, str]:
        """A rule's settings beside its remote addresses: the local side is the destination of
        an inbound rule and the source of an outbound one."""
        rule = cast("Rule", payload)
        local = rule.destination_prefixes if rule.direction == "Inbound" else rule.source_prefixes
        return {
            "priority": str(rule.priority),
            "direction": rule.direction,
            "access": rule.access,
            "protocol": rule.protocol,
            "ports": ",".join(sorted(rule.destination_ports)),
            "local": ",".join(sorted(local)),
        }

    def conflicts(self, targets: Sequence[TargetSpec]) -> dict[int, str]:
        return check_bands(cast(Sequence[NsgTarget], targets))

    def gateway(
        self, clients: Clients, resource_id: str, writer: ArmWriter, state: State
    ) -> NsgGateway:
        from azure.mgmt.network import NetworkManagementClient

        from sync.kinds.nsg.gateway import NsgGateway

        return NsgGateway(*clients.for_resource(NetworkManagementClient, resource_id), writer)

    def owned(self, target: TargetSpec, snapshot: Snapshot) -> frozenset[str]:
        return owned_prefixes(cast(NsgTarget, target), snapshot.state)

    def plan(
        self,
        items: Sequence[tuple[TargetSpec, Selection]],
        snapshot: Snapshot,
        context: PlanContext,
    ) -> list[TargetPlan[Any] | str]:
        current: list[Rule] = snapshot.state
        results: list[TargetPlan[Any] | str] = []
        for spec, selection in items:
            target = cast(NsgTarget, spec)
            budget, held = remote_budget(target, current)
            fitted = fit_to_budget(
                {"v4": selection.v4, "v6": selection.v6},
                budget,
                mode=target.fit,
                max_entries=target.max_entries,
                where=target.where,
                prefer=held,
            )
            # An exact list over the limit is refused below by the limit check, which also
            # counts the make-before-break peak; a chosen capacity or a cover is refused here.
            if fitted.refused and (target.fit == "cover" or target.max_entries is not None):
                results.append(TargetPlan(target, refused=fitted.refused, fit=fitted.account))
                continue
            try:
                desired = desired_rules(
                    target, fitted.by_family, current, change_number=context.release_of(target)
                )
            except TargetError as exc:
                results.append(str(exc))
                continue
            results.append(replace(plan_target(target, desired, current), fit=fitted.account))
        planned = [(i, p) for i, p in enumerate(results) if not isinstance(p, str)]
        refusals = check_limits(current, [p for _, p in planned])
        for position, reason in refusals.items():
            index, plan = planned[position]
            results[index] = plan.refuse(reason)
        return results


KIND = NsgKind()
