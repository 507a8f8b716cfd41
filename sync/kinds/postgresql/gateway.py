"""One PostgreSQL flexible server through azure-mgmt-postgresqlflexibleservers: each rule PUT
and DELETE is long-running (202 and an ``Azure-AsyncOperation``)."""

from __future__ import annotations

from typing import Any

from sync.kinds.rangekind import LongRunningRuleGateway
from sync.kinds.rangerules import FirewallRule


class PostgresqlGateway(LongRunningRuleGateway):
    """Reads and writes the firewall rules of one PostgreSQL flexible server."""

    def body(self, rule: FirewallRule) -> Any:
        from azure.mgmt.postgresqlflexibleservers import models

        properties = models.FirewallRuleProperties(
            start_ip_address=rule.start, end_ip_address=rule.end
        )
        return models.FirewallRule(properties=properties)
