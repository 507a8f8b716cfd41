"""One run end to end against the emulator: desired state, ownership, limits, guards, policy."""

from __future__ import annotations

import json
import lzma
from pathlib import Path
from typing import Any

import netaddr
import pytest

from armemu import Emulator
from sync.engine import run

from .conftest import (
    RG,
    SettingsFor,
    addresses,
    assert_nothing_lost,
    foreign_rule,
    history_len,
    make_nsg,
    merged,
    nsg_id,
    rules_of,
    target,
    write_release,
)

DATA = Path(__file__).parent.parent / "data"
TAGS = {
    "Alpha": ["192.0.2.0/25", "192.0.2.128/25", "2001:db8:1::/48"],
    "Beta": ["198.51.100.0/24", "2001:db8:2::/48", "2001:db8:3::/48"],
    "Gamma": ["203.0.113.0/24"],
}


def owned(client: Any, nsg: str, prefix: str = "ipsync") -> dict[str, Any]:
    return {n: r for n, r in rules_of(client, nsg).items() if n.startswith(prefix)}


def test_first_apply_creates_one_rule_per_family_and_rerun_writes_nothing(
    emulator: Emulator, network_client: Any, settings_for: SettingsFor, tmp_path: Path
) -> None:
    nsg = make_nsg(network_client, "n1", [foreign_rule("corp", 200, ["10.9.0.0/16"])])
    feed = write_release(tmp_path / "r1.json", TAGS, 10)
    settings = settings_for(feed, [target(nsg, ["Alpha", "Beta"])])

    report = run(settings)

    assert report.ok, report
    (result,) = report.targets
    assert (result.status, result.writes) == ("applied", 2)
    assert report.writes == 2 == emulator.stats()["writes"] - 1  # minus the NSG's own PUT
    mine = owned(network_client, "n1")
    assert sorted(mine) == ["ipsync-alpha_beta-v4", "ipsync-alpha_beta-v6"]
    expected = merged(TAGS["Alpha"] + TAGS["Beta"])
    assert addresses(mine["ipsync-alpha_beta-v4"]) == expected["v4"]
    assert addresses(mine["ipsync-alpha_beta-v6"]) == expected["v6"]
    # priority 200 belongs to the foreign rule: the band's next free ones are used
    assert sorted(r.priority for r in mine.values()) == [201, 202]
    corp = rules_of(network_client, "n1")["corp"]
    assert addresses(corp) == {"10.9.0.0/16"}
    assert {c.action for c in result.changes} == {"create"}

    again = run(settings)
    assert (again.ok, again.writes, again.targets[0].status) == (True, 0, "unchanged")


def test_real_weekly_delta_writes_only_changed_rules_and_loses_nothing(
    emulator: Emulator, network_client: Any, settings_for: SettingsFor
) -> None:
    """20251010 -> 20251017: Storage.WestEurope + AzureMonitor grow; KeyVault does not move."""
    nsg = make_nsg(network_client, "real")
    tags = ["Storage.WestEurope", "AzureMonitor", "AzureKeyVault.WestEurope"]
    targets = [target(nsg, tags[:2]), target(nsg, tags[2:], priority_range=[300, 399])]
    old, new = (
        DATA / "ServiceTags_Public_20251010.json.xz",
        DATA / "ServiceTags_Public_20251017.json.xz",
    )
    assert run(settings_for(old, targets)).ok
    since = history_len(emulator, nsg)
    before = dict(rules_of(network_client, "real").items())

    report = run(settings_for(new, targets))

    assert report.ok, report
    raw = json.loads(lzma.decompress(new.read_bytes()))
    by_name = {v["name"]: v["properties"]["addressPrefixes"] for v in raw["values"]}
    after = rules_of(network_client, "real")
    for _result, names in zip(report.targets, (tags[:2], tags[2:]), strict=True):
        expected = merged(p for name in names for p in by_name[name])
        key = "_".join(sorted(n.lower().replace(".", "-") for n in names))
        for family in ("v4", "v6"):
            assert addresses(after[f"ipsync-{key}-{family}"]) == expected[family]
    changed = [n for n in after if addresses(after[n]) != addresses(before[n])]
    assert changed
    assert report.writes == len(changed)
    assert sorted(c.rule for t in report.targets for c in t.changes) == sorted(changed)
    assert_nothing_lost(emulator, nsg, since)


