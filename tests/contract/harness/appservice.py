"""Web Apps: access restriction rules in the app's ``config/web`` (``ipSecurityRestrictions``),
ipsync's named ``ipsync-...`` in its priority band, up to 8 ranges a rule; the owner's rules,
a service-tag rule with a header filter among them, sit beside them (shapes of the
CreateOrUpdateWebApp and UpdateSiteConfig spec examples)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import netaddr

from . import Arm, Harness, cidrs, group_id

API = "2026-09-01"
#: A rule that is no IP range: it must come back as it was.
FRONT_DOOR = {"name": "front-door", "priority": 300, "action": "Allow", "tag": "ServiceTag",
              "ipAddress": "AzureFrontDoor.Backend",
              "headers": {"x-azure-fdid": ["12345678-abcd-1234-abcd-123456789012"]}}  # fmt: skip


def _ranges(values: Iterable[str]) -> list[str]:
    """The IP ranges among a list's sources (service tags, subnets and ``Any`` left out)."""
    found = []
    for value in values:
        try:
            netaddr.IPNetwork(value)
        except (netaddr.AddrFormatError, ValueError):
            continue
        found.append(value)
    return found


def _rule(name: str, priority: int, value: str) -> dict[str, Any]:
    return {"name": name, "priority": priority, "action": "Allow", "ipAddress": value}


@dataclass
class AppServiceHarness(Harness):
    kind: ClassVar[str] = "appservice"
    not_applicable: ClassVar[dict[str, str]] = {
        # a known gap (docs/limits.md): its rules own by name, its release is kept in the record
        "registry_lost": "the release an app holds is kept in its record only",
    }
    api: ClassVar[str] = API
    #: 512 rules of 8 ranges
    capacity: ClassVar[int] = 4096

    def create(self, arm: Arm, name: str, foreign: Sequence[str]) -> str:
        site = f"{group_id()}/providers/Microsoft.Web/sites/{name}"
        farm = f"{group_id()}/providers/Microsoft.Web/serverfarms/DefaultAsp"
        arm.put(site, API, {"kind": "app", "location": "West Europe",
                            "properties": {"serverFarmId": farm}})  # fmt: skip
        rules = [_rule(f"corp-{n}", 100 + n, value) for n, value in enumerate(foreign)]
        arm.put(f"{site}/config/web", API, {"properties": {
            "numberOfWorkers": 1, "alwaysOn": False, "minTlsVersion": "1.2",
            "ipSecurityRestrictions": [*rules, FRONT_DOOR],
            "ipSecurityRestrictionsDefaultAction": "Deny"}})  # fmt: skip
        return site

    def rules(self, arm: Arm, resource: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = arm.get(f"{resource}/config/web", API)["properties"][
            "ipSecurityRestrictions"
        ]
        return found

    def entries(self, arm: Arm, resource: str) -> list[str]:
        return [
            part.strip()
            for rule in self.rules(arm, resource)
            if rule.get("tag", "Default") == "Default" and rule["ipAddress"] != "Any"
            for part in rule["ipAddress"].split(",")
        ]

    def allowed(self, arm: Arm, resource: str) -> netaddr.IPSet:
        allow = [r for r in self.rules(arm, resource) if r["action"] == "Allow"]
        return cidrs(_ranges(p.strip() for r in allow for p in r["ipAddress"].split(",")))

    def foreign(self, arm: Arm, resource: str, mine: netaddr.IPSet) -> Any:
        return [r for r in self.rules(arm, resource) if not r["name"].startswith("ipsync-")]

    def _patch(self, arm: Arm, resource: str, rules: list[dict[str, Any]]) -> None:
        arm.patch(f"{resource}/config/web", API, {"properties": {"ipSecurityRestrictions": rules}})

    def add_entry(self, arm: Arm, resource: str, value: str) -> None:
        self._patch(arm, resource, [*self.rules(arm, resource), _rule("owner", 1500, value)])

    def widen(self, arm: Arm, resource: str, to: str) -> bool:
        rules = self.rules(arm, resource)
        ours = next(r for r in rules if r["name"].startswith("ipsync-"))
        ours["ipAddress"] = to
        self._patch(arm, resource, rules)
        return False

    def write_path(self, resource: str) -> str:
        return f"{resource}/config/web"

    def states(self, arm: Arm, resource: str) -> list[netaddr.IPSet]:
        return [cidrs(_ranges(state["main"])) for state in arm.history(resource)]


HARNESS = AppServiceHarness()
