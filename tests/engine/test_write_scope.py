"""Every write ipsync sends changes its allow-list and nothing else, for every kind.

Each kind's resource is made as its owner would have it: the allow-list with an owner's entry,
and around it the settings ipsync must never touch (default action, bypass, virtual network
rules, TLS, tags, ...). Two weekly releases are applied one after the other, so each kind is
written at least once from a state ipsync did not make. The emulator's write log
(``GET /_emulator/writes``) holds every body as sent and the resource as it was just before;
each body is compared with that resource field by field:

- a field outside the kind's allow-list path that the body carries has the value read;
- a PUT replaces what it names, so it must carry every field read outside the allow-list,
  as read (fields ARM sets itself, and empty ones, aside);
- the writes go to the target's resource, or to entries of it named with ipsync's prefix.

A new kind joins with one row of :data:`ROWS`: its resource as an owner made it, service tags
that change between the releases, and its allow-list path.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from armemu import Emulator
from armemu.catalog import KINDS
from armemu.state import Write
from sync.engine import run
from sync.settings import load_settings

DATA = Path(__file__).resolve().parents[2] / "tests" / "data"
#: Two releases far enough apart that every selection below changes between them.
RELEASES = ("ServiceTags_Public_20250101.json.xz", "ServiceTags_Public_20251017.json.xz")
SUB = "00000000-0000-0000-0000-00000000abcd"
RG = "rg-owner"
TENANT = "00000000-0000-0000-0000-0000000000aa"
SUBNET = (
    f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Network/virtualNetworks/vnet"
    "/subnets/app"
)
#: What ARM sets on a resource itself, and ignores in a body: a PUT need not carry it.
ARM_SETS = ("id", "name", "type", "etag", "systemData", "properties.provisioningState")


@dataclass(frozen=True)
class Row:
    """One kind: the resource as an owner made it, and what a write of ipsync may change."""

    kind: str
    arm_type: str
    name: str
    #: The resource's body as its owner PUT it.
    body: dict[str, Any]
    #: Service tags whose ranges change between the two releases.
    service_tags: tuple[str, ...]
    #: Where the allow-list is in a write's body (a dotted path).
    allowed: tuple[str, ...]
    #: Entries that are resources of their own (``securityRules``): ipsync writes only those
    #: named with its prefix. None: ipsync writes the resource itself.
    entries: str | None = None
    #: The owner's entries of that kind, as (name, body).
    owner_entries: tuple[tuple[str, dict[str, Any]], ...] = ()
    target: Mapping[str, Any] = field(default_factory=dict)

    @property
    def resource_id(self) -> str:
        return f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/{self.arm_type}/{self.name}"


ROWS = (
    Row(
        "nsg",
        "Microsoft.Network/networkSecurityGroups",
        "nsg-app",
        {
            "location": "westeurope",
            "tags": {"owner": "network-team"},
            "properties": {
                "securityRules": [
                    {"name": "owner-ssh", "properties": {
                        "protocol": "Tcp", "access": "Allow", "direction": "Inbound",
                        "priority": 100, "sourceAddressPrefix": "203.0.113.0/24",
                        "sourcePortRange": "*", "destinationAddressPrefix": "*",
                        "destinationPortRange": "22"}},
                    {"name": "deny-internet-out", "properties": {
                        "protocol": "*", "access": "Deny", "direction": "Outbound",
                        "priority": 4000, "sourceAddressPrefix": "*", "sourcePortRange": "*",
                        "destinationAddressPrefix": "Internet", "destinationPortRange": "*"}},
                ]
            },
        },
        ("Storage.WestEurope",),
        # and the release mark in the description of ipsync's own rule
        ("properties.destinationAddressPrefixes", "properties.destinationAddressPrefix",
         "properties.description"),
        entries="securityRules/ipsync",
    ),
    Row(
        "storage",
        "Microsoft.Storage/storageAccounts",
        "stowner",
        {
            "location": "westeurope",
            "kind": "StorageV2",
            "sku": {"name": "Standard_GRS"},
            "tags": {"owner": "data-team"},
            "properties": {
                "minimumTlsVersion": "TLS1_2",
                "supportsHttpsTrafficOnly": True,
                "allowBlobPublicAccess": False,
                "networkAcls": {
                    "defaultAction": "Deny",
                    "bypass": "AzureServices, Logging",
                    "virtualNetworkRules": [{"id": SUBNET, "action": "Allow"}],
                    "ipRules": [{"value": "203.0.113.7", "action": "Allow"}],
                },
            },
        },
        ("Storage.WestEurope",),
        ("properties.networkAcls.ipRules",),
    ),
    Row(
        "keyvault",
        "Microsoft.KeyVault/vaults",
        "kv-owner",
        {
            "location": "westeurope",
            "tags": {"owner": "app-team"},
            "properties": {
                "tenantId": TENANT,
                "sku": {"family": "A", "name": "standard"},
                "enableRbacAuthorization": True,
                "enablePurgeProtection": True,
                "networkAcls": {
                    "defaultAction": "Deny",
                    "bypass": "AzureServices",
                    "virtualNetworkRules": [{"id": SUBNET}],
                    "ipRules": [{"value": "198.51.100.0/24"}],
                },
            },
        },
        ("AzureCloud.westeurope",),
        ("properties.networkAcls.ipRules",),
    ),
    Row(
        "acr",
        "Microsoft.ContainerRegistry/registries",
        "acrowner",
        {
            "location": "westeurope",
            "sku": {"name": "Premium"},
            "tags": {"owner": "platform-team"},
            "properties": {
                "adminUserEnabled": False,
                "networkRuleSet": {
                    "defaultAction": "Deny",
                    "ipRules": [{"action": "Allow", "value": "192.0.2.10"}],
                },
            },
        },
        ("AzureContainerRegistry.WestEurope",),
        ("properties.networkRuleSet.ipRules",),
    ),
    Row(
        "sql",
        "Microsoft.Sql/servers",
        "sql-owner",
        {
            "location": "westeurope",
            "tags": {"owner": "data-team"},
            "properties": {"administratorLogin": "owner", "minimalTlsVersion": "1.2"},
        },
        ("Sql.WestEurope",),
        ("properties.startIpAddress", "properties.endIpAddress"),
        entries="firewallRules/ipsync-",
        owner_entries=(
            ("owner-office", {"properties": {"startIpAddress": "203.0.113.10",
                                             "endIpAddress": "203.0.113.20"}}),
            ("AllowAllWindowsAzureIps", {"properties": {"startIpAddress": "0.0.0.0",
                                                        "endIpAddress": "0.0.0.0"}}),
            # one of ipsync's from an earlier run, its range since grown: updated in place
            ("ipsync-sql-westeurope-13-69-104-0", {"properties": {
                "startIpAddress": "13.69.104.0", "endIpAddress": "13.69.104.15"}}),
        ),
    ),
    Row(
        "ipgroup",
        "Microsoft.Network/ipGroups",
        "ipg-owner",
        {
            "location": "westeurope",
            # handed over to ipsync (it owns the whole list), written by hand before
            "tags": {"owner": "firewall-team", "ipsync-managed": "ipg-owner"},
            "properties": {"ipAddresses": ["13.69.51.175", "13.69.51.218/32"]},
        },
        ("AzureMonitor.WestEurope",),
        # and the release mark ipsync keeps in a tag of its own on the group
        ("properties.ipAddresses", "tags.ipsync-release"),
    ),
    Row(
        "cognitive",
        "Microsoft.CognitiveServices/accounts",
        "ai-owner",
        {
            "location": "westeurope",
            "kind": "OpenAI",
            "sku": {"name": "S0"},
            "tags": {"owner": "ai-team"},
            "properties": {
                "customSubDomainName": "ai-owner",
                "disableLocalAuth": True,
                "networkAcls": {
                    "defaultAction": "Deny",
                    "bypass": "AzureServices",
                    "virtualNetworkRules": [{"id": SUBNET}],
                    "ipRules": [{"value": "203.0.113.0/24"}],
                },
            },
        },
        ("Storage.WestEurope",),
        ("properties.networkAcls.ipRules",),
        target={"fit": "cover"},
    ),
    Row(
        "eventhub",
        "Microsoft.EventHub/namespaces",
        "evh-owner",
        {"location": "westeurope", "sku": {"name": "Standard", "tier": "Standard"},
         "tags": {"owner": "events-team"}},
        ("Storage.WestEurope",),
        ("properties.ipRules",),
        # the singleton rule set is the allow-list's resource, replaced whole by each PUT
        entries="networkRuleSets/default",
        owner_entries=(("default", {"properties": {
            "defaultAction": "Deny", "publicNetworkAccess": "Enabled",
            "trustedServiceAccessEnabled": True,
            "virtualNetworkRules": [{"subnet": {"id": SUBNET},
                                     "ignoreMissingVnetServiceEndpoint": True}],
            "ipRules": [{"ipMask": "203.0.113.0/24", "action": "Allow"}]}}),),
    ),
    Row(
        "servicebus",
        "Microsoft.ServiceBus/namespaces",
        "sb-owner",
        {"location": "westeurope", "sku": {"name": "Premium", "tier": "Premium", "capacity": 1},
         "tags": {"owner": "messaging-team"}, "properties": {"minimumTlsVersion": "1.2"}},
        ("Storage.WestEurope",),
        ("properties.ipRules",),
        entries="networkRuleSets/default",
        owner_entries=(("default", {"properties": {
            "defaultAction": "Deny", "publicNetworkAccess": "Enabled",
            "trustedServiceAccessEnabled": False,
            "virtualNetworkRules": [{"subnet": {"id": SUBNET},
                                     "ignoreMissingVnetServiceEndpoint": False}],
            "ipRules": [{"ipMask": "198.51.100.7", "action": "Allow"}]}}),),
    ),
    Row(
        "cosmosdb",
        "Microsoft.DocumentDB/databaseAccounts",
        "cosmos-owner",
        {
            "location": "westeurope",
            "kind": "GlobalDocumentDB",
            "tags": {"owner": "data-team"},
            "properties": {
                "databaseAccountOfferType": "Standard",
                "consistencyPolicy": {"defaultConsistencyLevel": "Session"},
                "locations": [{"locationName": "westeurope", "failoverPriority": 0,
                               "isZoneRedundant": False}],
                "isVirtualNetworkFilterEnabled": True,
                "virtualNetworkRules": [{"id": SUBNET, "ignoreMissingVNetServiceEndpoint": False}],
                "publicNetworkAccess": "Enabled",
                "ipRules": [{"ipAddressOrRange": "0.0.0.0"},
                            {"ipAddressOrRange": "203.0.113.0/24"}],
            },
        },
        ("Storage.WestEurope",),
        ("properties.ipRules",),
    ),
)  # fmt: skip


def leaves(value: Any, path: str = "") -> dict[str, Any]:
    """Every field of a body by its dotted path; a list is one field (the allow-lists are)."""
    if isinstance(value, dict) and value:
        found: dict[str, Any] = {}
        for key, inner in value.items():
            found.update(leaves(inner, f"{path}.{key}" if path else key))
        return found
    return {path: value}


def _under(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(path == p or path.startswith(p + ".") for p in prefixes)


def out_of_scope(method: str, body: Any, before: Any, allowed: tuple[str, ...]) -> list[str]:
    """What a write changes or drops outside ``allowed``, as ``path: read -> sent`` lines."""
    sent, read = leaves(body or {}), leaves(before or {})
    problems = [
        f"{path}: {read.get(path, '<absent>')!r} -> {value!r}"
        for path, value in sent.items()
        if not _under(path, allowed) and read.get(path, value) != value
    ]
    problems += [
        f"{path}: {value!r} -> <absent>"
        for path, value in read.items()
        if not _under(path, allowed)
        and not _under(path, ARM_SETS)
        and method == "PUT"
        and path not in sent
        and value not in ([], {}, None, "")
    ]
    # A field ARM knows but the body leaves out in a PATCH keeps its value: only the fields
    # sent count. A body field the resource did not have is a change too.
    problems += [
        f"{path}: <absent> -> {value!r}"
        for path, value in sent.items()
        if not _under(path, allowed)
        and not _under(path, ARM_SETS)
        and path not in read
        and value not in ([], {}, None, "")
    ]
    return problems


def test_the_check_finds_a_changed_a_dropped_and_an_added_field() -> None:
    before = {"location": "x", "properties": {"networkAcls": {"defaultAction": "Deny",
                                                              "ipRules": [1]}}}  # fmt: skip
    allowed = ("properties.networkAcls.ipRules",)
    fine = {"properties": {"networkAcls": {"defaultAction": "Deny", "ipRules": [1, 2]}}}
    assert out_of_scope("PATCH", fine, before, allowed) == []
    opened = {"properties": {"networkAcls": {"defaultAction": "Allow", "ipRules": [2]}}}
    assert out_of_scope("PATCH", opened, before, allowed) == [
        "properties.networkAcls.defaultAction: 'Deny' -> 'Allow'"
    ]
    assert out_of_scope("PUT", fine, before, allowed) == ["location: 'x' -> <absent>"]
    widened = {"properties": {"networkAcls": {"bypass": "AzureServices", "ipRules": []}}}
    assert out_of_scope("PATCH", widened, before, allowed) == [
        "properties.networkAcls.bypass: <absent> -> 'AzureServices'"
    ]


def _make(emulator: Emulator, row: Row) -> None:
    """The resource as its owner made it, straight into the emulator's store."""
    store, seeded = emulator.store, Write(api_version="seed")
    if row.kind == "nsg":
        store.put_nsg(SUB, RG, row.name, row.body, seeded)
    else:
        store.put(KINDS[row.arm_type.lower()], SUB, RG, row.name, row.body, seeded)
    store.settle_all()
    for name, body in row.owner_entries:
        store.put_child(KINDS[row.arm_type.lower()], SUB, RG, row.name, name, body, seeded)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[dict[str, Any]]]:
    """Every write of two applies, one per release, of one target per row."""
    with Emulator(lro_polls=1, retry_after=0) as emulator:
        yield _apply_both(emulator, tmp_path_factory.mktemp("scope"))


