"""The PostgreSQL and MySQL flexible server kinds end to end: servers made by plain REST shaped
like the spec examples (the contract suite's harnesses), synced through ``run`` with the real
SDKs against the emulator, every rule write a 202 and an operation. Expectations are computed
here with netaddr from the real releases, not with the product's own code."""

from __future__ import annotations

import json
import lzma
import re
from itertools import pairwise
from pathlib import Path

import netaddr
import pytest
from engine.conftest import SettingsFor, write_release

from armemu import Emulator
from sync.engine import run
from tests.contract.conftest import PUBLISHED, TAG
from tests.contract.harness import Arm
from tests.contract.harness.mysql import HARNESS as MYSQL
from tests.contract.harness.postgresql import HARNESS as POSTGRESQL
from tests.contract.harness.sql import SqlHarness

from .conftest import assert_kept_throughout, ranges_of

DATA = Path(__file__).resolve().parents[1] / "data"
#: The portal's "Allow public access from any Azure service" rule, and an owner's own rules
#: (one whose name only looks like ipsync's).
AZURE_SWITCH = "AllowAllAzureServicesAndResourcesWithinAzureIps_2025-10-17_9-30-0"
OWNER = {"office": "203.0.113.0/28", "IPSyncOffice": "198.51.100.7/32"}
#: Rule names both services' specs accept.
RULE_NAME = re.compile(r"^[a-zA-Z0-9][-_a-zA-Z0-9]{0,79}(?<!-)$")


def _cloud(release: str) -> list[str]:
    """``AzureCloud.westeurope``'s IPv4 prefixes in a bundled real release."""
    document = json.loads(lzma.decompress((DATA / release).read_bytes()))
    (tag,) = [v for v in document["values"] if v["name"] == "AzureCloud.westeurope"]
    return [p for p in tag["properties"]["addressPrefixes"] if ":" not in p]


def _server(harness: SqlHarness, arm: Arm, name: str) -> str:
    """A server with the Azure-services rule and the owner's rules; its id."""
    server = harness.create(arm, name, [])
    harness.add_entry(arm, server, "0.0.0.0/32", AZURE_SWITCH)
    for rule, prefix in OWNER.items():
        harness.add_entry(arm, server, prefix, rule)
    return server


def _rules(harness: SqlHarness, arm: Arm, server: str) -> dict[str, tuple[str, str]]:
    return {
        r["name"]: (r["properties"]["startIpAddress"], r["properties"]["endIpAddress"])
        for r in harness.rules(arm, server)
    }


def _ours(rules: dict[str, tuple[str, str]]) -> dict[str, tuple[str, str]]:
    return {n: r for n, r in rules.items() if n.startswith("ipsync-")}


@pytest.fixture(params=[POSTGRESQL, MYSQL], ids=lambda h: h.kind)
def harness(request: pytest.FixtureRequest) -> SqlHarness:
    found: SqlHarness = request.param
    return found


def fewest_extra(prefixes: list[str], rules: int) -> int:
    """The fewest addresses beyond ``prefixes`` that ``rules`` inclusive ranges must allow to
    hold them all: close the smallest gaps between neighbouring ranges."""
    ranges = list(netaddr.IPSet(prefixes).iter_ipranges())
    gaps = sorted(b.first - a.last - 1 for a, b in pairwise(ranges))
    return sum(gaps[: max(len(ranges) - rules, 0)])


def test_a_tag_is_synced_beside_foreign_rules_and_a_second_run_writes_nothing(
    emulator: Emulator, settings_for: SettingsFor, tmp_path: Path, harness: SqlHarness
) -> None:
    arm = Arm(emulator)
    server = _server(harness, arm, "flex1")
    before = _rules(harness, arm, server)
    source = write_release(tmp_path / "a.json", {TAG: PUBLISHED}, 373)
    goal = [harness.target(server, [TAG])]

    report = run(settings_for(source, goal))
    assert report.ok, report
    now = _rules(harness, arm, server)
    ours = _ours(now)
    assert set(ours.values()) == ranges_of(PUBLISHED)
    assert report.writes == len(ours) == len(ranges_of(PUBLISHED))
    assert all(RULE_NAME.match(name) for name in ours), sorted(ours)
    assert {n: r for n, r in now.items() if n not in ours} == before
    assert all(AZURE_SWITCH in step for step in arm.history(server)[len(before) :])

    again = run(settings_for(source, goal))
    assert again.ok, again
    assert (again.writes, again.targets[0].status) == (0, "unchanged")
    assert _rules(harness, arm, server) == now


