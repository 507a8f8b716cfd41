"""An App Service target: which service tags become access restriction rules of one Web App or
Function App (or one of its deployment slots), on its main site, its SCM site or both."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, field_validator

from sync.kinds.base import Ipv4ResourceTarget, priority_band

#: Priorities an access restriction rule may take (the spec's int32; 2147483647 is the rule the
#: default action shows).
PRIORITY_MIN, PRIORITY_MAX = 1, 2147483646


class AppServiceTarget(Ipv4ResourceTarget):
    """One allow-list kept as access restriction rules (up to 8 ranges each) of an app."""

    kind: Literal["appservice"] = "appservice"
    provider_type: ClassVar[str] = "Microsoft.Web/sites"
    noun: ClassVar[str] = "Web App"
    holds: ClassVar[str] = "access restrictions"
    name_pattern: ClassVar[str] = r"[a-zA-Z0-9][-a-zA-Z0-9]{0,59}"
    #: App Service access restrictions take IPv4 and IPv6 ranges (a rule may mix both).
    families: tuple[Literal["v4", "v6"], ...] = ("v4", "v6")
    #: A deployment slot of the app (``staging``): its own rules, not the app's.
    slot: str | None = Field(default=None, pattern=r"^[a-zA-Z0-9][-a-zA-Z0-9]{0,59}$")
    #: Which rule list: ``main`` (``ipSecurityRestrictions``), ``scm`` (the advanced tools
    #: site, ``scmIpSecurityRestrictions``) or ``both``, each within its own limit.
    site: Literal["main", "scm", "both"] = "main"
    #: Rules named ``<rule_prefix>-...`` inside ``priority_range`` belong to this target.
    rule_prefix: str = Field(default="ipsync", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,19}$")
    #: The priorities ipsync's rules take, one each; rules of others there are left alone.
    priority_range: tuple[int, int] = (1000, 1999)

    @field_validator("families")
    @classmethod
    def _ipv4_only(cls, value: tuple[Literal["v4", "v6"], ...]) -> tuple[Literal["v4", "v6"], ...]:
        """Both families are accepted (the base model's IPv4-only check does not apply)."""
        return value

    @field_validator("priority_range")
    @classmethod
    def _band_inside_limits(cls, value: tuple[int, int]) -> tuple[int, int]:
        return priority_band(value, PRIORITY_MIN, PRIORITY_MAX)

    @property
    def resource_id(self) -> str:
        """The app's id, or its slot's (``.../sites/<app>/slots/<slot>``)."""
        return f"{self.resource}/slots/{self.slot}" if self.slot else self.resource

    @property
    def where(self) -> str:
        app = self.resource.rsplit("/", 1)[-1] + (f"/{self.slot}" if self.slot else "")
        return f"target {app} ({', '.join(self.selectors)})"