def test_new_change_number_with_identical_ranges_writes_nothing(
    emulator: Emulator, network_client: Any, settings_for: SettingsFor, tmp_path: Path
) -> None:
    """Microsoft moved the change number with identical prefixes (366 -> 367)."""
    nsg = make_nsg(network_client, "n1")
    targets = [target(nsg, ["Alpha"])]
    assert run(settings_for(write_release(tmp_path / "a.json", TAGS, 366), targets)).writes == 2
    shuffled = {k: list(reversed(v)) for k, v in TAGS.items()}  # order never matters either
    report = run(settings_for(write_release(tmp_path / "b.json", shuffled, 367), targets))
    assert (report.ok, report.writes, [s.change_number for s in report.sources]) == (
        True,
        0,
        [367],
    )


def test_tag_missing_from_newer_release_fails_that_target_only(
    emulator: Emulator, network_client: Any, settings_for: SettingsFor, tmp_path: Path
) -> None:
    """Tags vanish between releases: that is an error, never an empty allow-list."""
    nsg1, nsg2 = make_nsg(network_client, "n1"), make_nsg(network_client, "n2")
    targets = [target(nsg1, ["Gamma"]), target(nsg2, ["Alpha"])]
    assert run(settings_for(write_release(tmp_path / "a.json", TAGS, 1), targets)).ok
    before = rules_of(network_client, "n1")
    newer = {"Alpha": [*TAGS["Alpha"], "192.0.3.0/24"], "Beta": TAGS["Beta"]}
    report = run(settings_for(write_release(tmp_path / "b.json", newer, 2), targets))
    gamma, alpha = report.targets if report.targets[0].nsg == nsg1 else report.targets[::-1]
    assert gamma.status == "failed"
    assert gamma.writes == 0
    assert gamma.error is not None
    assert "'Gamma'" in gamma.error
    assert "not in" in gamma.error
    assert alpha.status == "applied"
    assert {n: addresses(r) for n, r in rules_of(network_client, "n1").items()} == {
        n: addresses(r) for n, r in before.items()
    }
    assert report.exit_code() == 1


def test_invalid_targets_fail_alone_with_clear_errors(
    emulator: Emulator, network_client: Any, settings_for: SettingsFor, tmp_path: Path
) -> None:
    good, shared = make_nsg(network_client, "good"), make_nsg(network_client, "shared")
    feed = write_release(tmp_path / "r.json", TAGS)
    targets = [
        target("/subscriptions/nope/resourceGroups/rg", ["Alpha"]),
        target(good.replace("/good", "/unknown-tag"), ["Alpah"]),
        target(nsg_id("band"), ["Alpha"], priority_range=[50, 99]),
        target(shared, ["Alpha"], priority_range=[200, 299]),
        target(shared, ["Beta"], priority_range=[250, 349]),
        target(nsg_id("missing"), ["Alpha"]),
        target(good, ["Alpha"]),
    ]
    report = run(settings_for(feed, targets))

    errors = {t.nsg: t.error or "" for t in report.targets if t.status == "failed"}
    assert "/subscriptions/nope/resourceGroups/rg" in errors
    assert "nsg" in errors["/subscriptions/nope/resourceGroups/rg"]
    assert "did you mean Alpha" in errors[good.replace("/good", "/unknown-tag")]
    assert "priority_range" in errors[nsg_id("band")]
    assert "overlaps band" in errors[shared]
    assert "missing" in errors[nsg_id("missing")]
    assert "cannot read" in errors[nsg_id("missing")]
    applied = [t for t in report.targets if t.status == "applied"]
    assert [t.nsg for t in applied] == [good]
    assert len(report.targets) == len(targets)
    assert sorted(owned(network_client, "good")) == ["ipsync-alpha-v4", "ipsync-alpha-v6"]
    assert owned(network_client, "shared") == {}
    assert not report.ok
    assert report.exit_code() == 1


