"""Faults, concurrency, etags, history and persistence, as the SDK sees them."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import (
    HttpResponseError,
    ResourceModifiedError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.mgmt.network.models import NetworkSecurityGroup, SecurityRule

from armemu import Emulator

from .helpers import SUB, raw

RG, NSG = "rg", "nsg"
NSG_PATH = (
    f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Network"
    f"/networkSecurityGroups/{NSG}"
)
AUTH = {"Authorization": "Bearer t"}
Q = "?api-version=2024-05-01"
#: rule(), as the JSON properties a raw request sends
RAW_RULE = {
    "protocol": "Tcp", "access": "Allow", "direction": "Outbound", "priority": 200,
    "sourceAddressPrefix": "VirtualNetwork", "destinationPortRange": "443",
    "destinationAddressPrefixes": ["10.0.0.0/24"],
}  # fmt: skip


def rule(priority: int = 200, prefix: str = "10.0.0.0/24") -> SecurityRule:
    return SecurityRule(
        protocol="Tcp", access="Allow", direction="Outbound", priority=priority,
        source_address_prefix="VirtualNetwork", destination_port_range="443",
        destination_address_prefixes=[prefix],
    )  # fmt: skip


@pytest.fixture
def rules(emulator: Emulator, network_client: Any) -> Any:
    network_client.network_security_groups.begin_create_or_update(
        RG, NSG, NetworkSecurityGroup(location="westeurope")
    ).result()
    return network_client.security_rules


def names(rules: Any) -> list[str]:
    return [r.name for r in rules.list(RG, NSG)]


def test_status_fault_reaches_sdk_then_clears(emulator: Emulator, rules: Any) -> None:
    emulator.add_faults([{"method": "PUT", "path_contains": "/securityRules/a", "count": 1,
                          "status": 429, "code": "RetryableError", "message": "slow down",
                          "retry_after": 7}])  # fmt: skip
    with pytest.raises(HttpResponseError) as info:
        rules.begin_create_or_update(RG, NSG, "a", rule()).result()
    assert info.value.status_code == 429
    assert info.value.error.code == "RetryableError"
    assert info.value.response.headers["Retry-After"] == "7"
    assert names(rules) == []
    rules.begin_create_or_update(RG, NSG, "a", rule()).result()  # count used up
    assert names(rules) == ["a"]
    assert emulator.stats()["puts"] == 3  # NSG + refused + accepted


def test_fault_matches_method_and_path_only(emulator: Emulator, rules: Any) -> None:
    emulator.add_faults([{"method": "DELETE", "path_contains": "securityRules/a", "count": 2,
                          "status": 500, "code": "InternalServerError"}])  # fmt: skip
    rules.begin_create_or_update(RG, NSG, "a", rule()).result()  # PUT is not matched
    rules.get(RG, NSG, "a")
    for _ in range(2):
        with pytest.raises(HttpResponseError) as info:
            rules.begin_delete(RG, NSG, "a").result()
        assert info.value.status_code == 500
    rules.begin_delete(RG, NSG, "a").result()
    assert names(rules) == []


def test_failed_operation_changes_nothing(emulator: Emulator, rules: Any) -> None:
    rules.begin_create_or_update(RG, NSG, "keep", rule(200)).result()
    etag = rules.get(RG, NSG, "keep").etag
    emulator.add_faults([{"method": "PUT", "path_contains": "securityRules/new", "count": 1,
                          "lro": "Failed", "code": "InternalServerError",
                          "message": "boom"}])  # fmt: skip
    poller = rules.begin_create_or_update(RG, NSG, "new", rule(201))
    with pytest.raises(HttpResponseError) as info:
        poller.result()
    assert "boom" in str(info.value)
    assert names(rules) == ["keep"]
    assert rules.get(RG, NSG, "keep").etag == etag
    history = emulator.history()[rules.get(RG, NSG, "keep").id.rsplit("/securityRules", 1)[0]]
    assert [[r["name"] for r in h] for h in history] == [[], ["keep"]]


def test_delay_fault_answers_late(emulator: Emulator, rules: Any) -> None:
    emulator.add_faults([{"method": "GET", "path_contains": "securityRules", "count": 1,
                          "delay_s": 0.3}])  # fmt: skip
    started = time.monotonic()
    assert list(rules.list(RG, NSG)) == []
    assert time.monotonic() - started >= 0.3


def test_lost_response_still_applies_write(emulator: Emulator, rules: Any) -> None:
    emulator.add_faults([{"method": "PUT", "path_contains": "securityRules/lost", "count": 1,
                          "lose_response": True}])  # fmt: skip
    with pytest.raises((ServiceResponseError, ServiceRequestError)):
        rules.begin_create_or_update(RG, NSG, "lost", rule()).result()
    got = rules.get(RG, NSG, "lost")
    assert got.provisioning_state == "Succeeded"
    rules.begin_create_or_update(RG, NSG, "next", rule(201)).result()  # NSG is not locked


def test_concurrent_write_gets_429_until_polled(emulator: Emulator, rules: Any) -> None:
    status, head, _ = raw(emulator, "PUT", f"{NSG_PATH}/securityRules/a{Q}", headers=AUTH,
                          body={"properties": RAW_RULE})  # fmt: skip
    assert status == 201
    assert rules.get(RG, NSG, "a").provisioning_state == "Updating"  # visible while running
    with pytest.raises(HttpResponseError) as info:
        rules.begin_create_or_update(RG, NSG, "b", rule(201)).result()
    assert info.value.status_code == 429
    assert info.value.error.code == "RetryableError"
    assert info.value.error.details[0].code == "RetryableErrorDueToAnotherOperation"
    assert "Retry-After" in info.value.response.headers
    poll = head["azure-asyncoperation"].removeprefix(emulator.endpoint)
    assert raw(emulator, "GET", poll, headers=AUTH)[2] == {"status": "InProgress"}
    assert raw(emulator, "GET", poll, headers=AUTH)[2] == {"status": "Succeeded"}
    rules.begin_create_or_update(RG, NSG, "b", rule(201)).result()
    assert names(rules) == ["a", "b"]


def test_unpolled_operation_releases_nsg_after_a_while(emulator: Emulator, rules: Any) -> None:
    raw(emulator, "PUT", f"{NSG_PATH}/securityRules/a{Q}", headers=AUTH,
        body={"properties": RAW_RULE})  # fmt: skip
    time.sleep(0.6)  # lro_polls (1) * max(retry_after (0), 0.5 s)
    rules.begin_create_or_update(RG, NSG, "b", rule(201)).result()
    assert rules.get(RG, NSG, "a").provisioning_state == "Succeeded"


def test_if_match(emulator: Emulator, rules: Any, network_client: Any) -> None:
    rules.begin_create_or_update(RG, NSG, "a", rule()).result()
    etag = network_client.network_security_groups.get(RG, NSG).etag
    assert rules.get(RG, NSG, "a").etag == etag  # rules share the NSG's etag
    rules.begin_create_or_update(RG, NSG, "a", rule(prefix="10.0.1.0/24"),
                                 headers={"If-Match": etag}).result()  # fmt: skip
    newer = rules.get(RG, NSG, "a").etag
    assert newer != etag
    with pytest.raises((ResourceModifiedError, HttpResponseError)) as info:
        rules.begin_create_or_update(RG, NSG, "a", rule(prefix="10.0.2.0/24"),
                                     headers={"If-Match": etag}).result()  # fmt: skip
    assert info.value.status_code == 412
    assert info.value.error.code == "PreconditionFailed"
    with pytest.raises(HttpResponseError) as info:
        rules.begin_delete(RG, NSG, "a", headers={"If-Match": etag}).result()
    assert info.value.status_code == 412
    assert rules.get(RG, NSG, "a").destination_address_prefixes == ["10.0.1.0/24"]
    rules.begin_delete(RG, NSG, "a", headers={"If-Match": newer}).result()
    assert names(rules) == []


def test_delete_of_missing_rule_is_204(emulator: Emulator, rules: Any) -> None:
    status, head, body = raw(emulator, "DELETE", f"{NSG_PATH}/securityRules/none{Q}", headers=AUTH)
    assert (status, body) == (204, None)
    assert "azure-asyncoperation" not in head
    status, _, body = raw(emulator, "GET", f"{NSG_PATH}/securityRules/none{Q}", headers=AUTH)
    assert status == 404
    assert body["error"]["code"] == "NotFound"


def test_history_records_each_completed_write(emulator: Emulator, rules: Any) -> None:
    rules.begin_create_or_update(RG, NSG, "v4", rule(200, "10.0.0.0/24")).result()
    rules.begin_create_or_update(RG, NSG, "v4", rule(200, "10.0.0.0/23")).result()
    rules.begin_delete(RG, NSG, "v4").result()
    (history,) = emulator.history().values()
    prefixes = [[r["properties"]["destinationAddressPrefixes"] for r in h] for h in history]
    assert prefixes == [[], [["10.0.0.0/24"]], [["10.0.0.0/23"]], []]
    assert history[1][0]["name"] == "v4"
    assert history[1][0]["properties"]["provisioningState"] == "Succeeded"
    emulator.reset()
    assert emulator.history() == {}
    assert emulator.stats()["requests"] == 0


def test_state_file_survives_restart(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    body = {"properties": RAW_RULE}
    with Emulator(state_file=state, lro_polls=0) as emu:
        assert raw(emu, "PUT", NSG_PATH + Q, headers=AUTH, body={"location": "westus"})[0] == 201
        assert raw(emu, "PUT", f"{NSG_PATH}/securityRules/a{Q}", headers=AUTH, body=body)[0] == 201
        etag = raw(emu, "GET", NSG_PATH + Q, headers=AUTH)[2]["etag"]
    with Emulator(state_file=state) as emu:
        status, head, got = raw(emu, "GET", NSG_PATH + Q, headers=AUTH)
    assert status == 200
    assert got["etag"] == etag == head["etag"]
    assert [r["name"] for r in got["properties"]["securityRules"]] == ["a"]


def test_a_loaded_state_file_is_served_and_left_as_it_was(tmp_path: Path) -> None:
    """``load``: a fleet for benchmarks starts from a state file, and its writes stay in
    memory (saving the whole state on every write would be the bottleneck)."""
    state = tmp_path / "state.json"
    with Emulator(state_file=state, lro_polls=0) as emu:
        assert raw(emu, "PUT", NSG_PATH + Q, headers=AUTH, body={"location": "westus"})[0] == 201
    kept = state.read_bytes()
    with Emulator(load=state, lro_polls=0) as emu:
        assert raw(emu, "GET", NSG_PATH + Q, headers=AUTH)[0] == 200
        other = NSG_PATH.replace("/networkSecurityGroups/", "/networkSecurityGroups/other-")
        assert raw(emu, "PUT", other + Q, headers=AUTH, body={"location": "westus"})[0] == 201
        assert raw(emu, "GET", other + Q, headers=AUTH)[0] == 200
    assert state.read_bytes() == kept


def test_cli_prints_endpoint_and_serves(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "armemu", "--lro-polls", "0"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        first = json.loads(process.stdout.readline())
        emu = Emulator()
        emu.endpoint, emu.ca_bundle = first["endpoint"], Path(first["ca_bundle"])
        assert first["endpoint"].startswith("https://127.0.0.1:")
        assert emu.ca_bundle.is_file()
        assert raw(emu, "PUT", NSG_PATH + Q, headers=AUTH, body={"location": "westus"})[0] == 201
        assert emu.stats()["puts"] == 1
    finally:
        process.terminate()
        process.wait(timeout=10)
