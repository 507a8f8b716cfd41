"""Front Door WAF policies synced by the engine through azure-mgmt-frontdoor, against the
emulator: the allow-list is one negated Block rule, the rest of the policy stays as made.

Policies are made with plain REST calls shaped like the WafPolicyCreateOrUpdate spec example
(the contract harness's); expectations come from the bundled release read here, never from
ipsync's own selection.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import netaddr
import pytest

from armemu import Emulator
from sync.engine import run
from sync.report import Report
from sync.settings import Settings, load_settings
from tests.contract.harness import RELEASE, Arm, bundled_ipv4
from tests.contract.harness.frontdoor import API, allow_rule, policy_body, policy_id

RULE = "corpAllowList"


@pytest.fixture
def arm(emulator: Emulator) -> Arm:
    return Arm(emulator)


def _policy(arm: Arm, name: str, rules: list[dict[str, Any]]) -> str:
    path = policy_id(name)
    arm.put(path, API, policy_body(rules))
    return path


def _settings(base: Settings, tmp_path: Path, target: dict[str, Any]) -> Settings:
    fields = base.model_dump(exclude={"targets", "source", "cache_dir", "state"})
    return load_settings(**{**fields, "source": str(RELEASE), "targets": [target],
                            "cache_dir": tmp_path, "state": str(tmp_path / "state")})  # fmt: skip


def _target(policy: str, tag: str, **fields: Any) -> dict[str, Any]:
    return {"kind": "frontdoor", "resource": policy, "service_tags": [tag], "rule": RULE,
            "priority": 10, **fields}  # fmt: skip


def _rules(arm: Arm, policy: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = arm.get(policy, API)["properties"]["customRules"]["rules"]
    return found


#: ipsync's own tags on what it writes (the release and generation it wrote).
MARKS = ("ipsync-release", "ipsync-generation")


def _without_mine(arm: Arm, policy: str) -> Any:
    body = arm.get(policy, API)
    props = body["properties"]
    rules = [r for r in props["customRules"]["rules"] if r["name"] != RULE]
    tags = {k: v for k, v in (body.get("tags") or {}).items() if k not in MARKS}
    return {**props, "customRules": {"rules": rules}, "provisioningState": None,
            "sku": body["sku"], "tags": tags}  # fmt: skip


def test_a_region_becomes_one_negated_block_rule_and_nothing_else_changes(
    arm: Arm, emulator: Emulator, emulator_settings: Settings, tmp_path: Path
) -> None:
    policy = _policy(arm, "waf1", [])
    before = _without_mine(arm, policy)
    settings = _settings(emulator_settings, tmp_path, _target(policy, "AzureCloud.westeurope"))
    first = run(settings)
    assert first.ok, first.targets[0].error
    (mine,) = [r for r in _rules(arm, policy) if r["name"] == RULE]
    assert (mine["action"], mine["ruleType"], mine["priority"]) == ("Block", "MatchRule", 10)
    (condition,) = mine["matchConditions"]
    assert (condition["matchVariable"], condition["operator"], condition["negateCondition"]) == (
        "RemoteAddr", "IPMatch", True)  # fmt: skip
    published = bundled_ipv4("AzureCloud.westeurope")
    assert len(condition["matchValue"]) == len(list(published.iter_cidrs())) <= 600
    assert netaddr.IPSet(condition["matchValue"]) == published
    negated = [r for r in _rules(arm, policy)
               if any(c.get("negateCondition") for c in r["matchConditions"])]  # fmt: skip
    assert [r["name"] for r in negated] == [RULE]
    assert not [r for r in _rules(arm, policy) if r["action"] == "Allow"]
    assert _without_mine(arm, policy) == before
    writes = emulator.stats()["writes"]
    again = run(settings)
    assert (again.writes, again.targets[0].status) == (0, "unchanged")
    assert emulator.stats()["writes"] == writes


@pytest.mark.parametrize("fit", ["cover", "exact"])
def test_a_cloud_wide_selection_is_fitted_into_600_ranges_or_refused(
    arm: Arm, emulator: Emulator, emulator_settings: Settings, tmp_path: Path, fit: str
) -> None:
    published = bundled_ipv4("AzureCloud")
    needed = len(list(published.iter_cidrs()))
    assert needed > 600
    policy = _policy(arm, "waf2", [allow_rule(["1.2.3.0/24"])])
    target = _target(policy, "AzureCloud", fit=fit, max_extra_ratio=100.0)
    report: Report = run(_settings(emulator_settings, tmp_path, target))
    (row,) = report.targets
    values = [v for r in _rules(arm, policy) if r["name"] == RULE
              for v in r["matchConditions"][0]["matchValue"]]  # fmt: skip
    if fit == "exact":
        assert row.status == "refused"
        assert f"needs {needed} entries but 599 fit" in (row.error or "")
        assert values == ["1.2.3.0/24"]
        assert emulator.stats()["writes"] == 1  # the policy's creation
        return
    assert report.ok, row.error
    assert len(values) == 600  # the owner's range and 599 of ipsync's
    assert "1.2.3.0/24" in values
    assert published.issubset(netaddr.IPSet(values))
    assert row.fit is not None
    assert row.fit.extra_addresses > 0


def _refusal(arm: Arm, settings: Settings, policy: str) -> str:
    before = arm.get(policy, API)
    report = run(settings)
    (row,) = report.targets
    assert row.status in ("failed", "refused"), row
    assert arm.get(policy, API) == before
    return row.error or ""


def test_a_second_negated_rule_is_never_made(
    arm: Arm, emulator_settings: Settings, tmp_path: Path
) -> None:
    theirs = {**allow_rule(["1.2.3.0/24"]), "name": "officeOnly", "priority": 5}
    policy = _policy(arm, "waf3", [theirs])
    settings = _settings(emulator_settings, tmp_path, _target(policy, "Storage.WestEurope"))
    error = _refusal(arm, settings, policy)
    assert "already has an allow-list rule (officeOnly" in error
    assert 'set rule = "officeOnly"' in error


def test_an_allow_rule_of_that_name_is_never_written(
    arm: Arm, emulator_settings: Settings, tmp_path: Path
) -> None:
    allow = {**allow_rule(["1.2.3.0/24"]), "action": "Allow"}
    allow["matchConditions"][0]["negateCondition"] = False
    policy = _policy(arm, "waf4", [allow])
    settings = _settings(emulator_settings, tmp_path, _target(policy, "Storage.WestEurope"))
    error = _refusal(arm, settings, policy)
    assert f"custom rule {RULE} of policy waf4 is not an allow-list" in error
    assert "MatchRule Allow, not negated" in error


def test_a_taken_priority_is_refused_before_any_write(
    arm: Arm, emulator_settings: Settings, tmp_path: Path
) -> None:
    policy = _policy(arm, "waf5", [])
    target = _target(policy, "Storage.WestEurope", priority=1)  # the rate limit rule's
    error = _refusal(arm, _settings(emulator_settings, tmp_path, target), policy)
    assert "priority 1 is taken by custom rule Rule1" in error


def test_the_put_is_conditional_on_the_policy_as_re_read(
    arm: Arm, emulator_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A change to another rule between the re-read and the PUT is refused by ARM (412), so
    it is re-read and kept, never overwritten."""
    from sync.kinds.frontdoor.api import FrontDoorApi

    policy = _policy(arm, "waf6", [allow_rule(["1.2.3.0/24"])])
    sent: list[str | None] = []
    put_rule = FrontDoorApi.put_rule

    def record(self: FrontDoorApi, listed: Any, write: Any, headers: dict[str, str]) -> Any:
        sent.append(headers.get("If-Match"))
        if len(sent) == 1:  # the owner edits another rule just before ipsync's first PUT
            body = arm.get(policy, API)
            body["properties"]["customRules"]["rules"][0]["rateLimitThreshold"] = 500
            arm.put(policy, API, body)
        return put_rule(self, listed, write, headers)

    monkeypatch.setattr(FrontDoorApi, "put_rule", record)
    report = run(_settings(emulator_settings, tmp_path, _target(policy, "Storage.WestEurope")))
    assert report.ok, report.targets[0].error
    assert len(sent) == 2
    assert sent[0] is not None
    assert sent[1] not in (None, sent[0])  # the etag read again after the 412
    (theirs,) = [r for r in _rules(arm, policy) if r["name"] == "Rule1"]
    assert theirs["rateLimitThreshold"] == 500
    assert bundled_ipv4("Storage.WestEurope").issubset(netaddr.IPSet(
        v for r in _rules(arm, policy) if r["name"] == RULE
        for v in r["matchConditions"][0]["matchValue"]))  # fmt: skip


def test_a_policy_tagged_for_ipsync_gets_its_rule_at_the_lowest_free_priority(
    arm: Arm, emulator_settings: Settings, tmp_path: Path
) -> None:
    """Discovery names no rule or priority: the default rule goes where no rule is."""
    policy = _policy(arm, "waf7", [])  # Rule1 holds priority 1
    arm.patch(policy, API, {"tags": {"ipsync": "Storage.WestEurope"}})
    fields = emulator_settings.model_dump(exclude={"targets", "source", "cache_dir", "state"})
    settings = load_settings(**{**fields, "source": str(RELEASE), "targets": [],
                                "discover_tag": "ipsync", "cache_dir": tmp_path,
                                "state": str(tmp_path / "state")})  # fmt: skip
    report = run(settings)
    (row,) = [t for t in report.targets if t.resource.lower() == policy.lower()]
    assert row.status == "applied", row.error
    (mine,) = [r for r in _rules(arm, policy) if r["name"] == "ipsyncAllowList"]
    assert mine["priority"] == 2
    values = mine["matchConditions"][0]["matchValue"]
    assert netaddr.IPSet(values) == bundled_ipv4("Storage.WestEurope")
