"""Network security groups: one outbound Allow rule per family owned by name prefix and
priority band; the owner's rules sit inside that band (shapes of the
NetworkSecurityGroupCreateWithRule and SecurityRuleCreate spec examples)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import netaddr

from . import Arm, Harness, cidrs, group_id

API = "2024-05-01"


def _rule(name: str, priority: int, remote: str) -> dict[str, Any]:
    return {"name": name, "properties": {
        "priority": priority, "direction": "Outbound", "access": "Allow", "protocol": "Tcp",
        "sourceAddressPrefix": "VirtualNetwork", "sourcePortRange": "*",
        "destinationPortRange": "8080", "destinationAddressPrefix": remote}}  # fmt: skip


def _remote(rules: Iterable[dict[str, Any]]) -> list[str]:
    found = []
    for rule in rules:
        p = rule["properties"]
        if p["direction"] == "Outbound" and p["access"] == "Allow":
            found += p.get("destinationAddressPrefixes") or [p["destinationAddressPrefix"]]
    return found


@dataclass
class NsgHarness(Harness):
    kind: ClassVar[str] = "nsg"
    api: ClassVar[str] = API
    capacity: ClassVar[int] = 4000
    wide: ClassVar[str] = "0.0.0.0/0"
    write_method: ClassVar[str] = "PUT"
    long_running: ClassVar[bool] = True

    def create(self, arm: Arm, name: str, foreign: Sequence[str]) -> str:
        nsg = f"{group_id()}/providers/Microsoft.Network/networkSecurityGroups/{name}"
        rules = [_rule(f"corp-{n}", 250 + n, v) for n, v in enumerate(foreign)]
        arm.put(nsg, API, {"location": "westeurope", "properties": {"securityRules": rules}})
        return nsg

    def target(self, resource: str, selectors: Sequence[str], **fields: Any) -> dict[str, Any]:
        return {"nsg": resource, "service_tags": list(selectors), "families": ["v4"], **fields}

    def rules(self, arm: Arm, resource: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = arm.get(f"{resource}/securityRules", API)["value"]
        return found

    def entries(self, arm: Arm, resource: str) -> list[str]:
        return _remote(self.rules(arm, resource))

    def foreign(self, arm: Arm, resource: str, mine: netaddr.IPSet) -> Any:
        """The owner's rules as answered (the etag, shared by every rule of the NSG, aside)."""
        return [
            {k: v for k, v in r.items() if k != "etag"}
            for r in self.rules(arm, resource)
            if not r["name"].startswith("ipsync-")
        ]

    def add_entry(self, arm: Arm, resource: str, value: str) -> None:
        arm.put(f"{resource}/securityRules/owner", API, _rule("owner", 290, value))

    def widen(self, arm: Arm, resource: str, to: str) -> bool:
        ours = next(r for r in self.rules(arm, resource) if r["name"].startswith("ipsync-"))
        props = {**ours["properties"], "destinationAddressPrefix": to,
                 "destinationAddressPrefixes": []}  # fmt: skip
        arm.put(f"{resource}/securityRules/{ours['name']}", API, {"properties": props})
        return False

    def write_path(self, resource: str) -> str:
        return f"{resource}/securityRules/"

    def states(self, arm: Arm, resource: str) -> list[netaddr.IPSet]:
        return [cidrs(_remote(state)) for state in arm.history(resource)]


HARNESS = NsgHarness()
