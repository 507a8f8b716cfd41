"""Storage IPv6 rules: a target of both families writes ``ipRules`` and ``ipv6Rules`` in one
PATCH, where the account publishes IPv6 endpoints; elsewhere it is refused, saying why. The
account is made with plain REST shaped like the spec examples (StorageAccountCreate, and
StorageAccountLeverageIPv6Ability for ``dualStackEndpointPreference``)."""

from __future__ import annotations

import json
import lzma
from collections.abc import Callable
from pathlib import Path

import netaddr

from armemu import Emulator
from sync.engine import run
from sync.settings import Settings
from tests.contract.harness import Arm
from tests.contract.harness.storage import StorageHarness

SettingsFor = Callable[..., Settings]
DATA = Path(__file__).resolve().parents[1] / "data" / "ServiceTags_Public_20251017.json.xz"
TAG = "Storage.WestEurope"
#: The owner's own rules, one of each family.
OWNER_V4, OWNER_V6 = "51.0.0.0/24", "2a01:111:f100::/48"


def _published() -> tuple[netaddr.IPSet, netaddr.IPSet]:
    document = json.loads(lzma.decompress(DATA.read_bytes()))
    (tag,) = [v for v in document["values"] if v["name"] == TAG]
    prefixes = tag["properties"]["addressPrefixes"]
    return (netaddr.IPSet(p for p in prefixes if ":" not in p),
            netaddr.IPSet(p for p in prefixes if ":" in p))  # fmt: skip


def _account(arm: Arm, name: str, ipv6: bool) -> str:
    harness = StorageHarness()
    body = harness.body([harness.rule(OWNER_V4)])
    if ipv6:
        body["properties"]["dualStackEndpointPreference"] = {"publishIpv6Endpoint": True}
        body["properties"]["networkAcls"]["ipv6Rules"] = [harness.rule(OWNER_V6)]
    arm.put(harness.path(name), harness.api, body)
    return harness.path(name)


def _dual(resource: str) -> dict[str, object]:
    return {"kind": "storage", "resource": resource, "service_tags": [TAG],
            "families": ["v4", "v6"]}  # fmt: skip


def _rules(arm: Arm, resource: str, field: str) -> list[str]:
    acls = StorageHarness().rules(arm, resource)
    return [r["value"] for r in acls.get(field, [])]


def test_both_families_are_written_in_one_patch_and_the_owners_rules_stay(
    emulator: Emulator, settings_for: SettingsFor
) -> None:
    arm = Arm(emulator)
    resource = _account(arm, "dualstack", ipv6=True)
    target = _dual(resource)
    patches = emulator.stats()["patches"]
    report = run(settings_for(DATA, [target]))
    assert report.ok, report.model_dump_json(indent=1)
    assert emulator.stats()["patches"] == patches + 1
    v4, v6 = _published()
    assert v6.size > 0
    held_v4, held_v6 = _rules(arm, resource, "ipRules"), _rules(arm, resource, "ipv6Rules")
    assert netaddr.IPSet(held_v4) == v4 | netaddr.IPSet([OWNER_V4])
    assert netaddr.IPSet(held_v6) == v6 | netaddr.IPSet([OWNER_V6])
    assert all(":" in value for value in held_v6)
    assert not any(value.endswith(("/127", "/128")) for value in held_v6)

    again = run(settings_for(DATA, [target]))
    assert (again.writes, again.targets[0].status) == (0, "unchanged")


def test_ipv6_on_an_account_without_ipv6_endpoints_is_refused_before_any_write(
    emulator: Emulator, settings_for: SettingsFor
) -> None:
    arm = Arm(emulator)
    resource = _account(arm, "v4only", ipv6=False)
    target = _dual(resource)
    writes = emulator.stats()["writes"]
    (row,) = run(settings_for(DATA, [target])).targets
    assert row.status == "failed"
    assert "publishes no IPv6 endpoints" in (row.error or "")
    assert emulator.stats()["writes"] == writes
