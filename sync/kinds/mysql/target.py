"""A MySQL target: which service tags become the named firewall rules of one MySQL flexible
server."""

from __future__ import annotations

from typing import ClassVar, Literal

from sync.kinds.rangerules import FlexibleServerTarget

#: Firewall rules per server, whoever owns them (documented by the service).
MAX_RULES = 500


class MysqlTarget(FlexibleServerTarget):
    """One allow-list kept as the firewall rules (IPv4 ranges) of a MySQL flexible server."""

    kind: Literal["mysql"] = "mysql"
    provider_type: ClassVar[str] = "Microsoft.DBforMySQL/flexibleServers"
    noun: ClassVar[str] = "MySQL flexible server"
    name_pattern: ClassVar[str] = r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?"
    max_rules: ClassVar[int] = MAX_RULES
