"""Azure Firewall IP Groups: ``properties.ipAddresses``, the whole group ipsync's once the
operator hands it over (its tag, and the target named in the settings); a long-running PUT
(shapes of the IpGroups_CreateOrUpdate spec example)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from . import Arm, Harness, group_id

API = "2024-05-01"
WHOLE = "ipsync owns the whole group once it is handed over: no entry in it is anyone else's"


@dataclass
class IpGroupHarness(Harness):
    kind: ClassVar[str] = "ipgroup"
    api: ClassVar[str] = API
    capacity: ClassVar[int] = 5000
    write_method: ClassVar[str] = "PUT"
    long_running: ClassVar[bool] = True
    not_applicable: ClassVar[dict[str, str]] = {
        "foreign": WHOLE,
        "owner_entry": WHOLE,
        "tags": "a tag alone never hands over a group",
    }

    def create(self, arm: Arm, name: str, foreign: Sequence[str]) -> str:
        group = f"{group_id()}/providers/Microsoft.Network/ipGroups/{name}"
        arm.put(group, API, {"location": "westeurope", "tags": {"ipsync-managed": name},
                             "properties": {"ipAddresses": list(foreign)}})  # fmt: skip
        return group

    def entries(self, arm: Arm, resource: str) -> list[str]:
        found: list[str] = arm.get(resource, API)["properties"]["ipAddresses"]
        return found

    def widen(self, arm: Arm, resource: str, to: str) -> bool:
        group: dict[str, Any] = arm.get(resource, API)
        group["properties"]["ipAddresses"] = [to, *group["properties"]["ipAddresses"][1:]]
        arm.put(resource, API, {k: group[k] for k in ("location", "tags", "properties")})
        return False

    def write_path(self, resource: str) -> str:
        return resource


HARNESS = IpGroupHarness()
