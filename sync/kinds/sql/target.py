"""A SQL target: which service tags become the named firewall rules of one logical SQL server."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from sync.kinds.base import Ipv4ResourceTarget


class SqlTarget(Ipv4ResourceTarget):
    """One allow-list kept as the server-level firewall rules (IPv4 ranges) of a SQL server."""

    kind: Literal["sql"] = "sql"
    provider_type: ClassVar[str] = "Microsoft.Sql/servers"
    noun: ClassVar[str] = "SQL server"
    holds: ClassVar[str] = "firewall rules"
    name_pattern: ClassVar[str] = r"[a-zA-Z0-9][-a-zA-Z0-9]{0,62}"
    #: Rules named ``<rule_prefix>-...`` belong to this target; every other rule is foreign.
    rule_prefix: str = Field(default="ipsync", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
