"""Event Hubs and Service Bus namespace firewalls: the singleton ``networkRuleSets/default``.

The two services share the rule set's shape (``ipRules[{ipMask, action: Allow}]``,
``virtualNetworkRules``, ``defaultAction``, ``trustedServiceAccessEnabled``,
``publicNetworkAccess``) and its one write: a synchronous PUT that replaces the whole set. So
the set is sent back as read with only ``ipRules`` replaced, and every other field keeps its
value. The rule set has no SKU of its own: the namespace's tier is read beside it, because the
firewall is refused below a tier (Event Hubs Basic; Service Bus below Premium).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from sync.azure.writes import raw
from sync.kinds.iprules import IpRuleKind, IpRuleTarget, Listed, rules_copy

#: The rule set's name: a namespace has exactly one.
RULE_SET = "default"


class NamespaceTarget(IpRuleTarget):
    """A namespace whose rule set ipsync keeps; its name is 6-50 characters (both specs)."""

    name_pattern: ClassVar[str] = r"[a-zA-Z][-a-zA-Z0-9]{4,48}[a-zA-Z0-9]"


class NamespaceApi:
    """The rule set's GET and PUT, and the namespace's tier, through one service's SDK."""

    def __init__(self, client: Any, models: Any, resource_group: str, name: str) -> None:
        self.client = client
        self._models = models
        self._rg = resource_group
        self._name = name

    def get(self) -> Listed:
        namespace = self.client.namespaces.get(self._rg, self._name)
        rules = self.client.namespaces.get_network_rule_set(self._rg, self._name)
        props = rules.properties
        values = tuple(r.ip_mask or "" for r in (props.ip_rules if props else None) or [])
        vnets = len((props.virtual_network_rules if props else None) or [])
        tier = (namespace.sku.tier or namespace.sku.name) if namespace.sku else None
        sku = str(getattr(tier, "value", tier)) if tier else None
        return Listed(values, rules, sku, others=vnets)

    def put(self, listed: Listed, values: Sequence[str], headers: dict[str, str]) -> Any:
        models = self._models
        rules = rules_copy(listed.rules, models.NetworkRuleSet)
        if rules.properties is None:
            rules.properties = models.NetworkRuleSetProperties()
        rules.properties.ip_rules = [
            models.NWRuleSetIpRules(ip_mask=v, action="Allow") for v in values
        ]
        return self.client.namespaces.create_or_update_network_rule_set(
            self._rg, self._name, rules, headers=headers, cls=raw
        )


class NamespaceKind(IpRuleKind):
    """A namespace's IP rules; the subclass names its SDK, limit and the tiers that take them."""

    field: ClassVar[str] = "networkRuleSets/default ipRules"
    #: Namespace tiers whose firewall takes IP rules.
    tiers: ClassVar[frozenset[str]]

    def check(self, target: IpRuleTarget, listed: Listed) -> str | None:
        if listed.sku in self.tiers:
            return None
        *others, last = sorted(self.tiers)
        tiers = f"{', '.join(others)} or {last}" if others else last
        return (
            f"{target.where}: the namespace is in the {listed.sku or 'unknown'} tier; IP rules "
            f"need {tiers}: upgrade it or drop this target"
        )
