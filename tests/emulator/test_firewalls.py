"""Storage, Key Vault, Container Registry, SQL and IP Groups as their real SDKs see them:
status codes, LRO headers and shapes of the REST API spec examples, validation and limits."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.containerregistry import ContainerRegistryManagementClient
from azure.mgmt.containerregistry import models as acr
from azure.mgmt.keyvault import KeyVaultManagementClient
from azure.mgmt.keyvault import models as kv
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.network.models import IpGroup, TagsObject
from azure.mgmt.sql import SqlManagementClient
from azure.mgmt.sql import models as sql
from azure.mgmt.storage import StorageManagementClient
from azure.mgmt.storage import models as st

from armemu import Emulator

from .helpers import SUB, WEAK_ETAG, Recorder, raw, sdk_client

RG = "rg"
AUTH = {"Authorization": "Bearer t"}
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"


def refused(call: Any) -> Any:
    with pytest.raises(HttpResponseError) as info:
        call()
    assert info.value.status_code == 400, info.value
    return info.value.error


# ----- Storage ---------------------------------------------------------------------------------
def storage_rules(*values: str, default: str = "Deny") -> st.NetworkRuleSet:
    return st.NetworkRuleSet(
        default_action=default, ip_rules=[st.IPRule(ip_address_or_range=v) for v in values]
    )


@pytest.fixture
def storage(emulator: Emulator) -> Any:
    return sdk_client(StorageManagementClient, emulator).storage_accounts


def create_account(storage: Any, name: str = "sto1", hook: Any = None, **kwargs: Any) -> Any:
    params = st.StorageAccountCreateParameters(
        sku=st.Sku(name="Standard_LRS"), kind="StorageV2", location="westeurope",
        properties=st.StorageAccountPropertiesCreateParameters(**kwargs),
    )  # fmt: skip
    return storage.begin_create(RG, name, params, raw_response_hook=hook).result()


def test_storage_put_is_202_location_then_200(emulator: Emulator, storage: Any) -> None:
    hook = Recorder()
    account = create_account(storage, hook=hook)
    put, *polls = hook.seen
    # StorageAccountCreate example: 200 or 202 with an empty body and a Location to poll
    assert (put.status, put.body) == (202, None)
    assert put.headers["location"].startswith(
        f"{emulator.endpoint}/subscriptions/{SUB}/providers/Microsoft.Storage/locations/westeurope/"
        "operationResults/"
    )
    assert [p.status for p in polls] == [202, 200]
    assert polls[-1].body["properties"]["provisioningState"] == "Succeeded"
    assert account.name == "sto1"
    assert account.network_rule_set.default_action == "Allow"
    assert account.network_rule_set.bypass == "AzureServices"
    got = storage.get_properties(RG, "sto1")
    assert got.primary_endpoints.blob == "https://sto1.blob.core.windows.net/"
    assert [a.name for a in storage.list_by_resource_group(RG)] == ["sto1"]


def test_storage_patch_is_200_and_replaces_acls(emulator: Emulator, storage: Any) -> None:
    create_account(storage)
    hook = Recorder()
    updated = storage.update(
        RG, "sto1",
        st.StorageAccountUpdateParameters(properties=st.StorageAccountPropertiesUpdateParameters(
            network_rule_set=storage_rules("20.1.2.3", "20.1.2.0/24"))),
        raw_response_hook=hook,
    )  # fmt: skip
    assert [s.status for s in hook.seen] == [200]
    acls = hook.seen[0].body["properties"]["networkAcls"]
    # StorageAccountUpdate example's networkAcls fields
    assert set(acls) >= {"bypass", "defaultAction", "ipRules", "virtualNetworkRules"}
    assert acls["ipRules"] == [
        {"value": "20.1.2.3", "action": "Allow"}, {"value": "20.1.2.0/24", "action": "Allow"}
    ]  # fmt: skip
    assert [r.ip_address_or_range for r in updated.network_rule_set.ip_rules] == [
        "20.1.2.3", "20.1.2.0/24"
    ]  # fmt: skip
    history = emulator.history()[updated.id]
    assert history == [[], ["20.1.2.3", "20.1.2.0/24"]]


@pytest.mark.parametrize(
    ("values", "parameter"),
    [
        (["10.1.0.0/16"], "networkAcls.ipRule[*].value"),  # RFC 1918
        (["127.0.0.1"], "networkAcls.ipRule[*].value"),  # loopback
        (["192.168.1.1"], "networkAcls.ipRule[*].value"),
        (["20.1.2.2/31"], "networkAcls.ipRule[*].value"),  # /31 and /32 are refused
        (["20.1.2.3/32"], "networkAcls.ipRule[*].value"),
        (["20.1.2.300"], "networkAcls.ipRule[*].value"),
        (["20.1.2.1/24"], "networkAcls.ipRule[*].value"),  # host bits
        ([f"20.{i // 256}.{i % 256}.1" for i in range(401)], "networkAcls.ipRules[]"),
    ],
    ids=["rfc1918", "loopback", "192.168", "slash31", "slash32", "malformed", "hostbits", "401"],
)
def test_storage_refuses(storage: Any, values: list[str], parameter: str) -> None:
    create_account(storage)
    error = refused(lambda: storage.update(RG, "sto1", st.StorageAccountUpdateParameters(
        properties=st.StorageAccountPropertiesUpdateParameters(
            network_rule_set=storage_rules(*values)))))  # fmt: skip
    assert error.code == "InvalidValuesForRequestParameters"
    assert error.message == (
        f"Values for request parameters are invalid: {parameter}. For more information, see - "
        "https://aka.ms/storagenetworkruleset"
    )
    assert storage.get_properties(RG, "sto1").network_rule_set.ip_rules == []


def test_storage_limit_is_400_rules_and_default_action_required(
    emulator: Emulator, storage: Any
) -> None:
    create_account(storage)
    values = [f"20.{i // 256}.{i % 256}.1" for i in range(400)]
    rules = [{"value": v} for v in values]
    patch = {"properties": {"networkAcls": {"defaultAction": "Deny", "ipRules": rules}}}
    path = (
        f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Storage/storageAccounts/sto1"
    )
    status, _, body = raw(emulator, "PATCH", path + "?api-version=2023-01-01", body=patch,
                          headers=AUTH)  # fmt: skip
    assert status == 200
    assert len(body["properties"]["networkAcls"]["ipRules"]) == 400
    del patch["properties"]["networkAcls"]["defaultAction"]
    status, _, body = raw(emulator, "PATCH", path + "?api-version=2023-01-01", body=patch,
                          headers=AUTH)  # fmt: skip
    assert (status, body["error"]["code"]) == (400, "InvalidValuesForRequestParameters")
    assert "networkAcls.defaultAction" in body["error"]["message"]


# ----- Key Vault -------------------------------------------------------------------------------
@pytest.fixture
def vaults(emulator: Emulator) -> Any:
    return sdk_client(KeyVaultManagementClient, emulator).vaults


def vault_params(*values: str) -> kv.VaultCreateOrUpdateParameters:
    return kv.VaultCreateOrUpdateParameters(
        location="westeurope",
        properties=kv.VaultProperties(
            tenant_id=TENANT, sku=kv.Sku(family="A", name="standard"), access_policies=[],
            network_acls=kv.NetworkRuleSet(default_action="Deny",
                                           ip_rules=[kv.IPRule(value=v) for v in values]),
        ),
    )  # fmt: skip


def test_vault_put_polls_body_and_normalises_addresses(emulator: Emulator, vaults: Any) -> None:
    hook = Recorder()
    vault = vaults.begin_create_or_update(
        RG, "kv1", vault_params("20.1.2.3", "20.1.0.0/16"), raw_response_hook=hook
    ).result()
    # 201 with provisioningState RegisteringDns, then GETs of the vault until Succeeded
    assert [s.status for s in hook.seen] == [201, 200, 200]
    assert [s.body["properties"]["provisioningState"] for s in hook.seen] == [
        "RegisteringDns", "RegisteringDns", "Succeeded",
    ]  # fmt: skip
    assert "azure-asyncoperation" not in hook.seen[0].headers
    assert [r.value for r in vault.properties.network_acls.ip_rules] == [
        "20.1.2.3/32", "20.1.0.0/16"
    ]  # fmt: skip
    assert vault.properties.vault_uri == "https://kv1.vault.azure.net/"
    hook = Recorder()
    patched = vaults.update(
        RG, "kv1",
        kv.VaultPatchParameters(properties=kv.VaultPatchProperties(network_acls=kv.NetworkRuleSet(
            default_action="Deny", ip_rules=[kv.IPRule(value="40.0.0.1")]))),
        raw_response_hook=hook,
    )  # fmt: skip
    assert [s.status for s in hook.seen] == [200]
    assert [r.value for r in patched.properties.network_acls.ip_rules] == ["40.0.0.1/32"]
    assert patched.properties.tenant_id == TENANT  # PATCH keeps what it does not name
    assert emulator.history()[vault.id] == [["20.1.2.3/32", "20.1.0.0/16"], ["40.0.0.1/32"]]


def test_vault_refuses_private_ranges_and_needs_tenant(emulator: Emulator, vaults: Any) -> None:
    error = refused(lambda: vaults.begin_create_or_update(RG, "kv1", vault_params("10.0.0.0/8")))
    assert error.code == "BadRequest"
    assert error.message == (
        "Invalid value found at properties.networkAcls.ipRules[0].value: 10.0.0.0/8 belongs to "
        "forbidden range 10.0.0.0\u201310.255.255.255 (private IP addresses)"
    )
    path = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.KeyVault/vaults/kv2"
    body = {"location": "westeurope", "properties": {"sku": {"family": "A", "name": "standard"}}}
    status, _, answer = raw(emulator, "PUT", path + "?api-version=2023-07-01", body=body,
                            headers=AUTH)  # fmt: skip
    assert status == 400
    assert "tenantId" in answer["error"]["message"]
    values = [f"20.{i // 256}.{i % 256}.0/24" for i in range(1001)]
    error = refused(lambda: vaults.begin_create_or_update(RG, "kv1", vault_params(*values)))
    assert error.code == "BadRequest"
    assert "1000" in error.message
    vaults.begin_create_or_update(RG, "kv1", vault_params(*values[:1000])).result()


# ----- Container Registry ----------------------------------------------------------------------
@pytest.fixture
def registries(emulator: Emulator) -> Any:
    return sdk_client(ContainerRegistryManagementClient, emulator).registries


def registry(sku: str, *values: str) -> acr.Registry:
    rules = acr.NetworkRuleSet(
        default_action="Deny", ip_rules=[acr.IPRule(ip_address_or_range=v) for v in values]
    )
    return acr.Registry(location="westeurope", sku=acr.Sku(name=sku),
                        properties=acr.RegistryProperties(network_rule_set=rules))  # fmt: skip


def test_registry_put_and_patch_are_async_operations(emulator: Emulator, registries: Any) -> None:
    hook = Recorder()
    made = registries.begin_create(RG, "acr1", registry("Premium", "20.1.2.3"),
                                   raw_response_hook=hook).result()  # fmt: skip
    put = hook.seen[0]
    assert put.status == 201
    assert put.body["properties"]["provisioningState"] == "Creating"
    assert put.headers["azure-asyncoperation"].startswith(
        f"{emulator.endpoint}/subscriptions/{SUB}/providers/Microsoft.ContainerRegistry/locations/"
    )
    assert made.properties.login_server == "acr1.azurecr.io"
    hook = Recorder()
    update = acr.RegistryUpdateParameters(properties=acr.RegistryPropertiesUpdateParameters(
        network_rule_set=acr.NetworkRuleSet(default_action="Deny", ip_rules=[
            acr.IPRule(ip_address_or_range="20.1.2.0/24")])))  # fmt: skip
    updated = registries.begin_update(RG, "acr1", update, raw_response_hook=hook).result()
    assert hook.seen[0].status == 200
    assert "azure-asyncoperation" in hook.seen[0].headers
    assert [r.ip_address_or_range for r in updated.properties.network_rule_set.ip_rules] == [
        "20.1.2.0/24"
    ]
    assert emulator.history()[made.id] == [["20.1.2.3"], ["20.1.2.0/24"]]


def test_registry_ip_rules_need_premium_and_stop_at_100(registries: Any) -> None:
    error = refused(lambda: registries.begin_create(RG, "acr2", registry("Standard", "20.1.2.3")))
    assert error.code == "NetworkRuleSetNotSupported"
    assert "Standard" in error.message
    values = [f"20.1.{i}.0/24" for i in range(101)]
    error = refused(lambda: registries.begin_create(RG, "acr3", registry("Premium", *values)))
    assert error.code == "TooManyIpRules"
    registries.begin_create(RG, "acr3", registry("Premium", *values[:100])).result()
    with pytest.raises(ResourceNotFoundError):
        registries.get(RG, "acr2")


# ----- SQL -------------------------------------------------------------------------------------
@pytest.fixture
def sql_client(emulator: Emulator) -> Any:
    client = sdk_client(SqlManagementClient, emulator)
    client.servers.begin_create_or_update(
        RG,
        "sql1",
        sql.Server(
            location="westeurope", administrator_login="admin", administrator_login_password="x"
        ),
    ).result()
    return client


def rule(start: str, end: str) -> sql.FirewallRule:
    return sql.FirewallRule(start_ip_address=start, end_ip_address=end)


def test_sql_firewall_rules_put_get_list_delete(emulator: Emulator, sql_client: Any) -> None:
    rules = sql_client.firewall_rules
    hook = Recorder()
    rules.create_or_update(RG, "sql1", "office", rule("20.1.2.3", "20.1.2.9"),
                           raw_response_hook=hook)  # fmt: skip
    rules.create_or_update(RG, "sql1", "office", rule("20.1.2.3", "20.1.2.10"),
                           raw_response_hook=hook)  # fmt: skip
    rules.create_or_update(RG, "sql1", "AllowAllWindowsAzureIps", rule("0.0.0.0", "0.0.0.0"))
    assert [s.status for s in hook.seen] == [201, 200]
    assert hook.seen[0].body["type"] == "Microsoft.Sql/servers/firewallRules"
    assert rules.get(RG, "sql1", "OFFICE").end_ip_address == "20.1.2.10"
    assert sorted(r.name for r in rules.list_by_server(RG, "sql1")) == [
        "AllowAllWindowsAzureIps", "office",
    ]  # fmt: skip
    hook = Recorder()
    rules.delete(RG, "sql1", "office", raw_response_hook=hook)
    rules.delete(RG, "sql1", "office", raw_response_hook=hook)
    assert [s.status for s in hook.seen] == [200, 204]
    server_id = sql_client.servers.get(RG, "sql1").id
    assert emulator.history()[server_id] == [
        {},
        {"office": "20.1.2.3-20.1.2.9"},
        {"office": "20.1.2.3-20.1.2.10"},
        {"office": "20.1.2.3-20.1.2.10", "AllowAllWindowsAzureIps": "0.0.0.0-0.0.0.0"},
        {"AllowAllWindowsAzureIps": "0.0.0.0-0.0.0.0"},
    ]


@pytest.mark.parametrize(
    ("name", "start", "end", "code"),
    [
        ("r", "2001:db8::1", "2001:db8::2", "FirewallRuleNotIPv4Address"),
        ("r", "20.1.2.9", "20.1.2.3", "FirewallRuleInvalidRange"),
        ("bad*name", "20.1.2.3", "20.1.2.3", "FirewallRuleNameInvalid"),
        ("ends.", "20.1.2.3", "20.1.2.3", "FirewallRuleNameInvalid"),
    ],
)
def test_sql_refuses(sql_client: Any, name: str, start: str, end: str, code: str) -> None:
    error = refused(
        lambda: sql_client.firewall_rules.create_or_update(RG, "sql1", name, rule(start, end))
    )
    assert error.code == code
    assert list(sql_client.firewall_rules.list_by_server(RG, "sql1")) == []


def test_sql_stops_at_256_rules(emulator: Emulator, sql_client: Any) -> None:
    base = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Sql/servers/sql1"
    for i in range(256):
        body = {"properties": {"startIpAddress": f"20.1.{i}.1", "endIpAddress": f"20.1.{i}.1"}}
        assert raw(emulator, "PUT", f"{base}/firewallRules/r{i}?api-version=2021-11-01",
                   body=body, headers=AUTH)[0] == 201  # fmt: skip
    error = refused(
        lambda: sql_client.firewall_rules.create_or_update(
            RG, "sql1", "one-more", rule("20.2.0.1", "20.2.0.1")
        )
    )
    assert error.code == "TooManyFirewallRules"


# ----- IP Groups -------------------------------------------------------------------------------
@pytest.fixture
def ip_groups(emulator: Emulator) -> Any:
    return sdk_client(NetworkManagementClient, emulator).ip_groups


def test_ip_group_put_patch_delete(emulator: Emulator, ip_groups: Any) -> None:
    hook = Recorder()
    entries = ["20.1.2.3", "20.1.0.0/16", "20.3.0.1-20.3.0.9"]
    group = ip_groups.begin_create_or_update(
        RG, "ipg1", IpGroup(location="westeurope", ip_addresses=entries), raw_response_hook=hook
    ).result()
    put = hook.seen[0]
    assert put.status == 201
    assert put.body["properties"]["provisioningState"] == "Updating"
    assert "azure-asyncoperation" in put.headers
    assert WEAK_ETAG.match(group.etag)
    assert group.ip_addresses == entries
    tagged = ip_groups.update_groups(RG, "ipg1", TagsObject(tags={"ipsync": "AzureCloud"}))
    assert (tagged.tags, tagged.ip_addresses) == ({"ipsync": "AzureCloud"}, entries)
    hook = Recorder()
    ip_groups.begin_delete(RG, "ipg1", raw_response_hook=hook).result()
    assert hook.seen[0].status == 202
    assert {"azure-asyncoperation", "location"} <= set(hook.seen[0].headers)
    with pytest.raises(ResourceNotFoundError):
        ip_groups.get(RG, "ipg1")
    assert emulator.history()[group.id] == [entries, entries]  # the create, the tag PATCH


@pytest.mark.parametrize("entry", ["2001:db8::/32", "20.1.2.9-20.1.2.3", "nonsense", "1.2.3.4/33"])
def test_ip_group_refuses(ip_groups: Any, entry: str) -> None:
    error = refused(lambda: ip_groups.begin_create_or_update(
        RG, "ipg1", IpGroup(location="westeurope", ip_addresses=[entry])))  # fmt: skip
    assert error.code == "InvalidIpAddressInIpGroup"


def test_ip_group_limit_is_5000(ip_groups: Any) -> None:
    entries = [f"20.{i // 256}.{i % 256}.1" for i in range(5001)]
    error = refused(lambda: ip_groups.begin_create_or_update(
        RG, "ipg1", IpGroup(location="westeurope", ip_addresses=entries)))  # fmt: skip
    assert error.code == "IpGroupIpAddressesLimitReached"
    group = ip_groups.begin_create_or_update(
        RG, "ipg1", IpGroup(location="westeurope", ip_addresses=entries[:5000])
    ).result()
    assert len(group.ip_addresses) == 5000


def test_slow_ip_group_answers_409_while_policy_updates() -> None:
    with Emulator(slow={"ipGroups": 3}) as emu:
        path = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Network/ipGroups/g"
        body = {"location": "westeurope", "properties": {"ipAddresses": ["20.1.2.3"]}}
        status, head, _ = raw(emu, "PUT", path + "?api-version=2024-05-01", body=body,
                              headers=AUTH)  # fmt: skip
        assert status == 201
        status, again, answer = raw(emu, "PUT", path + "?api-version=2024-05-01", body=body,
                                    headers=AUTH)  # fmt: skip
        assert (status, answer["error"]["code"]) == (409, "AnotherOperationInProgress")
        assert head["azure-asyncoperation"] in answer["error"]["message"]
        assert "retry-after" in again
        poll = head["azure-asyncoperation"].removeprefix(emu.endpoint)
        statuses = [raw(emu, "GET", poll, headers=AUTH)[2]["status"] for _ in range(4)]
        assert statuses == ["InProgress"] * 3 + ["Succeeded"]
        assert raw(emu, "PUT", path + "?api-version=2024-05-01", body=body,
                   headers=AUTH)[0] == 200  # fmt: skip


def test_new_kinds_survive_restart(tmp_path: Any) -> None:
    state = tmp_path / "state.json"
    with Emulator(state_file=state, lro_polls=0) as emu:
        rules = sdk_client(SqlManagementClient, emu)
        rules.servers.begin_create_or_update(RG, "s", sql.Server(location="westeurope")).result()
        rules.firewall_rules.create_or_update(RG, "s", "r", rule("20.1.2.3", "20.1.2.4"))
    with Emulator(state_file=state) as emu:
        got = sdk_client(SqlManagementClient, emu).firewall_rules.get(RG, "s", "r")
    assert (got.start_ip_address, got.end_ip_address) == ("20.1.2.3", "20.1.2.4")
