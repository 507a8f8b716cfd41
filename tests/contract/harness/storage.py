"""Storage accounts: ``properties.networkAcls.ipRules[{value, action}]``, PATCH of the account
(shapes of the StorageAccountCreate and StorageAccountUpdate spec examples)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from . import Arm, Harness, group_id

API = "2025-06-01"


@dataclass
class StorageHarness(Harness):
    kind: ClassVar[str] = "storage"
    capacity: ClassVar[int] = 400
    #: the path of the list in the resource, and an entry's fields besides ``value``
    acls: ClassVar[str] = "networkAcls"
    extra: ClassVar[dict[str, str]] = {"action": "Allow"}
    api: ClassVar[str] = API
    provider: ClassVar[str] = "Microsoft.Storage/storageAccounts"

    def path(self, name: str) -> str:
        return f"{group_id()}/providers/{self.provider}/{name}"

    def body(self, rules: list[dict[str, str]]) -> dict[str, Any]:
        return {
            "location": "westeurope",
            "kind": "StorageV2",
            "sku": {"name": "Standard_LRS"},
            "properties": {
                "networkAcls": {"defaultAction": "Deny", "bypass": "AzureServices",
                                "ipRules": rules},
            },
        }  # fmt: skip

    def create(self, arm: Arm, name: str, foreign: Sequence[str]) -> str:
        arm.put(self.path(name), self.api, self.body([self.rule(v) for v in foreign]))
        return self.path(name)

    def rule(self, value: str) -> dict[str, str]:
        return {"value": value, **self.extra}

    def rules(self, arm: Arm, resource: str) -> dict[str, Any]:
        acls: dict[str, Any] = arm.get(resource, self.api)["properties"][self.acls]
        return acls

    def entries(self, arm: Arm, resource: str) -> list[str]:
        return [r["value"] for r in self.rules(arm, resource)["ipRules"]]

    def add_entry(self, arm: Arm, resource: str, value: str) -> None:
        rules = self.rules(arm, resource)
        rules["ipRules"] = [*rules["ipRules"], self.rule(value)]
        arm.patch(resource, self.api, {"properties": {self.acls: rules}})

    def widen(self, arm: Arm, resource: str, to: str) -> bool:
        """A nameless entry cannot be edited, only replaced: the wide one is the owner's.
        ipsync's entries come after the owner's, so the last is one of them."""
        rules = self.rules(arm, resource)
        rules["ipRules"] = [*rules["ipRules"][:-1], self.rule(to)]
        arm.patch(resource, self.api, {"properties": {self.acls: rules}})
        return True

    def valid(self, entry: str) -> bool:
        return super().valid(entry) and not entry.endswith(("/31", "/32"))


HARNESS = StorageHarness()
