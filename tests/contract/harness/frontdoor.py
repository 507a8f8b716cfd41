"""Front Door WAF policies: the allow-list is the custom rule ``corpAllowList``, a Block rule
whose negated IPMatch condition on ``RemoteAddr`` lists the ranges; beside it an owner's rate
limit rule and the managed rule sets (shapes of the WafPolicyCreateOrUpdate spec example).
The whole policy is PUT, a long-running write followed through ``Location``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import netaddr

from . import Arm, Harness, cidrs, group_id

API = "2025-11-01"
RULE = "corpAllowList"
TYPE = "Microsoft.Network/FrontDoorWebApplicationFirewallPolicies"


def policy_id(name: str) -> str:
    return f"{group_id()}/providers/{TYPE}/{name}"


def allow_rule(values: Sequence[str]) -> dict[str, Any]:
    return {"name": RULE, "priority": 10, "enabledState": "Enabled", "ruleType": "MatchRule",
            "matchConditions": [{"matchVariable": "RemoteAddr", "operator": "IPMatch",
                                 "negateCondition": True, "matchValue": [*values]}],
            "action": "Block"}  # fmt: skip


def policy_body(rules: list[dict[str, Any]]) -> dict[str, Any]:
    """A policy as the spec example makes it: settings, custom rules, a managed rule set."""
    return {
        "location": "Global",
        "sku": {"name": "Premium_AzureFrontDoor"},
        "properties": {
            "policySettings": {"enabledState": "Enabled", "mode": "Prevention",
                               "customBlockResponseStatusCode": 429,
                               "requestBodyCheck": "Disabled"},
            "customRules": {"rules": [
                {"name": "Rule1", "priority": 1, "enabledState": "Enabled",
                 "ruleType": "RateLimitRule", "rateLimitThreshold": 1000,
                 "matchConditions": [{"matchVariable": "RemoteAddr", "operator": "IPMatch",
                                      "matchValue": ["192.168.1.0/24", "10.0.0.0/24"]}],
                 "action": "Block"},
                *rules]},
            "managedRules": {"managedRuleSets": [
                {"ruleSetType": "DefaultRuleSet", "ruleSetVersion": "1.0",
                 "ruleGroupOverrides": [{"ruleGroupName": "SQLI", "rules": [
                     {"ruleId": "942100", "enabledState": "Enabled", "action": "Redirect"}]}]}]},
        },
    }  # fmt: skip


@dataclass
class FrontDoorHarness(Harness):
    kind: ClassVar[str] = "frontdoor"
    api: ClassVar[str] = API
    capacity: ClassVar[int] = 600
    write_method: ClassVar[str] = "PUT"
    long_running: ClassVar[bool] = True
    fields: dict[str, Any] = field(default_factory=lambda: {"rule": RULE, "priority": 10})

    def create(self, arm: Arm, name: str, foreign: Sequence[str]) -> str:
        policy = policy_id(name)
        arm.put(policy, API, policy_body([allow_rule(foreign)] if foreign else []))
        return policy

    def rules(self, arm: Arm, resource: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = arm.get(resource, API)["properties"]["customRules"]["rules"]
        return found

    def entries(self, arm: Arm, resource: str) -> list[str]:
        rule = next((r for r in self.rules(arm, resource) if r["name"] == RULE), None)
        return [*rule["matchConditions"][0]["matchValue"]] if rule else []

    def foreign(self, arm: Arm, resource: str, mine: netaddr.IPSet) -> Any:
        """The owner's other rules as answered, and the owner's ranges in the allow-list."""
        others = [r for r in self.rules(arm, resource) if r["name"] != RULE]
        return [others, super().foreign(arm, resource, mine)]

    def _edit(self, arm: Arm, resource: str, values: list[str]) -> None:
        """The owner edits the allow-list rule's ranges (a PUT of the policy as read)."""
        policy = arm.get(resource, API)
        for rule in policy["properties"]["customRules"]["rules"]:
            if rule["name"] == RULE:
                rule["matchConditions"][0]["matchValue"] = values
        arm.put(resource, API, policy)

    def add_entry(self, arm: Arm, resource: str, value: str) -> None:
        self._edit(arm, resource, [*self.entries(arm, resource), value])

    def widen(self, arm: Arm, resource: str, to: str) -> bool:
        """A range has no name: the wide one replacing ipsync's last is the owner's."""
        self._edit(arm, resource, [*self.entries(arm, resource)[:-1], to])
        return True

    def states(self, arm: Arm, resource: str) -> list[netaddr.IPSet]:
        return [cidrs(state.get(RULE, [])) for state in arm.history(resource)]


HARNESS = FrontDoorHarness()
