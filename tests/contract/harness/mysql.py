"""MySQL flexible servers: one ``firewallRules/{name}`` child per inclusive IPv4 range, as for
SQL servers, each PUT and DELETE a 202 and an operation (shapes of the 2024-12-30 ServerCreate
and FirewallRuleCreate spec examples)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from .sql import SqlHarness


@dataclass
class MysqlHarness(SqlHarness):
    kind: ClassVar[str] = "mysql"
    api: ClassVar[str] = "2024-12-30"
    capacity: ClassVar[int] = 500
    long_running: ClassVar[bool] = True
    provider: ClassVar[str] = "Microsoft.DBforMySQL/flexibleServers"
    server: ClassVar[dict[str, Any]] = {
        "location": "westeurope",
        "sku": {"name": "Standard_D2ds_v4", "tier": "GeneralPurpose"},
        "properties": {"administratorLogin": "owner", "administratorLoginPassword": "x-Pa55word!",
                       "version": "8.0.21", "createMode": "Default",
                       "storage": {"storageSizeGB": 100, "iops": 600, "autoGrow": "Disabled"}},
    }  # fmt: skip


HARNESS = MysqlHarness()
