"""Front Door WAF policies (``Microsoft.Network/FrontDoorWebApplicationFirewallPolicies``): an
allow-list is a custom rule whose IPMatch condition lists the ranges; the whole policy is
written at once, as a long operation followed through ``Location``.

Shapes follow the REST spec examples of Microsoft.Network/FrontDoor stable/2024-02-01
``WafPolicyCreateOrUpdate.json`` (PUT 200/201/202 with the policy: a create answers 201 and an
update 202, each with ``Location`` as the 2025-11-01 spec declares it for those two codes and
not for 200; rules come back with
``enabledState``, ``rateLimitDurationInMinutes``, ``rateLimitThreshold``, ``selector`` and
``negateCondition`` filled in) and stable/2025-11-01 ``WafListPolicies.json`` (``type`` in lower
case). Limits are the documented ones (front-door-limits.md): 100 custom rules per policy, 10
match conditions per rule, 600 IP ranges per rule. No spec names the error codes for a bad
entry or too many entries: the ``BadRequest`` answers here are unconfirmed.
"""

from __future__ import annotations

import copy
import ipaddress
from typing import Any

from armemu import errors
from armemu.errors import ArmErrorReply
from armemu.resources import Kind, Resource, _props, _tags_only

WAF_CUSTOM_RULES = 100
WAF_CONDITIONS_PER_RULE = 10
WAF_IP_RANGES_PER_RULE = 600
WAF_POLICY_NAME = 128
RULE_TYPES = ("MatchRule", "RateLimitRule")
#: ActionType of the 2025-11-01 spec
RULE_ACTIONS = ("Allow", "Block", "Log", "Redirect", "AnomalyScoring", "JSChallenge", "CAPTCHA")
MATCH_VARIABLES = (
    "RemoteAddr", "RequestMethod", "QueryString", "PostArgs", "RequestUri", "RequestHeader",
    "RequestBody", "Cookies", "SocketAddr",
)  # fmt: skip
OPERATORS = (
    "Any", "IPMatch", "GeoMatch", "Equal", "Contains", "LessThan", "GreaterThan",
    "LessThanOrEqual", "GreaterThanOrEqual", "BeginsWith", "EndsWith", "RegEx", "ServiceTagMatch",
)  # fmt: skip
IP_VARIABLES = ("RemoteAddr", "SocketAddr")


def waf_error(message: str) -> ArmErrorReply:
    # unconfirmed code; the message shape follows the portal's "is not a valid IP Address"
    return ArmErrorReply(400, "BadRequest", message, details=[])


def _choice(value: Any, allowed: tuple[str, ...], what: str) -> str:
    found = next((a for a in allowed if str(value or "").lower() == a.lower()), None)
    if found is None:
        raise waf_error(f"{what} '{value}' is not one of {', '.join(allowed)}.")
    return found


def _ip_value(rule: str, value: Any) -> str:
    """An IPv4 or IPv6 address or CIDR (host bits allowed, as the service does not say)."""
    try:
        ipaddress.ip_network(str(value), strict=False)
    except ValueError:
        raise waf_error(f"Value {value} is not a valid IP Address in rule {rule}.") from None
    return str(value)


def _condition(rule: str, raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict) or not isinstance(raw.get("matchValue"), list):
        raise waf_error(f"Custom rule {rule} has a match condition without a matchValue array.")
    variable = _choice(raw.get("matchVariable"), MATCH_VARIABLES, f"Rule {rule}: matchVariable")
    operator = _choice(raw.get("operator"), OPERATORS, f"Rule {rule}: operator")
    values = [str(v) for v in raw["matchValue"]]
    if operator == "IPMatch":
        if variable not in IP_VARIABLES:
            raise waf_error(f"Rule {rule}: IPMatch applies to RemoteAddr or SocketAddr only.")
        values = [_ip_value(rule, v) for v in values]
    out: dict[str, Any] = {
        "matchVariable": variable,
        "selector": raw.get("selector"),
        "operator": operator,
        "negateCondition": bool(raw.get("negateCondition", False)),
        "matchValue": values,
    }
    if raw.get("transforms") is not None:
        out["transforms"] = list(raw["transforms"])
    return out


