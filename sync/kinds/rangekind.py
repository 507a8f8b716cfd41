"""Kinds whose allow-list is a server's firewall rules, one child resource per IPv4 range (SQL
servers, PostgreSQL and MySQL flexible servers): the kind's methods and the gateway they share.
What the rules should become is :mod:`sync.kinds.rangerules`'; each kind adds its target model,
its SDK's calls and its RBAC.

Firewall rules carry no etag, so nothing makes a write conditional. Instead each write is
preceded by a GET of its rule: when the rule is no longer as the plan read it (someone edited,
added or removed it), the write is not sent and the engine re-reads the server and re-plans.
What remains is the moment between that GET and the write, and changes to other rules, which
only matter through the server's rule limit (the service then refuses a create, before
anything was removed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, cast

from sync.core.plan import TargetPlan
from sync.kinds.base import Needs, PlanContext, Snapshot, TargetSpec
from sync.kinds.rangerules import (
    FirewallRule,
    RangeRuleTarget,
    RuleChange,
    check_limits,
    check_prefixes,
    owned_cidrs,
    plan_target,
)

if TYPE_CHECKING:
    from sync.azure.client import Clients
    from sync.azure.writes import ArmWriter
    from sync.core.plan import Write
    from sync.core.selection import Selection
    from sync.state import State


class RangeRuleKind:
    """The methods of a firewall-rule kind; a kind adds its name, types, needs and gateway."""

    target: ClassVar[type[TargetSpec]]
    id_field: ClassVar[str] = "resource"
    tag_fields: ClassVar[Mapping[str, str]] = {"prefix": "rule_prefix"}

    def conflicts(self, targets: Sequence[TargetSpec]) -> dict[int, str]:
        return check_prefixes(cast(Sequence[RangeRuleTarget], targets))

    def owned(self, target: TargetSpec, snapshot: Snapshot) -> frozenset[str]:
        return owned_cidrs(cast(RangeRuleTarget, target), snapshot.state)

    def plan(
        self,
        items: Sequence[tuple[TargetSpec, Selection]],
        snapshot: Snapshot,
        context: PlanContext,
    ) -> list[TargetPlan[Any] | str]:
        results: list[TargetPlan[Any] | str] = [
            plan_target(cast(RangeRuleTarget, target), selection.v4, snapshot.state)
            for target, selection in items
        ]
        planned = [(i, p) for i, p in enumerate(results) if not isinstance(p, str)]
        limit = cast(type[RangeRuleTarget], self.target).max_rules
        for position, reason in check_limits(
            snapshot.state, [p for _, p in planned], limit
        ).items():
            index, plan = planned[position]
            results[index] = plan.refuse(reason)
        return results


def _rule(sdk: Any) -> FirewallRule:
    return FirewallRule(sdk.name or "", sdk.start_ip_address or "", sdk.end_ip_address or "")


class RuleGateway:
    """Reads and writes the firewall rules of one server through its SDK's ``firewall_rules``
    operations; a kind says how one rule is put and deleted."""

    def __init__(self, client: Any, resource_group: str, name: str, writer: ArmWriter) -> None:
        self._client = client
        self._rg = resource_group
        self._name = name
        self._writer = writer

    def read(self) -> Snapshot:
        """Every firewall rule of the server, foreign ones and the Azure-services rule too."""
        rules: Iterable[Any] = self._writer.read(
            "list its firewall rules",
            lambda: list(self._client.firewall_rules.list_by_server(self._rg, self._name)),
        )
        return Snapshot(etag=None, state=tuple(_rule(r) for r in rules))

    def _now(self, name: str) -> FirewallRule | None:
        from azure.core.exceptions import ResourceNotFoundError

        def get() -> FirewallRule | None:
            try:
                return _rule(self._client.firewall_rules.get(self._rg, self._name, name))
            except ResourceNotFoundError:
                return None

        return self._writer.read(f"read rule {name}", get)

    def send(self, write: Write[RuleChange], etag: str | None) -> str | None:
        """PUT or DELETE one rule, if it is still as read; there is no etag to return."""
        from sync.azure.writes import Stale

        change = write.payload
        now = self._now(write.name)
        if (now and now.span) != (change.read and change.read.span):
            raise Stale(f"rule {write.name} changed since the server was read")
        if write.action == "delete":
            what = f"DELETE rule {write.name}"
            self._writer.write(what, lambda h: self.delete(write.name, h), etag, self._client)
        else:
            rule = FirewallRule(write.name, change.rule.start, change.rule.end)
            what = f"PUT rule {write.name} {rule.start}-{rule.end}"
            self._writer.write(what, lambda h: self.put(rule, h), etag, self._client)
        return None

    def put(self, rule: FirewallRule, headers: dict[str, str]) -> Any:
        """Send the rule; return the pipeline response (the writer polls a long-running one)."""
        raise NotImplementedError

    def delete(self, name: str, headers: dict[str, str]) -> Any:
        """Delete the rule; return the pipeline response."""
        raise NotImplementedError


class _Accepted:
    """A polling method for an SDK's ``begin_*`` that ends at once with the first response,
    so that :class:`sync.azure.writes.ArmWriter` polls the operation under the run's deadline.
    (``polling=False`` would hand the 202's empty body to the SDK's result parser.)"""

    def initialize(self, client: Any, initial_response: Any, deserialize: Any) -> None:
        self._response = initial_response

    def run(self) -> None:
        """Nothing: the writer polls."""

    def status(self) -> str:
        return "Accepted"

    def finished(self) -> bool:
        return True

    def resource(self) -> Any:
        return self._response


class LongRunningRuleGateway(RuleGateway):
    """Rules whose PUT and DELETE answer 202 with an operation to poll (flexible servers). The
    body is the REST shape, which both services' SDKs take as it is."""

    def put(self, rule: FirewallRule, headers: dict[str, str]) -> Any:
        body = {"properties": {"startIpAddress": rule.start, "endIpAddress": rule.end}}
        return self._client.firewall_rules.begin_create_or_update(
            self._rg, self._name, rule.name, body, headers=headers, polling=_Accepted()
        ).result()

    def delete(self, name: str, headers: dict[str, str]) -> Any:
        return self._client.firewall_rules.begin_delete(
            self._rg, self._name, name, headers=headers, polling=_Accepted()
        ).result()


class FlexibleServerKind(RangeRuleKind):
    """A PostgreSQL or MySQL flexible server's rules; the kind names its SDK's client."""

    @staticmethod
    def client() -> Callable[..., Any]:
        """The SDK's management client class (imported on first use)."""
        raise NotImplementedError

    def gateway(
        self, clients: Clients, resource_id: str, writer: ArmWriter, state: State
    ) -> LongRunningRuleGateway:
        return LongRunningRuleGateway(*clients.for_resource(self.client(), resource_id), writer)


def flexible_server_needs(kind: str, provider: str, sdk: str) -> Needs:
    """A flexible server kind's needs: read the server, read, write and delete its rules, and
    poll the rules' long-running writes, whose status URLs live under
    ``/subscriptions/<id>/providers/<provider>/locations/``."""
    rules = f"{provider}/flexibleServers/firewallRules"
    return Needs(
        docs=f"kinds/{kind}.md",
        actions=frozenset(
            {
                f"{provider}/flexibleServers/read",
                f"{rules}/read",
                f"{rules}/write",
                f"{rules}/delete",
                f"{provider}/locations/azureAsyncOperation/read",
                f"{provider}/locations/operationResults/read",
            }
        ),
        sdk=sdk,
        emulated=(f"{provider}/flexibleServers",),
    )
