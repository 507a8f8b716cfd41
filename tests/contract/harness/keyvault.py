"""Key vaults: ``properties.networkAcls.ipRules[{value}]`` (a bare address is answered as
``/32``), PATCH of the vault (shapes of the KeyVault spec examples)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from .storage import StorageHarness

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"


@dataclass
class KeyVaultHarness(StorageHarness):
    kind: ClassVar[str] = "keyvault"
    capacity: ClassVar[int] = 1000
    extra: ClassVar[dict[str, str]] = {}
    api: ClassVar[str] = "2024-11-01"
    provider: ClassVar[str] = "Microsoft.KeyVault/vaults"

    def body(self, rules: list[dict[str, str]]) -> dict[str, Any]:
        return {
            "location": "westeurope",
            "properties": {
                "tenantId": TENANT,
                "sku": {"family": "A", "name": "standard"},
                "networkAcls": {"defaultAction": "Deny", "bypass": "AzureServices",
                                "ipRules": rules},
            },
        }  # fmt: skip

    def valid(self, entry: str) -> bool:
        return super(StorageHarness, self).valid(entry)


HARNESS = KeyVaultHarness()
