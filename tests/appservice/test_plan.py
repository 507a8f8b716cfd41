"""The App Service plan on rule lists built by hand: what is owned, what is kept, the capacity
(rules x 8 ranges, the priority band) and the one write. Pure: no emulator."""

from __future__ import annotations

from typing import Any

import pytest

from sync.core.plan import TargetPlan
from sync.core.selection import Selection
from sync.kinds.appservice.plan import ConfigWrite, SiteConfig, plan_target
from sync.kinds.appservice.rules import parse_rule, read_list
from sync.kinds.appservice.target import AppServiceTarget

SITE = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/"
    "Microsoft.Web/sites/app"
)
#: 20 published /24s, far apart: 3 rules of 8.
V4 = tuple(f"20.{n}.0.0/24" for n in range(20))


def _target(**fields: Any) -> AppServiceTarget:
    return AppServiceTarget.model_validate(
        {"kind": "appservice", "resource": SITE, "service_tags": ["AzureCloud"], **fields}
    )


def _config(main: list[dict[str, Any]], scm: list[dict[str, Any]] | None = None) -> SiteConfig:
    return SiteConfig({"main": read_list(main), "scm": read_list(scm or [])}, use_main=False)


def _others(count: int) -> list[dict[str, Any]]:
    """``count`` rules of the owner's, all at one priority (App Service allows that)."""
    return [
        {
            "name": f"o{n}",
            "priority": 10,
            "action": "Allow",
            "ipAddress": f"9.{n // 256}.{n % 256}.0/24",
        }
        for n in range(count)
    ]


def _plan(target: AppServiceTarget, config: SiteConfig, v4: tuple[str, ...] = V4) -> Any:
    plan = plan_target(target, Selection(target.service_tags, v4, (), {}), config)
    assert isinstance(plan, TargetPlan), plan
    return plan


def _sent(plan: Any, field: str = "ipSecurityRestrictions") -> list[dict[str, Any]]:
    (write,) = plan.writes
    payload: ConfigWrite = write.payload
    return list(payload.lists[field])


def test_only_plain_allow_ip_rules_of_the_prefix_inside_the_band_are_owned() -> None:
    kept = [
        {"name": "ipsync-old", "priority": 50, "action": "Allow", "ipAddress": "9.9.9.0/24"},
        {"name": "ipsync-deny", "priority": 1000, "action": "Deny", "ipAddress": "9.9.8.0/24"},
        {"name": "ipsync-tag", "priority": 1001, "action": "Allow", "tag": "ServiceTag",
         "ipAddress": "AzureFrontDoor.Backend"},
        {"name": "ipsync-hdr", "priority": 1002, "action": "Allow", "ipAddress": "9.9.7.0/24",
         "headers": {"x-forwarded-host": ["example.com"]}},
        {"name": "office", "priority": 1003, "action": "Allow", "ipAddress": "9.9.6.0/24"},
    ]  # fmt: skip
    mine = {"name": "IPSYNC-azurecloud-001", "priority": 1500, "action": "Allow",
            "ipAddress": "20.0.0.0/24"}  # fmt: skip
    plan = _plan(_target(), _config([*kept, mine]))
    sent = _sent(plan)
    assert sent[: len(kept)] == kept  # every other rule as read, first, in its order
    ours = sent[len(kept) :]
    assert [len(r["ipAddress"].split(",")) for r in ours] == [8, 8, 4]
    # the band's priorities in order, skipping those the kept rules take
    assert [r["priority"] for r in ours] == [1004, 1005, 1006]
    assert plan.writes[0].removed == ()
    assert set(plan.writes[0].added) == set(V4) - {"20.0.0.0/24"}


def test_an_owned_rule_written_with_a_subnet_mask_or_host_bits_compares_as_its_cidr() -> None:
    rule = parse_rule(
        {"name": "x", "priority": 1, "ipAddress": "20.1.2.3", "subnetMask": "255.255.255.0"}
    )
    assert rule.ranges == ("20.1.2.0/24",)
    assert parse_rule(
        {"name": "x", "priority": 1, "ipAddress": "20.1.2.3/24, 2001:db8::1/48"}
    ).ranges == (
        "20.1.2.0/24",
        "2001:db8::/48",
    )
    assert parse_rule({"name": "x", "priority": 1, "ipAddress": "Any"}).ranges == ()


def test_the_rules_a_first_plan_writes_are_unchanged_on_the_next() -> None:
    target = _target()
    plan = _plan(target, _config([]))
    assert _plan(target, _config(_sent(plan))).writes == ()


def test_capacity_is_rules_times_8_less_other_rules_and_no_more_than_the_band() -> None:
    others = _others(510)
    exact = plan_target(_target(), Selection(("AzureCloud",), V4, (), {}), _config(others))
    assert isinstance(exact, TargetPlan)
    assert exact.refused is not None
    assert "needs 20 entries but 16 fit" in exact.refused
    banded = plan_target(
        _target(priority_range=(1000, 1001)), Selection(("AzureCloud",), V4, (), {}), _config([])
    )
    assert isinstance(banded, TargetPlan)
    assert banded.refused is not None
    assert "but 16 fit" in banded.refused
    assert "2 free priorities in 1000-1001" in banded.refused


def test_site_both_takes_the_smaller_capacity_of_the_two_lists() -> None:
    others = _others(510)
    plan = _plan(_target(site="both", fit="cover"), _config([], others))
    assert plan.fit.capacity == 16
    assert len(_sent(plan)) == 2
    assert len(_sent(plan, "scmIpSecurityRestrictions")) == 512


def test_scm_alone_is_refused_when_it_follows_the_main_list() -> None:
    config = SiteConfig({"main": (), "scm": ()}, use_main=True)
    reason = plan_target(_target(site="scm"), Selection(("AzureCloud",), V4, (), {}), config)
    assert isinstance(reason, str)
    assert "scmIpSecurityRestrictionsUseMain" in reason


@pytest.mark.parametrize("families", [("v4",), ("v4", "v6")])
def test_ipv6_is_taken_beside_ipv4(families: tuple[str, ...]) -> None:
    target = _target(families=families)
    v6 = ("2603:1020::/48",)
    plan = plan_target(target, Selection(target.service_tags, V4[:7], v6, {}), _config([]))
    assert isinstance(plan, TargetPlan)
    written = [p for r in _sent(plan) for p in r["ipAddress"].split(",")]
    assert written == [*V4[:7], *v6][: 7 + (len(families) - 1)]


@pytest.mark.parametrize("priority", [2147483647, 1])
def test_the_rule_a_get_shows_for_the_default_action_is_no_rule(priority: int) -> None:
    shown = {"ipAddress": "Any", "action": "Deny", "priority": priority, "name": "Deny all"}
    plan = _plan(_target(), _config([shown]))
    assert all(r["ipAddress"] != "Any" for r in _sent(plan))
