"""``plan --impact`` on the demo's config (an explicit NSG target and one that opts in by its
Azure tag) and the bundled weekly releases: the impact summary matches what ``apply`` then
does, target by target and in total; offline it matches on the targets it can see."""

from __future__ import annotations

import json
import lzma
from pathlib import Path
from typing import Any

import netaddr

from armemu import Emulator
from sync.app.cli import main
from sync.app.demo import RELEASES, create_resources, demo_config
from sync.app.impact import Impact, TargetImpact, impact_command
from sync.core.diff import diff_releases
from sync.engine import run
from sync.feeds import load_release
from sync.report import Report
from sync.settings import Settings, load_settings

DATA = Path(__file__).resolve().parents[1] / "data"
OLD, NEW = (DATA / name for name in RELEASES)
GITHUB = DATA / "feeds" / "github-meta-20260822.json.xz"


def demo(emulator: Emulator, tmp_path: Path, **more: Any) -> dict[str, Any]:
    """The demo's config, its NSGs created, the older release applied."""
    base = {**demo_config(emulator.endpoint, emulator.ca_bundle, tmp_path), **more}
    create_resources(load_settings(**base))
    assert run(load_settings(**base, source=str(OLD))).ok
    return base


def at(base: dict[str, Any], release: Path, **more: Any) -> Settings:
    return load_settings(**{**base, "source": str(release), **more})


def rows(impact: Impact) -> dict[str, TargetImpact]:
    return {row.resource.rsplit("/", 1)[-1]: row for row in impact.targets}


def matches(impact: Impact, applied: Report) -> None:
    """Every target as the impact said: status, entries, writes, the guard's reason."""
    said = rows(impact)
    assert set(said) == {t.resource.rsplit("/", 1)[-1] for t in applied.targets}
    for target in applied.targets:
        row = said[target.resource.rsplit("/", 1)[-1]]
        done = {"applied": "planned"}.get(target.status, target.status)
        assert (row.status, row.reason) == (done, target.error)
        assert row.added == sum(len(c.added) for c in target.changes)
        assert row.removed == sum(len(c.removed) for c in target.changes)
        assert row.writes == target.writes
    assert impact.totals()["writes"] == applied.writes


def test_the_impact_on_the_demos_config_is_what_apply_then_does(
    emulator: Emulator, tmp_path: Path
) -> None:
    base = demo(emulator, tmp_path)
    impact = impact_command(at(base, NEW, dry_run=True), offline=False, since=str(OLD))
    offline = impact_command(at(base, NEW, dry_run=True), offline=True, since=str(OLD))

    applied = run(at(base, NEW))

    assert applied.ok
    matches(impact, applied)
    totals = impact.totals()
    assert totals["changed"] == sum(1 for t in applied.targets if t.status == "applied") > 0
    assert (impact.previous, impact.release) == ("372", "373")
    week = diff_releases(load_release(at(base, OLD)), load_release(at(base, NEW)))
    moved = {change.name for change in week.tags}
    for row in impact.targets:
        assert set(row.tags_changed) == moved & set(row.service_tags)
    # Offline: the explicit targets and the list (the NSG that opts in by a tag only Azure
    # shows is not seen); the NSG's entries as online; the writes are not known.
    assert {row.resource.rsplit("/", 1)[-1] for row in offline.targets} == {
        "nsg-backup", "stdemo", "edl"}  # fmt: skip
    explicit = rows(offline)["nsg-backup"]
    said = rows(impact)[explicit.resource.rsplit("/", 1)[-1]]
    assert (explicit.status, explicit.added, explicit.removed, explicit.reason) == (
        said.status,
        said.added,
        said.removed,
        None,
    )
    assert explicit.writes is None
    assert offline.totals()["writes"] is None


