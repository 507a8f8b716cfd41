"""Small builders shared by the plan tests."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sync.kinds.nsg.rules import Rule
from sync.kinds.nsg.target import NsgTarget

NSG = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-net"
    "/providers/Microsoft.Network/networkSecurityGroups/nsg-app"
)
OTHER_NSG = NSG.replace("nsg-app", "nsg-db")


def make_target(**fields: Any) -> NsgTarget:
    values: dict[str, Any] = {"nsg": NSG, "service_tags": ("Storage.WestEurope",)}
    values.update(fields)
    return NsgTarget(**values)


def make_rule(
    name: str,
    priority: int,
    remote: Iterable[str],
    *,
    direction: str = "Outbound",
    local: Iterable[str] = ("VirtualNetwork",),
    ports: Iterable[str] = ("443",),
    access: str = "Allow",
    description: str = "",
) -> Rule:
    """A rule shaped like ipsync's: remote side by direction, local side opposite."""
    remote_set, local_set = frozenset(remote), frozenset(local)
    outbound = direction == "Outbound"
    return Rule(
        name=name,
        priority=priority,
        direction=direction,
        access=access,
        protocol="Tcp",
        source_prefixes=local_set if outbound else remote_set,
        destination_prefixes=remote_set if outbound else local_set,
        source_ports=frozenset({"*"}),
        destination_ports=frozenset(ports),
        description=description,
    )
