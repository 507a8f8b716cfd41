"""A SQL target: which service tags become the named firewall rules of one logical SQL server."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from sync.kinds.base import Family, TargetSpec

SQL_ID = re.compile(
    r"^/subscriptions/(?P<sub>[0-9a-fA-F-]{36})/resourceGroups/(?P<rg>[-\w.()]{1,90})"
    r"/providers/Microsoft\.Sql/servers/(?P<name>[a-zA-Z0-9][-a-zA-Z0-9]{0,62})$",
    re.IGNORECASE,
)


class SqlTarget(TargetSpec):
    """One allow-list kept as the server-level firewall rules (IPv4 ranges) of a SQL server."""

    kind: Literal["sql"] = "sql"
    resource: str
    families: tuple[Family, ...] = ("v4",)
    #: Rules named ``<rule_prefix>-...`` belong to this target; every other rule is foreign.
    rule_prefix: str = Field(default="ipsync", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")

    @field_validator("resource")
    @classmethod
    def _sql_server_id(cls, value: str) -> str:
        if not SQL_ID.match(value):
            raise ValueError(
                "not a SQL server resource id (/subscriptions/<guid>/resourceGroups/<rg>/"
                "providers/Microsoft.Sql/servers/<name>)"
            )
        return value

    @field_validator("families")
    @classmethod
    def _ipv4_only(cls, value: tuple[Family, ...]) -> tuple[Family, ...]:
        if "v6" in value:
            raise ValueError(
                'SQL server firewall rules hold IPv4 ranges only; set families to ["v4"]'
            )
        return value

    @property
    def resource_id(self) -> str:
        return self.resource