def _rule(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict) or not str(raw.get("name") or ""):
        raise waf_error("Every custom rule needs a name.")
    name = str(raw["name"])
    priority = raw.get("priority")
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise waf_error(f"Custom rule {name} needs an integer priority, not {priority!r}.")
    conditions = raw.get("matchConditions")
    if not isinstance(conditions, list) or not conditions:
        raise waf_error(f"Custom rule {name} needs at least one match condition.")
    if len(conditions) > WAF_CONDITIONS_PER_RULE:
        raise waf_error(f"Custom rule {name} has {len(conditions)} match conditions; at most "
                        f"{WAF_CONDITIONS_PER_RULE} are allowed.")  # fmt: skip
    matches = [_condition(name, c) for c in conditions]
    ranges = sum(len(c["matchValue"]) for c in matches if c["operator"] == "IPMatch")
    if ranges > WAF_IP_RANGES_PER_RULE:
        raise waf_error(f"Custom rule {name} has {ranges} IP address ranges; at most "
                        f"{WAF_IP_RANGES_PER_RULE} are allowed in one rule.")  # fmt: skip
    kept = {k: copy.deepcopy(v) for k, v in raw.items() if k not in _RULE_FIELDS}
    return {
        "name": name,
        "priority": priority,
        "enabledState": raw.get("enabledState") or "Enabled",
        "ruleType": _choice(raw.get("ruleType"), RULE_TYPES, f"Rule {name}: ruleType"),
        "rateLimitDurationInMinutes": int(raw.get("rateLimitDurationInMinutes") or 0),
        "rateLimitThreshold": int(raw.get("rateLimitThreshold") or 0),
        **kept,
        "matchConditions": matches,
        "action": _choice(raw.get("action"), RULE_ACTIONS, f"Rule {name}: action"),
    }


_RULE_FIELDS = {
    "name", "priority", "enabledState", "ruleType", "rateLimitDurationInMinutes",
    "rateLimitThreshold", "matchConditions", "action",
}  # fmt: skip


def _custom_rules(raw: Any) -> dict[str, Any]:
    rules = (raw or {}).get("rules") if isinstance(raw, dict) else None
    if not isinstance(rules, list):
        return {"rules": []}
    if len(rules) > WAF_CUSTOM_RULES:
        raise waf_error(f"The policy has {len(rules)} custom rules; at most {WAF_CUSTOM_RULES} "
                        "are allowed.")  # fmt: skip
    checked = [_rule(r) for r in rules]
    for field in ("name", "priority"):
        seen = [str(r[field]).lower() for r in checked]
        clash = next((v for v in seen if seen.count(v) > 1), None)
        if clash is not None:  # unconfirmed: the docs say priorities must be unique
            raise waf_error(
                f"Custom rules must each have their own {field}; {clash} is used twice."
            )
    return {"rules": checked}


def _policy_build(old: Resource | None, body: dict[str, Any], new: Resource) -> None:
    if len(new.name) > WAF_POLICY_NAME:
        raise errors.invalid_name(new.name)
    props = _props(body)
    new.properties = {k: copy.deepcopy(v) for k, v in props.items() if k not in _READ_ONLY}
    new.properties["customRules"] = _custom_rules(props.get("customRules"))
    sku = body.get("sku") if isinstance(body.get("sku"), dict) else None
    new.sku = copy.deepcopy(sku) or {"name": "Classic_AzureFrontDoor"}


_READ_ONLY = {
    "provisioningState", "resourceState", "frontendEndpointLinks", "securityPolicyLinks",
    "routingRuleLinks",
}  # fmt: skip


def _policy_render(res: Resource) -> dict[str, Any]:
    return {
        "resourceState": "Enabled",
        "provisioningState": res.state,
        **copy.deepcopy(res.properties),
        "frontendEndpointLinks": [],
        "securityPolicyLinks": [],
    }


def _policy_entries(res: Resource) -> dict[str, list[str]]:
    """Per custom rule with an IPMatch condition, its ranges (an allow-list is the Block rule
    whose condition is negated)."""
    return {
        rule["name"]: [v for c in rule["matchConditions"] if c["operator"] == "IPMatch"
                       for v in c["matchValue"]]
        for rule in res.properties["customRules"]["rules"]
        if any(c["operator"] == "IPMatch" for c in rule["matchConditions"])
    }  # fmt: skip


KINDS = (
    Kind("Microsoft.Network/FrontDoorWebApplicationFirewallPolicies", _policy_build, _tags_only,
         _policy_render, _policy_entries, create="located", update="located", delete="async",
         etag=True, label="Microsoft.Network/frontdoorwebapplicationfirewallpolicies",
         updated=202),
)  # fmt: skip