def test_discovered_nsgs_are_synced_and_a_bad_tag_fails_alone(
    emulator: Emulator, network_client: Any, settings_for: SettingsFor, tmp_path: Path
) -> None:
    make_nsg(
        network_client,
        "tagged",
        tags={"ipsync": "Alpha, Gamma", "ipsync-families": "v4", "ipsync-priority": "3000-3009"},
    )
    make_nsg(network_client, "broken", tags={"ipsync": "Beta", "ipsync-priority": "high"})
    make_nsg(network_client, "plain", tags={"env": "prod"})
    feed = write_release(tmp_path / "r.json", TAGS)
    report = run(settings_for(feed, [], tag_overrides=["priority"], tag_select=["*"]))

    by_nsg = {t.nsg.rsplit("/", 1)[-1]: t for t in report.targets}
    assert sorted(by_nsg) == ["broken", "tagged"]
    assert by_nsg["tagged"].status == "applied"
    assert by_nsg["broken"].status == "failed"
    assert "ipsync-priority='high'" in (by_nsg["broken"].error or "")
    (rule,) = owned(network_client, "tagged").values()
    assert rule.priority == 3000
    assert addresses(rule) == merged(TAGS["Alpha"] + TAGS["Gamma"])["v4"]
    assert owned(network_client, "broken") == {} == owned(network_client, "plain")


def test_foreign_rules_are_never_touched(
    emulator: Emulator, network_client: Any, settings_for: SettingsFor, tmp_path: Path
) -> None:
    """Ours means name prefix AND band AND direction; everything else is left alone."""
    foreign = [
        foreign_rule("ipsync-old-outside", 400, ["10.1.0.0/16"]),  # our prefix, outside band
        foreign_rule("corp-in-band", 200, ["10.2.0.0/16"]),  # in band, other name
        foreign_rule("ipsync-inbound", 201, ["10.3.0.0/16"], "Inbound"),  # other direction
    ]
    make_nsg(network_client, "n1", foreign)
    stale = foreign_rule("ipsync-stale-v4", 250, ["10.4.0.0/16"])  # ours: deleted
    network_client.security_rules.begin_create_or_update(
        RG, "n1", "ipsync-stale-v4", stale
    ).result()
    before = rules_of(network_client, "n1")
    feed = write_release(tmp_path / "r.json", TAGS)
    report = run(settings_for(feed, [target(nsg_id("n1"), ["Gamma"])]), force=True)

    assert report.ok, report
    after = rules_of(network_client, "n1")
    for name in ("ipsync-old-outside", "corp-in-band", "ipsync-inbound"):
        assert after[name].as_dict() == before[name].as_dict() | {"etag": after[name].etag}
    assert "ipsync-stale-v4" not in after
    assert after["ipsync-gamma-v4"].priority == 201  # 200 is taken by corp-in-band
    assert [c.action for c in report.targets[0].changes] == ["create", "delete"]


def test_rule_of_our_name_outside_the_band_and_a_full_band_are_clear_errors(
    emulator: Emulator, network_client: Any, settings_for: SettingsFor, tmp_path: Path
) -> None:
    make_nsg(network_client, "named", [foreign_rule("ipsync-gamma-v4", 500, ["10.0.0.0/8"])])
    make_nsg(
        network_client, "full", [foreign_rule(f"corp{p}", p, ["10.0.0.0/8"]) for p in (200, 201)]
    )
    feed = write_release(tmp_path / "r.json", TAGS)
    targets = [
        target(nsg_id("named"), ["Gamma"]),
        target(nsg_id("full"), ["Gamma"], priority_range=[200, 201]),
    ]
    report = run(settings_for(feed, targets))
    named, full = sorted(report.targets, key=lambda t: t.nsg)[::-1]
    assert named.status == "failed"
    assert "outside this target's Outbound band" in (named.error or "")
    assert full.status == "failed"
    assert "no free Outbound priority in band 200-201" in (full.error or "")
    assert report.writes == 0
    assert rules_of(network_client, "named")["ipsync-gamma-v4"].priority == 500


