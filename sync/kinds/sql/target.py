"""A SQL target: which service tags become the named firewall rules of one logical SQL server."""

from __future__ import annotations

from typing import ClassVar, Literal

from sync.kinds.rangerules import RangeRuleTarget
from sync.kinds.sql.plan import MAX_RULES, NAME_MAX


class SqlTarget(RangeRuleTarget):
    """One allow-list kept as the server-level firewall rules (IPv4 ranges) of a SQL server."""

    kind: Literal["sql"] = "sql"
    provider_type: ClassVar[str] = "Microsoft.Sql/servers"
    noun: ClassVar[str] = "SQL server"
    name_pattern: ClassVar[str] = r"[a-zA-Z0-9][-a-zA-Z0-9]{0,62}"
    max_rules: ClassVar[int] = MAX_RULES
    rule_name_max: ClassVar[int] = NAME_MAX
