"""The emulator's resources and how ARM renders them as JSON (recordings 01 and 02)."""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field
from typing import Any

NSG_TYPE = "Microsoft.Network/networkSecurityGroups"
RULE_TYPE = "Microsoft.Network/networkSecurityGroups/securityRules"
DEFAULT_RULE_TYPE = "Microsoft.Network/networkSecurityGroups/defaultSecurityRules"

#: name, description, source, destination, access, priority, direction (recording 01)
DEFAULT_RULES: tuple[tuple[str, str, str, str, str, int, str], ...] = (
    ("AllowVnetInBound", "Allow inbound traffic from all VMs in VNET",
     "VirtualNetwork", "VirtualNetwork", "Allow", 65000, "Inbound"),
    ("AllowAzureLoadBalancerInBound", "Allow inbound traffic from azure load balancer",
     "AzureLoadBalancer", "*", "Allow", 65001, "Inbound"),
    ("DenyAllInBound", "Deny all inbound traffic", "*", "*", "Deny", 65500, "Inbound"),
    ("AllowVnetOutBound", "Allow outbound traffic from all VMs to all VMs in VNET",
     "VirtualNetwork", "VirtualNetwork", "Allow", 65000, "Outbound"),
    ("AllowInternetOutBound", "Allow outbound traffic from all VMs to Internet",
     "*", "Internet", "Allow", 65001, "Outbound"),
    ("DenyAllOutBound", "Deny all outbound traffic", "*", "*", "Deny", 65500, "Outbound"),
)  # fmt: skip


def new_etag() -> str:
    return f'W/"{uuid.uuid4()}"'


def nsg_key(subscription: str, resource_group: str, name: str) -> tuple[str, str, str, str]:
    """ARM matches types, subscription, resource group and resource names case-insensitively."""
    return NSG_TYPE.lower(), subscription.lower(), resource_group.lower(), name.lower()


@dataclass
class Nsg:
    """One network security group; its rules share its etag, as in ARM."""

    subscription: str
    resource_group: str
    name: str
    location: str
    tags: dict[str, str] = field(default_factory=dict)
    rules: dict[str, dict[str, Any]] = field(default_factory=dict)
    etag: str = field(default_factory=new_etag)
    resource_guid: str = field(default_factory=lambda: str(uuid.uuid4()))
    #: provisioning state of the NSG and of rules being written ("Updating", "Deleting")
    state: str = "Succeeded"
    rule_states: dict[str, str] = field(default_factory=dict)
    #: ``properties.flushConnection``: ARM reads ``false`` when a PUT leaves it out
    flush_connection: bool = False

    type = NSG_TYPE

    @property
    def id(self) -> str:
        return (
            f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
            f"/providers/{NSG_TYPE}/{self.name}"
        )

    @property
    def key(self) -> tuple[str, str, str, str]:
        return nsg_key(self.subscription, self.resource_group, self.name)

    def rule_id(self, name: str) -> str:
        return f"{self.id}/securityRules/{name}"

    def find_rule(self, name: str) -> str | None:
        """The stored spelling of a rule name, matched case-insensitively."""
        return next((n for n in self.rules if n.lower() == name.lower()), None)

    def render_rule(self, name: str) -> dict[str, Any]:
        state = self.rule_states.get(name, "Succeeded")
        return {
            "name": name,
            "id": self.rule_id(name),
            "etag": self.etag,
            "type": RULE_TYPE,
            "properties": {"provisioningState": state, **self.rules[name]},
        }

    def render(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": self.name,
            "id": self.id,
            "etag": self.etag,
            "type": NSG_TYPE,
            "location": self.location,
        }
        if self.tags:
            body["tags"] = dict(self.tags)
        body["properties"] = {
            "provisioningState": self.state,
            "resourceGuid": self.resource_guid,
            "flushConnection": self.flush_connection,
            "securityRules": [self.render_rule(n) for n in self.rules],
            "defaultSecurityRules": self.default_rules(),
        }
        return body

    def find_default_rule(self, name: str) -> dict[str, Any] | None:
        return next(
            (self._render_default(d) for d in DEFAULT_RULES if d[0].lower() == name.lower()), None
        )

    def default_rules(self) -> list[dict[str, Any]]:
        return [self._render_default(d) for d in DEFAULT_RULES]

    def settled(self) -> Nsg:
        """This version once its write has completed: a new etag, nothing in progress."""
        done = self.copy()
        done.etag, done.state, done.rule_states = new_etag(), "Succeeded", {}
        return done

    def history_entry(self) -> list[dict[str, Any]]:
        """The user rules as the history records them: ARM ``name`` and ``properties``."""
        return [
            {"name": n, "properties": {"provisioningState": "Succeeded", **p}}
            for n, p in self.rules.items()
        ]

    def _render_default(self, default: tuple[str, str, str, str, str, int, str]) -> dict[str, Any]:
        name, description, source, destination, access, priority, direction = default
        return {
            "name": name,
            "id": f"{self.id}/defaultSecurityRules/{name}",
            "etag": self.etag,
            "type": DEFAULT_RULE_TYPE,
            "properties": {
                "provisioningState": self.state,
                "description": description,
                "protocol": "*",
                "sourcePortRange": "*",
                "destinationPortRange": "*",
                "sourceAddressPrefix": source,
                "destinationAddressPrefix": destination,
                "access": access,
                "priority": priority,
                "direction": direction,
                "sourcePortRanges": [],
                "destinationPortRanges": [],
                "sourceAddressPrefixes": [],
                "destinationAddressPrefixes": [],
            },
        }

    def to_json(self) -> dict[str, Any]:
        """The persisted form (``--state`` file)."""
        return {
            "flush_connection": self.flush_connection,
            "subscription": self.subscription,
            "resource_group": self.resource_group,
            "name": self.name,
            "location": self.location,
            "tags": self.tags,
            "rules": self.rules,
            "etag": self.etag,
            "resource_guid": self.resource_guid,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Nsg:
        return cls(**{**data, "flush_connection": bool(data.get("flush_connection"))})

    def copy(self) -> Nsg:
        return copy.deepcopy(self)