def test_limit_breach_is_refused_before_any_write_with_numbers(
    emulator: Emulator, network_client: Any, settings_for: SettingsFor, tmp_path: Path
) -> None:
    many = [
        foreign_rule(f"corp{i}", 1000 + i, [f"10.{i // 256}.{i % 256}.0/24"]) for i in range(999)
    ]
    make_nsg(network_client, "rules", many)
    wide = [f"10.{i // 256}.{i % 256}.0/24" for i in range(3999)]
    make_nsg(network_client, "prefixes", [foreign_rule("corp", 1000, wide)])
    feed = write_release(tmp_path / "r.json", TAGS)
    targets = [target(nsg_id("rules"), ["Alpha"]), target(nsg_id("prefixes"), ["Beta"])]
    writes_before = emulator.stats()["writes"]

    report = run(settings_for(feed, targets))

    by_nsg = {t.nsg.rsplit("/", 1)[-1]: t for t in report.targets}
    assert by_nsg["rules"].status == "refused"
    assert "1001 rules" in (by_nsg["rules"].error or "")
    assert "limit 1000" in (by_nsg["rules"].error or "")
    assert by_nsg["prefixes"].status == "refused"
    assert "4001 destination address entries" in (by_nsg["prefixes"].error or "")
    assert emulator.stats()["writes"] == writes_before
    assert report.exit_code() == 3


def test_remove_ratio_and_empty_guards_hold_rules_until_forced(
    emulator: Emulator, network_client: Any, settings_for: SettingsFor, tmp_path: Path
) -> None:
    nsg = make_nsg(network_client, "n1")
    targets = [target(nsg, ["Alpha", "Beta"])]
    assert run(settings_for(write_release(tmp_path / "a.json", TAGS), targets)).ok
    before = {n: addresses(r) for n, r in rules_of(network_client, "n1").items()}
    # No IPv4 entry stays whole; one IPv6 prefix of three stays.
    shrunk = {"Alpha": ["192.0.2.0/25"], "Beta": ["198.51.100.0/26", "2001:db8:2::/48"]}
    feed = write_release(tmp_path / "b.json", shrunk, 2)

    refused = run(settings_for(feed, targets))
    (result,) = refused.targets
    assert result.status == "refused"
    assert result.writes == 0
    assert "max_remove_ratio" in (result.error or "")
    assert "--force" in (result.error or "")
    assert result.changes, "a refusal still shows what was held up"
    assert {n: addresses(r) for n, r in rules_of(network_client, "n1").items()} == before
    assert refused.exit_code() == 3

    assert run(settings_for(feed, targets, max_remove_ratio=1.0)).ok
    empty = write_release(tmp_path / "c.json", {"Alpha": ["2001:db8:9::/48"], "Beta": []}, 3)
    v4_only = [target(nsg, ["Alpha", "Beta"], families=["v4"])]
    left_empty = run(settings_for(empty, v4_only, max_remove_ratio=1.0))
    assert left_empty.targets[0].status == "refused"
    assert "no prefixes" in (left_empty.targets[0].error or "")
    forced = run(settings_for(empty, v4_only, max_remove_ratio=1.0), force=True)
    assert forced.ok
    assert {c.action for c in forced.targets[0].changes} == {"delete"}
    assert "ipsync-alpha_beta-v4" not in rules_of(network_client, "n1")


