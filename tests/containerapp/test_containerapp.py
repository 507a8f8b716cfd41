"""Container Apps synced by the engine through azure-mgmt-appcontainers, against the emulator:
named Allow rules beside the owner's, never mixed with Deny rules.

Apps are made with plain REST calls shaped like the ContainerApps_CreateOrUpdate spec example
(the contract harness's); expectations come from the bundled release read here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import netaddr
import pytest

from armemu import Emulator
from sync.engine import run
from sync.settings import Settings, load_settings
from tests.contract.harness import RELEASE, Arm, bundled_ipv4, group_id
from tests.contract.harness.containerapp import API, app_body, restriction

TAG = "Storage.WestEurope"


@pytest.fixture
def arm(emulator: Emulator) -> Arm:
    return Arm(emulator)


def _app(arm: Arm, name: str, body: dict[str, Any]) -> str:
    path = f"{group_id()}/providers/Microsoft.App/containerApps/{name}"
    arm.put(path, API, body)
    return path


def _settings(base: Settings, tmp_path: Path, app: str, **fields: Any) -> Settings:
    target = {"kind": "containerapp", "resource": app, "service_tags": [TAG], **fields}
    dumped = base.model_dump(exclude={"targets", "source", "cache_dir", "state"})
    return load_settings(**{**dumped, "source": str(RELEASE), "targets": [target],
                            "cache_dir": tmp_path, "state": str(tmp_path / "state")})  # fmt: skip


def _rules(arm: Arm, app: str) -> list[dict[str, Any]]:
    ingress = arm.get(app, API)["properties"]["configuration"]["ingress"]
    return list(ingress.get("ipSecurityRestrictions") or [])


def test_the_tag_becomes_named_allow_rules_beside_the_owners(
    arm: Arm, emulator: Emulator, emulator_settings: Settings, tmp_path: Path
) -> None:
    office = restriction("office", "1.2.3.0/24")
    app = _app(arm, "app1", app_body([office]))
    settings = _settings(emulator_settings, tmp_path, app)
    report = run(settings)
    assert report.ok, report.targets[0].error
    rules = _rules(arm, app)
    assert rules[0] == office
    mine = rules[1:]
    assert {r["action"] for r in mine} == {"Allow"}
    for rule in mine:  # named after its range, so a kept range keeps its rule
        assert rule["name"] == "ipsync-" + rule["ipAddressRange"].replace(".", "-").replace(
            "/", "-"
        )
        assert rule["description"] == f"ipsync: {TAG}"
    assert netaddr.IPSet(r["ipAddressRange"] for r in mine) == bundled_ipv4(TAG)
    assert len(mine) == len(list(bundled_ipv4(TAG).iter_cidrs()))
    writes = emulator.stats()["writes"]
    again = run(settings)
    assert (again.writes, again.targets[0].status) == (0, "unchanged")
    assert emulator.stats()["writes"] == writes


def test_an_app_of_deny_rules_is_refused_saying_why(
    arm: Arm, emulator: Emulator, emulator_settings: Settings, tmp_path: Path
) -> None:
    deny = {**restriction("blocked", "1.2.3.0/24"), "action": "Deny"}
    app = _app(arm, "app2", app_body([deny]))
    writes = emulator.stats()["writes"]
    report = run(_settings(emulator_settings, tmp_path, app))
    (row,) = report.targets
    assert row.status in ("failed", "refused")
    assert "are Deny rules (blocked)" in (row.error or "")
    assert "all Allow or all Deny, never a mix" in (row.error or "")
    assert _rules(arm, app) == [deny]
    assert emulator.stats()["writes"] == writes


def test_an_app_without_ingress_is_refused(
    arm: Arm, emulator: Emulator, emulator_settings: Settings, tmp_path: Path
) -> None:
    body = app_body([])
    del body["properties"]["configuration"]["ingress"]
    app = _app(arm, "app3", body)
    writes = emulator.stats()["writes"]
    report = run(_settings(emulator_settings, tmp_path, app))
    assert "the app has no ingress" in (report.targets[0].error or "")
    assert emulator.stats()["writes"] == writes


def test_a_limit_below_the_tag_is_fitted_with_the_owners_rule_counted(
    arm: Arm, emulator_settings: Settings, tmp_path: Path
) -> None:
    app = _app(arm, "app4", app_body([restriction("office", "1.2.3.0/24")]))
    report = run(_settings(emulator_settings, tmp_path, app, fit="cover", max_entries=10,
                           max_extra_ratio=1e6))  # fmt: skip
    assert report.ok, report.targets[0].error
    mine = [r["ipAddressRange"] for r in _rules(arm, app) if r["name"].startswith("ipsync-")]
    assert len(mine) <= 10
    assert bundled_ipv4(TAG).issubset(netaddr.IPSet(mine))


def test_an_own_rule_turned_to_deny_by_hand_is_written_again_as_allow(
    arm: Arm, emulator_settings: Settings, tmp_path: Path
) -> None:
    app = _app(arm, "app5", app_body([]))
    settings = _settings(emulator_settings, tmp_path, app)
    assert run(settings).ok
    rules = _rules(arm, app)
    for rule in rules:  # all of them: the service takes no mix
        rule["action"] = "Deny"
    arm.patch(app, API, {"properties": {"configuration": {"ingress": {
        "ipSecurityRestrictions": rules}}}})  # fmt: skip
    report = run(settings)
    assert report.ok, report.targets[0].error
    assert {r["action"] for r in _rules(arm, app)} == {"Allow"}
    assert netaddr.IPSet(r["ipAddressRange"] for r in _rules(arm, app)) == bundled_ipv4(TAG)
