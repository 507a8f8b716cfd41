"""Desired rules: families, sides, description and priorities."""

from __future__ import annotations

import pytest

from sync.errors import TargetError
from sync.kinds.nsg.plan import desired_rules

from ._make import make_rule, make_target

PREFIXES = {"v4": ["20.60.0.0/16", "20.38.96.0/19"], "v6": ["2603:1020:200::/46"]}


def test_one_rule_per_family_outbound_sides() -> None:
    v4, v6 = desired_rules(make_target(), PREFIXES, [], change_number=373)
    assert v4.name == "ipsync-storage-westeurope-v4"
    assert v4.destination_prefixes == {"20.60.0.0/16", "20.38.96.0/19"}
    assert v4.source_prefixes == {"VirtualNetwork"}
    assert v6.destination_prefixes == {"2603:1020:200::/46"}
    assert (v4.direction, v4.access, v4.protocol) == ("Outbound", "Allow", "Tcp")
    assert v4.destination_ports == {"443"}
    assert v4.source_ports == {"*"}


def test_inbound_puts_the_tag_ranges_in_the_source() -> None:
    target = make_target(direction="Inbound", ports=("8080", "8443"), local_prefixes=("*",))
    (v4,) = desired_rules(target, {"v4": ["20.60.0.0/16"]}, [], change_number=1)
    assert v4.source_prefixes == {"20.60.0.0/16"}
    assert v4.destination_prefixes == {"*"}
    assert v4.destination_ports == {"8080", "8443"}
    assert v4.name.endswith("-in-v4")


def test_families_without_prefixes_or_not_selected_get_no_rule() -> None:
    only_v4 = desired_rules(make_target(), {"v4": ["20.60.0.0/16"], "v6": []}, [], change_number=1)
    assert [r.name[-2:] for r in only_v4] == ["v4"]
    v6_target = desired_rules(make_target(families=("v6",)), PREFIXES, [], change_number=1)
    assert [r.name[-2:] for r in v6_target] == ["v6"]


def test_prefixes_are_normalised() -> None:
    (v4,) = desired_rules(
        make_target(families=("v4",)), {"v4": ["20.60.1.1/16"]}, [], change_number=1
    )
    assert v4.destination_prefixes == {"20.60.0.0/16"}


def test_a_prefix_of_the_wrong_family_is_an_error() -> None:
    with pytest.raises(TargetError, match=r"'2603:1020::/32' is not an IPv4 CIDR"):
        desired_rules(make_target(), {"v4": ["2603:1020::/32"]}, [], change_number=1)


def test_local_cidrs_are_split_by_family() -> None:
    target = make_target(local_prefixes=("10.0.0.0/8", "FD00::/8"))
    v4, v6 = desired_rules(target, PREFIXES, [], change_number=1)
    assert v4.source_prefixes == {"10.0.0.0/8"}
    assert v6.source_prefixes == {"fd00::/8"}


def test_local_side_without_the_family_is_an_error() -> None:
    target = make_target(local_prefixes=("10.0.0.0/8",))
    with pytest.raises(TargetError, match=r"local_prefixes has no IPv6 prefix for the v6 rule"):
        desired_rules(target, PREFIXES, [], change_number=1)


def test_local_service_tag_must_stand_alone() -> None:
    target = make_target(local_prefixes=("VirtualNetwork", "10.0.0.0/8"))
    with pytest.raises(TargetError, match=r"must stand alone"):
        desired_rules(target, PREFIXES, [], change_number=1)


def test_description_has_tags_and_change_number_within_140() -> None:
    (v4, _) = desired_rules(make_target(), PREFIXES, [], change_number=373)
    assert v4.description == "ipsync: Storage.WestEurope; change 373"
    tags = tuple(f"AzureCloud.region{i:02d}" for i in range(20))
    (long_v4, _) = desired_rules(make_target(service_tags=tags), PREFIXES, [], change_number=373)
    assert len(long_v4.description) <= 140
    assert long_v4.description.endswith("; change 373")
    shown = long_v4.description.count("AzureCloud.region")
    assert f"+{20 - shown} more" in long_v4.description
    assert 0 < shown < 20


class TestPriorities:
    def test_lowest_free_in_band_skipping_foreign_rules(self) -> None:
        current = [
            make_rule("allow-corp", 200, ["1.1.1.1/32"]),
            make_rule("ipsync-old-v4", 350, ["1.1.1.1/32"]),  # our prefix, outside the band
            make_rule("allow-other", 202, ["1.1.1.1/32"]),
        ]
        v4, v6 = desired_rules(make_target(), PREFIXES, current, change_number=1)
        assert (v4.priority, v6.priority) == (201, 203)

    def test_other_direction_does_not_block(self) -> None:
        current = [make_rule("inbound-thing", 200, ["1.1.1.1/32"], direction="Inbound")]
        v4, _ = desired_rules(make_target(), PREFIXES, current, change_number=1)
        assert v4.priority == 200

    def test_owned_rule_keeps_its_priority(self) -> None:
        current = [
            make_rule("ipsync-storage-westeurope-v6", 200, ["2603:1020::/32"]),
            make_rule("ipsync-storage-westeurope-v4", 260, ["20.60.0.0/16"]),
        ]
        v4, v6 = desired_rules(make_target(), PREFIXES, current, change_number=1)
        assert (v4.priority, v6.priority) == (260, 200)

    def test_rule_to_be_deleted_keeps_its_priority_blocked(self) -> None:
        """Make-before-break: the old rule still exists while the new one is created."""
        current = [make_rule("ipsync-storage-westeurope_sql-v4", 200, ["20.60.0.0/16"])]
        v4, _ = desired_rules(make_target(), PREFIXES, current, change_number=1)
        assert v4.priority == 201

    def test_full_band_is_an_error(self) -> None:
        target = make_target(priority_range=(200, 201))
        current = [make_rule("foreign-a", 200, ["1.1.1.1/32"])]
        with pytest.raises(TargetError, match=r"no free Outbound priority in band 200-201"):
            desired_rules(target, PREFIXES, current, change_number=1)

    def test_our_name_taken_by_a_foreign_rule_is_an_error(self) -> None:
        current = [make_rule("ipsync-storage-westeurope-v4", 150, ["20.60.0.0/16"])]
        with pytest.raises(TargetError, match=r"exists as Outbound Allow at priority 150, outside"):
            desired_rules(make_target(), PREFIXES, current, change_number=1)


def test_a_target_of_several_feeds_keeps_every_mark_in_the_description() -> None:
    from sync.kinds.nsg.plan import DESCRIPTION_MAX, describe, held_releases

    target = make_target(sources=[{"feed": "github", "select": ["actions"]}])
    (v4,) = desired_rules(target, {"v4": ["20.60.0.0/16"]}, [], change_number="373 github-17")
    assert v4.description == "ipsync: Storage.WestEurope, github:actions; change 373 github-17"
    assert held_releases([v4]) == ("373", "github-17")
    many = make_target(service_tags=tuple(f"Tag{i}.WestEurope" for i in range(30)))
    text = describe(many, "373 github-1755851400 aws-1783099625")
    assert len(text) <= DESCRIPTION_MAX
    assert text.endswith("; change 373 github-1755851400 aws-1783099625")
