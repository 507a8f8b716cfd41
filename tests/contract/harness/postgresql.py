"""PostgreSQL flexible servers: one ``firewallRules/{name}`` child per inclusive IPv4 range, as
for SQL servers, each PUT and DELETE a 202 and an operation (shapes of the 2025-08-01
ServersCreate... and FirewallRulesCreateOrUpdate spec examples)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from .sql import SqlHarness


@dataclass
class PostgresqlHarness(SqlHarness):
    kind: ClassVar[str] = "postgresql"
    api: ClassVar[str] = "2025-08-01"
    capacity: ClassVar[int] = 256
    long_running: ClassVar[bool] = True
    provider: ClassVar[str] = "Microsoft.DBforPostgreSQL/flexibleServers"
    server: ClassVar[dict[str, Any]] = {
        "location": "westeurope",
        "sku": {"tier": "GeneralPurpose", "name": "Standard_D4ds_v5"},
        "properties": {"administratorLogin": "owner", "administratorLoginPassword": "x-Pa55word!",
                       "version": "17", "storage": {"storageSizeGB": 512, "autoGrow": "Disabled"},
                       "network": {"publicNetworkAccess": "Enabled"}, "createMode": "Create"},
    }  # fmt: skip


HARNESS = PostgresqlHarness()
