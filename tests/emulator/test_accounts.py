"""Cosmos DB and Azure AI services accounts through their real SDKs: long-running updates,
shapes of the REST API spec examples, the IP rules each service accepts, limits and history."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient
from azure.mgmt.cognitiveservices import models as cs
from azure.mgmt.cosmosdb import CosmosDBManagementClient

from armemu import Emulator
from armemu.cognitive import COGNITIVE_IP_RULES

from .helpers import SUB, WEAK_ETAG, Recorder, raw, sdk_client

RG = "rg"
AUTH = {"Authorization": "Bearer t"}
COSMOS = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.DocumentDB/databaseAccounts"
#: CosmosDBDatabaseAccountCreateMin.json's body
CREATE_MIN = {"location": "westus", "properties": {
    "databaseAccountOfferType": "Standard", "createMode": "Default",
    "locations": [{"failoverPriority": 0, "locationName": "southcentralus",
                   "isZoneRedundant": False}]}}  # fmt: skip


def finish(emulator: Emulator, head: dict[str, str]) -> None:
    """Poll an operation until it ends."""
    poll = head["azure-asyncoperation"].removeprefix(emulator.endpoint)
    while raw(emulator, "GET", poll, headers=AUTH)[2]["status"] == "InProgress":
        pass


def rules(*values: str) -> dict[str, Any]:
    return {"properties": {"ipRules": [{"ipAddressOrRange": v} for v in values]}}


@pytest.fixture
def accounts(emulator: Emulator) -> Any:
    client = sdk_client(CosmosDBManagementClient, emulator).database_accounts
    hook = Recorder()
    client.begin_create_or_update(RG, "ddb1", CREATE_MIN, raw_response_hook=hook).result()
    # the spec declares 200 only for CreateOrUpdate (a 201 would fail the SDK)
    assert hook.seen[0].status == 200
    assert hook.seen[0].body["properties"]["provisioningState"] == "Creating"
    return client


def test_cosmos_patch_is_200_then_an_operation(emulator: Emulator, accounts: Any) -> None:
    hook = Recorder()
    # stable/2025-04-15/examples/CosmosDBDatabaseAccountPatch.json's ipRules, host bits and all
    updated = accounts.begin_update(RG, "ddb1", rules("23.43.230.120", "110.12.240.0/12"),
                                    raw_response_hook=hook).result()  # fmt: skip
    patch = hook.seen[0]
    assert patch.status == 200
    assert patch.body["properties"]["provisioningState"] == "Updating"
    base = (
        f"{emulator.endpoint}/subscriptions/{SUB}/providers/Microsoft.DocumentDB/locations/westus"
    )
    assert patch.headers["azure-asyncoperation"].startswith(f"{base}/operationsStatus/")
    assert patch.headers["location"].startswith(f"{base}/operationResults/")
    assert [r.ip_address_or_range for r in updated.properties.ip_rules] == [
        "23.43.230.120", "110.12.240.0/12"]  # fmt: skip
    got = raw(emulator, "GET", f"{COSMOS}/ddb1?api-version=2025-04-15", headers=AUTH)[2]
    # the Patch example's response: documentEndpoint, ipRules, provisioningState Succeeded
    assert got["properties"]["documentEndpoint"] == "https://ddb1.documents.azure.com:443/"
    assert got["properties"]["provisioningState"] == "Succeeded"
    assert got["kind"] == "GlobalDocumentDB"
    accounts.begin_update(RG, "ddb1", rules("0.0.0.0", "23.43.230.120")).result()
    assert emulator.history()[f"{COSMOS}/ddb1"] == [
        [], ["23.43.230.120", "110.12.240.0/12"], ["0.0.0.0", "23.43.230.120"]]  # fmt: skip


@pytest.mark.parametrize(
    "value", ["10.1.2.3", "100.64.0.0/16", "172.16.5.0/24", "192.168.1.1", "2001:db8::1",
              "20.1.2", "nonsense"],
)  # fmt: skip
def test_cosmos_refuses(accounts: Any, value: str) -> None:
    with pytest.raises(HttpResponseError) as info:
        accounts.begin_update(RG, "ddb1", rules("20.1.2.3", value)).result()
    assert (info.value.status_code, info.value.error.code) == (400, "BadRequest")
    assert "ipRules[1]" in info.value.error.message
    assert accounts.get(RG, "ddb1").properties.ip_rules == []


def test_cosmos_refuses_a_second_update_while_one_runs() -> None:
    with Emulator(slow={"databaseAccounts": 3}) as emu:
        url = f"{COSMOS}/slow?api-version=2026-03-15"
        status, _, _ = raw(emu, "PUT", url, body=CREATE_MIN, headers=AUTH)
        assert status == 200
        status, _, answer = raw(emu, "PATCH", url, body=rules("20.1.2.3"), headers=AUTH)
        # as Cosmos DB answers (public issue threads): 412 PreconditionFailed
        assert (status, answer["error"]["code"]) == (412, "PreconditionFailed")
        assert "exclusive lock on [slow]" in answer["error"]["message"]
        client = sdk_client(CosmosDBManagementClient, emu).database_accounts
        assert client.get(RG, "slow").properties.provisioning_state == "Creating"


# ----- Azure AI services --------------------------------------------------------------------------
def acls(*values: str) -> cs.NetworkRuleSet:
    return cs.NetworkRuleSet(default_action="Deny",
                             ip_rules=[cs.IpRule(value=v) for v in values])  # fmt: skip


@pytest.fixture
def cognitive(emulator: Emulator) -> Any:
    return sdk_client(CognitiveServicesManagementClient, emulator).accounts


def test_cognitive_create_and_patch(emulator: Emulator, cognitive: Any) -> None:
    path = (
        f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.CognitiveServices/accounts"
    )
    # 2026-09-01/CreateAccountMin.json: kind, sku, location; 201 with the account and its etag
    body = {"location": "westus", "kind": "CognitiveServices", "sku": {"name": "S0"},
            "properties": {"networkAcls": {"defaultAction": "Deny",
                                           "ipRules": [{"value": "20.1.2.3"}]}}}  # fmt: skip
    status, head, put = raw(emulator, "PUT", f"{path}/testCreate1?api-version=2026-09-01",
                            body=body, headers=AUTH)  # fmt: skip
    assert status == 201
    assert WEAK_ETAG.match(put["etag"])
    assert {"azure-asyncoperation", "location"} <= set(head)
    assert cognitive.get(RG, "testCreate1").properties.provisioning_state == "Creating"
    finish(emulator, head)
    made = cognitive.get(RG, "testCreate1")
    assert made.properties.provisioning_state == "Succeeded"
    # 2026-09-01/UpdateAccount.json: 200 with the account, Location and azure-AsyncOperation
    patch = {"properties": {"networkAcls": {"defaultAction": "Deny", "ipRules": [
        {"value": "20.1.2.0/24"}, {"value": "40.0.0.1"}]}}}  # fmt: skip
    status, head, _ = raw(emulator, "PATCH", f"{path}/testCreate1?api-version=2026-09-01",
                          body=patch, headers=AUTH)  # fmt: skip
    assert status == 200
    assert {"azure-asyncoperation", "location"} <= set(head)
    finish(emulator, head)
    patched = cognitive.begin_update(
        RG,
        "testCreate1",
        cs.Account(properties=cs.AccountProperties(network_acls=acls("20.1.2.0/24", "40.0.0.2"))),
    ).result()
    assert [r.value for r in patched.properties.network_acls.ip_rules] == [
        "20.1.2.0/24", "40.0.0.2"]  # fmt: skip
    assert patched.properties.network_acls.default_action == "Deny"
    assert patched.etag != made.etag
    assert emulator.history()[made.id] == [
        ["20.1.2.3"], ["20.1.2.0/24", "40.0.0.1"], ["20.1.2.0/24", "40.0.0.2"]]  # fmt: skip


@pytest.mark.parametrize(
    "value", ["10.0.0.0/8", "192.168.1.1", "20.1.2.2/31", "20.1.2.3/32", "20.1.2.1/24",
              "2001:db8::/48"],
)  # fmt: skip
def test_cognitive_refuses(cognitive: Any, value: str) -> None:
    with pytest.raises(HttpResponseError) as info:
        cognitive.begin_create(RG, "a1", cs.Account(
            location="westus", kind="OpenAI", sku=cs.Sku(name="S0"),
            properties=cs.AccountProperties(network_acls=acls(value)))).result()  # fmt: skip
    assert (info.value.status_code, info.value.error.code) == (400, "BadRequest")
    assert "ipRules[0]" in info.value.error.message


def test_cognitive_limit_is_100_ip_rules(cognitive: Any) -> None:
    values = [f"20.1.{i}.0/24" for i in range(COGNITIVE_IP_RULES + 1)]
    account = cs.Account(location="westus", kind="OpenAI", sku=cs.Sku(name="S0"),
                         properties=cs.AccountProperties(network_acls=acls(*values)))  # fmt: skip
    with pytest.raises(HttpResponseError) as info:
        cognitive.begin_create(RG, "a1", account).result()
    assert str(COGNITIVE_IP_RULES) in info.value.error.message
    account.properties.network_acls.ip_rules.pop()
    made = cognitive.begin_create(RG, "a1", account).result()
    assert len(made.properties.network_acls.ip_rules) == COGNITIVE_IP_RULES
