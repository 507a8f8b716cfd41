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
from dataclasses import dataclass, field, replace
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
#: Microsoft Graph's path below the emulator's endpoint.
GRAPH = "/v1.0"
#: What ARM sets on a resource itself, and ignores in a body: a PUT need not carry it.
ARM_SETS = ("id", "name", "type", "etag", "systemData", "properties.provisioningState",
            "properties.resourceState")  # fmt: skip


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
    #: Fields the service sets itself besides ARM's (read-only in its spec): a PUT need not
    #: carry them.
    read_only: tuple[str, ...] = ()
    #: A Microsoft Graph object's id (a named location), for a kind that is no ARM resource.
    graph_id: str | None = None

    @property
    def resource_id(self) -> str:
        """Where its writes go: the ARM id, or a Graph object's path."""
        if self.graph_id is not None:
            return f"{GRAPH}/{self.arm_type}/{self.graph_id}"
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
        # and the release and generation ipsync keeps in tags of its own, in the same PATCH
        ("properties.networkAcls.ipRules", "tags.ipsync-release", "tags.ipsync-generation"),
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
        # and the release and generation ipsync keeps in tags of its own, in the same PATCH
        ("properties.networkAcls.ipRules", "tags.ipsync-release", "tags.ipsync-generation"),
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
        # and the release and generation ipsync keeps in tags of its own, in the same PATCH
        ("properties.networkRuleSet.ipRules", "tags.ipsync-release", "tags.ipsync-generation"),
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
        "frontdoor",
        "Microsoft.Network/FrontDoorWebApplicationFirewallPolicies",
        "wafowner",
        {
            "location": "Global",
            "sku": {"name": "Premium_AzureFrontDoor"},
            "tags": {"owner": "edge-team"},
            "properties": {
                "policySettings": {"enabledState": "Enabled", "mode": "Prevention",
                                   "customBlockResponseStatusCode": 403},
                "customRules": {"rules": [
                    {"name": "geoBlock", "priority": 1, "ruleType": "MatchRule",
                     "action": "Block", "matchConditions": [
                         {"matchVariable": "RemoteAddr", "operator": "GeoMatch",
                          "matchValue": ["CH"]}]},
                    {"name": "officeAllowList", "priority": 5, "ruleType": "MatchRule",
                     "action": "Block", "matchConditions": [
                         {"matchVariable": "SocketAddr", "operator": "IPMatch",
                          "negateCondition": True, "matchValue": ["203.0.113.7"]}]},
                ]},
                "managedRules": {"managedRuleSets": [
                    {"ruleSetType": "Microsoft_DefaultRuleSet", "ruleSetVersion": "2.1",
                     "ruleSetAction": "Block"}]},
            },
        },
        ("AzureCloud.westeurope",),
        # the rules are one field here; tests/frontdoor checks the other rules stay as read
        ("properties.customRules.rules", "tags.ipsync-release", "tags.ipsync-generation"),
        target={"rule": "officeAllowList"},
    ),
    Row(
        "containerapp",
        "Microsoft.App/containerApps",
        "app-owner",
        {
            "location": "West Europe",
            "tags": {"owner": "app-team"},
            "properties": {
                "environmentId": f"/subscriptions/{SUB}/resourceGroups/{RG}/providers"
                                 "/Microsoft.App/managedEnvironments/env",
                "configuration": {
                    "activeRevisionsMode": "Single",
                    "ingress": {
                        "external": True, "targetPort": 8080, "allowInsecure": False,
                        "traffic": [{"weight": 100, "latestRevision": True}],
                        "ipSecurityRestrictions": [
                            {"name": "office", "description": "HQ",
                             "ipAddressRange": "203.0.113.0/24", "action": "Allow"}],
                    },
                },
                "template": {"containers": [{"name": "web", "image": "repo/web:v1"}],
                             "scale": {"minReplicas": 1, "maxReplicas": 3}},
            },
        },
        ("Storage.WestEurope",),
        ("properties.configuration.ingress.ipSecurityRestrictions",),
    ),
    Row(
        "aks",
        "Microsoft.ContainerService/managedClusters",
        "aks-owner",
        {
            "location": "westeurope",
            "tags": {"owner": "platform-team"},
            "sku": {"name": "Base", "tier": "Standard"},
            "identity": {"type": "SystemAssigned"},
            "properties": {
                "kubernetesVersion": "1.33",
                "dnsPrefix": "aks-owner",
                "agentPoolProfiles": [{"name": "system", "count": 3, "vmSize": "Standard_D4s_v5",
                                       "osType": "Linux", "mode": "System",
                                       "type": "VirtualMachineScaleSets"}],
                "networkProfile": {"networkPlugin": "azure", "loadBalancerSku": "standard",
                                   "outboundType": "loadBalancer"},
                "enableRBAC": True,
                "disableLocalAccounts": True,
                "apiServerAccessProfile": {"authorizedIPRanges": ["203.0.113.0/24"],
                                           "disableRunCommand": True},
            },
        },
        ("Storage.WestEurope",),
        ("properties.apiServerAccessProfile.authorizedIPRanges", "tags.ipsync-release",
         "tags.ipsync-generation"),
        read_only=("eTag", "properties.powerState", "properties.fqdn"),
    ),
    Row(
        "namedlocation",
        "identity/conditionalAccess/namedLocations",
        "Corporate egress",
        {
            "@odata.type": "#microsoft.graph.ipNamedLocation",
            "displayName": "Corporate egress",
            "isTrusted": True,
            "ipRanges": [
                {"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "203.0.113.0/24"},
                {"@odata.type": "#microsoft.graph.iPv6CidrRange", "cidrAddress": "2001:db8::/48"},
            ],
        },
        ("Storage.WestEurope",),
        ("ipRanges",),
        graph_id="6f3c8a2e-1b4d-4e5f-9a7b-0c1d2e3f4a5b",
    ),
    Row(
        "appservice",
        "Microsoft.Web/sites",
        "app-owner",
        {
            "location": "westeurope",
            "kind": "app",
            "tags": {"owner": "web-team"},
            "properties": {
                "serverFarmId": f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/"
                                "Microsoft.Web/serverfarms/plan",
                "httpsOnly": True,
                "siteConfig": {
                    "minTlsVersion": "1.2",
                    "ipSecurityRestrictionsDefaultAction": "Deny",
                    "scmIpSecurityRestrictionsDefaultAction": "Allow",
                    "ipSecurityRestrictions": [
                        {"name": "office", "priority": 100, "action": "Allow",
                         "ipAddress": "203.0.113.0/24,2001:db8::/48"},
                        {"name": "front-door", "priority": 110, "action": "Allow",
                         "tag": "ServiceTag", "ipAddress": "AzureFrontDoor.Backend",
                         "headers": {"x-azure-fdid": ["12345678-abcd-1234-abcd-123456789012"]}},
                        {"name": "app-subnet", "priority": 120, "action": "Allow",
                         "vnetSubnetResourceId": SUBNET},
                        {"name": "blocked", "priority": 1500, "action": "Deny",
                         "ipAddress": "198.51.100.0/24"},
                    ],
                    "scmIpSecurityRestrictions": [
                        {"name": "build-agents", "priority": 100, "action": "Allow",
                         "ipAddress": "192.0.2.0/28"},
                    ],
                },
            },
        },
        ("Storage.WestEurope",),
        ("properties.ipSecurityRestrictions", "properties.scmIpSecurityRestrictions"),
        entries="config/web",
        target={"site": "both"},
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
        ("properties.networkAcls.ipRules", "tags.ipsync-release", "tags.ipsync-generation"),
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
        ("properties.ipRules", "tags.ipsync-release", "tags.ipsync-generation"),
    ),
)  # fmt: skip
_SQL = next(row for row in ROWS if row.kind == "sql")
#: Flexible servers: firewall rules as a SQL server's, with the same owner's rules beside.
ROWS += tuple(
    replace(_SQL, kind=kind, arm_type=f"{provider}/flexibleServers", name=f"{kind}-owner", body={
        "location": "westeurope", "tags": {"owner": "data-team"},
        "sku": {"name": "Standard_D2ds_v4", "tier": "GeneralPurpose"},
        "properties": {"administratorLogin": "owner", "version": version,
                       "network": {"publicNetworkAccess": "Enabled"}}})
    for kind, provider, version in (("postgresql", "Microsoft.DBforPostgreSQL", "17"),
                                    ("mysql", "Microsoft.DBforMySQL", "8.0.21"))
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


def out_of_scope(
    method: str, body: Any, before: Any, allowed: tuple[str, ...], sets: tuple[str, ...] = ARM_SETS
) -> list[str]:
    """What a write changes or drops outside ``allowed``, as ``path: read -> sent`` lines
    (``sets``: what the service sets itself)."""
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
        and not _under(path, sets)
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
        and not _under(path, sets)
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
    if row.graph_id is not None:
        emulator.directory.locations[row.graph_id] = {**row.body, "id": row.graph_id}
        return
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
        {"kind": row.kind, "resource": row.graph_id or row.resource_id,
         "service_tags": list(row.service_tags),
         **({"nsg": row.resource_id} if row.kind == "nsg" else {}), **row.target}
        for row in ROWS
    ]  # fmt: skip
    for target in targets:
        if target["kind"] == "nsg":
            del target["resource"]
    for release in RELEASES:
        settings = load_settings(
            arm_endpoint=emulator.endpoint,
            graph_endpoint=emulator.endpoint,
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
    """Every kind whose allow-list is an ARM resource or a Graph object (what the emulator's
    log sees)."""
    from sync.kinds import KIND_NAMES, get_kind

    kinds = [n for n in KIND_NAMES if get_kind(n).arm_type or get_kind(n).needs.graph]
    assert sorted(row.kind for row in ROWS) == sorted(kinds)


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
        problems = out_of_scope(
            write["method"], write["body"], write["before"], row.allowed, ARM_SETS + row.read_only
        )
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
