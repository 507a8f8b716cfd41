"""A Front Door target: which service tags become the allow-list rule of one WAF policy."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from sync.kinds.iprules import IpRuleTarget


class FrontDoorTarget(IpRuleTarget):
    """One allow-list kept as one custom rule of a Front Door WAF policy: a Block rule whose
    IPMatch condition is negated, so every client outside its ranges gets 403."""

    kind: Literal["frontdoor"] = "frontdoor"
    provider_type: ClassVar[str] = "Microsoft.Network/FrontDoorWebApplicationFirewallPolicies"
    noun: ClassVar[str] = "Front Door WAF policy"
    holds: ClassVar[str] = "IP match rules"
    name_pattern: ClassVar[str] = r"[a-zA-Z][a-zA-Z0-9]{0,127}"
    #: The custom rule holding the allow-list, by name: ipsync creates it when the policy has
    #: none, and adds to it when it is there (an owner's ranges in it stay the owner's).
    rule: str = Field(default="ipsyncAllowList", pattern=r"^[A-Za-z][A-Za-z0-9]{0,127}$")
    #: The priority of the rule when ipsync creates it (lower runs first; unique in the policy);
    #: none: the lowest number no other custom rule has.
    priority: int | None = Field(default=None, ge=0)
    #: ``RemoteAddr``: the client address (X-Forwarded-For first); ``SocketAddr``: the address
    #: of the connection's peer. Used when ipsync creates the rule.
    match_variable: Literal["RemoteAddr", "SocketAddr"] = "RemoteAddr"
