"""A PostgreSQL target: which service tags become the named firewall rules of one PostgreSQL
flexible server."""

from __future__ import annotations

from typing import ClassVar, Literal

from sync.kinds.rangerules import FlexibleServerTarget

#: Firewall rules per server. The service documents no limit (MySQL's sibling service documents
#: 500): ipsync holds a server to 256, SQL servers' limit, so that every rule is one long-running
#: write fewer; ``AzureCloud.westeurope`` (363 ranges) then costs 2.7 % extra addresses under
#: ``fit: cover``. A selection needing more is refused (``fit: exact``).
MAX_RULES = 256


class PostgresqlTarget(FlexibleServerTarget):
    """One allow-list kept as the firewall rules (IPv4 ranges) of a PostgreSQL flexible server."""

    kind: Literal["postgresql"] = "postgresql"
    provider_type: ClassVar[str] = "Microsoft.DBforPostgreSQL/flexibleServers"
    noun: ClassVar[str] = "PostgreSQL flexible server"
    name_pattern: ClassVar[str] = r"[a-z0-9][-a-z0-9]{1,61}[a-z0-9]"
    max_rules: ClassVar[int] = MAX_RULES
