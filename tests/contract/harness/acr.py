"""Premium container registries: ``properties.networkRuleSet.ipRules[{action, value}]``, a
long-running PATCH of the registry (shapes of the RegistryCreate spec examples)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from .storage import StorageHarness


@dataclass
class AcrHarness(StorageHarness):
    kind: ClassVar[str] = "acr"
    capacity: ClassVar[int] = 100
    acls: ClassVar[str] = "networkRuleSet"
    api: ClassVar[str] = "2025-04-01"
    provider: ClassVar[str] = "Microsoft.ContainerRegistry/registries"
    long_running: ClassVar[bool] = True

    def body(self, rules: list[dict[str, str]]) -> dict[str, Any]:
        return {
            "location": "westeurope",
            "sku": {"name": "Premium"},
            "properties": {"networkRuleSet": {"defaultAction": "Deny", "ipRules": rules}},
        }

    def valid(self, entry: str) -> bool:
        return super(StorageHarness, self).valid(entry)


HARNESS = AcrHarness()
