"""Azure AI services accounts: ``properties.networkAcls.ipRules[{value}]``, a long-running
PATCH of the account (shapes of the CreateAccount and UpdateAccount spec examples)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from .storage import StorageHarness


@dataclass
class CognitiveHarness(StorageHarness):
    kind: ClassVar[str] = "cognitive"
    capacity: ClassVar[int] = 100
    extra: ClassVar[dict[str, str]] = {}
    api: ClassVar[str] = "2026-09-01"
    provider: ClassVar[str] = "Microsoft.CognitiveServices/accounts"
    long_running: ClassVar[bool] = True

    def body(self, rules: list[dict[str, str]]) -> dict[str, Any]:
        return {
            "location": "westeurope",
            "kind": "CognitiveServices",
            "sku": {"name": "S0"},
            "properties": {"networkAcls": {"defaultAction": "Deny", "ipRules": rules}},
        }


HARNESS = CognitiveHarness()
