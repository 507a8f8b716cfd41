"""The App Service kind end to end: sites made by plain REST calls shaped like the spec
examples, synced through ``run`` with the real azure-mgmt-web against the emulator.

Expectations come from the real bundled release, read with netaddr here, never from the
product's own selection.
"""

from __future__ import annotations

import json
import lzma
from pathlib import Path
from typing import Any

import netaddr
import pytest
from engine.conftest import SettingsFor

from armemu import Emulator
from sync.core.fit import fit
from sync.engine import run
from tests.contract.harness import Arm, cidrs
from tests.contract.harness.appservice import API, FRONT_DOOR, HARNESS

RELEASE = Path(__file__).resolve().parents[1] / "data" / "ServiceTags_Public_20251017.json.xz"
OFFICE = "1.2.3.0/24"


def published(tag: str) -> dict[str, list[str]]:
    """The tag's prefixes per family, merged, from the release file itself."""
    document = json.loads(lzma.decompress(RELEASE.read_bytes()))
    (found,) = [v for v in document["values"] if v["name"] == tag]
    prefixes = found["properties"]["addressPrefixes"]
    return {
        family: [str(c) for c in netaddr.cidr_merge([p for p in prefixes if (":" in p) == v6])]
        for family, v6 in (("v4", False), ("v6", True))
    }


def _config(arm: Arm, resource: str) -> dict[str, Any]:
    found: dict[str, Any] = arm.get(f"{resource}/config/web", API)["properties"]
    return found


def _ours(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rules if r["name"].startswith("ipsync-")]


def _ranges(rules: list[dict[str, Any]]) -> list[str]:
    return [p for r in _ours(rules) for p in r["ipAddress"].split(",")]


def _target(resource: str, tag: str = "Storage.WestEurope", **fields: Any) -> dict[str, Any]:
    return {"kind": "appservice", "resource": resource, "service_tags": [tag], **fields}