def test_add_only_never_removes_and_reports_what_it_held_back(
    emulator: Emulator, network_client: Any, settings_for: SettingsFor, tmp_path: Path
) -> None:
    nsg = make_nsg(network_client, "n1")
    targets = [target(nsg, ["Alpha"], policy="add-only")]
    assert run(settings_for(write_release(tmp_path / "a.json", TAGS), targets)).ok
    moved = {"Alpha": ["192.0.2.0/25", "192.0.2.128/26", "198.18.200.0/24"]}
    report = run(settings_for(write_release(tmp_path / "b.json", moved, 2), targets), force=True)

    assert report.ok, report
    (result,) = report.targets
    v4 = addresses(rules_of(network_client, "n1")["ipsync-alpha-v4"])
    assert netaddr.IPSet(v4) == netaddr.IPSet(["192.0.2.0/24", "198.18.200.0/24"])  # grew only
    assert "ipsync-alpha-v6" in rules_of(network_client, "n1")
    held = {(c.rule, c.action): c.removed for c in result.held_back}
    assert held == {("n1", "update"): ["192.0.2.0/24", "2001:db8:1::/48"]}
    assert run(settings_for(tmp_path / "b.json", targets), force=True).writes == 0


def test_dry_run_plans_without_writing(
    emulator: Emulator, network_client: Any, settings_for: SettingsFor, tmp_path: Path
) -> None:
    nsg = make_nsg(network_client, "n1")
    writes = emulator.stats()["writes"]
    report = run(
        settings_for(
            write_release(tmp_path / "a.json", TAGS), [target(nsg, ["Alpha"])], dry_run=True
        )
    )
    assert report.dry_run
    assert report.writes == 0
    (result,) = report.targets
    assert result.status == "planned"
    assert sorted(c.rule for c in result.changes) == ["ipsync-alpha-v4", "ipsync-alpha-v6"]
    assert emulator.stats()["writes"] == writes
    assert report.exit_code() == 2


def test_address_moving_between_targets_of_one_nsg_is_never_dropped(
    emulator: Emulator, network_client: Any, settings_for: SettingsFor, tmp_path: Path
) -> None:
    """Make-before-break across the targets of an NSG: the new home is written before the old
    rule goes, whatever the order of the targets."""
    nsg = make_nsg(network_client, "n1")
    targets = [target(nsg, ["Alpha"]), target(nsg, ["Beta"], priority_range=[300, 399])]
    first = {"Alpha": ["192.0.2.0/24", "2001:db8:1::/48"], "Beta": ["198.51.100.0/24"]}
    assert run(settings_for(write_release(tmp_path / "a.json", first), targets)).ok
    since = history_len(emulator, nsg)
    second = {"Alpha": ["192.0.2.0/24"], "Beta": ["198.51.100.0/24", "2001:db8:1::/48"]}

    report = run(settings_for(write_release(tmp_path / "b.json", second, 2), targets), force=True)

    assert report.ok, report
    assert "ipsync-alpha-v6" not in rules_of(network_client, "n1")
    assert addresses(rules_of(network_client, "n1")["ipsync-beta-v6"]) == {"2001:db8:1::/48"}
    assert_nothing_lost(emulator, nsg, since)


@pytest.mark.parametrize("endpoint", ["https://management.azure.com", "https://127.0.0.1.example"])
def test_emulator_credential_is_refused_off_loopback(
    settings_for: SettingsFor, tmp_path: Path, endpoint: str
) -> None:
    settings = settings_for(
        write_release(tmp_path / "r.json", TAGS),
        [target(nsg_id("n1"), ["Alpha"])],
        arm_endpoint=endpoint,
    )
    report = run(settings)
    assert not report.ok
    assert report.error is not None
    assert "IPSYNC_CREDENTIAL" in report.error
    assert endpoint in report.error


def test_a_credential_refused_for_the_endpoint_is_said_once_for_the_run(
    settings_for: SettingsFor, tmp_path: Path
) -> None:
    """The run's clients share one credential, made before any target: a credential the
    settings refuse fails the run once, not every target alike."""
    targets = [target(nsg_id("n1"), ["Alpha"]), target(nsg_id("n2"), ["Beta"])]
    settings = settings_for(
        write_release(tmp_path / "r.json", TAGS),
        targets,
        arm_endpoint="https://management.azure.com",
        subscription_id=None,
    )
    assert settings.subscription_id is None
    report = run(settings)
    assert report.targets == []
    assert report.error is not None
    assert report.error.startswith("setting IPSYNC_CREDENTIAL: 'emulator' is only allowed with")


