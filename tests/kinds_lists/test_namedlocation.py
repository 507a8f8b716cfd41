"""The named location kind against the emulator's Microsoft Graph: IPv4 and IPv6 ranges with
their ``@odata.type``, an owner's ranges kept, and the settings that must point at Graph."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from armemu import Emulator
from sync.engine import run
from sync.settings import Settings, load_settings
from tests.contract.harness import Arm
from tests.contract.harness.namedlocation import COLLECTION, IP_LOCATION, ip_range
from tests.engine.conftest import write_release

from .conftest import SUB

TAG = "AzureDevOps"
V4 = ["4.150.0.0/24", "4.151.0.0/24"]
V6 = ["2603:1000::/40", "2603:1010:200::/56"]
OWNERS = ["203.0.113.0/24", "2001:db8:1::/48"]


def _settings(emu: Emulator, tmp_path: Path, prefixes: list[str], change: int,
              location: str, **overrides: Any) -> Settings:  # fmt: skip
    release = write_release(tmp_path / f"release-{change}.json", {TAG: prefixes}, change)
    return load_settings(**{
        "arm_endpoint": emu.endpoint, "graph_endpoint": emu.endpoint,
        "ca_bundle": emu.ca_bundle, "credential": "emulator", "subscription_id": SUB,
        "poll_interval_s": 0, "source": str(release), "cache_dir": tmp_path,
        "state": str(tmp_path / "state"), "max_remove_ratio": 1,
        "targets": [{"kind": "namedlocation", "resource": location, "service_tags": [TAG]}],
        **overrides})  # fmt: skip


def _create(arm: Arm, body: dict[str, Any]) -> str:
    created = arm.client.post(COLLECTION, json=body)
    assert created.status_code == 201, created.text
    location: str = created.json()["id"]
    return location


def _ranges(arm: Arm, location: str) -> list[dict[str, str]]:
    found: list[dict[str, str]] = arm.client.get(f"{COLLECTION}/{location}").json()["ipRanges"]
    return found


def test_ipv4_and_ipv6_ranges_are_synced_beside_the_owners(
    emulator: Emulator, tmp_path: Path
) -> None:
    arm = Arm(emulator)
    location = _create(
        arm,
        {
            "@odata.type": IP_LOCATION,
            "displayName": "Azure DevOps",
            "isTrusted": True,
            "ipRanges": [ip_range(v) for v in OWNERS],
        },
    )
    first = run(_settings(emulator, tmp_path, [*V4, *V6], 1, location))
    assert first.ok, first.targets
    assert sorted(first.targets[0].changes[0].added) == sorted([*V4, *V6])
    expected = [ip_range(v) for v in [*OWNERS, *V4, *V6]]
    assert sorted(_ranges(arm, location), key=str) == sorted(expected, key=str)

    again = run(_settings(emulator, tmp_path, [*V4, *V6], 1, location))
    assert (again.writes, again.targets[0].status) == (0, "unchanged")

    week = run(_settings(emulator, tmp_path, [*V4, V6[0]], 2, location))
    assert week.ok, week.targets
    assert week.targets[0].changes[0].removed == [V6[1]]
    kept = {r["cidrAddress"] for r in _ranges(arm, location)}
    assert kept == {*OWNERS, *V4, V6[0]}
    assert arm.client.get(f"{COLLECTION}/{location}").json()["displayName"] == "Azure DevOps"


def test_a_country_location_is_left_alone(emulator: Emulator, tmp_path: Path) -> None:
    arm = Arm(emulator)
    location = _create(
        arm,
        {
            "@odata.type": "#microsoft.graph.countryNamedLocation",
            "displayName": "Home",
            "countriesAndRegions": ["NL"],
        },
    )
    report = run(_settings(emulator, tmp_path, V4, 1, location))
    (row,) = report.targets
    assert row.status == "failed"
    assert "countryNamedLocation named location, not an IP one" in (row.error or "")
    assert report.writes == 0


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"graph_endpoint": "https://graph.microsoft.com"}, "loopback Graph endpoint"),
        ({"graph_endpoint": "http://127.0.0.1:9"}, "IPSYNC_GRAPH_ENDPOINT: must be https://"),
        ({}, "404 itemNotFound"),
    ],
)
def test_a_target_that_cannot_reach_its_location_fails_saying_why(
    emulator: Emulator, tmp_path: Path, overrides: dict[str, str], words: str
) -> None:
    missing = str(uuid.uuid4())
    report = run(_settings(emulator, tmp_path, V4, 1, missing, **overrides))
    (row,) = report.targets
    assert row.status == "failed"
    assert words in (row.error or ""), row.error