def test_a_server_tagged_with_a_tag_and_an_allowed_prefix_is_discovered_and_synced(
    emulator: Emulator, settings_for: SettingsFor, tmp_path: Path, harness: SqlHarness
) -> None:
    arm = Arm(emulator)
    server = _server(harness, arm, "flex3")
    harness.set_tags(arm, server, {"ipsync": TAG, "ipsync-prefix": "team-a"})
    source = write_release(tmp_path / "a.json", {TAG: PUBLISHED}, 373)
    report = run(settings_for(source, [], tag_overrides=("prefix",)))
    (row,) = [t for t in report.targets if t.resource.lower() == server.lower()]
    assert row.status == "applied", row
    rules = _rules(harness, arm, server)
    ours = {n: r for n, r in rules.items() if n.startswith("team-a-")}
    assert set(ours.values()) == ranges_of(PUBLISHED)
    assert len(rules) == len(ours) + 1 + len(OWNER)


def test_ipv6_and_the_azure_services_address_are_refused_saying_why(
    emulator: Emulator, settings_for: SettingsFor, tmp_path: Path, harness: SqlHarness
) -> None:
    server = _server(harness, Arm(emulator), "flex2")
    source = write_release(tmp_path / "a.json", {TAG: PUBLISHED}, 373)
    writes = emulator.stats()["writes"]
    v6 = run(settings_for(source, [harness.target(server, [TAG], families=["v4", "v6"])]))
    assert "firewall rules take IPv4 only" in (v6.targets[0].error or "")
    switch = run(
        settings_for(source, [harness.target(server, [TAG], extra_prefixes=["0.0.0.0/32"])])
    )
    assert "reads as 'allow Azure services'" in (switch.targets[0].error or "")
    assert emulator.stats()["writes"] == writes


def test_postgresql_holds_azurecloud_westeurope_at_the_optimum_for_its_bound_without_a_gap(
    emulator: Emulator, settings_for: SettingsFor, tmp_path: Path
) -> None:
    """256 rules, 3 of them not ipsync's: 253 ranges for the tag's 342 then 363, each cover
    allowing exactly the fewest extra addresses, and no address held before and after the
    weekly step missing between two writes."""
    arm = Arm(emulator)
    server = _server(POSTGRESQL, arm, "pg-cloud")
    capacity = 256 - 1 - len(OWNER)
    tags = ["AzureCloud.westeurope"]
    older, newer = (
        _cloud("ServiceTags_Public_20250101.json.xz"),
        _cloud("ServiceTags_Public_20251017.json.xz"),
    )
    first = write_release(tmp_path / "a.json", {tags[0]: older}, 339)
    second = write_release(tmp_path / "b.json", {tags[0]: newer}, 373)

    exact = run(settings_for(first, [POSTGRESQL.target(server, tags)]))
    assert exact.targets[0].status == "refused"
    assert f"needs 342 ranges but {capacity} fit (limit 256 rules per server, 3 held" in (
        exact.targets[0].error or ""
    )

    cover = [POSTGRESQL.target(server, tags, fit="cover")]
    for source, published in ((first, older), (second, newer)):
        since = len(arm.history(server))
        report = run(settings_for(source, cover, max_remove_ratio=1))
        assert report.ok, report
        ours = _ours(_rules(POSTGRESQL, arm, server))
        allowed = netaddr.IPSet(netaddr.IPRange(a, b) for a, b in ours.values())
        assert len(ours) == capacity
        assert netaddr.IPSet(published).issubset(allowed)
        extra = fewest_extra(published, capacity)
        assert allowed.size - netaddr.IPSet(published).size == extra > 0
        fit = report.targets[0].fit
        assert fit is not None
        assert (fit.entries, fit.capacity, fit.extra_addresses) == (capacity, capacity, extra)
        steps = [
            netaddr.IPSet(netaddr.IPRange(*span.split("-")) for span in step.values())
            for step in arm.history(server)[since - 1 :]
        ]
        assert_kept_throughout(steps)
        assert max(len(step) for step in arm.history(server)) <= 256