def test_address_moving_between_two_shrinking_rules_is_never_dropped(
    emulator: Emulator, network_client: Any, settings_for: SettingsFor, tmp_path: Path
) -> None:
    """Both rules lose something, and 192.0.2.0/24 moves from Alpha's to Beta's: Beta's
    update must go first although Alpha is the first target."""
    nsg = make_nsg(network_client, "n1")
    v4 = {"families": ["v4"]}
    targets = [
        target(nsg, ["Alpha"], **v4),
        target(nsg, ["Beta"], priority_range=[300, 399], **v4),
    ]
    first = {
        "Alpha": ["192.0.2.0/24", "203.0.113.0/24", "203.0.114.0/24"],
        "Beta": ["198.51.100.0/24", "198.51.101.0/24", "198.51.103.0/24"],
    }
    assert run(settings_for(write_release(tmp_path / "a.json", first), targets)).ok
    since = history_len(emulator, nsg)
    second = {
        "Alpha": ["203.0.113.0/24", "203.0.114.0/24"],
        "Beta": ["198.51.100.0/24", "198.51.101.0/24", "192.0.2.0/24"],
    }

    report = run(settings_for(write_release(tmp_path / "b.json", second, 2), targets), force=True)

    assert report.ok, report
    assert [t.writes for t in report.targets] == [1, 1]
    assert "192.0.2.0/24" in addresses(rules_of(network_client, "n1")["ipsync-beta-v4"])
    assert_nothing_lost(emulator, nsg, since)


def test_a_family_going_empty_is_refused_whatever_the_ratio(
    emulator: Emulator, network_client: Any, settings_for: SettingsFor, tmp_path: Path
) -> None:
    """Erosion behind a larger family: every IPv6 prefix gone is 3 of 5 here, but refused even
    with max_remove_ratio 1.0."""
    nsg = make_nsg(network_client, "n1")
    targets = [target(nsg, ["Alpha", "Beta"])]
    assert run(settings_for(write_release(tmp_path / "a.json", TAGS), targets)).ok
    no_v6 = write_release(
        tmp_path / "b.json", {"Alpha": TAGS["Alpha"][:2], "Beta": TAGS["Beta"][:1]}, 2
    )
    report = run(settings_for(no_v6, targets, max_remove_ratio=1.0))
    (result,) = report.targets
    assert result.status == "refused"
    assert "would remove every IPv6 prefix (2)" in (result.error or "")
    assert "ipsync-alpha_beta-v6" in rules_of(network_client, "n1")
    assert run(settings_for(no_v6, targets), force=True).ok
    assert "ipsync-alpha_beta-v6" not in rules_of(network_client, "n1")


def test_an_older_release_is_refused_as_a_rollback_unless_forced(
    emulator: Emulator, network_client: Any, settings_for: SettingsFor, tmp_path: Path
) -> None:
    nsg = make_nsg(network_client, "n1")
    targets = [target(nsg, ["Alpha"])]
    newer = {"Alpha": ["192.0.2.0/25", "2001:db8:1::/48"]}
    assert run(settings_for(write_release(tmp_path / "new.json", newer, 376), targets)).ok
    writes = emulator.stats()["writes"]
    older = write_release(tmp_path / "old.json", TAGS, 373)
    report = run(settings_for(older, targets))
    (result,) = report.targets
    assert result.status == "refused"
    assert "release 373 is older than release 376" in (result.error or "")
    assert report.exit_code() == 3
    assert emulator.stats()["writes"] == writes
    assert run(settings_for(older, targets), force=True).ok
    assert run(settings_for(write_release(tmp_path / "same.json", TAGS, 377), targets)).ok


