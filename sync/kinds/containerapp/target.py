"""A Container Apps target: which service tags become named ingress IP restrictions of one app."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from sync.kinds.base import Ipv4ResourceTarget


class ContainerAppTarget(Ipv4ResourceTarget):
    """One allow-list kept as Allow rules in ``ingress.ipSecurityRestrictions`` of an app."""

    kind: Literal["containerapp"] = "containerapp"
    provider_type: ClassVar[str] = "Microsoft.App/containerApps"
    noun: ClassVar[str] = "Container App"
    holds: ClassVar[str] = "IP security restrictions"
    name_pattern: ClassVar[str] = r"[a-z][-a-z0-9]{0,31}"
    #: Rules named ``<rule_prefix>-...`` belong to this target; every other rule is foreign.
    rule_prefix: str = Field(default="ipsync", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
