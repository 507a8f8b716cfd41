"""One SQL server through azure-mgmt-sql: rule PUT and DELETE are synchronous (see
:mod:`sync.kinds.rangekind` for what stands in for an etag)."""

from __future__ import annotations

from typing import Any

from sync.azure.writes import raw
from sync.kinds.rangekind import RuleGateway
from sync.kinds.rangerules import FirewallRule


class SqlGateway(RuleGateway):
    """Reads and writes the firewall rules of one SQL server."""

    def put(self, rule: FirewallRule, headers: dict[str, str]) -> Any:
        from azure.mgmt.sql.models import FirewallRule as SdkRule
        from azure.mgmt.sql.models import ServerFirewallRuleProperties

        body = SdkRule(
            properties=ServerFirewallRuleProperties(
                start_ip_address=rule.start, end_ip_address=rule.end
            )
        )
        return self._client.firewall_rules.create_or_update(
            self._rg, self._name, rule.name, body, headers=headers, cls=raw
        )

    def delete(self, name: str, headers: dict[str, str]) -> Any:
        return self._client.firewall_rules.delete(
            self._rg, self._name, name, headers=headers, cls=raw
        )
