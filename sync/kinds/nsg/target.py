"""An NSG target: which service tags become which security rules, and in which priority band."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from sync.kinds.base import TargetSpec, priority_band

NSG_ID = re.compile(
    r"^/subscriptions/(?P<sub>[0-9a-fA-F-]{36})/resourceGroups/(?P<rg>[-\w.()]{1,90})"
    r"/providers/Microsoft\.Network/networkSecurityGroups/(?P<name>[-\w.]{1,80})$",
    re.IGNORECASE,
)

#: NSG priorities a user rule may take; 65000 and up belong to the default rules.
PRIORITY_MIN, PRIORITY_MAX = 100, 4096


class NsgTarget(TargetSpec):
    """One allow-list kept as security rules (one per IP family) of an NSG."""

    kind: Literal["nsg"] = "nsg"
    nsg: str
    direction: Literal["Inbound", "Outbound"] = "Outbound"
    access: Literal["Allow", "Deny"] = "Allow"
    protocol: Literal["Tcp", "Udp", "Icmp", "Esp", "Ah", "*"] = "Tcp"
    ports: tuple[str, ...] = ("443",)
    local_prefixes: tuple[str, ...] = ("VirtualNetwork",)
    priority_range: tuple[int, int] = (200, 299)
    rule_prefix: str = Field(default="ipsync", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")

    @field_validator("nsg")
    @classmethod
    def _nsg_is_resource_id(cls, value: str) -> str:
        if not NSG_ID.match(value):
            raise ValueError(
                "not an NSG resource id (/subscriptions/<guid>/resourceGroups/<rg>/providers/"
                "Microsoft.Network/networkSecurityGroups/<name>)"
            )
        return value

    @field_validator("priority_range")
    @classmethod
    def _band_inside_limits(cls, value: tuple[int, int]) -> tuple[int, int]:
        return priority_band(value, PRIORITY_MIN, PRIORITY_MAX)

    @field_validator("ports")
    @classmethod
    def _ports_valid(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for port in value:
            if port == "*":
                continue
            bounds = port.split("-")
            if len(bounds) > 2 or not all(b.isdigit() and 0 <= int(b) <= 65535 for b in bounds):
                raise ValueError(f"port {port!r} is not '*', a port or a range 'low-high'")
        if not value:
            raise ValueError("needs at least one port or '*'")
        return value

    def address_fields(self) -> dict[str, tuple[str, ...]]:
        return {**super().address_fields(), "local_prefixes": self.local_prefixes}

    @property
    def resource_id(self) -> str:
        return self.nsg

    @property
    def nsg_name(self) -> str:
        return self.nsg.rsplit("/", 1)[-1]
