"""Entra ID IP named locations: ``ipRanges[{@odata.type, cidrAddress}]`` in Microsoft Graph
v1.0, made by a POST and changed by a PATCH that replaces the list (shapes of the Graph
reference pages' examples: conditionalaccessroot-post-namedlocations, ipnamedlocation-update)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from . import Arm, Harness

COLLECTION = "/v1.0/identity/conditionalAccess/namedLocations"
IP_LOCATION = "#microsoft.graph.ipNamedLocation"


def ip_range(value: str) -> dict[str, str]:
    family = "iPv6CidrRange" if ":" in value else "iPv4CidrRange"
    return {"@odata.type": f"#microsoft.graph.{family}", "cidrAddress": value}


@dataclass
class NamedLocationHarness(Harness):
    kind: ClassVar[str] = "namedlocation"
    capacity: ClassVar[int] = 2000
    write_method: ClassVar[str] = "PATCH"
    not_applicable: ClassVar[dict[str, str]] = {
        "tags": "a named location is no ARM resource: no Azure tag opts it in, the settings "
        "name it",
        # known gaps (docs/limits.md): a Graph object has no tag to hold ipsync's marks
        "registry_lost": "the release a location holds is kept in its record only",
        "restored": "its record is all there is of what ipsync wrote: a restored one is trusted",
    }

    def create(self, arm: Arm, name: str, foreign: Sequence[str]) -> str:
        body = {"@odata.type": IP_LOCATION, "displayName": name, "isTrusted": True,
                "ipRanges": [ip_range(v) for v in foreign]}  # fmt: skip
        created = arm.client.post(COLLECTION, json=body)
        assert created.status_code == 201, created.text
        location: str = created.json()["id"]
        return location

    def _location(self, arm: Arm, resource: str) -> dict[str, Any]:
        answer = arm.client.get(f"{COLLECTION}/{resource}")
        assert answer.status_code == 200, answer.text
        found: dict[str, Any] = answer.json()
        return found

    def entries(self, arm: Arm, resource: str) -> list[str]:
        return [r["cidrAddress"] for r in self._location(arm, resource)["ipRanges"]]

    def _patch(self, arm: Arm, resource: str, values: list[str]) -> None:
        body = {"@odata.type": IP_LOCATION, "ipRanges": [ip_range(v) for v in values]}
        answer = arm.client.patch(f"{COLLECTION}/{resource}", json=body)
        assert answer.status_code == 204, answer.text

    def add_entry(self, arm: Arm, resource: str, value: str) -> None:
        self._patch(arm, resource, [*self.entries(arm, resource), value])

    def widen(self, arm: Arm, resource: str, to: str) -> bool:
        """A range has no name: the wide one replacing ipsync's last is the owner's."""
        self._patch(arm, resource, [*self.entries(arm, resource)[:-1], to])
        return True

    def write_path(self, resource: str) -> str:
        return resource


HARNESS = NamedLocationHarness()
