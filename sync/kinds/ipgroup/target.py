"""An IP Group target: which service tags fill one IP Group, or a numbered set of them."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from sync.kinds.base import Family, TargetSpec

IP_GROUP_ID = re.compile(
    r"^/subscriptions/(?P<sub>[0-9a-fA-F-]{36})/resourceGroups/(?P<rg>[-\w.()]{1,90})"
    r"/providers/Microsoft\.Network/ipGroups/(?P<name>[\w][-\w.]{0,79})$",
    re.IGNORECASE,
)


class IpGroupTarget(TargetSpec):
    """One allow-list kept as the whole address list of an IP Group (Azure Firewall).

    ``resource`` names the first group; with ``max_groups`` N > 1 a selection too large for
    one group spreads over ``<name>-2`` ... ``<name>-N`` in the same resource group.
    """

    kind: Literal["ipgroup"] = "ipgroup"
    resource: str
    families: tuple[Family, ...] = ("v4",)
    max_groups: int = Field(default=1, ge=1, le=100)

    @field_validator("resource")
    @classmethod
    def _ip_group_id(cls, value: str) -> str:
        match = IP_GROUP_ID.match(value)
        if not match:
            raise ValueError(
                "not an IP Group resource id (/subscriptions/<guid>/resourceGroups/<rg>/"
                "providers/Microsoft.Network/ipGroups/<name>)"
            )
        return value

    @field_validator("families")
    @classmethod
    def _ipv4_only(cls, value: tuple[Family, ...]) -> tuple[Family, ...]:
        if "v6" in value:
            raise ValueError('IP Groups hold IPv4 addresses only; set families to ["v4"]')
        return value

    @property
    def resource_id(self) -> str:
        return self.resource

    @property
    def group_name(self) -> str:
        """The first group's name, which also names the set."""
        return self.resource.rsplit("/", 1)[-1]

    def member(self, number: int) -> str:
        """The name of group ``number`` of the set (1 is the named group)."""
        return self.group_name if number == 1 else f"{self.group_name}-{number}"
