"""The baseline most scripts implement: delete every owned rule, then recreate them all.

Deliberately tiny and written straight against the SDK; it uses the same aggregated prefixes
as ipsync so that only the write strategy differs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bench.emulated import RESOURCE_GROUP
from sync.core.feed import Release
from sync.core.prefixes import FAMILIES
from sync.core.selection import select
from sync.kinds.nsg.target import NsgTarget

if TYPE_CHECKING:
    from azure.mgmt.network import NetworkManagementClient


def delete_and_recreate(
    client: NetworkManagementClient, nsg: str, targets: Sequence[NsgTarget], release: Release
) -> int:
    """Rewrite the targets' rules on one NSG; returns the writes (PUT + DELETE) sent."""
    from azure.mgmt.network.models import SecurityRule, SecurityRulePropertiesFormat

    writes = 0
    current = client.network_security_groups.get(RESOURCE_GROUP, nsg).security_rules or []
    prefixes = tuple(t.rule_prefix.lower() for t in targets)
    for rule in current:
        if rule.name and rule.name.lower().startswith(prefixes):
            client.security_rules.begin_delete(RESOURCE_GROUP, nsg, rule.name).result()
            writes += 1
    for index, t in enumerate(targets):
        selection = select(release, t.service_tags, families=t.families)
        for offset, family in enumerate(FAMILIES):
            remote = list(selection.family(family))
            if not remote:
                continue
            outbound = t.direction == "Outbound"
            properties = SecurityRulePropertiesFormat(
                priority=t.priority_range[0] + 10 + 2 * index + offset,
                direction=t.direction,
                access=t.access,
                protocol=t.protocol,
                source_address_prefix="VirtualNetwork" if outbound else None,
                source_address_prefixes=None if outbound else remote,
                destination_address_prefix=None if outbound else "VirtualNetwork",
                destination_address_prefixes=remote if outbound else None,
                source_port_range="*",
                destination_port_ranges=list(t.ports),
            )
            name = f"{t.rule_prefix}-{index}-{family}"
            client.security_rules.begin_create_or_update(
                RESOURCE_GROUP, nsg, name, SecurityRule(name=name, properties=properties)
            ).result()
            writes += 1
    return writes
