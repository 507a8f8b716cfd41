"""Every validation rule answers 400 with ARM's code (recording 05) and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.network.models import NetworkSecurityGroup, SecurityRule

from armemu import Emulator

from .helpers import SUB, raw

RG, NSG = "rg", "nsg"


def rule(**overrides: Any) -> SecurityRule:
    fields: dict[str, Any] = {
        "protocol": "Tcp", "access": "Allow", "direction": "Outbound", "priority": 200,
        "source_address_prefix": "VirtualNetwork", "destination_port_range": "443",
        "destination_address_prefixes": ["10.0.0.0/24"],
    }  # fmt: skip
    fields.update(overrides)
    return SecurityRule(**fields)


@pytest.fixture
def nsg(emulator: Emulator, network_client: Any) -> Any:
    network_client.network_security_groups.begin_create_or_update(
        RG, NSG, NetworkSecurityGroup(location="westeurope")
    ).result()
    return network_client.security_rules


def put(rules: Any, name: str, body: SecurityRule) -> None:
    rules.begin_create_or_update(RG, NSG, name, body).result()


def refused(rules: Any, name: str, body: SecurityRule) -> Any:
    with pytest.raises(HttpResponseError) as info:
        put(rules, name, body)
    assert info.value.status_code == 400
    return info.value.error


MIXED = "ResourceCannotContainAddressPrefixesFromDifferentAddressFamilies"
BAD_PREFIX = "SecurityRuleInvalidAddressPrefix"
TAG_IN_LIST = "SecurityRuleParameterContainsUnsupportedValue"
PRIORITY = "SecurityRuleInvalidPriority"
FORMAT = "InvalidRequestFormat"
DEST = "destination_address_prefixes"
CASES = [
    ("bad name", "-dash-first", {}, "InvalidResourceName", "Resource name -dash-first is invalid"),
    ("name too long", "a" * 81, {}, "InvalidResourceName", "up to 80 characters"),
    ("name ends with dot", "ends.", {}, "InvalidResourceName", "end with a word character"),
    ("priority low", "r", {"priority": 99}, PRIORITY, "Value provided: 99 Allowed range 100-4096"),
    ("priority high", "r", {"priority": 4097}, PRIORITY, "Value provided: 4097"),
    ("description", "r", {"description": "x" * 141}, "SecurityRuleInvalidDescription", "140"),
    ("protocol", "r", {"protocol": "Gre"}, FORMAT, "Cannot parse the request."),
    ("access", "r", {"access": "Maybe"}, FORMAT, "Cannot parse the request."),
    ("direction", "r", {"direction": "Sideways"}, FORMAT, "Cannot parse the request."),
    ("mixed families", "r", {DEST: ["10.0.0.0/24", "2001:db8::/32"]}, MIXED, "different address"),
    ("mixed across sides", "r", {"source_address_prefix": "10.1.0.0/16", DEST: ["2001:db8::/32"]},
     MIXED, "same address family"),
    ("host bits", "r", {DEST: ["50.206.209.68/27"]},
     BAD_PREFIX, "has invalid Address prefix. Value provided: 50.206.209.68/27"),
    ("malformed", "r", {DEST: ["10.0.0.300/24"]}, BAD_PREFIX, "Value provided: 10.0.0.300/24"),
    ("tag in list", "r", {DEST: ["Storage.WestEurope"]},
     TAG_IN_LIST, "Unsupported value used: Storage.WestEurope."),
    ("star in list", "r", {"source_address_prefix": None, "source_address_prefixes": ["*"]},
     TAG_IN_LIST, "'*' or system tags"),
    ("no destination", "r", {DEST: []},
     "SecurityRuleParametersMissing", "must specify DestinationAddressPrefixes"),
    ("port range", "r", {"destination_port_range": "70000"},
     "SecurityRuleInvalidPortRange", "70000"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "overrides", "code", "message"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_rule_refused(
    nsg: Any, emulator: Emulator, name: str, overrides: dict[str, Any], code: str, message: str
) -> None:
    before = emulator.stats()["puts"]
    error = refused(nsg, name, rule(**overrides))
    assert error.code == code
    assert message in error.message
    assert list(nsg.list(RG, NSG)) == []  # nothing changed
    assert emulator.stats()["puts"] == before + 1
    assert [len(v) for v in emulator.history().values()] == [1]  # only the NSG's creation


def test_priority_conflict_per_direction(nsg: Any) -> None:
    put(nsg, "first", rule(priority=300))
    put(nsg, "inbound-same-priority", rule(priority=300, direction="Inbound"))  # other direction
    error = refused(nsg, "second", rule(priority=300))
    assert error.code == "SecurityRuleConflict"
    assert error.message.startswith("Security rule first conflicts with rule second.")
    put(nsg, "first", rule(priority=300, destination_port_range="80"))  # replacing itself is fine
    assert sorted(r.name for r in nsg.list(RG, NSG)) == ["first", "inbound-same-priority"]


def test_rule_count_limit(emulator: Emulator, network_client: Any) -> None:
    many = [rule(name=f"r{i}", priority=100 + i % 3000,
                 direction=("Inbound", "Outbound")[i // 3000])
            for i in range(1000)]  # fmt: skip
    network_client.network_security_groups.begin_create_or_update(
        RG, NSG, NetworkSecurityGroup(location="westeurope", security_rules=many)
    ).result()
    error = refused(network_client.security_rules, "one-more", rule(priority=4000))
    assert error.code == "SecurityRuleCountLimitReached"
    assert error.message == "A security group cannot have more than 1000 security rules."


def test_prefix_limit_counts_across_rules(nsg: Any) -> None:
    block = [f"10.{i // 256}.{i % 256}.0/24" for i in range(2000)]
    put(nsg, "a", rule(priority=200, destination_address_prefixes=block))
    put(
        nsg,
        "b",
        rule(
            priority=201, destination_address_prefixes=[p.replace("10.", "11.", 1) for p in block]
        ),
    )
    error = refused(nsg, "c", rule(priority=202, destination_address_prefixes=["12.0.0.0/24"]))
    assert error.code == "SecurityRuleAddressesOrPortsPerSecurityGroupLimitReached"
    assert "has 4001 DestinationAddressPrefixes" in error.message
    assert "cannot have more than 4000 DestinationAddressPrefixes" in error.message


def test_tag_alone_in_singular_field_is_accepted(nsg: Any) -> None:
    put(
        nsg,
        "tag",
        rule(destination_address_prefixes=[], destination_address_prefix="Storage.WestEurope"),
    )
    got = nsg.get(RG, NSG, "tag")
    assert got.destination_address_prefix == "Storage.WestEurope"
    assert got.destination_address_prefixes == []


def test_ipv6_rule_is_accepted(nsg: Any) -> None:
    put(nsg, "v6", rule(source_address_prefix="*", destination_address_prefixes=["2603:1000::/40"]))
    assert nsg.get(RG, NSG, "v6").destination_address_prefixes == ["2603:1000::/40"]


def test_nsg_put_validates_inline_rules(emulator: Emulator, network_client: Any) -> None:
    bad = NetworkSecurityGroup(location="westeurope", security_rules=[rule(name="x", priority=5)])
    with pytest.raises(HttpResponseError) as info:
        network_client.network_security_groups.begin_create_or_update(RG, NSG, bad).result()
    assert info.value.error.code == "SecurityRuleInvalidPriority"
    assert list(network_client.network_security_groups.list(RG)) == []


def test_request_without_api_version_or_token(emulator: Emulator) -> None:
    path = (
        f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Network"
        f"/networkSecurityGroups/{NSG}"
    )
    status, _, body = raw(emulator, "GET", path, headers={"Authorization": "Bearer t"})
    assert status == 400
    assert body["error"]["code"] == "MissingApiVersionParameter"
    status, head, body = raw(emulator, "GET", path + "?api-version=2024-05-01")
    assert status == 401
    assert body["error"]["code"] == "AuthenticationFailed"
    assert "www-authenticate" in head
    status, _, body = raw(
        emulator, "GET", path + "?api-version=2024-05-01", headers={"Authorization": "Basic x"}
    )
    assert status == 401
    assert body["error"]["code"] == "InvalidAuthenticationToken"
    status, _, body = raw(
        emulator, "GET", path + "?api-version=2024-05-01", headers={"Authorization": "Bearer t"}
    )
    assert status == 404
    assert body["error"]["code"] == "ResourceNotFound"
    assert emulator.stats()["requests"] == 4
