"""The one guard stage through the engine: hand edits, hostile releases, poisoned marks.

Each case is what an attacker or an accident can do (a rule of ipsync's widened by hand, a
release that opens a tag to the internet, a change number far in the future), run against
the emulator through the real SDK.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import netaddr
from azure.mgmt.network.models import SecurityRule

from armemu import Emulator
from sync.engine import run

from .conftest import RG, SettingsFor, addresses, make_nsg, rules_of, target, write_release

ALPHA = ["192.0.2.0/25", "192.0.2.128/25", "2001:db8:1::/48"]
#: Every /8 the feeds accept as public (not private, shared, loopback, multicast, reserved).
PUBLIC_SLASH_8 = [
    f"{i}.0.0.0/8" for i in range(1, 224) if i not in (10, 100, 127, 169, 172, 192, 198)
]


def _widen(client: Any, nsg: str, name: str, to: str) -> None:
    """Someone edits ipsync's rule by hand: its remote side becomes ``to``."""
    rule: SecurityRule = client.security_rules.get(RG, nsg, name)
    rule.destination_address_prefixes, rule.destination_address_prefix = [], to
    client.security_rules.begin_create_or_update(RG, nsg, name, rule).result()


def test_a_rule_widened_by_hand_is_narrowed_back_without_force(
    emulator: Emulator, network_client: Any, settings_for: SettingsFor, tmp_path: Path
) -> None:
    nsg = make_nsg(network_client, "n1")
    settings = settings_for(write_release(tmp_path / "a.json", {"Alpha": ALPHA}), [
        target(nsg, ["Alpha"])])  # fmt: skip
    assert run(settings).ok
    _widen(network_client, "n1", "ipsync-alpha-v4", "0.0.0.0/0")

    repaired = run(settings)

    (result,) = repaired.targets
    assert (result.status, result.error) == ("applied", None)
    assert addresses(rules_of(network_client, "n1")["ipsync-alpha-v4"]) == {"192.0.2.0/24"}
    (change,) = result.changes
    assert change.removed == ["0.0.0.0/0"]


def test_add_only_keeps_what_ipsync_wrote_not_what_a_hand_edit_widened(
    emulator: Emulator, network_client: Any, settings_for: SettingsFor, tmp_path: Path
) -> None:
    nsg = make_nsg(network_client, "n1")
    targets = [target(nsg, ["Alpha"], policy="add-only", families=["v4"])]
    assert run(settings_for(write_release(tmp_path / "a.json", {"Alpha": ALPHA}), targets)).ok
    _widen(network_client, "n1", "ipsync-alpha-v4", "0.0.0.0/0")
    moved = write_release(tmp_path / "b.json", {"Alpha": ["203.0.113.0/24"]}, 2)

    report = run(settings_for(moved, targets))

    assert report.ok, report
    v4 = netaddr.IPSet(addresses(rules_of(network_client, "n1")["ipsync-alpha-v4"]))
    assert v4 == netaddr.IPSet(["192.0.2.0/24", "203.0.113.0/24"])  # kept, and no wider
    (held,) = report.targets[0].held_back
    assert held.removed == ["192.0.2.0/24"]


def test_a_release_opening_a_tag_to_every_public_slash_8_is_refused_held_or_new(
    emulator: Emulator, network_client: Any, settings_for: SettingsFor, tmp_path: Path
) -> None:
    held = make_nsg(network_client, "held")
    assert run(settings_for(write_release(tmp_path / "a.json", {"Alpha": ALPHA}), [
        target(held, ["Alpha"])])).ok  # fmt: skip
    fresh = make_nsg(network_client, "fresh")
    hostile = write_release(tmp_path / "b.json", {"Alpha": [*PUBLIC_SLASH_8, *ALPHA]}, 2)
    writes = emulator.stats()["writes"]

    report = run(settings_for(hostile, [target(held, ["Alpha"]), target(fresh, ["Alpha"])]))

    assert [t.status for t in report.targets] == ["refused", "refused"]
    assert all("broader than /8" in (t.error or "") for t in report.targets)
    assert emulator.stats()["writes"] == writes
    assert "ipsync-alpha-v4" not in rules_of(network_client, "fresh")


def test_a_release_growing_a_tag_far_beyond_what_it_holds_is_refused_unless_forced(
    emulator: Emulator, network_client: Any, settings_for: SettingsFor, tmp_path: Path
) -> None:
    nsg = make_nsg(network_client, "n1")
    targets = [target(nsg, ["Alpha"], families=["v4"])]
    assert run(settings_for(write_release(tmp_path / "a.json", {"Alpha": ALPHA}), targets)).ok
    grown = [*ALPHA, *(f"20.{i}.0.0/16" for i in range(8))]  # 256 -> 524,544 addresses
    source = write_release(tmp_path / "b.json", {"Alpha": grown}, 2)

    refused = run(settings_for(source, targets))
    (result,) = refused.targets
    assert result.status == "refused"
    assert "would allow 524288 more IPv4 addresses than the 256 it holds" in (result.error or "")

    forced = run(settings_for(source, targets), force=True)
    assert forced.ok
    v4 = netaddr.IPSet(addresses(rules_of(network_client, "n1")["ipsync-alpha-v4"]))
    assert v4 == netaddr.IPSet([p for p in grown if ":" not in p])


def test_a_change_number_far_ahead_is_refused_and_never_held(
    emulator: Emulator, network_client: Any, settings_for: SettingsFor, tmp_path: Path
) -> None:
    nsg = make_nsg(network_client, "n1")
    targets = [target(nsg, ["Alpha"])]
    assert run(settings_for(write_release(tmp_path / "a.json", {"Alpha": ALPHA}), targets)).ok
    more = {"Alpha": [*ALPHA, "203.0.113.0/24"]}
    poisoned = write_release(tmp_path / "p.json", more, 99999999)

    refused = run(settings_for(poisoned, targets))
    (result,) = refused.targets
    assert result.status == "refused"
    assert "99999999 is 99999998 ahead of release 1" in (result.error or "")

    nxt = run(settings_for(write_release(tmp_path / "b.json", more, 2), targets))
    assert nxt.ok, nxt.model_dump_json(indent=1)  # the refused mark was never held
