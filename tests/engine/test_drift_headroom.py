"""Drift and headroom in the run report: entries ipsync wrote that someone else removed or
changed (an NSG rule edited by hand, a Storage firewall wiped by a redeployed template), and
targets near their capacity or their ``max_extra_ratio``. Real runs against the emulator; the
expected address counts are computed here with netaddr."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import netaddr
import pytest
from azure.mgmt.network.models import SecurityRule

from armemu import Emulator
from sync.engine import run
from sync.report import TargetReport
from tests.kinds_lists.conftest import FIREWALLS

from .conftest import RG, SUB, SettingsFor, make_nsg, rules_of, target, write_release

TAGS = {"Alpha": ["192.0.2.0/24", "2001:db8:1::/48"], "Beta": ["198.51.100.0/24"]}
STORAGE = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Storage/storageAccounts"


def drift_of(report: TargetReport) -> list[str]:
    return [n for n in report.notes if n.startswith("drift: ")]


@pytest.fixture
def synced(network_client: Any, settings_for: SettingsFor, tmp_path: Path) -> Any:
    """NSG n1 synced to TAGS' Alpha; returns settings for the same release."""
    nsg = make_nsg(network_client, "n1")
    settings = settings_for(write_release(tmp_path / "a.json", TAGS, 1), [target(nsg, ["Alpha"])])
    first = run(settings)
    assert first.ok
    assert drift_of(first.targets[0]) == []
    return settings


def test_a_rule_removed_by_hand_is_drift_until_it_is_written_again(
    network_client: Any, synced: Any
) -> None:
    network_client.security_rules.begin_delete(RG, "n1", "ipsync-alpha-v6").result()

    planned = run(synced.model_copy(update={"dry_run": True}))
    (row,) = planned.targets
    assert row.status == "planned"
    assert drift_of(row) == [
        "drift: the IPv6 entries ipsync wrote were removed by someone else since its last run "
        "(+0 -65,536 /64s); a sync writes them again"
    ]
    applied = run(synced)
    assert applied.targets[0].status == "applied"
    assert drift_of(applied.targets[0]) == drift_of(row)
    again = run(synced)
    assert (again.targets[0].status, again.targets[0].notes) == ("unchanged", [])


def test_a_rule_changed_by_hand_counts_the_addresses_on_both_sides(
    network_client: Any, synced: Any
) -> None:
    rule: SecurityRule = rules_of(network_client, "n1")["ipsync-alpha-v4"]
    hand = ["192.0.2.0/25", "203.0.113.0/28"]  # half of it gone, a block of someone's own
    rule.destination_address_prefix, rule.destination_address_prefixes = None, hand
    network_client.security_rules.begin_create_or_update(RG, "n1", "ipsync-alpha-v4", rule).result()

    (row,) = run(synced).targets

    wrote, now = netaddr.IPSet(["192.0.2.0/24"]), netaddr.IPSet(hand)
    gained, lost = (now - wrote).size, (wrote - now).size
    assert (gained, lost) == (16, 128)
    assert drift_of(row) == [
        f"drift: the IPv4 entries ipsync wrote were changed by someone else since its last run "
        f"(+{gained} -{lost} addresses); a sync sets them back"
    ]
    assert row.status == "applied"


def test_a_run_that_re_reads_after_its_own_writes_reports_no_drift(
    emulator: Emulator, network_client: Any, settings_for: SettingsFor, tmp_path: Path
) -> None:
    nsg = make_nsg(network_client, "n2")
    targets = [target(nsg, ["Alpha"])]
    assert run(settings_for(write_release(tmp_path / "a.json", TAGS, 1), targets)).ok
    grown = {"Alpha": ["192.0.2.0/24", "192.0.3.0/24"]}  # v4 grows (PUT), v6 goes (DELETE)
    settings = settings_for(write_release(tmp_path / "b.json", grown, 2), targets)
    # The update goes through, then the delete meets a 412: the run reads the NSG again, and
    # finds its own update there.
    emulator.add_faults(
        [
            {
                "method": "DELETE",
                "path_contains": "/securityRules/ipsync",
                "count": 1,
                "status": 412,
                "code": "PreconditionFailed",
            }
        ]
    )

    report = run(settings, force=True)  # the emptied IPv6 family is meant

    assert report.ok, report
    assert report.writes == 3
    assert drift_of(report.targets[0]) == []


def test_a_whole_list_wiped_by_a_template_is_drift_and_is_written_back(
    emulator_settings: Any, settings_for: SettingsFor, tmp_path: Path
) -> None:
    from sync.azure.client import arm_client

    storage = FIREWALLS["storage"]
    client = arm_client(emulator_settings, storage.client_type)
    storage.make(client, "st1", ["203.0.113.7"], "Standard")
    targets = [{"kind": "storage", "resource": f"{STORAGE}/st1", "service_tags": ["Alpha"]}]
    settings = settings_for(write_release(tmp_path / "a.json", TAGS, 1), targets)
    assert run(settings).ok
    # The template the account was deployed with knows only its owner's own entry.
    storage.make(client, "st1", ["203.0.113.7"], "Standard")

    (row,) = run(settings).targets

    assert drift_of(row) == [
        "drift: the IPv4 entries ipsync wrote were removed by someone else since its last run "
        "(+0 -256 addresses); a sync writes them again"
    ]
    assert row.status == "applied", row.error
    assert sorted(storage.values(client, "st1")) == ["192.0.2.0/24", "203.0.113.7"]
    assert drift_of(run(settings).targets[0]) == []


def test_near_capacity_and_near_max_extra_ratio_are_noted_from_the_thresholds(
    network_client: Any, settings_for: SettingsFor, tmp_path: Path
) -> None:
    nsg = make_nsg(network_client, "n3")
    # Ten blocks that do not merge: nine /24s, and a /25 beside the first.
    ten = [f"20.0.{4 * i}.0/24" for i in range(9)] + ["20.0.1.0/25"]
    feed = write_release(tmp_path / "a.json", {"Ten": ten}, 1)
    exact = target(nsg, ["Ten"], families=["v4"], max_entries=11)
    cover = target(
        nsg,
        ["Ten"],
        families=["v4"],
        max_entries=9,
        fit="cover",
        max_extra_ratio=0.06,
        priority_range=[300, 399],
        rule_prefix="cover",
    )

    near, covered = run(settings_for(feed, [exact, cover], dry_run=True)).targets

    assert near.notes == [
        "near capacity: 10 of 11 entries in use (91%, notes from 90%); a growing tag will need "
        "a cover or be refused"
    ]
    # Nine blocks for ten: the first /24 and the /25 join in a /23, with 128 addresses nobody
    # published; 128 of 2,432 is 88% of the 6% the target allows.
    published = netaddr.IPSet(ten).size
    assert covered.fit is not None
    assert (covered.fit.entries, covered.fit.extra_addresses) == (9, 128)
    assert covered.fit.extra_ratio == pytest.approx(128 / published)
    assert covered.fit.max_extra_ratio == 0.06
    assert [n.split(":")[0] for n in covered.notes] == ["near capacity", "near max_extra_ratio"]
    assert covered.notes[1].startswith("near max_extra_ratio: the cover allows 5.26% ")
    looser = settings_for(feed, [exact], dry_run=True, near_capacity_ratio=0.95)
    assert run(looser).targets[0].notes == []
    assert exact["max_entries"] == 11
    assert near.fit is not None
    assert near.fit.max_extra_ratio is None
