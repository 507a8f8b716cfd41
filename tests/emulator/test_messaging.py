"""Event Hubs and Service Bus namespaces' ``networkRuleSets/default`` through their real SDKs:
shapes of the REST API spec examples, whole-set replacement, validation, tiers and limits."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.eventhub import EventHubManagementClient
from azure.mgmt.servicebus import ServiceBusManagementClient

from armemu import Emulator
from armemu.messaging import EVENTHUB_NETWORK_RULES, SERVICEBUS_NETWORK_RULES

from .helpers import SUB, Recorder, raw, sdk_client

RG = "rg"
AUTH = {"Authorization": "Bearer t"}
SUBNET = (
    "/subscriptions/854d368f-1828-428f-8f3c-f2affa9b2f7d/resourcegroups/alitest/providers/"
    "Microsoft.Network/virtualNetworks/myvn/subnets/subnet2"
)
#: the rule set of EHNetworkRuleSetGet.json / SBNetworkRuleSetCreate.json, two IP rules shorter
EXAMPLE = {
    "defaultAction": "Deny",
    "virtualNetworkRules": [{"subnet": {"id": SUBNET}, "ignoreMissingVnetServiceEndpoint": True}],
    "ipRules": [{"ipMask": "1.1.1.1", "action": "Allow"}, {"ipMask": "1.1.1.0/24",
                                                          "action": "Allow"}],
}  # fmt: skip
CLIENTS = {"Microsoft.EventHub": EventHubManagementClient,
           "Microsoft.ServiceBus": ServiceBusManagementClient}  # fmt: skip


def namespaces(emulator: Emulator, provider: str, sku: str = "Premium") -> Any:
    client = sdk_client(CLIENTS[provider], emulator).namespaces
    client.begin_create_or_update(
        RG, "ns-sample-1", {"location": "westeurope", "sku": {"name": sku, "tier": sku}}
    ).result()
    return client


@pytest.mark.parametrize("provider", ["Microsoft.EventHub", "Microsoft.ServiceBus"])
def test_rule_set_put_replaces_the_whole_set(emulator: Emulator, provider: str) -> None:
    client = namespaces(emulator, provider)
    # open until written: no rules, Allow
    before = client.get_network_rule_set(RG, "ns-sample-1")
    assert (before.name, before.properties.default_action) == ("default", "Allow")
    assert before.properties.ip_rules == []
    hook = Recorder()
    made = client.create_or_update_network_rule_set(
        RG, "ns-sample-1", {"properties": {**EXAMPLE, "trustedServiceAccessEnabled": True}},
        raw_response_hook=hook,
    )  # fmt: skip
    # Namespaces_CreateOrUpdateNetworkRuleSet: 200, synchronous (no operation headers)
    assert hook.seen[0].status == 200
    assert "azure-asyncoperation" not in hook.seen[0].headers
    body = hook.seen[0].body
    # EHNetworkRuleSetGet.json / SBNetworkRuleSetCreate.json: name, type, id, properties
    assert (body["name"], body["type"]) == ("default", f"{provider}/Namespaces/NetworkRuleSet")
    assert body["id"].endswith(
        f"/providers/{provider}/namespaces/ns-sample-1/networkRuleSets/default"
    )
    assert {k: body["properties"][k] for k in EXAMPLE} == EXAMPLE
    assert made.properties.trusted_service_access_enabled is True
    # a PUT without the other fields puts them back to their defaults: the set is replaced
    client.create_or_update_network_rule_set(
        RG, "ns-sample-1", {"properties": {"ipRules": [{"ipMask": "20.1.2.3"}]}})  # fmt: skip
    after = client.get_network_rule_set(RG, "ns-sample-1").properties
    assert (after.default_action, after.virtual_network_rules, after.public_network_access,
            after.trusted_service_access_enabled) == ("Allow", [], "Enabled", False)  # fmt: skip
    path = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/{provider}/namespaces/ns-sample-1"
    listed = raw(emulator, "GET", f"{path}/networkRuleSets?api-version=2026-01-01",
                 headers=AUTH)[2]  # fmt: skip
    # EHNetworkRuleSetList.json: {"value": [the set]}
    assert [r["properties"]["ipRules"] for r in listed["value"]] == [
        [{"ipMask": "20.1.2.3", "action": "Allow"}]]  # fmt: skip
    assert emulator.history()[path] == [[], ["1.1.1.1", "1.1.1.0/24"], ["20.1.2.3"]]
    status, _, answer = raw(emulator, "DELETE", f"{path}/networkRuleSets/default"
                            "?api-version=2026-01-01", headers=AUTH)  # fmt: skip
    assert (status, answer["error"]["code"]) == (405, "MethodNotAllowed")
    status = raw(emulator, "GET", f"{path}/networkRuleSets/other?api-version=2026-01-01",
                 headers=AUTH)[0]  # fmt: skip
    assert status == 404


@pytest.mark.parametrize("provider", ["Microsoft.EventHub", "Microsoft.ServiceBus"])
@pytest.mark.parametrize(
    ("rules", "word"),
    [
        ([{"ipMask": "2001:db8::/32"}], "ipMask"),
        ([{"ipMask": "20.1.2.1/24"}], "ipMask"),
        ([{"ipMask": "20.1.2.3", "action": "Deny"}], "action"),
    ],
)
def test_rule_set_refuses(emulator: Emulator, provider: str, rules: list[Any], word: str) -> None:
    client = namespaces(emulator, provider)
    with pytest.raises(HttpResponseError) as info:
        client.create_or_update_network_rule_set(RG, "ns-sample-1",
                                                 {"properties": {"ipRules": rules}})  # fmt: skip
    assert (info.value.status_code, info.value.error.code) == (400, "BadRequest")
    assert word in info.value.error.message
    assert client.get_network_rule_set(RG, "ns-sample-1").properties.ip_rules == []


@pytest.mark.parametrize(
    ("provider", "sku", "refused"),
    [("Microsoft.EventHub", "Basic", True), ("Microsoft.EventHub", "Standard", False),
     ("Microsoft.ServiceBus", "Standard", True), ("Microsoft.ServiceBus", "Basic", True),
     ("Microsoft.ServiceBus", "Premium", False)],
)  # fmt: skip
def test_tiers(emulator: Emulator, provider: str, sku: str, refused: bool) -> None:
    client = namespaces(emulator, provider, sku)
    rules = {"properties": {"defaultAction": "Deny", "ipRules": [{"ipMask": "20.1.2.3"}]}}
    if not refused:
        client.create_or_update_network_rule_set(RG, "ns-sample-1", rules)
        return
    with pytest.raises(HttpResponseError) as info:
        client.create_or_update_network_rule_set(RG, "ns-sample-1", rules)
    assert info.value.status_code == 400
    assert f"{sku} tier" in info.value.error.message
    # an open rule set stays writable in every tier
    client.create_or_update_network_rule_set(RG, "ns-sample-1", {"properties": {}})


@pytest.mark.parametrize(
    ("provider", "bound"),
    [("Microsoft.EventHub", EVENTHUB_NETWORK_RULES),
     ("Microsoft.ServiceBus", SERVICEBUS_NETWORK_RULES)],
)  # fmt: skip
def test_ip_and_vnet_rules_count_together(emulator: Emulator, provider: str, bound: int) -> None:
    client = namespaces(emulator, provider)
    ips = [{"ipMask": f"20.1.{i}.0/24"} for i in range(bound - 1)]
    vnets = [{"subnet": {"id": f"{SUBNET}{i}"}} for i in range(2)]
    with pytest.raises(HttpResponseError) as info:
        client.create_or_update_network_rule_set(
            RG, "ns-sample-1", {"properties": {"ipRules": ips, "virtualNetworkRules": vnets}}
        )
    assert str(bound) in info.value.error.message
    made = client.create_or_update_network_rule_set(
        RG, "ns-sample-1", {"properties": {"ipRules": ips, "virtualNetworkRules": vnets[:1]}}
    )
    assert len(made.properties.ip_rules) == bound - 1


def test_namespaces_in_resource_graph(emulator: Emulator) -> None:
    for provider in CLIENTS:
        namespaces(emulator, provider).update(RG, "ns-sample-1", {"tags": {"ipsync": "Storage"}})
    status, _, body = raw(emulator, "POST", "/providers/Microsoft.ResourceGraph/resources"
                          "?api-version=2024-04-01", headers=AUTH, body={
        "subscriptions": [SUB], "query": "resources | where isnotempty(tags['ipsync']) "
        "| project id, type, sku"})  # fmt: skip
    assert status == 200
    assert sorted(r["type"] for r in body["data"]) == [
        "microsoft.eventhub/namespaces", "microsoft.servicebus/namespaces"]  # fmt: skip
    assert {r["sku"]["tier"] for r in body["data"]} == {"Premium"}
