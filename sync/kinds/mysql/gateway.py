"""One MySQL flexible server through azure-mgmt-mysqlflexibleservers: each rule PUT and DELETE
may be long-running (202 and an ``Azure-AsyncOperation``)."""

from __future__ import annotations

from typing import Any

from sync.kinds.rangekind import LongRunningRuleGateway
from sync.kinds.rangerules import FirewallRule


class MysqlGateway(LongRunningRuleGateway):
    """Reads and writes the firewall rules of one MySQL flexible server."""

    def body(self, rule: FirewallRule) -> Any:
        from azure.mgmt.mysqlflexibleservers import models

        return models.FirewallRule(start_ip_address=rule.start, end_ip_address=rule.end)
