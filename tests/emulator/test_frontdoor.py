"""Front Door WAF policies as azure-mgmt-frontdoor sees them: the whole policy PUT followed
through Location, rules filled in as the REST spec example answers them, the etag, the limits
of custom rules and the history of each rule's IP ranges."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError

from armemu import Emulator

from .helpers import SUB, WEAK_ETAG, Recorder, ranges, raw, sdk_client

RG = "rg1"
AUTH = {"Authorization": "Bearer t"}
POLICY_PATH = (
    f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Network"
    "/FrontDoorWebApplicationFirewallPolicies/Policy1"
)
Q = "?api-version=2025-11-01"
MANAGED = {
    "managedRuleSets": [
        {
            "ruleSetType": "Microsoft_DefaultRuleSet",
            "ruleSetVersion": "2.1",
            "ruleSetAction": "Block",
            "exclusions": [],
            "ruleGroupOverrides": [],
        }
    ]
}
SETTINGS = {
    "enabledState": "Enabled",
    "mode": "Prevention",
    "customBlockResponseStatusCode": 403,
    "requestBodyCheck": "Disabled",
}


def ip_rule(
    name: str, *values: str, priority: int = 10, variable: str = "RemoteAddr", conditions: int = 1
) -> dict[str, Any]:
    """An allow-list: a Block rule whose IPMatch condition is negated."""
    condition = {
        "matchVariable": variable,
        "operator": "IPMatch",
        "negateCondition": True,
        "matchValue": list(values),
    }
    return {
        "name": name,
        "priority": priority,
        "ruleType": "MatchRule",
        "action": "Block",
        "matchConditions": [condition] * conditions,
    }


def policy(*rules: dict[str, Any]) -> dict[str, Any]:
    """Shaped like the request of FrontDoor/stable/2024-02-01/examples/WafPolicyCreateOrUpdate.json:
    policySettings, customRules.rules[], managedRules and a sku."""
    return {
        "location": "Global",
        "tags": {"ipsync": "AzureCloud.westeurope"},
        "sku": {"name": "Premium_AzureFrontDoor"},
        "properties": {
            "policySettings": SETTINGS,
            "customRules": {"rules": list(rules)},
            "managedRules": MANAGED,
        },
    }


@pytest.fixture
def policies(emulator: Emulator) -> Any:
    from azure.mgmt.frontdoor import FrontDoorManagementClient

    return sdk_client(FrontDoorManagementClient, emulator).policies


def test_put_is_201_then_location_polls(emulator: Emulator, policies: Any) -> None:
    hook = Recorder()
    created = policies.begin_create_or_update(
        RG,
        "Policy1",
        policy(ip_rule("AllowList", "20.1.2.0/24", "2001:db8::/48")),
        raw_response_hook=hook,
    ).result()
    put, *polls = hook.seen
    # WafPolicyCreateOrUpdate.json: 201 with the policy; the spec's LRO ends via Location
    assert put.status == 201
    assert put.headers["location"].startswith(
        f"{emulator.endpoint}/subscriptions/{SUB}/providers/Microsoft.Network/locations/global/"
        "operationResults/"
    )
    assert "azure-asyncoperation" not in put.headers
    assert WEAK_ETAG.match(put.headers["etag"])
    assert [p.status for p in polls] == [202, 200]
    body = polls[-1].body
    assert body["type"] == "Microsoft.Network/frontdoorwebapplicationfirewallpolicies"
    assert body["etag"] == created.etag
    props = body["properties"]
    assert set(props) >= {
        "resourceState",
        "provisioningState",
        "policySettings",
        "customRules",
        "managedRules",
        "frontendEndpointLinks",
        "securityPolicyLinks",
    }
    assert (props["policySettings"], props["managedRules"]) == (SETTINGS, MANAGED)  # as sent
    (rule,) = props["customRules"]["rules"]
    # the example's answer fills these in
    assert {
        k: rule[k] for k in ("enabledState", "rateLimitDurationInMinutes", "rateLimitThreshold")
    } == {"enabledState": "Enabled", "rateLimitDurationInMinutes": 0, "rateLimitThreshold": 0}
    assert rule["matchConditions"] == [
        {
            "matchVariable": "RemoteAddr",
            "selector": None,
            "operator": "IPMatch",
            "negateCondition": True,
            "matchValue": ["20.1.2.0/24", "2001:db8::/48"],
        }
    ]
    assert created.sku.name == "Premium_AzureFrontDoor"
    assert emulator.history()[created.id] == [{"AllowList": ["20.1.2.0/24", "2001:db8::/48"]}]


def test_update_keeps_other_rules_and_honours_if_match(emulator: Emulator, policies: Any) -> None:
    geo = {
        "name": "Geo",
        "priority": 5,
        "ruleType": "MatchRule",
        "action": "Block",
        "matchConditions": [
            {"matchVariable": "RemoteAddr", "operator": "GeoMatch", "matchValue": ["CH"]}
        ],
    }
    first = policies.begin_create_or_update(
        RG, "Policy1", policy(geo, ip_rule("AllowList", "20.1.2.0/24"))
    ).result()
    body = policy(geo, ip_rule("AllowList", "20.1.2.0/24", "20.1.3.0/24"))
    status, _, answer = raw(
        emulator, "PUT", POLICY_PATH + Q, body=body, headers={**AUTH, "If-Match": '"stale"'}
    )
    assert (status, answer["error"]["code"]) == (412, "PreconditionFailed")
    hook = Recorder()
    policies.begin_create_or_update(RG, "Policy1", body, raw_response_hook=hook).result()
    assert hook.seen[0].status == 202  # an update: 202 and Location (200 carries none)
    status, head, _ = raw(
        emulator,
        "PUT",
        POLICY_PATH + Q,
        body=body,
        headers={**AUTH, "If-Match": hook.seen[-1].body["etag"]},
    )
    assert status == 202
    location = head["location"].removeprefix(emulator.endpoint)
    polls = [raw(emulator, "GET", location, headers=AUTH)[0] for _ in range(2)]
    assert polls == [202, 200]
    history = emulator.history()[first.id]
    assert [h["AllowList"] for h in history] == [
        ["20.1.2.0/24"],
        ["20.1.2.0/24", "20.1.3.0/24"],
        ["20.1.2.0/24", "20.1.3.0/24"],
    ]
    assert all("Geo" not in h for h in history)  # a GeoMatch rule holds no ranges


def test_limits_are_100_rules_10_conditions_600_ranges(policies: Any) -> None:
    values = ranges(600)
    rules = [ip_rule("AllowList", *values[:300], conditions=2)] + [
        ip_rule(f"R{i}", "20.9.9.9", priority=100 + i) for i in range(99)
    ]
    done = policies.begin_create_or_update(RG, "Policy1", policy(*rules)).result()
    assert len(done.custom_rules.rules) == 100


@pytest.mark.parametrize(
    ("rules", "fragment"),
    [
        ([ip_rule(f"R{i}", "20.9.9.9", priority=i) for i in range(101)], "at most 100"),
        ([ip_rule("A", "20.9.9.9", conditions=11)], "at most 10"),
        ([ip_rule("A", *ranges(601))], "at most 600"),
        ([ip_rule("A", *ranges(301), conditions=2)], "at most 600"),
        ([ip_rule("A", "20.1.2.300")], "Value 20.1.2.300 is not a valid IP Address in rule A"),
        ([ip_rule("A", "20.1.2.0/24", variable="RequestHeader")], "RemoteAddr or SocketAddr"),
        ([ip_rule("A", "20.9.9.9"), ip_rule("B", "20.9.9.8")], "their own priority"),
        ([ip_rule("A", "20.9.9.9"), ip_rule("a", "20.9.9.8", priority=11)], "their own name"),
    ],
    ids=[
        "101-rules",
        "11-conditions",
        "601-ranges",
        "601-in-two",
        "bad-ip",
        "ipmatch-header",
        "same-priority",
        "same-name",
    ],
)
def test_refuses(emulator: Emulator, policies: Any, rules: list[Any], fragment: str) -> None:
    with pytest.raises(HttpResponseError) as info:
        policies.begin_create_or_update(RG, "Policy1", policy(*rules))
    assert (info.value.status_code, info.value.error.code) == (400, "BadRequest")
    assert fragment in info.value.error.message
    assert emulator.history() == {}


def test_socket_addr_and_tags_patch(emulator: Emulator, policies: Any) -> None:
    created = policies.begin_create_or_update(
        RG, "Policy1", policy(ip_rule("AllowList", "20.1.2.0/24", variable="SocketAddr"))
    ).result()
    tagged = policies.begin_update(RG, "Policy1", {"tags": {"ipsync": "other"}}).result()
    assert tagged.tags == {"ipsync": "other"}
    assert tagged.custom_rules.rules[0].match_conditions[0].match_variable == "SocketAddr"
    assert tagged.etag != created.etag


@pytest.mark.parametrize(
    ("version", "status"),
    [
        ("2025-10-01", 404),
        ("2025-11-01", 404),
        ("2021-06-01", 404),
        ("2026-03-01", 400),
        ("2020-11-01", 400),
    ],
)
def test_api_versions_are_the_waf_specs(emulator: Emulator, version: str, status: int) -> None:
    """The network provider's 2026-03-01 is not a WAF version, and the reverse."""
    code, _, body = raw(emulator, "GET", f"{POLICY_PATH}?api-version={version}", headers=AUTH)
    assert code == status, body
    nsg = (
        f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Network/"
        f"networkSecurityGroups/n?api-version={version}"
    )
    if version == "2025-11-01":
        assert raw(emulator, "GET", nsg, headers=AUTH)[0] == 400