def _apply_both(emulator: Emulator, tmp_path: Path) -> list[dict[str, Any]]:
    for row in ROWS:
        _make(emulator, row)
    targets = [
        {"kind": row.kind, "resource": row.resource_id, "service_tags": list(row.service_tags),
         **({"nsg": row.resource_id} if row.kind == "nsg" else {}), **row.target}
        for row in ROWS
    ]  # fmt: skip
    for target in targets:
        if target["kind"] == "nsg":
            del target["resource"]
    for release in RELEASES:
        settings = load_settings(
            arm_endpoint=emulator.endpoint,
            ca_bundle=emulator.ca_bundle,
            credential="emulator",
            subscription_id=SUB,
            poll_interval_s=0,
            cache_dir=tmp_path / "cache",
            discover_tag="",
            targets=targets,
            source=str(DATA / release),
        )
        report = run(settings)
        assert report.ok, [(t.resource, t.status, t.error) for t in report.targets]
    return emulator.writes()


def test_every_kind_is_in_the_table() -> None:
    """Every kind whose allow-list is an ARM resource (what the emulator's log sees)."""
    from sync.kinds import KIND_NAMES, get_kind

    arm_kinds = [name for name in KIND_NAMES if get_kind(name).arm_type]
    assert sorted(row.kind for row in ROWS) == sorted(arm_kinds)


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.kind)
def test_every_write_changes_the_allow_list_only(row: Row, written: list[dict[str, Any]]) -> None:
    mine = [w for w in written if w["path"].lower().startswith(row.resource_id.lower())]
    changed = []
    for write in mine:
        where = f"{write['method']} {write['path']}"
        rest = write["path"][len(row.resource_id) :].strip("/")
        if row.entries is None:
            assert rest == "", f"{where}: ipsync writes the resource itself only"
        else:
            assert rest.lower().startswith(row.entries.lower()), f"{where}: not ipsync's entry"
        assert 200 <= write["status"] < 300, where
        if write["method"] == "DELETE":
            continue
        if write["before"] is None:
            assert row.entries is not None, f"{where}: ipsync creates no resource"
            changed.append(rest)  # a new entry of ipsync's own
            continue
        problems = out_of_scope(write["method"], write["body"], write["before"], row.allowed)
        assert problems == [], f"{where} changes more than its allow-list: {problems}"
        sent, read = leaves(write["body"]), leaves(write["before"])
        changed += [p for p in row.allowed if p in sent and sent[p] != read.get(p)]
    # The kind's allow-list was written, from a state ipsync did not make.
    assert changed, f"{row.kind}: no write changed its allow-list"


def test_no_write_reaches_anything_but_the_targets(written: list[dict[str, Any]]) -> None:
    ids = [row.resource_id.lower() for row in ROWS]
    strays = [w["path"] for w in written if not w["path"].lower().startswith(tuple(ids))]
    assert written
    assert strays == []