def test_a_site_gets_the_tag_keeps_the_owners_rules_and_a_rerun_writes_nothing(
    arm: Arm, emulator: Emulator, settings_for: SettingsFor
) -> None:
    site = HARNESS.create(arm, "app1", [OFFICE])
    before = list(_config(arm, site)["ipSecurityRestrictions"])
    report = run(settings_for(RELEASE, [_target(site)]))
    assert report.ok, report.model_dump_json(indent=1)
    config = _config(arm, site)
    rules = config["ipSecurityRestrictions"]
    tag = published("Storage.WestEurope")
    assert cidrs(_ranges(rules)) == netaddr.IPSet(tag["v4"] + tag["v6"])  # both families
    assert all(len(r["ipAddress"].split(",")) <= 8 for r in _ours(rules))
    assert len(_ours(rules)) == -(-len(tag["v4"] + tag["v6"]) // 8)
    assert all(1000 <= r["priority"] <= 1999 for r in _ours(rules))
    # the owner's rules (office, service tag with its header filter, the default Deny rule)
    assert [r for r in rules if not r["name"].startswith("ipsync-")] == before
    assert FRONT_DOOR["name"] in {r["name"] for r in rules}
    assert config["ipSecurityRestrictionsDefaultAction"] == "Deny"
    assert config["scmIpSecurityRestrictions"][:-1] == []  # the SCM list was not touched
    writes = emulator.stats()["writes"]
    again = run(settings_for(RELEASE, [_target(site)]))
    assert (again.writes, again.targets[0].status) == (0, "unchanged")
    assert emulator.stats()["writes"] == writes


@pytest.mark.parametrize("foreign_rules", [0, 200])
def test_azurecloud_fits_one_site_at_the_optimum_of_rules_times_8(
    arm: Arm, settings_for: SettingsFor, foreign_rules: int
) -> None:
    """Thousands of ranges in 512 rules of 8; with 200 rules of others, 312 x 8 ranges."""
    site = HARNESS.create(
        arm, "app2", [f"1.2.{n // 256}.{n % 256}/32" for n in range(foreign_rules)]
    )
    target = _target(site, "AzureCloud", fit="cover", max_extra_ratio=1e6)
    report = run(settings_for(RELEASE, [target]))
    assert report.ok, report.model_dump_json(indent=1)
    tag = published("AzureCloud")
    capacity = (512 - foreign_rules - 1) * 8  # the front-door rule is the owner's too
    rules = _config(arm, site)["ipSecurityRestrictions"]
    ours = _ours(rules)
    written = _ranges(rules)
    assert len(rules) - 1 <= 512  # the rule the default action shows aside
    assert all(len(r["ipAddress"].split(",")) <= 8 for r in ours)
    assert len(written) > 512  # many ranges a rule, not one
    assert netaddr.IPSet(tag["v4"] + tag["v6"]).issubset(netaddr.IPSet(written))
    best = fit(tag, capacity)
    (row,) = report.targets
    assert row.fit is not None
    assert row.fit.extra_addresses == sum(f.extra_addresses for f in best.values())
    assert len(written) == sum(len(f.blocks) for f in best.values()) <= capacity
    if foreign_rules:
        assert len(tag["v4"] + tag["v6"]) > capacity  # a real cover: extra addresses
        assert row.fit.extra_addresses > 0
    else:
        assert row.fit.extra_addresses == 0  # 3,189 ranges fit 4,088 exactly


def test_site_both_writes_main_and_scm_in_one_patch_each_within_its_limit(
    arm: Arm, emulator: Emulator, settings_for: SettingsFor
) -> None:
    site = HARNESS.create(arm, "app3", [OFFICE])
    # the SCM list is nearly full: 500 rules of others leave 12 rules (96 ranges)
    scm = [{"name": f"agent-{n}", "priority": 100 + n, "action": "Allow",
            "ipAddress": f"5.6.{n // 256}.{n % 256}/32"} for n in range(500)]  # fmt: skip
    arm.patch(f"{site}/config/web", API, {"properties": {"scmIpSecurityRestrictions": scm}})
    tag = published("Storage.WestEurope")
    target = _target(site, site="both", fit="cover", max_extra_ratio=1e6)
    start = len(emulator.writes())
    report = run(settings_for(RELEASE, [target]))
    assert report.ok, report.model_dump_json(indent=1)
    (write,) = emulator.writes()[start:]
    assert (write["method"], write["path"].endswith("/config/web")) == ("PATCH", True)
    assert set(write["body"]["properties"]) == {
        "ipSecurityRestrictions",
        "scmIpSecurityRestrictions",
    }
    config = _config(arm, site)
    wanted = netaddr.IPSet(tag["v4"] + tag["v6"])
    for field, others in (("ipSecurityRestrictions", 2), ("scmIpSecurityRestrictions", 500)):
        rules = config[field]
        assert len(rules) - 1 <= 512
        assert len(_ours(rules)) <= 12  # the smaller capacity holds for both lists
        assert len(rules) - 1 - len(_ours(rules)) == others
        assert wanted.issubset(cidrs(_ranges(rules)))
    assert _ranges(config["ipSecurityRestrictions"]) == _ranges(config["scmIpSecurityRestrictions"])


def test_an_scm_site_that_follows_main_is_written_through_main_or_refused(
    arm: Arm, settings_for: SettingsFor
) -> None:
    site = HARNESS.create(arm, "app4", [OFFICE])
    arm.patch(f"{site}/config/web", API, {"properties": {"scmIpSecurityRestrictionsUseMain": True}})
    refused = run(settings_for(RELEASE, [_target(site, site="scm")]))
    (row,) = refused.targets
    assert not refused.ok
    assert "scmIpSecurityRestrictionsUseMain" in (row.error or ""), row
    assert _ours(_config(arm, site)["ipSecurityRestrictions"]) == []
    both = run(settings_for(RELEASE, [_target(site, site="both")]))
    assert both.ok, both.model_dump_json(indent=1)
    config = _config(arm, site)
    assert _ours(config["ipSecurityRestrictions"])
    assert _ours(config["scmIpSecurityRestrictions"]) == []
    assert config["scmIpSecurityRestrictionsUseMain"] is True
    assert any("only the main list" in note for note in both.targets[0].notes)


def test_a_slot_target_writes_the_slots_rules_only(arm: Arm, settings_for: SettingsFor) -> None:
    site = HARNESS.create(arm, "app5", [OFFICE])
    slot = f"{site}/slots/staging"
    arm.put(slot, API, {"kind": "app", "location": "West Europe", "properties": {}})
    report = run(settings_for(RELEASE, [_target(site, slot="staging")]))
    assert report.ok, report.model_dump_json(indent=1)
    tag = published("Storage.WestEurope")
    assert cidrs(_ranges(_config(arm, slot)["ipSecurityRestrictions"])) == netaddr.IPSet(
        tag["v4"] + tag["v6"]
    )
    assert _ours(_config(arm, site)["ipSecurityRestrictions"]) == []


def test_lists_changed_since_the_read_are_not_overwritten(arm: Arm, emulator_settings: Any) -> None:
    """No etag on config/web: the gateway reads the lists again and re-plans when they moved."""
    from azure.mgmt.web import WebSiteManagementClient

    from sync.azure.client import arm_client
    from sync.azure.writes import ArmWriter, Deadline, Stale
    from sync.core.selection import Selection
    from sync.kinds.appservice.gateway import AppServiceGateway
    from sync.kinds.appservice.plan import plan_target
    from sync.kinds.appservice.target import AppServiceTarget

    site = HARNESS.create(arm, "app6", [OFFICE])
    client = arm_client(emulator_settings, WebSiteManagementClient)
    writer = ArmWriter(site, Deadline(60), 0)
    gateway = AppServiceGateway(client, "rg-contract", "app6", None, writer)
    target = AppServiceTarget.model_validate(_target(site))
    snapshot = gateway.read()
    plan = plan_target(target, Selection(("x",), ("20.0.0.0/24",), (), {}), snapshot.state)
    assert not isinstance(plan, str)
    rules = _config(arm, site)["ipSecurityRestrictions"]
    late = {"name": "late", "priority": 200, "action": "Allow", "ipAddress": "7.7.7.0/24"}
    arm.patch(f"{site}/config/web", API, {"properties": {"ipSecurityRestrictions": [*rules, late]}})
    with pytest.raises(Stale):
        gateway.send(plan.writes[0], None)
    assert writer.writes == 0
    assert "late" in {r["name"] for r in _config(arm, site)["ipSecurityRestrictions"]}


def test_a_write_whose_answer_was_lost_is_not_sent_again(
    arm: Arm, emulator: Emulator, settings_for: SettingsFor
) -> None:
    site = HARNESS.create(arm, "app7", [OFFICE])
    writes = emulator.stats()["writes"]
    emulator.add_faults(
        [{"method": "PATCH", "path_contains": f"{site}/config/web", "count": 1,
          "lose_response": True}]
    )  # fmt: skip
    report = run(settings_for(RELEASE, [_target(site)]))
    assert report.ok, report.model_dump_json(indent=1)
    assert report.targets[0].status == "applied"
    assert emulator.stats()["writes"] == writes + 1  # the lists read back hold what was sent
    assert _ours(_config(arm, site)["ipSecurityRestrictions"])


def test_an_app_tagged_ipsync_is_found_and_synced(arm: Arm, settings_for: SettingsFor) -> None:
    site = HARNESS.create(arm, "app8", [OFFICE])
    HARNESS.set_tags(arm, site, {"ipsync": "Storage.WestEurope", "ipsync-families": "v4"})
    report = run(settings_for(RELEASE, []))
    rows = [t for t in report.targets if t.resource.lower() == site.lower()]
    assert [(t.kind, t.status) for t in rows] == [("appservice", "applied")], report
    tag = published("Storage.WestEurope")
    assert cidrs(_ranges(_config(arm, site)["ipSecurityRestrictions"])) == netaddr.IPSet(tag["v4"])
