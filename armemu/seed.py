"""Sample resources for a first run (``python -m armemu --seed``): one of each kind, some
opted in with an ``ipsync`` tag, some with entries the owner added by hand."""

from __future__ import annotations

from typing import Any

from armemu.catalog import KINDS
from armemu.state import ResourceStore, Write

SUBSCRIPTION = "5eed0000-0000-4000-8000-000000000001"
RESOURCE_GROUP = "ipsync-demo"
LOCATION = "westeurope"
TENANT = "5eed0000-0000-4000-8000-0000000000aa"
_WRITE = Write(api_version="seed")
#: (type, name, PUT body) of the sample set
SAMPLES: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("Microsoft.Storage/storageAccounts", "ipsyncdemostore", {
        "location": LOCATION, "kind": "StorageV2", "sku": {"name": "Standard_LRS"},
        "tags": {"ipsync": "AzureCloud.westeurope"},
        "properties": {"networkAcls": {"defaultAction": "Deny", "bypass": "AzureServices",
                                       "ipRules": [{"value": "203.0.113.7", "action": "Allow"}]}},
    }),
    ("Microsoft.KeyVault/vaults", "ipsync-demo-kv", {
        "location": LOCATION, "tags": {"ipsync": "AzureCloud.westeurope"},
        "properties": {"tenantId": TENANT, "sku": {"family": "A", "name": "standard"},
                       "networkAcls": {"defaultAction": "Deny",
                                       "ipRules": [{"value": "198.51.100.0/24"}]}},
    }),
    ("Microsoft.ContainerRegistry/registries", "ipsyncdemoacr", {
        "location": LOCATION, "sku": {"name": "Premium"}, "tags": {"ipsync": "AzureCloud"},
        "properties": {"networkRuleSet": {"defaultAction": "Deny", "ipRules": []}},
    }),
    ("Microsoft.Sql/servers", "ipsync-demo-sql", {
        "location": LOCATION, "tags": {"ipsync": "Sql.WestEurope"},
        "properties": {"administratorLogin": "demo", "administratorLoginPassword": "unused"},
    }),
    ("Microsoft.Network/ipGroups", "ipsync-demo-ipgroup", {
        "location": LOCATION, "tags": {"ipsync": "AzureCloud.westeurope"},
        "properties": {"ipAddresses": ["192.0.2.0/24"]},
    }),
)  # fmt: skip
NSG = ("ipsync-demo-nsg", {
    "location": LOCATION, "tags": {"ipsync": "Storage.WestEurope"},
    "properties": {"securityRules": [{"name": "owner-ssh", "properties": {
        "protocol": "Tcp", "access": "Allow", "direction": "Inbound", "priority": 100,
        "sourceAddressPrefix": "203.0.113.0/24", "destinationAddressPrefix": "*",
        "sourcePortRange": "*", "destinationPortRange": "22"}}]},
})  # fmt: skip
#: the SQL server's rules: one the owner added, and Microsoft's "allow Azure services"
SQL_RULES = (
    ("owner-office", "203.0.113.10", "203.0.113.20"),
    ("AllowAllWindowsAzureIps", "0.0.0.0", "0.0.0.0"),
)


def seed(store: ResourceStore) -> list[str]:
    """Create the sample set and complete its operations; the ids created."""
    nsg_name, nsg_body = NSG
    store.put_nsg(SUBSCRIPTION, RESOURCE_GROUP, nsg_name, nsg_body, _WRITE)
    for type_name, name, body in SAMPLES:
        store.put(KINDS[type_name.lower()], SUBSCRIPTION, RESOURCE_GROUP, name, body, _WRITE)
    store.settle_all()
    sql = KINDS["microsoft.sql/servers"]
    for rule, start, end in SQL_RULES:
        store.put_child(sql, SUBSCRIPTION, RESOURCE_GROUP, "ipsync-demo-sql", rule,
                        {"properties": {"startIpAddress": start, "endIpAddress": end}},
                        _WRITE)  # fmt: skip
    return sorted(item.id for item in store.snapshot())
