"""A target that keeps an Entra ID IP named location, named by its Microsoft Graph id."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import field_validator

from sync.kinds.base import TargetSpec

_GUID = re.compile(r"^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$")


class NamedLocationTarget(TargetSpec):
    """An Entra ID IP named location's `ipRanges` (IPv4 and IPv6), through Microsoft Graph."""

    kind: Literal["namedlocation"] = "namedlocation"
    #: The named location's Graph id (a GUID: Entra admin center > Conditional Access > Named
    #: locations, or ``GET /identity/conditionalAccess/namedLocations``).
    resource: str

    @field_validator("resource")
    @classmethod
    def _resource_is_id(cls, value: str) -> str:
        if not _GUID.match(value):
            raise ValueError(
                "not a named location's Graph id (a GUID such as "
                "0824dbaf-6277-4db0-8112-b29fd356f2c4)"
            )
        return value.lower()

    @property
    def resource_id(self) -> str:
        """Its Graph id: what reports, records and the ownership registry name it by."""
        return self.resource

    @property
    def where(self) -> str:
        return f"target named location {self.resource} ({', '.join(self.selectors)})"
