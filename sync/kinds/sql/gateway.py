"""One SQL server through azure-mgmt-sql: list its firewall rules, write them one at a time.

Firewall rule PUT and DELETE are synchronous and rules carry no etag, so nothing makes a write
conditional. Instead each write is preceded by a GET of its rule: when the rule is no longer
as the plan read it (someone edited, added or removed it), the write is not sent and the
engine re-reads the server and re-plans. What remains is the moment between that GET and the
write, and changes to other rules, which only matter through the 256-rule limit (the service
then refuses a create, before anything was removed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sync.azure.writes import Stale, raw
from sync.kinds.base import Snapshot
from sync.kinds.sql.plan import FirewallRule, RuleChange
from sync.state.ownership import note_release

if TYPE_CHECKING:
    from azure.mgmt.sql import SqlManagementClient

    from sync.azure.writes import ArmWriter
    from sync.core.plan import Write
    from sync.state.ownership import Registry


def _rule(sdk: Any) -> FirewallRule:
    return FirewallRule(sdk.name or "", sdk.start_ip_address or "", sdk.end_ip_address or "")


class SqlGateway:
    """Reads and writes the firewall rules of one SQL server."""

    def __init__(
        self,
        client: SqlManagementClient,
        resource_group: str,
        name: str,
        writer: ArmWriter,
        registry: Registry,
        resource_id: str,
    ) -> None:
        self._client = client
        self._rg = resource_group
        self._name = name
        self._writer = writer
        self._registry = registry
        self._id = resource_id

    def read(self) -> Snapshot:
        """Every firewall rule of the server, foreign ones and the Azure-services rule too."""
        rules = self._writer.read(
            "list its firewall rules",
            lambda: list(self._client.firewall_rules.list_by_server(self._rg, self._name)),
        )
        held = self._registry.load(self._id).release
        rules_read = tuple(_rule(r) for r in rules)
        return Snapshot(etag=None, state=rules_read, releases=(held,) if held else ())

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
        from azure.mgmt.sql.models import FirewallRule as SdkRule
        from azure.mgmt.sql.models import ServerFirewallRuleProperties

        change = write.payload
        now = self._now(write.name)
        if (now and now.span) != (change.read and change.read.span):
            raise Stale(f"rule {write.name} changed since the server was read")
        client = self._client
        if write.action == "delete":

            def send(headers: dict[str, str]) -> Any:
                return client.firewall_rules.delete(
                    self._rg, self._name, write.name, headers=headers, cls=raw
                )

            what = f"DELETE rule {write.name}"
        else:
            body = SdkRule(
                properties=ServerFirewallRuleProperties(
                    start_ip_address=change.rule.start, end_ip_address=change.rule.end
                )
            )

            def send(headers: dict[str, str]) -> Any:
                return client.firewall_rules.create_or_update(
                    self._rg, self._name, write.name, body, headers=headers, cls=raw
                )

            what = f"PUT rule {write.name} {change.rule.start}-{change.rule.end}"
        self._writer.write(what, send, etag, client)
        if change.release:
            note_release(self._registry, self._id, change.release)
        return None
