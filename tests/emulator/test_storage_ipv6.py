"""Storage accounts' ``networkAcls.ipv6Rules`` through the real SDK: only where the account
publishes IPv6 endpoints, their syntax and capacity, and IPv4 and IPv6 rules in one PATCH."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.storage import StorageManagementClient
from azure.mgmt.storage import models as st

from armemu import Emulator
from armemu.resources import STORAGE_IP_RULES

from .helpers import sdk_client

RG = "rg"


@pytest.fixture
def storage(emulator: Emulator) -> Any:
    client = sdk_client(StorageManagementClient, emulator).storage_accounts
    params = st.StorageAccountCreateParameters(
        sku=st.Sku(name="Standard_LRS"), kind="StorageV2", location="eastus2"
    )
    client.begin_create(RG, "sto8596", params).result()
    return client


def patch(storage: Any, v4: list[str], v6: list[str], publish: bool | None = True) -> Any:
    """The body of stable/2025-06-01/examples/StorageAccountLeverageIPv6Ability.json."""
    props: dict[str, Any] = {"networkAcls": {
        "defaultAction": "Deny", "ipRules": [{"value": v, "action": "Allow"} for v in v4],
        "ipv6Rules": [{"value": v, "action": "Allow"} for v in v6]}}  # fmt: skip
    if publish is not None:
        props["dualStackEndpointPreference"] = {"publishIpv6Endpoint": publish}
    return storage.update(RG, "sto8596", {"properties": props})


def test_ipv6_rules_as_in_the_spec_example(emulator: Emulator, storage: Any) -> None:
    updated = patch(storage, ["20.1.2.3"], ["2001:0db8:85a3::/64", "2603:1020::1"])
    acls = updated.network_rule_set
    assert [r.ip_address_or_range for r in acls.ip_rules] == ["20.1.2.3"]
    # the example's answer keeps the value as sent, with action Allow
    assert [(r.ip_address_or_range, r.action) for r in acls.ipv6_rules] == [
        ("2001:0db8:85a3::/64", "Allow"), ("2603:1020::1", "Allow")]  # fmt: skip
    assert updated.dual_stack_endpoint_preference.publish_ipv6_endpoint is True
    assert (
        updated.primary_endpoints.ipv6_endpoints.blob
        == "https://sto8596-ipv6.blob.core.windows.net/"
    )
    assert emulator.history()[updated.id][-1] == ["20.1.2.3", "2001:0db8:85a3::/64", "2603:1020::1"]


@pytest.mark.parametrize("publish", [False, None])
def test_ipv6_rules_need_ipv6_endpoints(storage: Any, publish: bool | None) -> None:
    with pytest.raises(HttpResponseError) as info:
        patch(storage, [], ["2603:1020::/48"], publish)
    assert info.value.error.code == "InvalidValuesForRequestParameters"
    assert "networkAcls.ipv6Rules." in info.value.error.message
    assert patch(storage, ["20.1.2.3"], [], publish).network_rule_set.ipv6_rules == []


@pytest.mark.parametrize(
    "value",
    ["fe80::/64", "fd00::1", "::1", "ff02::1", "::ffff:20.1.2.3", "2603:1020::1/128",
     "2603:1020::1/64", "20.1.2.3", "2603:1020::/129", "nonsense"],
)  # fmt: skip
def test_ipv6_rules_refused(storage: Any, value: str) -> None:
    with pytest.raises(HttpResponseError) as info:
        patch(storage, [], [value])
    assert info.value.status_code == 400
    assert info.value.error.message == (
        "Values for request parameters are invalid: networkAcls.ipv6Rules[*].value. For more "
        "information, see - https://aka.ms/storagenetworkruleset"
    )


def test_ipv6_capacity_is_its_own(storage: Any) -> None:
    v4 = [f"20.{i // 256}.{i % 256}.1" for i in range(STORAGE_IP_RULES)]
    v6 = [f"2603:1020:{i:x}::/48" for i in range(STORAGE_IP_RULES + 1)]
    with pytest.raises(HttpResponseError) as info:
        patch(storage, v4, v6)
    assert "networkAcls.ipv6Rules[]" in info.value.error.message
    both = patch(storage, v4, v6[:-1]).network_rule_set
    assert (len(both.ip_rules), len(both.ipv6_rules)) == (STORAGE_IP_RULES, STORAGE_IP_RULES)
