"""SQL servers: one ``firewallRules/{name}`` child per inclusive IPv4 range, ipsync's named
``ipsync-...`` (shapes of the FirewallRuleCreate spec examples)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import netaddr

from . import Arm, Harness, group_id

API = "2023-08-01"


@dataclass
class SqlHarness(Harness):
    kind: ClassVar[str] = "sql"
    api: ClassVar[str] = API
    capacity: ClassVar[int] = 256
    write_method: ClassVar[str] = "PUT"
    provider: ClassVar[str] = "Microsoft.Sql/servers"
    #: The server as its owner PUT it.
    server: ClassVar[dict[str, Any]] = {"location": "westeurope", "properties": {
        "administratorLogin": "owner", "administratorLoginPassword": "x-Pa55word!",
        "version": "12.0"}}  # fmt: skip
    not_applicable: ClassVar[dict[str, str]] = {
        # a known gap (docs/limits.md): a firewall rule has no field for it, and a tag on the
        # server would be a second write needing a wider role
        "registry_lost": "the release a server holds is kept in its record only",
    }

    def create(self, arm: Arm, name: str, foreign: Sequence[str]) -> str:
        server = f"{group_id()}/providers/{self.provider}/{name}"
        arm.put(server, self.api, self.server)
        for number, value in enumerate(foreign):
            self.add_entry(arm, server, value, f"corp-{number}")
        return server

    def rules(self, arm: Arm, resource: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = arm.get(f"{resource}/firewallRules", self.api)["value"]
        return found

    def entries(self, arm: Arm, resource: str) -> list[str]:
        return [
            f"{r['properties']['startIpAddress']}-{r['properties']['endIpAddress']}"
            for r in self.rules(arm, resource)
        ]

    def foreign(self, arm: Arm, resource: str, mine: netaddr.IPSet) -> Any:
        return [r for r in self.rules(arm, resource) if not r["name"].startswith("ipsync-")]

    def add_entry(self, arm: Arm, resource: str, value: str, name: str = "owner") -> None:
        net = netaddr.IPNetwork(value)
        arm.put(f"{resource}/firewallRules/{name}", self.api, {"properties": {
            "startIpAddress": str(net[0]), "endIpAddress": str(net[-1])}})  # fmt: skip

    def widen(self, arm: Arm, resource: str, to: str) -> bool:
        ours = next(r["name"] for r in self.rules(arm, resource) if r["name"].startswith("ipsync-"))
        self.add_entry(arm, resource, to, ours)
        return False

    def write_path(self, resource: str) -> str:
        return f"{resource}/firewallRules/"

    def states(self, arm: Arm, resource: str) -> list[netaddr.IPSet]:
        return [
            netaddr.IPSet(netaddr.IPRange(*span.split("-")) for span in state.values())
            for state in arm.history(resource)
        ]

    def valid(self, entry: str) -> bool:
        first, _, last = entry.partition("-")
        return netaddr.IPAddress(first) <= netaddr.IPAddress(last)


HARNESS = SqlHarness()
