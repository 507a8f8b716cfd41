"""One WAF policy through azure-mgmt-frontdoor: read its custom rules, PUT it back whole.

The policy is one document: a write is a PUT of all of it (PATCH takes tags only), a
long-running operation followed through ``Location``. The policy is sent back as read (the
SDK's models keep every field they do not know) with only the allow-list rule's ranges set,
or that rule added when the policy has none.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sync.azure.writes import raw
from sync.kinds.frontdoor.policy import Condition, Rule, values
from sync.kinds.iprules import Listed, ListGateway, ListWrite, ResourceApi

if TYPE_CHECKING:
    from azure.mgmt.frontdoor import FrontDoorManagementClient


@dataclass(frozen=True)
class RuleWrite(ListWrite):
    """The one write, and the rule to create when the policy has no allow-list yet."""

    rule: str = ""
    priority: int = 1
    variable: str = "RemoteAddr"


def _text(value: Any) -> str:
    return str(getattr(value, "value", value) or "")


def read_rules(policy: Any) -> tuple[Rule, ...]:
    """The policy's custom rules as :mod:`sync.kinds.frontdoor.policy` judges them."""
    custom = policy.custom_rules
    return tuple(
        Rule(
            name=r.name or "",
            priority=int(r.priority or 0),
            action=_text(r.action),
            enabled=_text(r.enabled_state).lower() != "disabled",
            rule_type=_text(r.rule_type),
            conditions=tuple(
                Condition(
                    _text(c.match_variable),
                    _text(c.operator),
                    bool(c.negate_condition),
                    tuple(c.match_value or ()),
                )
                for c in r.match_conditions or ()
            ),
        )
        for r in (custom.rules if custom else None) or ()
    )


class FrontDoorApi(ResourceApi):
    client: FrontDoorManagementClient

    def get(self) -> Listed:
        """The allow-list rule's ranges; ``rules`` holds the whole policy."""
        policy = self.client.policies.get(self._rg, self._name)
        return Listed(values(read_rules(policy)), policy, tags=dict(policy.tags or {}))

    def put(self, listed: Listed, values: Any, headers: dict[str, str]) -> Any:
        raise NotImplementedError("a Front Door write names its rule: put_rule")

    def put_rule(self, listed: Listed, write: RuleWrite, headers: dict[str, str]) -> Any:
        """PUT the policy as read with the rule ``write.rule`` holding ``write.values``."""
        from azure.mgmt.frontdoor import models

        policy = copy.deepcopy(listed.rules)
        if policy.custom_rules is None:
            policy.custom_rules = models.CustomRuleList(rules=[])
        rules = policy.custom_rules.rules if policy.custom_rules.rules is not None else []
        rule = next((r for r in rules if (r.name or "").lower() == write.rule.lower()), None)
        if rule is None:
            rules.append(
                models.CustomRule(
                    name=write.rule,
                    priority=write.priority,
                    enabled_state="Enabled",
                    rule_type="MatchRule",
                    match_conditions=[
                        models.MatchCondition(
                            match_variable=write.variable,
                            operator="IPMatch",
                            negate_condition=True,
                            match_value=list(write.values),
                        )
                    ],
                    action="Block",
                )
            )
        else:
            ip = next(c for c in rule.match_conditions if _text(c.operator).lower() == "ipmatch")
            ip.match_value = list(write.values)
        policy.custom_rules.rules = rules
        policy.tags = listed.tags  # ipsync's marks set, the owner's tags as read
        return self.client.policies.begin_create_or_update(
            self._rg, self._name, policy, headers=headers, polling=False, cls=raw
        ).result()


class FrontDoorGateway(ListGateway):
    """The IP rule list gateway, writing one named rule of the policy."""

    verb = "PUT"
    _api: FrontDoorApi

    def _put(self, now: Listed, payload: ListWrite, headers: dict[str, str]) -> Any:
        """The PUT, conditional on the policy as re-read (``If-Match`` its etag), so a change
        to any of its rules in between is re-read and re-planned, never overwritten."""
        assert isinstance(payload, RuleWrite)
        etag = getattr(now.rules, "etag", None)
        return self._api.put_rule(now, payload, {**headers, **({"If-Match": etag} if etag else {})})
