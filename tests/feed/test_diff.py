"""Release diffs on addresses: checked against netaddr, computed here from the raw files."""

from __future__ import annotations

import json
from typing import Any

import netaddr
import pytest

from sync.core.diff import ReleaseDiff, diff_releases
from sync.core.feed import Release
from sync.errors import FeedError
from sync.feeds.azure.parse import parse_release

from .conftest import parsed, raw_json

OLD, NEW = "ServiceTags_Public_20251010.json.xz", "ServiceTags_Public_20251017.json.xz"


def prefixes_of(raw: dict[str, Any]) -> dict[str, list[str]]:
    return {v["name"]: v["properties"]["addressPrefixes"] for v in raw["values"]}


def netaddr_change(old: list[str], new: list[str]) -> tuple[list[str], list[str]]:
    """Added and removed CIDRs as netaddr computes them (IPv4 first, by address)."""
    before, after = netaddr.IPSet(old), netaddr.IPSet(new)
    return (
        [str(c) for c in (after - before).iter_cidrs()],
        [str(c) for c in (before - after).iter_cidrs()],
    )


def reparse(raw: dict[str, Any]) -> Release:
    return parse_release(json.dumps(raw).encode(), origin="derived.json")


@pytest.fixture(scope="module")
def week() -> ReleaseDiff:
    return diff_releases(parsed(OLD), parsed(NEW))


@pytest.mark.parametrize("name", ["Storage.WestEurope", "AzureCloud.westeurope"])
def test_a_tag_changes_by_exactly_the_addresses_netaddr_finds(name: str) -> None:
    old, new = prefixes_of(raw_json(OLD))[name], prefixes_of(raw_json(NEW))[name]
    added, removed = netaddr_change(old, new)
    result = diff_releases(parsed(OLD), parsed(NEW), tags=[name])
    listed = {tag.name: tag for tag in result.tags}
    if not added and not removed:
        assert listed == {}  # Storage.WestEurope did not change that week
    else:
        assert (list(listed[name].added), list(listed[name].removed)) == (added, removed)
    assert result.as_json()["tags"] == (
        {name: {"added": added, "removed": removed}} if added or removed else {}
    )


def test_the_week_lists_exactly_the_tags_whose_addresses_changed(week: ReleaseDiff) -> None:
    old, new = prefixes_of(raw_json(OLD)), prefixes_of(raw_json(NEW))
    expected = {}
    for name in old.keys() | new.keys():
        added, removed = netaddr_change(old.get(name, []), new.get(name, []))
        if added or removed:
            expected[name] = (added, removed)
    assert {t.name: (list(t.added), list(t.removed)) for t in week.tags} == expected
    assert (week.old, week.new) == ("372", "373")
    assert [t.name for t in week.tags] == sorted(expected, key=str.lower)


def test_lines_that_were_only_merged_are_not_removals(week: ReleaseDiff) -> None:
    """AzureCloud.westeurope lost three prefix lines that week, all inside new, larger ones."""
    name = "AzureCloud.westeurope"
    old, new = prefixes_of(raw_json(OLD))[name], prefixes_of(raw_json(NEW))[name]
    gone = set(old) - set(new)
    assert len(gone) == 3
    assert all(netaddr.IPNetwork(p) in netaddr.IPSet(new) for p in gone)
    change = next(t for t in week.tags if t.name == name)
    assert change.removed == ()
    assert change.addresses("v4") == (42, 0)


def test_a_tag_that_only_reaggregated_is_not_listed() -> None:
    """A real tag of the 10-17 release, its prefixes merged as Microsoft sometimes publishes
    them: other lines, the same addresses."""
    raw = raw_json(NEW)
    name = "AzureCloud.eastasia"
    tag = next(v for v in raw["values"] if v["name"] == name)
    lines = tag["properties"]["addressPrefixes"]
    merged = [str(n) for n in netaddr.cidr_merge(lines)]
    assert set(merged) != set(lines)
    assert len(merged) < len(lines)
    tag["properties"]["addressPrefixes"] = merged
    derived = reparse(raw)
    assert diff_releases(parsed(NEW), derived).tags == ()
    week_before = diff_releases(parsed(OLD), parsed(NEW), tags=[name])
    assert diff_releases(parsed(OLD), derived, tags=[name]) == week_before
    assert week_before.tags  # it did change that week: the merge hides nothing


def test_a_tag_that_appears_or_disappears_lists_all_its_addresses() -> None:
    raw = raw_json(NEW)
    gone = raw["values"].pop(next(i for i, v in enumerate(raw["values"]) if v["name"] == "Sql"))
    gone["name"] = gone["id"] = "Sql.Renamed"
    raw["values"].append(gone)
    result = diff_releases(parsed(NEW), reparse(raw), match="sql.")
    by_name = {t.name: t for t in result.tags}
    everything = [str(c) for c in netaddr.IPSet(gone["properties"]["addressPrefixes"]).iter_cidrs()]
    assert by_name["Sql.Renamed"].status == "new"
    assert list(by_name["Sql.Renamed"].added) == everything
    assert by_name["Sql.Renamed"].removed == ()
    reverse = diff_releases(reparse(raw), parsed(NEW), tags=["sql.renamed"])
    assert [(t.name, t.status, list(t.removed), t.added) for t in reverse.tags] == [
        ("Sql.Renamed", "gone", everything, ())
    ]


def test_filters_combine(week: ReleaseDiff) -> None:
    regional = diff_releases(parsed(OLD), parsed(NEW), region="WESTEUROPE")
    assert {t.name for t in regional.tags} == {
        t.name for t in week.tags if t.region.lower() == "westeurope"
    }
    assert regional.tags
    matched = diff_releases(parsed(OLD), parsed(NEW), match="azurecloud.", region="westeurope")
    assert [t.name for t in matched.tags] == ["AzureCloud.westeurope"]
    several = diff_releases(
        parsed(OLD), parsed(NEW), tags=["azurecloud.WESTEUROPE", "Storage.WestEurope", "AzureCloud"]
    )
    assert [t.name for t in several.tags] == ["AzureCloud", "AzureCloud.westeurope"]
    restricted = week.restricted(["azurecloud", "azurecloud.westeurope", "Storage.WestEurope"])
    assert restricted.tags == several.tags


def test_a_tag_in_neither_release_is_named_with_a_hint() -> None:
    with pytest.raises(FeedError, match=r"'Storage\.WestEuro'.*did you mean Storage\.WestEurope"):
        diff_releases(parsed(OLD), parsed(NEW), tags=["Storage.WestEuro"])


def test_totals_are_the_addresses_of_every_tag_listed(week: ReleaseDiff) -> None:
    old, new = prefixes_of(raw_json(OLD)), prefixes_of(raw_json(NEW))
    added = {4: 0, 6: 0}
    removed = {4: 0, 6: 0}
    for tag in week.tags:
        before, after = netaddr.IPSet(old.get(tag.name, [])), netaddr.IPSet(new.get(tag.name, []))
        for net in (after - before).iter_cidrs():
            added[net.version] += net.size
        for net in (before - after).iter_cidrs():
            removed[net.version] += net.size
    assert week.totals() == {"v4": (added[4], removed[4]), "v6": (added[6], removed[6])}
    assert added[4] > 0
    assert added[6] > 0


def test_identical_releases_differ_in_nothing() -> None:
    assert not diff_releases(parsed(NEW), parsed(NEW)).changed
