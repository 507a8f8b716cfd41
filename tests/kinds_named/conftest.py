"""Fixtures for the SQL and IP Group kinds: a SQL server and IP Groups in the emulator.

Releases and settings come from the engine fixtures; expectations are computed here with
netaddr from the generated release, not with the product's own code.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import netaddr
import pytest
from azure.mgmt.network.models import IpGroup, IpGroupPropertiesFormat
from azure.mgmt.sql import SqlManagementClient
from azure.mgmt.sql import models as sql
from engine.conftest import SUB, _no_ipsync_env, settings_for  # noqa: F401  (fixtures)

from sync.azure.client import arm_client, make_client

RG = "rg"
SERVER = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Sql/servers/sql1"
#: The rule behind the portal's "Allow Azure services and resources to access this server".
AZURE_SWITCH = "AllowAllWindowsAzureIps"
#: Foreign rules: an owner's office, and one whose name only looks like ipsync's.
FOREIGN = {"office": ("20.1.2.3", "20.1.2.9"), "IPSyncSomething": ("20.1.3.0", "20.1.3.255")}


def group_id(name: str) -> str:
    return f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Network/ipGroups/{name}"


@pytest.fixture
def sql_client(emulator_settings: Any) -> Any:
    return arm_client(emulator_settings, SqlManagementClient)


def put_rule(client: Any, name: str, start: str, end: str) -> None:
    body = sql.FirewallRule(
        properties=sql.ServerFirewallRuleProperties(start_ip_address=start, end_ip_address=end)
    )
    client.firewall_rules.create_or_update(RG, "sql1", name, body)


def make_server(client: Any) -> str:
    """``sql1`` with the Azure-services rule and the foreign rules; its id."""
    client.servers.begin_create_or_update(
        RG,
        "sql1",
        sql.Server(
            location="westeurope",
            properties=sql.ServerProperties(
                administrator_login="admin", administrator_login_password="x-Pa55word!"
            ),
        ),
    ).result()
    put_rule(client, AZURE_SWITCH, "0.0.0.0", "0.0.0.0")
    for name, (start, end) in FOREIGN.items():
        put_rule(client, name, start, end)
    return SERVER


@pytest.fixture
def server(emulator: Any, sql_client: Any) -> str:
    """``sql1`` with the Azure-services rule and the foreign rules."""
    return make_server(sql_client)


def rules(client: Any) -> dict[str, tuple[str, str]]:
    return {
        r.name: (r.start_ip_address, r.end_ip_address)
        for r in client.firewall_rules.list_by_server(RG, "sql1")
    }


def ranges_of(prefixes: Iterable[str]) -> set[tuple[str, str]]:
    """The inclusive ranges an exact SQL sync must hold, computed with netaddr."""
    merged = netaddr.IPSet(prefixes)
    return {(str(r[0]), str(r[-1])) for r in merged.iter_ipranges()}


def sql_allowed(step: Mapping[str, str]) -> netaddr.IPSet:
    """Addresses a history step of a SQL server lets in (``{rule: "start-end"}``)."""
    found = netaddr.IPSet()
    for text in step.values():
        start, end = text.split("-")
        found.add(netaddr.IPRange(start, end))
    return found


def assert_kept_throughout(steps: list[netaddr.IPSet]) -> None:
    """Addresses allowed before and after were allowed at every step (make-before-break)."""
    kept = steps[0] & steps[-1]
    for number, step in enumerate(steps):
        missing = kept - step
        assert not missing, f"step {number} lost {list(missing.iter_cidrs())[:5]}"


@pytest.fixture
def network(emulator_settings: Any) -> Any:
    return make_client(emulator_settings)


def make_group(
    network: Any, name: str, entries: Iterable[str], tags: Mapping[str, str] | None = None
) -> str:
    network.ip_groups.begin_create_or_update(
        RG,
        name,
        IpGroup(
            location="westeurope",
            tags=dict(tags or {}),
            properties=IpGroupPropertiesFormat(ip_addresses=list(entries)),
        ),
    ).result()
    return group_id(name)


def entries(network: Any, name: str) -> set[str]:
    """A group's entries as CIDRs (a bare address as /32)."""
    group = network.ip_groups.get(RG, name)
    return {str(netaddr.IPNetwork(e).cidr) for e in group.ip_addresses or []}