def test_a_selected_tag_gone_empty_is_refused_whatever_the_ratio(
    emulator: Emulator, network_client: Any, settings_for: SettingsFor, tmp_path: Path
) -> None:
    nsg = make_nsg(network_client, "n1")
    targets = [target(nsg, ["Alpha", "Gamma"], families=["v4"])]
    assert run(settings_for(write_release(tmp_path / "a.json", TAGS), targets)).ok
    hollow = {"Alpha": TAGS["Alpha"], "Gamma": ["2001:db8:9::/48"]}  # no IPv4 left in Gamma
    feed = write_release(tmp_path / "b.json", hollow, 2)
    report = run(settings_for(feed, targets, max_remove_ratio=1.0))
    (result,) = report.targets
    assert result.status == "refused"
    assert "service tag Gamma has no v4 prefix" in (result.error or "")
    assert run(settings_for(write_release(tmp_path / "b.json", hollow, 2), targets), force=True).ok


def test_a_run_id_is_the_one_format_the_history_keeps(
    emulator: Emulator, network_client: Any, settings_for: SettingsFor, tmp_path: Path
) -> None:
    from sync.report import RUN_ID

    nsg = make_nsg(network_client, "n1")
    feed = write_release(tmp_path / "a.json", TAGS)
    report = run(settings_for(feed, [target(nsg, ["Alpha"])]))
    assert report.run_id is not None
    assert RUN_ID.match(report.run_id)
    assert run(settings_for(feed, [target(nsg, ["Alpha"])]), run_id="given").run_id == "given"


def test_releases_that_each_remove_a_little_cannot_erode_a_list_unnoticed(
    emulator: Emulator, network_client: Any, settings_for: SettingsFor, tmp_path: Path
) -> None:
    """Four releases each dropping a quarter of the ranges: every step is under the 30 % guard
    of one run, but the second drop already leaves 56 % of what the target held."""
    nsg = make_nsg(network_client, "n1")
    targets = [target(nsg, ["Alpha"], families=["v4"])]
    ranges = [f"11.{2 * i}.0.0/16" for i in range(16)]  # apart: nothing aggregates
    steps = [ranges, ranges[:12], ranges[:9], ranges[:7]]
    first = run(settings_for(write_release(tmp_path / "r0.json", {"Alpha": steps[0]}, 1), targets))
    assert first.ok, first
    second = run(settings_for(write_release(tmp_path / "r1.json", {"Alpha": steps[1]}, 2), targets))
    assert second.ok, second
    feed = write_release(tmp_path / "r2.json", {"Alpha": steps[2]}, 3)
    third = run(settings_for(feed, targets))
    (result,) = third.targets
    assert result.status == "refused"
    assert "44% fewer than the 1048576 this target held at its largest" in (result.error or "")
    assert third.exit_code() == 3
    assert run(settings_for(feed, targets), force=True).ok  # the smaller list is the reference
    fourth = write_release(tmp_path / "r3.json", {"Alpha": steps[3]}, 4)
    assert run(settings_for(fourth, targets)).ok  # 7 of 9: 22 % below the new reference


def test_a_refusal_stays_with_its_target_when_an_earlier_one_on_the_resource_clashes(
    emulator: Emulator, network_client: Any, settings_for: SettingsFor, tmp_path: Path
) -> None:
    nsg = make_nsg(network_client, "n1")
    hollow = {**TAGS, "Gamma": ["2001:db8:9::/48"]}  # no IPv4 in Gamma
    targets = [
        target(nsg, ["Alpha"], priority_range=[100, 100]),  # two families, one priority
        target(nsg, ["Beta"], families=["v4"], priority_range=[200, 299]),
        target(nsg, ["Alpha", "Gamma"], families=["v4"], priority_range=[300, 399]),
    ]
    report = run(settings_for(write_release(tmp_path / "a.json", hollow), targets))
    status = {tuple(t.service_tags): (t.status, t.error or "") for t in report.targets}
    assert status[("Alpha",)][0] == "failed"
    assert "cannot hold 2 rules" in status[("Alpha",)][1]
    assert status[("Beta",)] == ("applied", "")
    assert status[("Alpha", "Gamma")][0] == "refused"
    assert "service tag Gamma has no v4 prefix" in status[("Alpha", "Gamma")][1]
    assert sorted(owned(network_client, "n1")) == ["ipsync-beta-v4"]
