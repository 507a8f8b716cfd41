"""Cosmos DB accounts: ``properties.ipRules[{ipAddressOrRange}]``, a long-running PATCH of the
account (shapes of the CosmosDBDatabaseAccountCreateMin and CosmosDBDatabaseAccountPatch spec
examples)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from . import Arm, Harness, group_id


@dataclass
class CosmosDbHarness(Harness):
    kind: ClassVar[str] = "cosmosdb"
    capacity: ClassVar[int] = 1000
    api: ClassVar[str] = "2026-07-15"
    long_running: ClassVar[bool] = True

    def path(self, name: str) -> str:
        return f"{group_id()}/providers/Microsoft.DocumentDB/databaseAccounts/cosmos-{name}"

    def create(self, arm: Arm, name: str, foreign: Sequence[str]) -> str:
        arm.put(self.path(name), self.api, {
            "location": "westeurope",
            "properties": {
                "databaseAccountOfferType": "Standard",
                "createMode": "Default",
                "locations": [{"failoverPriority": 0, "locationName": "westeurope",
                               "isZoneRedundant": False}],
                "ipRules": [{"ipAddressOrRange": v} for v in foreign],
            },
        })  # fmt: skip
        return self.path(name)

    def entries(self, arm: Arm, resource: str) -> list[str]:
        rules: list[dict[str, Any]] = arm.get(resource, self.api)["properties"]["ipRules"]
        return [r["ipAddressOrRange"] for r in rules]

    def _patch(self, arm: Arm, resource: str, values: list[str]) -> None:
        body = {"properties": {"ipRules": [{"ipAddressOrRange": v} for v in values]}}
        arm.patch(resource, self.api, body)

    def add_entry(self, arm: Arm, resource: str, value: str) -> None:
        self._patch(arm, resource, [*self.entries(arm, resource), value])

    def widen(self, arm: Arm, resource: str, to: str) -> bool:
        """A nameless entry cannot be edited, only replaced: the wide one is the owner's."""
        self._patch(arm, resource, [*self.entries(arm, resource)[:-1], to])
        return True


HARNESS = CosmosDbHarness()
