"""The budget fit on an NSG whose 4,000 entries are mostly taken by rules ipsync does not own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import netaddr

from armemu import Emulator
from sync.engine import run

from .conftest import (
    SettingsFor,
    addresses,
    foreign_rule,
    make_nsg,
    rules_of,
    target,
    write_release,
)

#: Twenty /26s, each in its own /24: an exact list of 20 entries, coverable by fewer.
ALPHA = [f"11.1.{i}.0/26" for i in range(20)]
TAGS = {"Alpha": ALPHA}
#: The foreign rule leaves exactly ten destination entries of the NSG's 4,000.
FOREIGN = [f"172.16.{i // 256}.{i % 256}/32" for i in range(3990)]


def _nsg(client: Any) -> str:
    return make_nsg(client, "full", [foreign_rule("corp", 1000, FOREIGN)])


def test_cover_fits_the_room_left_with_the_least_extra(
    emulator: Emulator, network_client: Any, settings_for: SettingsFor, tmp_path: Path
) -> None:
    nsg = _nsg(network_client)
    goal = target(nsg, ["Alpha"], families=["v4"], fit="cover", max_extra_ratio=10)
    report = run(settings_for(write_release(tmp_path / "r.json", TAGS), [goal]))

    assert report.ok, report
    (result,) = report.targets
    held = addresses(rules_of(network_client, "full")["ipsync-alpha-v4"])
    published = netaddr.IPSet(ALPHA)
    assert published.issubset(netaddr.IPSet(held))
    assert len(held) <= 10
    assert result.fit is not None
    assert (result.fit.entries, result.fit.capacity) == (len(held), 10)
    assert result.fit.extra_addresses == netaddr.IPSet(held).size - published.size > 0
    assert rules_of(network_client, "full")["corp"].destination_address_prefixes


def test_exact_over_the_room_left_is_refused_before_any_write(
    emulator: Emulator, network_client: Any, settings_for: SettingsFor, tmp_path: Path
) -> None:
    nsg = _nsg(network_client)
    writes = emulator.stats()["writes"]
    report = run(settings_for(write_release(tmp_path / "r.json", TAGS), [target(nsg, ["Alpha"])]))
    (result,) = report.targets
    assert result.status == "refused"
    assert "4010 destination address entries" in (result.error or "")
    assert emulator.stats()["writes"] == writes
    assert report.exit_code() == 3


def test_a_cover_beyond_max_extra_ratio_is_refused_with_the_numbers(
    emulator: Emulator, network_client: Any, settings_for: SettingsFor, tmp_path: Path
) -> None:
    nsg = _nsg(network_client)
    goal = target(nsg, ["Alpha"], families=["v4"], fit="cover", max_extra_ratio=0.5)
    report = run(settings_for(write_release(tmp_path / "r.json", TAGS), [goal]))
    (result,) = report.targets
    assert result.status == "refused"
    assert "max_extra_ratio 50%" in (result.error or "")
    assert "limit 4000 per NSG side, 3990 held by other rules" in (result.error or "")
    assert result.fit is not None
    assert result.fit.capacity == 10
    assert "ipsync-alpha-v4" not in rules_of(network_client, "full")
    assert report.exit_code() == 3


def test_max_entries_caps_an_exact_list(
    emulator: Emulator, network_client: Any, settings_for: SettingsFor, tmp_path: Path
) -> None:
    nsg = make_nsg(network_client, "roomy")
    goal = target(nsg, ["Alpha"], families=["v4"], max_entries=5)
    report = run(settings_for(write_release(tmp_path / "r.json", TAGS), [goal]))
    (result,) = report.targets
    assert result.status == "refused"
    assert "needs 20 entries but 5 fit (max_entries 5)" in (result.error or "")
