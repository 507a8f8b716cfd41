"""``GET /_emulator/writes``: each write's body as sent and the resource as it was before."""

from __future__ import annotations

from typing import Any

from azure.mgmt.network.models import IpGroup

from armemu import Emulator
from armemu.stats import MAX_LOGGED_WRITES

from .helpers import SUB


def test_a_write_is_logged_with_its_body_and_the_resource_before(
    emulator: Emulator, network_client: Any
) -> None:
    made = IpGroup(location="westeurope", tags={"team": "net"}, ip_addresses=["192.0.2.0/24"])
    network_client.ip_groups.begin_create_or_update("rg", "g1", made).result()
    update = IpGroup(location="westeurope", tags={"team": "net"}, ip_addresses=["192.0.2.0/25"])
    network_client.ip_groups.begin_create_or_update("rg", "g1", update).result()
    network_client.ip_groups.begin_delete("rg", "g1").result()

    created, updated, deleted = emulator.writes()
    path = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Network/ipGroups/g1"
    assert [(w["method"], w["path"], w["status"]) for w in (created, updated, deleted)] == [
        ("PUT", path, 201),
        ("PUT", path, 200),
        ("DELETE", path, 202),
    ]
    assert created["before"] is None
    assert created["body"]["properties"]["ipAddresses"] == ["192.0.2.0/24"]
    assert updated["before"]["properties"]["ipAddresses"] == ["192.0.2.0/24"]
    assert updated["before"]["tags"] == {"team": "net"}
    assert updated["body"]["properties"]["ipAddresses"] == ["192.0.2.0/25"]
    assert deleted["before"]["properties"]["ipAddresses"] == ["192.0.2.0/25"]
    assert deleted["body"] is None
    (version,) = {w["api_version"] for w in (created, updated, deleted)}
    assert version.startswith("20")


def test_the_log_keeps_the_last_writes_only(emulator: Emulator) -> None:
    for number in range(MAX_LOGGED_WRITES + 3):
        emulator.store.log_write({"method": "PUT", "path": f"/{number}"})
    kept = emulator.writes()
    assert len(kept) == MAX_LOGGED_WRITES
    assert kept[0]["path"] == "/3"
    emulator.reset()
    assert emulator.writes() == []