def test_a_guard_that_would_refuse_is_in_the_impact_and_refuses_the_apply(
    emulator: Emulator, tmp_path: Path
) -> None:
    base = demo(emulator, tmp_path)
    assert run(at(base, NEW)).ok
    # Going back to the older release is a rollback, which the guard stage refuses.
    impact = impact_command(at(base, OLD, dry_run=True), offline=False, since=str(NEW))
    offline = impact_command(at(base, OLD, dry_run=True), offline=True, since=str(NEW))

    applied = run(at(base, OLD))

    matches(impact, applied)
    refused = [row for row in impact.targets if row.status == "refused"]
    assert refused
    assert impact.exit_code() == 3
    assert applied.exit_code() == 3
    for explicit in offline.targets:
        said = rows(impact)[explicit.resource.rsplit("/", 1)[-1]]
        assert (explicit.status, explicit.reason) == (said.status, said.reason)


def test_plan_impact_on_the_command_line(
    emulator: Emulator, tmp_path: Path, capsys: Any, monkeypatch: Any
) -> None:
    base = demo(emulator, tmp_path)
    config = tmp_path / "ipsync.toml"
    config.write_text(
        f'arm_endpoint = "{base["arm_endpoint"]}"\nca_bundle = "{base["ca_bundle"]}"\n'
        f'credential = "emulator"\nsubscription_id = "{base["subscription_id"]}"\n'
        f'cache_dir = "{tmp_path}"\npoll_interval_s = 0\nsource = "{NEW}"\n'
        f'[[targets]]\nkind = "storage"\nresource = "{base["targets"][1]["resource"]}"\n'
        'service_tags = ["AzureCloud.westeurope"]\nfit = "cover"\n'
    )
    code = main(["plan", "--impact", "--since", str(OLD), "--config", str(config)])
    out = capsys.readouterr().out
    assert code == 2
    assert out.startswith("impact of release 373 (since 372) on 2 targets: ")
    code = main(["plan", "--offline", "--json", "--since", str(OLD), "--config", str(config)])
    assert code == 2
    assert '"offline": true' in capsys.readouterr().out


def test_offline_the_feeds_a_target_takes_are_read_as_a_run_reads_them(
    emulator: Emulator, tmp_path: Path
) -> None:
    """A target of GitHub's ranges is judged offline too; one whose feed cannot be read fails
    alone, naming the feed; the demo's own targets read as without them."""
    base = demo(emulator, tmp_path)
    account = (f"/subscriptions/{base['subscription_id']}/resourceGroups/rg-feeds/providers/"
               "Microsoft.Storage/storageAccounts/")  # fmt: skip
    runners = {"kind": "storage", "resource": account + "strunners", "fit": "cover",
               "families": ["v4"],
               "sources": [{"feed": "github", "select": ["actions"]}]}  # fmt: skip
    lost = {"kind": "storage", "resource": account + "stlost", "families": ["v4"],
            "sources": [{"feed": "aws", "select": ["AMAZON"]}]}  # fmt: skip
    missing = tmp_path / "aws-ip-ranges.json"
    settings = at(base, NEW, dry_run=True, targets=[*base["targets"], runners, lost],
                  sources={"github": str(GITHUB), "aws": str(missing)})  # fmt: skip

    offline = rows(impact_command(settings, offline=True, since=str(OLD)))
    alone = rows(impact_command(at(base, NEW, dry_run=True), offline=True, since=str(OLD)))

    document = json.loads(lzma.decompress(GITHUB.read_bytes()))
    published = netaddr.IPSet(p for p in document["actions"] if ":" not in p)
    assert offline["strunners"].status == "planned"
    assert (offline["strunners"].added, offline["strunners"].removed) == (
        len(list(published.iter_cidrs())), 0)  # fmt: skip
    assert offline["stlost"].status == "failed"
    assert offline["stlost"].reason is not None
    assert "feed aws" in offline["stlost"].reason
    assert str(missing) in offline["stlost"].reason
    assert {name: row for name, row in offline.items() if name in alone} == alone
