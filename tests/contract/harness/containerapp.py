"""Container Apps: ``properties.configuration.ingress.ipSecurityRestrictions[{name,
description, ipAddressRange, action}]``, ipsync's named ``ipsync-...``; the whole list in one
long-running merge patch of the app (shapes of the ContainerApps_CreateOrUpdate and
ContainerApps_Patch spec examples)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import netaddr

from . import Arm, Harness, group_id

API = "2025-07-01"
ENVIRONMENT = f"{group_id()}/providers/Microsoft.App/managedEnvironments/demokube"


def restriction(name: str, value: str) -> dict[str, str]:
    return {"name": name, "description": "office", "ipAddressRange": value, "action": "Allow"}


def app_body(rules: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "location": "West Europe",
        "properties": {
            "environmentId": ENVIRONMENT,
            "configuration": {
                "ingress": {"external": True, "targetPort": 3000, "transport": "auto",
                            "traffic": [{"weight": 100, "latestRevision": True}],
                            "stickySessions": {"affinity": "sticky"},
                            "clientCertificateMode": "accept",
                            "ipSecurityRestrictions": rules},
                "maxInactiveRevisions": 10,
            },
            "template": {
                "containers": [{"image": "repo/testcontainerapp0:v1", "name": "testcontainerapp0"}],
                "scale": {"minReplicas": 1, "maxReplicas": 5},
            },
        },
    }  # fmt: skip


@dataclass
class ContainerAppHarness(Harness):
    kind: ClassVar[str] = "containerapp"
    not_applicable: ClassVar[dict[str, str]] = {
        # a known gap (docs/limits.md): its rules own by name, its release is kept in the record
        "registry_lost": "the release an app holds is kept in its record only",
    }
    api: ClassVar[str] = API
    capacity: ClassVar[int] = 512
    long_running: ClassVar[bool] = True

    def create(self, arm: Arm, name: str, foreign: Sequence[str]) -> str:
        app = f"{group_id()}/providers/Microsoft.App/containerApps/{name}"
        rules = [restriction(f"office-{n}", v) for n, v in enumerate(foreign)]
        arm.put(app, API, app_body(rules))
        return app

    def rules(self, arm: Arm, resource: str) -> list[dict[str, Any]]:
        ingress = arm.get(resource, API)["properties"]["configuration"]["ingress"]
        return list(ingress.get("ipSecurityRestrictions") or [])

    def entries(self, arm: Arm, resource: str) -> list[str]:
        return [r["ipAddressRange"] for r in self.rules(arm, resource)]

    def foreign(self, arm: Arm, resource: str, mine: netaddr.IPSet) -> Any:
        return [r for r in self.rules(arm, resource) if not r["name"].startswith("ipsync-")]

    def _patch(self, arm: Arm, resource: str, rules: list[dict[str, Any]]) -> None:
        ingress = {"ipSecurityRestrictions": rules}
        arm.patch(resource, API, {"properties": {"configuration": {"ingress": ingress}}})

    def add_entry(self, arm: Arm, resource: str, value: str) -> None:
        self._patch(arm, resource, [*self.rules(arm, resource), restriction("owner", value)])

    def widen(self, arm: Arm, resource: str, to: str) -> bool:
        """ipsync's rule keeps its name, its range widened: ipsync puts it right."""
        rules = self.rules(arm, resource)
        ours = next(r for r in rules if r["name"].startswith("ipsync-"))
        ours["ipAddressRange"] = to
        self._patch(arm, resource, rules)
        return False


HARNESS = ContainerAppHarness()
