"""The emulator answers the real SDK as the recorded ARM did (recordings 01-04)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.mgmt.network.models import NetworkSecurityGroup, SecurityRule

from armemu import Emulator

from .helpers import GUID, SUB, WEAK_ETAG, Recorder, raw, recording, shape

RG, NSG = "cli_test_nsg000001", "test-nsg1"
NSG_PATH = (
    f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Network"
    f"/networkSecurityGroups/{NSG}"
)
API = "?api-version=2021-08-01"


def operation_url(emulator: Emulator, kind: str) -> re.Pattern[str]:
    base = re.escape(f"{emulator.endpoint}/subscriptions/{SUB}/providers/Microsoft.Network")
    return re.compile(rf"^{base}/locations/westus/{kind}/{GUID}\?api-version=[\d-]+$")


def assert_like(seen: Any, recorded: dict[str, Any], emulator: Emulator) -> None:
    """Same status, same LRO/etag headers in the same form, same body shape."""
    assert seen.status == recorded["status"], seen.url
    for header, kind in (("azure-asyncoperation", "operations"), ("location", "operationResults")):
        if header in recorded["headers"]:
            assert operation_url(emulator, kind).match(seen.headers[header]), seen.headers
        else:
            assert header not in seen.headers
    if "etag" in recorded["headers"]:
        assert WEAK_ETAG.match(seen.headers["etag"])
        assert seen.headers["etag"] == seen.body["etag"]
    assert shape(seen.body) == shape(recorded["body"])


def test_recording_01_nsg_then_rule_create(emulator: Emulator, network_client: Any) -> None:
    rec = recording("01_")
    hook = Recorder()
    nsg = network_client.network_security_groups.begin_create_or_update(
        RG, NSG, NetworkSecurityGroup(location="westus", tags={"foo": "doo"}),
        api_version="2021-08-01", raw_response_hook=hook,
    ).result()  # fmt: skip
    # PUT 201 Updating, poll InProgress (lro_polls=1), poll Succeeded, GET 200
    assert [s.status for s in hook.seen] == [201, 200, 200, 200]
    put, in_progress, done, get = hook.seen
    assert_like(put, rec[0], emulator)
    assert put.body["properties"]["provisioningState"] == "Updating"
    assert put.headers["retry-after"] == "0"
    assert in_progress.body == {"status": "InProgress"}
    assert "retry-after" in in_progress.headers
    assert shape(done.body) == shape(rec[1]["body"])
    assert done.body == {"status": "Succeeded"}
    assert_like(get, rec[2], emulator)
    assert get.body["properties"]["provisioningState"] == "Succeeded"
    assert [r["name"] for r in get.body["properties"]["defaultSecurityRules"]] == [
        r["name"] for r in rec[2]["body"]["properties"]["defaultSecurityRules"]
    ]
    assert get.body["properties"]["defaultSecurityRules"] == _defaults_as(rec[2]["body"], get.body)
    assert put.body["etag"] != get.body["etag"]  # completion is a new version
    assert nsg.etag == get.body["etag"]

    hook = Recorder()
    rule = SecurityRule(
        protocol="*", source_port_range="*", destination_port_range="4444",
        source_address_prefix="789", destination_address_prefix="1234",
        access="Allow", priority=1000, direction="Inbound",
    )  # fmt: skip
    network_client.security_rules.begin_create_or_update(
        RG, NSG, "web", rule, api_version="2021-08-01", raw_response_hook=hook
    ).result()
    put, _, done, get = hook.seen
    assert_like(put, rec[3], emulator)
    assert_like(get, rec[5], emulator)
    assert get.body["properties"] == rec[5]["body"]["properties"]
    assert {k: get.body[k] for k in ("name", "type")} == {
        k: rec[5]["body"][k] for k in ("name", "type")
    }
    assert get.body["id"] == rec[5]["body"]["id"]  # same sub / rg / nsg / rule path


def _defaults_as(recorded: dict[str, Any], ours: dict[str, Any]) -> list[dict[str, Any]]:
    return [{**r, "etag": ours["etag"]} for r in recorded["properties"]["defaultSecurityRules"]]


def test_recording_02_rule_put_get_list_delete(emulator: Emulator, network_client: Any) -> None:
    rec = recording("02_")
    rg, nsg = "test_mgmt_network_test_network_security_groupsc575136b", "pysecgroupc575136b"
    network_client.network_security_groups.begin_create_or_update(
        rg, nsg, NetworkSecurityGroup(location="westus", security_rules=[SecurityRule(
            name="pysecgrouprulec575136b", description="Test security rule", protocol="Tcp",
            source_port_range="655", destination_port_range="123-3500",
            source_address_prefix="*", destination_address_prefix="*", access="Allow",
            priority=500, direction="Inbound")]),
    ).result()  # fmt: skip
    rule = SecurityRule(
        description="New Test security rule", protocol="Tcp", source_port_range="655",
        destination_port_range="123-3500", source_address_prefix="*",
        destination_address_prefix="*", access="Allow", priority=400, direction="Outbound",
    )  # fmt: skip
    hook = Recorder()
    ops = network_client.security_rules
    ops.begin_create_or_update(
        rg, nsg, "pynewrulec575136b", rule, api_version="2019-07-01", raw_response_hook=hook
    ).result()
    put, get = hook.seen[0], hook.seen[-1]
    assert_like(put, rec[0], emulator)
    assert_like(get, rec[2], emulator)
    assert get.body["properties"] == rec[2]["body"]["properties"]

    hook = Recorder()
    listed = list(ops.list(rg, nsg, api_version="2019-07-01", raw_response_hook=hook))
    assert_like(hook.seen[0], rec[3], emulator)
    assert [r["properties"] for r in hook.seen[0].body["value"]] == [
        r["properties"] for r in rec[3]["body"]["value"]
    ]
    assert {r.etag for r in listed} == {get.body["etag"]}  # rules share the NSG's etag

    hook = Recorder()
    ops.begin_delete(
        rg, nsg, "pynewrulec575136b", api_version="2019-07-01", raw_response_hook=hook
    ).result()
    assert_like(hook.seen[0], rec[4], emulator)
    assert hook.seen[-1].body == rec[5]["body"] == {"status": "Succeeded"}
    with pytest.raises(ResourceNotFoundError) as info:
        ops.get(rg, nsg, "pynewrulec575136b")
    assert info.value.error.code == "NotFound"


def test_recording_04_retry_after_and_in_progress() -> None:
    with Emulator(lro_polls=2, retry_after=10) as emu:
        auth = {"Authorization": "Bearer t"}
        status, head, body = raw(
            emu, "PUT", NSG_PATH + API, body={"location": "westus"}, headers=auth
        )
        assert (status, head["retry-after"]) == (201, "10")
        poll = head["azure-asyncoperation"].removeprefix(emu.endpoint)
        for _ in range(2):
            status, head, body = raw(emu, "GET", poll, headers=auth)
            assert (status, body, head["retry-after"]) == (200, {"status": "InProgress"}, "10")
        assert raw(emu, "GET", poll, headers=auth)[2] == {"status": "Succeeded"}


def test_service_tags_shape_like_recording_03(tmp_path: Any, network_client: Any) -> None:
    from pathlib import Path

    feed = Path(__file__).parent.parent / "data" / "ServiceTags_Public_20251017.json.xz"
    with Emulator(feed=feed) as emu:
        status, _, body = raw(
            emu, "GET",
            f"/subscriptions/{SUB}/providers/Microsoft.Network/locations/eastus/serviceTags{API}",
            headers={"Authorization": "Bearer t"},
        )  # fmt: skip
    assert status == 200
    # recording 03's head, re-typed: string change numbers, state, one page with nextLink ""
    assert list(body) == ["name", "id", "type", "changeNumber", "cloud", "values", "nextLink"]
    assert body["type"] == "Microsoft.Network/serviceTags"
    assert body["nextLink"] == ""
    assert body["id"] == f"/subscriptions/{SUB}/providers/Microsoft.Network/serviceTags/Public"
    assert isinstance(body["changeNumber"], str)
    first = body["values"][0]
    assert list(first) == ["name", "id", "serviceTagChangeNumber", "properties"]
    assert list(first["properties"]) == [
        "changeNumber", "region", "state", "networkFeatures", "systemService", "addressPrefixes",
    ]  # fmt: skip
    assert isinstance(first["properties"]["changeNumber"], str)
    assert first["serviceTagChangeNumber"] == body["changeNumber"]
    assert all(
        v["properties"]["networkFeatures"] is None or "NSG" in v["properties"]["networkFeatures"]
        for v in body["values"]
    )


def test_service_tags_through_sdk(network_client: Any, emulator: Emulator) -> None:
    from azure.core.exceptions import HttpResponseError

    with pytest.raises(HttpResponseError) as info:
        network_client.service_tags.list("westeurope")
    assert info.value.status_code == 404


def test_nsg_lists_patch_and_case_insensitive_paths(
    emulator: Emulator, network_client: Any
) -> None:
    groups = network_client.network_security_groups
    groups.begin_create_or_update("rg1", "a", NetworkSecurityGroup(location="westus")).result()
    groups.begin_create_or_update("RG2", "b", NetworkSecurityGroup(location="westus")).result()
    assert [n.name for n in groups.list("rg1")] == ["a"]
    assert sorted(n.name for n in groups.list_all()) == ["a", "b"]
    assert groups.get("rg2", "B").name == "b"
    status, _, _ = raw(
        emulator, "GET",
        f"/SUBSCRIPTIONS/{SUB}/resourcegroups/RG1/providers/microsoft.network/"
        "NETWORKSECURITYGROUPS/A?api-version=2024-05-01",
        headers={"Authorization": "Bearer t"},
    )  # fmt: skip
    assert status == 200
    before = groups.get("rg1", "a").etag
    from azure.mgmt.network.models import TagsObject

    patched = groups.update_tags("rg1", "a", TagsObject(tags={"ipsync": "Storage"}))
    assert patched.tags == {"ipsync": "Storage"}
    assert patched.etag != before
    groups.begin_delete("rg1", "a").result()
    with pytest.raises(ResourceNotFoundError) as info:
        groups.get("rg1", "a")
    assert info.value.error.code == "ResourceNotFound"
    assert "Microsoft.Network/networkSecurityGroups/a" in info.value.error.message
