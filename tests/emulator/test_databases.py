"""PostgreSQL and MySQL flexible servers' firewall rules through their real SDKs: the 202 and
operation of every rule write, shapes of the REST API spec examples, validation, limits, history
and parallel rule operations."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.mysqlflexibleservers import MySQLManagementClient
from azure.mgmt.mysqlflexibleservers import models as my
from azure.mgmt.postgresqlflexibleservers import PostgreSQLManagementClient
from azure.mgmt.postgresqlflexibleservers import models as pg

from armemu import Emulator
from armemu.catalog import KINDS
from armemu.databases import MYSQL_FIREWALL_RULES, POSTGRESQL_FIREWALL_RULES
from armemu.state import Write

from .helpers import SUB, Recorder, raw, sdk_client

RG = "rg"
AUTH = {"Authorization": "Bearer t"}
PROVIDERS = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers"
PG_SERVER = f"{PROVIDERS}/Microsoft.DBforPostgreSQL/flexibleServers/pg1"
MY_SERVER = f"{PROVIDERS}/Microsoft.DBforMySQL/flexibleServers/my1"


@pytest.fixture
def postgres(emulator: Emulator) -> Any:
    client = sdk_client(PostgreSQLManagementClient, emulator)
    hook = Recorder()
    client.servers.begin_create_or_update(
        RG, "pg1", pg.Server(location="westeurope", sku=pg.Sku(name="Standard_D4ds_v5",
                                                              tier="GeneralPurpose")),
        raw_response_hook=hook,
    ).result()  # fmt: skip
    # ServersCreateWithMicrosoftEntraEnabledInYourOwnVirtualNetworkWithoutHighAvailability.json:
    # 202 without a body, Azure-AsyncOperation and Location
    assert (hook.seen[0].status, hook.seen[0].body) == (202, None)
    assert {"azure-asyncoperation", "location"} <= set(hook.seen[0].headers)
    return client


@pytest.fixture
def mysql(emulator: Emulator) -> Any:
    client = sdk_client(MySQLManagementClient, emulator)
    client.servers.begin_create(RG, "my1", my.Server(location="westeurope")).result()
    return client


def test_postgresql_rule_put_is_202_and_an_operation(emulator: Emulator, postgres: Any) -> None:
    hook = Recorder()
    made = postgres.firewall_rules.begin_create_or_update(
        RG, "pg1", "office", pg.FirewallRule(properties=pg.FirewallRuleProperties(
            start_ip_address="20.1.2.3", end_ip_address="20.1.2.9")),
        raw_response_hook=hook,
    ).result()  # fmt: skip
    put, *polls, final = hook.seen
    # stable/2025-08-01/examples/FirewallRulesCreateOrUpdate.json: 202, no body, both headers
    assert (put.status, put.body) == (202, None)
    base = (f"{emulator.endpoint}/subscriptions/{SUB}/providers/Microsoft.DBforPostgreSQL/"
            "locations/westeurope")  # fmt: skip
    assert put.headers["azure-asyncoperation"].startswith(f"{base}/azureAsyncOperation/")
    assert put.headers["location"].startswith(f"{base}/operationResults/")
    assert [p.body["status"] for p in polls] == ["InProgress", "Succeeded"]
    # stable/2025-08-01/examples/FirewallRulesGet.json
    assert final.body == {
        "id": f"{PG_SERVER}/firewallRules/office", "name": "office",
        "type": "Microsoft.DBforPostgreSQL/flexibleServers/firewallRules",
        "properties": {"startIpAddress": "20.1.2.3", "endIpAddress": "20.1.2.9"},
    }  # fmt: skip
    assert made.properties.end_ip_address == "20.1.2.9"
    postgres.firewall_rules.begin_create_or_update(
        RG, "pg1", "AllowAllAzureServicesAndResourcesWithinAzureIps",
        pg.FirewallRule(properties=pg.FirewallRuleProperties(
            start_ip_address="0.0.0.0", end_ip_address="0.0.0.0")),
    ).result()  # fmt: skip
    # stable/2025-08-01/examples/FirewallRulesListByServer.json
    listed = raw(emulator, "GET", f"{PG_SERVER}/firewallRules?api-version=2025-08-01",
                 headers=AUTH)[2]  # fmt: skip
    assert sorted(r["name"] for r in listed["value"]) == [
        "AllowAllAzureServicesAndResourcesWithinAzureIps", "office"]  # fmt: skip
    hook = Recorder()
    postgres.firewall_rules.begin_delete(RG, "pg1", "office", raw_response_hook=hook).result()
    # stable/2025-08-01/examples/FirewallRulesDelete.json: 202 with both headers, or 204
    assert hook.seen[0].status == 202
    assert {"azure-asyncoperation", "location"} <= set(hook.seen[0].headers)
    with pytest.raises(ResourceNotFoundError):
        postgres.firewall_rules.get(RG, "pg1", "office")
    assert raw(emulator, "DELETE", f"{PG_SERVER}/firewallRules/office?api-version=2025-08-01",
               headers=AUTH)[0] == 204  # fmt: skip
    server_id = postgres.servers.get(RG, "pg1").id
    assert emulator.history()[server_id] == [
        {},
        {"office": "20.1.2.3-20.1.2.9"},
        {"office": "20.1.2.3-20.1.2.9",
         "AllowAllAzureServicesAndResourcesWithinAzureIps": "0.0.0.0-0.0.0.0"},
        {"AllowAllAzureServicesAndResourcesWithinAzureIps": "0.0.0.0-0.0.0.0"},
    ]  # fmt: skip
    # the server PUT, two rule PUTs, two DELETEs (one of them of a rule already gone)
    assert emulator.stats()["writes_by_resource"][server_id.lower()] == 5


def test_rules_of_one_server_change_in_parallel(emulator: Emulator, postgres: Any) -> None:
    """Each rule has its own operation; a rule stays visible until its delete completes, so
    make-before-break can be checked in the history."""
    body = {"properties": {"startIpAddress": "20.1.2.3", "endIpAddress": "20.1.2.3"}}
    url = f"{PG_SERVER}/firewallRules/{{}}?api-version=2026-10-01"
    first = raw(emulator, "PUT", url.format("a"), body=body, headers=AUTH)
    second = raw(emulator, "PUT", url.format("b"), body=body, headers=AUTH)
    assert (first[0], second[0]) == (202, 202)
    again = raw(emulator, "PUT", url.format("a"), body=body, headers=AUTH)
    assert (again[0], again[2]["error"]["code"]) == (409, "AnotherOperationInProgress")
    assert first[1]["azure-asyncoperation"] in again[2]["error"]["message"]
    gone = raw(emulator, "DELETE", url.format("a"), headers=AUTH)
    assert gone[0] == 409  # its create still runs
    for reply in (first, second):
        poll = reply[1]["azure-asyncoperation"].removeprefix(emulator.endpoint)
        assert [raw(emulator, "GET", poll, headers=AUTH)[2]["status"] for _ in range(2)] == [
            "InProgress", "Succeeded"]  # fmt: skip
    gone = raw(emulator, "DELETE", url.format("a"), headers=AUTH)
    assert raw(emulator, "GET", url.format("a"), headers=AUTH)[0] == 200  # until it completes
    result = gone[1]["location"].removeprefix(emulator.endpoint)
    assert [raw(emulator, "GET", result, headers=AUTH)[0] for _ in range(2)] == [202, 204]
    assert raw(emulator, "GET", url.format("a"), headers=AUTH)[0] == 404
    history = emulator.history()[PG_SERVER]
    assert history[1:] == [{"a": "20.1.2.3-20.1.2.3"},
                           {"a": "20.1.2.3-20.1.2.3", "b": "20.1.2.3-20.1.2.3"},
                           {"b": "20.1.2.3-20.1.2.3"}]  # fmt: skip


def test_failed_rule_operation_restores_the_rule(emulator: Emulator, postgres: Any) -> None:
    rule = pg.FirewallRule(properties=pg.FirewallRuleProperties(
        start_ip_address="20.1.2.3", end_ip_address="20.1.2.4"))  # fmt: skip
    postgres.firewall_rules.begin_create_or_update(RG, "pg1", "r", rule).result()
    emulator.add_faults([{"method": "PUT", "path_contains": "/firewallRules/r", "lro": "Failed"}])
    rule.properties.end_ip_address = "20.1.2.200"
    with pytest.raises(HttpResponseError):
        postgres.firewall_rules.begin_create_or_update(RG, "pg1", "r", rule).result()
    assert postgres.firewall_rules.get(RG, "pg1", "r").properties.end_ip_address == "20.1.2.4"
    assert emulator.history()[PG_SERVER] == [{}, {"r": "20.1.2.3-20.1.2.4"}]


@pytest.mark.parametrize(
    ("name", "start", "end", "parameter"),
    [
        ("r", "2001:db8::1", "2001:db8::2", "startIpAddress"),
        ("r", "20.1.2.9", "20.1.2.3", "endIpAddress"),
        ("r", "20.1.2.3", "20.1.2", "endIpAddress"),
        ("r", "020.1.2.3", "20.1.2.3", "startIpAddress"),
        ("bad.name", "20.1.2.3", "20.1.2.3", "firewallRuleName"),
        ("ends-", "20.1.2.3", "20.1.2.3", "firewallRuleName"),
    ],
)
def test_postgresql_refuses(postgres: Any, name: str, start: str, end: str,
                            parameter: str) -> None:  # fmt: skip
    with pytest.raises(HttpResponseError) as info:
        postgres.firewall_rules.begin_create_or_update(
            RG, "pg1", name, pg.FirewallRule(properties=pg.FirewallRuleProperties(
                start_ip_address=start, end_ip_address=end)))  # fmt: skip
    assert (info.value.status_code, info.value.error.code) == (400, "InvalidParameterValue")
    assert parameter in info.value.error.message
    assert list(postgres.firewall_rules.list_by_server(RG, "pg1")) == []


def test_mysql_rules_through_the_sdk(emulator: Emulator, mysql: Any) -> None:
    # the SDK follows Location (final-state-via location): it must end with the rule
    made = mysql.firewall_rules.begin_create_or_update(
        RG, "my1", "rule1", my.FirewallRule(start_ip_address="20.1.2.0",
                                            end_ip_address="20.1.2.255"),
    ).result()  # fmt: skip
    assert (made.name, made.end_ip_address) == ("rule1", "20.1.2.255")
    # FlexibleServers/stable/2024-12-30/examples/FirewallRuleCreate.json allows 202;
    # FirewallRuleDelete.json shows it with Azure-AsyncOperation and Location
    body = {"properties": {"startIpAddress": "20.1.3.0", "endIpAddress": "20.1.3.9"}}
    url = f"{MY_SERVER}/firewallRules/rule2?api-version=2024-12-30"
    status, head, answer = raw(emulator, "PUT", url, body=body, headers=AUTH)
    assert (status, answer) == (202, None)
    assert "/providers/Microsoft.DBforMySQL/locations/westeurope/azureAsyncOperation/" in head[
        "azure-asyncoperation"]  # fmt: skip
    result = head["location"].removeprefix(emulator.endpoint)
    assert [raw(emulator, "GET", result, headers=AUTH)[0] for _ in range(2)] == [202, 200]
    # FlexibleServers/examples/2024-12-30/FirewallRuleGet.json
    assert raw(emulator, "GET", result, headers=AUTH)[2] == {
        "id": f"{MY_SERVER}/firewallRules/rule2", "name": "rule2",
        "type": "Microsoft.DBforMySQL/flexibleServers/firewallRules",
        "properties": {"startIpAddress": "20.1.3.0", "endIpAddress": "20.1.3.9"},
    }  # fmt: skip
    assert sorted(r.name for r in mysql.firewall_rules.list_by_server(RG, "my1")) == [
        "rule1", "rule2"]  # fmt: skip
    mysql.firewall_rules.begin_delete(RG, "my1", "rule1").result()
    assert [r.name for r in mysql.firewall_rules.list_by_server(RG, "my1")] == ["rule2"]
    assert emulator.history()[MY_SERVER][-1] == {"rule2": "20.1.3.0-20.1.3.9"}


@pytest.mark.parametrize(
    ("server", "bound", "version"),
    [(MY_SERVER, MYSQL_FIREWALL_RULES, "2024-12-30"),
     (PG_SERVER, POSTGRESQL_FIREWALL_RULES, "2025-08-01")],
)  # fmt: skip
def test_rule_limits(server: str, bound: int, version: str) -> None:
    with Emulator(lro_polls=0) as emu:
        assert raw(emu, "PUT", f"{server}?api-version={version}", headers=AUTH,
                   body={"location": "westeurope"})[0] == 202  # fmt: skip
        kind = KINDS[server.split("/providers/")[1].rsplit("/", 1)[0].lower()]
        for i in range(bound):  # filled in-process: the HTTP path is the same for each
            body = {"properties": {"startIpAddress": f"20.{i // 256}.{i % 256}.1",
                                   "endIpAddress": f"20.{i // 256}.{i % 256}.1"}}  # fmt: skip
            emu.store.put_child(kind, SUB, RG, server.rsplit("/", 1)[1], f"r{i}", body,
                                Write(api_version=version))  # fmt: skip
        status, _, answer = raw(emu, "PUT", f"{server}/firewallRules/more?api-version={version}",
                                body=body, headers=AUTH)  # fmt: skip
        assert (status, answer["error"]["code"]) == (400, "FirewallRuleLimitExceeded")
        assert str(bound) in answer["error"]["message"]
        assert raw(emu, "PUT", f"{server}/firewallRules/r0?api-version={version}", body=body,
                   headers=AUTH)[0] == 202  # replacing one stays within the limit  # fmt: skip


def test_default_versions_and_graph_rows(emulator: Emulator, postgres: Any, mysql: Any) -> None:
    status, _, body = raw(emulator, "POST", "/providers/Microsoft.ResourceGraph/resources"
                          "?api-version=2024-04-01", headers=AUTH, body={
        "subscriptions": [SUB], "query": "resources | where type in~ ("
        "'Microsoft.DBforPostgreSQL/flexibleServers', 'Microsoft.DBforMySQL/flexibleServers') "
        "| project id, type"})  # fmt: skip
    assert status == 200
    assert sorted(r["type"] for r in body["data"]) == [
        "microsoft.dbformysql/flexibleservers",
        "microsoft.dbforpostgresql/flexibleservers",
    ]
    status, _, answer = raw(emulator, "GET", f"{PG_SERVER}?api-version=2099-01-01", headers=AUTH)
    assert (status, answer["error"]["code"]) == (400, "NoRegisteredProviderFound")
    assert "2026-10-01" in answer["error"]["message"]  # the SDK's default is served
