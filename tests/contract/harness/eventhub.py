"""Event Hubs namespaces: ``networkRuleSets/default`` ``properties.ipRules[{ipMask, action}]``,
a synchronous PUT of the whole rule set (shapes of the EHNameSpaceCreate and
EHNetworkRuleSetCreate spec examples)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from . import Arm, Harness, cidrs, group_id

#: A subnet the owner's virtual network rule names (kept as read by every write).
SUBNET = f"{group_id()}/providers/Microsoft.Network/virtualNetworks/vnet1/subnets/app"


@dataclass
class EventHubHarness(Harness):
    kind: ClassVar[str] = "eventhub"
    not_applicable: ClassVar[dict[str, str]] = {
        # known gaps (docs/limits.md): the rule set is a child resource without tags, and
        # the namespace's tags would be a second write needing namespaces/write
        "registry_lost": "the release a namespace holds is kept in its record only",
        "restored": "its record is all there is of what ipsync wrote: a restored one is trusted",
    }
    #: 128 IP and virtual network rules together, one of them the owner's subnet
    capacity: ClassVar[int] = 127
    write_method: ClassVar[str] = "PUT"
    api: ClassVar[str] = "2026-01-01"
    provider: ClassVar[str] = "Microsoft.EventHub/namespaces"
    tier: ClassVar[str] = "Standard"

    def path(self, name: str) -> str:
        return f"{group_id()}/providers/{self.provider}/ns-{name}"

    def write_path(self, resource: str) -> str:
        return f"{resource}/networkRuleSets/default"

    def create(self, arm: Arm, name: str, foreign: Sequence[str]) -> str:
        resource = self.path(name)
        arm.put(resource, self.api, {"location": "westeurope",
                                     "sku": {"name": self.tier, "tier": self.tier}})  # fmt: skip
        arm.put(self.write_path(resource), self.api, {"properties": {
            "defaultAction": "Deny", "publicNetworkAccess": "Enabled",
            "trustedServiceAccessEnabled": True,
            "virtualNetworkRules": [{"subnet": {"id": SUBNET},
                                     "ignoreMissingVnetServiceEndpoint": True}],
            "ipRules": [{"ipMask": v, "action": "Allow"} for v in foreign],
        }})  # fmt: skip
        return resource

    def rules(self, arm: Arm, resource: str) -> dict[str, Any]:
        found: dict[str, Any] = arm.get(self.write_path(resource), self.api)["properties"]
        return found

    def entries(self, arm: Arm, resource: str) -> list[str]:
        return [r["ipMask"] for r in self.rules(arm, resource)["ipRules"]]

    def foreign(self, arm: Arm, resource: str, mine: Any) -> Any:
        """The owner's IP rules and every other field of the rule set."""
        rules = self.rules(arm, resource)
        kept = [e for e in self.entries(arm, resource) if cidrs([e]).isdisjoint(mine)]
        return {**{k: v for k, v in rules.items() if k != "ipRules"}, "ipRules": kept}

    def _put_ips(self, arm: Arm, resource: str, values: list[str]) -> None:
        rules = self.rules(arm, resource)
        rules["ipRules"] = [{"ipMask": v, "action": "Allow"} for v in values]
        arm.put(self.write_path(resource), self.api, {"properties": rules})

    def add_entry(self, arm: Arm, resource: str, value: str) -> None:
        self._put_ips(arm, resource, [*self.entries(arm, resource), value])

    def widen(self, arm: Arm, resource: str, to: str) -> bool:
        """A nameless entry cannot be edited, only replaced: the wide one is the owner's."""
        self._put_ips(arm, resource, [*self.entries(arm, resource)[:-1], to])
        return True


HARNESS = EventHubHarness()
