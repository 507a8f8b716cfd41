"""Conversion between SDK models and :class:`Rule`, on real recorded ARM bodies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from azure.mgmt.network.models import (
    NetworkSecurityGroup,
    SecurityRule,
    SecurityRuleAccess,
    SecurityRuleDirection,
    SecurityRulePropertiesFormat,
)

from sync.kinds.nsg.rules import Rule, rule_from_sdk, rule_to_sdk

RECORDINGS = Path(__file__).parents[1] / "data" / "arm_recordings"


def _interactions(prefix: str) -> list[dict[str, Any]]:
    (path,) = RECORDINGS.glob(f"{prefix}_*.yaml")
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return list(data["interactions"])


def _bodies(prefix: str) -> list[dict[str, Any]]:
    bodies = []
    for interaction in _interactions(prefix):
        text = interaction["response"]["body"]["string"]
        if text.strip().startswith("{"):
            bodies.append(json.loads(text))
    return bodies


def _recorded_rules(prefix: str) -> list[SecurityRule]:
    """Every rule of the recording, deserialised by the SDK as the client would."""
    rules: list[SecurityRule] = []
    for body in _bodies(prefix):
        kind = body.get("type", "")
        if kind.endswith("/securityRules"):
            rules.append(SecurityRule(body))
        elif kind.endswith("/networkSecurityGroups"):
            nsg = NetworkSecurityGroup(body)
            rules += [*(nsg.security_rules or []), *(nsg.default_security_rules or [])]
        elif "value" in body:
            rules += [SecurityRule(item) for item in body["value"]]
    return rules


def test_recording_01_rule_web_keeps_odd_values_verbatim() -> None:
    web = next(r for r in _recorded_rules("01") if r.name == "web")
    rule = rule_from_sdk(web)
    assert rule == Rule(
        name="web",
        priority=1000,
        direction="Inbound",
        access="Allow",
        protocol="*",
        source_prefixes=frozenset({"789"}),
        destination_prefixes=frozenset({"1234"}),
        source_ports=frozenset({"*"}),
        destination_ports=frozenset({"4444"}),
    )


def test_recording_01_default_rules_read() -> None:
    defaults = {r.name: rule_from_sdk(r) for r in _recorded_rules("01") if r.priority >= 65000}
    deny = defaults["DenyAllOutBound"]
    assert (deny.priority, deny.access, deny.direction) == (65500, "Deny", "Outbound")
    assert defaults["AllowAzureLoadBalancerInBound"].source_prefixes == {"AzureLoadBalancer"}
    assert defaults["AllowInternetOutBound"].destination_prefixes == {"Internet"}


def test_recording_02_list_and_get() -> None:
    rules = {rule_from_sdk(r) for r in _recorded_rules("02")}
    names = {r.name for r in rules}
    assert names == {"pynewrulec575136b", "pysecgrouprulec575136b"}
    new = next(r for r in rules if r.name == "pynewrulec575136b")
    assert new.destination_ports == {"123-3500"}
    assert new.source_ports == {"655"}
    assert new.description == "New Test security rule"
    assert (new.priority, new.direction, new.protocol) == (400, "Outbound", "Tcp")


@pytest.mark.parametrize("prefix", ["01", "02"])
def test_recorded_rules_round_trip(prefix: str) -> None:
    for recorded in _recorded_rules(prefix):
        rule = rule_from_sdk(recorded)
        assert rule_from_sdk(rule_to_sdk(rule)) == rule


@pytest.mark.parametrize("prefix", ["01", "02"])
def test_put_body_matches_the_recorded_request(prefix: str) -> None:
    """The body we would PUT has the singular fields real clients sent, plus empty lists."""
    for interaction in _interactions(prefix):
        request = interaction["request"]
        if request["method"] != "PUT" or "/securityRules/" not in request["uri"]:
            continue
        sent = json.loads(request["body"])["properties"]
        name = request["uri"].split("/securityRules/")[1].split("?")[0]
        ours = rule_to_sdk(rule_from_sdk(SecurityRule({"name": name, "properties": sent})))
        body = ours.as_dict()["properties"]
        plural = {k: v for k, v in body.items() if k.endswith(("Prefixes", "Ranges"))}
        assert plural == {
            "sourceAddressPrefixes": [],
            "destinationAddressPrefixes": [],
            "sourcePortRanges": [],
            "destinationPortRanges": [],
        }
        assert {k: v for k, v in body.items() if k not in plural} == sent


def test_several_values_go_to_the_plural_fields_sorted() -> None:
    rule = Rule(
        name="ipsync-x-v6",
        priority=210,
        direction="Outbound",
        access="Allow",
        protocol="Tcp",
        source_prefixes=frozenset({"VirtualNetwork"}),
        destination_prefixes=frozenset({"2001:db8:1::/48", "2001:db8::/48", "2001:db8::/32"}),
        source_ports=frozenset({"*"}),
        destination_ports=frozenset({"8443", "443", "1000-2000"}),
        description="ipsync: Storage; change 1",
    )
    sdk = rule_to_sdk(rule)
    assert isinstance(sdk, SecurityRule)
    assert isinstance(sdk.properties, SecurityRulePropertiesFormat)
    assert sdk.source_address_prefix == "VirtualNetwork"
    assert sdk.source_address_prefixes == []
    assert sdk.destination_address_prefix is None
    assert sdk.destination_address_prefixes == ["2001:db8::/32", "2001:db8::/48", "2001:db8:1::/48"]
    assert sdk.destination_port_ranges == ["443", "1000-2000", "8443"]
    body = sdk.as_dict()
    assert body["name"] == "ipsync-x-v6"
    assert "destinationAddressPrefix" not in body["properties"]
    assert body["properties"]["description"] == "ipsync: Storage; change 1"


def test_singular_and_plural_fields_merge_and_normalise() -> None:
    sdk = SecurityRule(
        name="ipsync-x-v4",
        properties=SecurityRulePropertiesFormat(
            priority=200,
            access=SecurityRuleAccess.ALLOW,
            direction=SecurityRuleDirection.OUTBOUND,
            protocol="Tcp",
            source_address_prefix="VirtualNetwork",
            destination_address_prefix="10.0.0.7/24",
            destination_address_prefixes=["192.168.1.0/24", "10.0.0.0/24"],
            destination_port_ranges=["443"],
        ),
    )
    rule = rule_from_sdk(sdk)
    assert (rule.access, rule.direction) == ("Allow", "Outbound")
    assert rule.destination_prefixes == {"10.0.0.0/24", "192.168.1.0/24"}
    assert rule.destination_ports == {"443"}
    assert rule.source_ports == frozenset()
