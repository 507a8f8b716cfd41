"""Targets that take from several feeds (``sources``), each feed's release mark held per
target, and ``--source NAME=FILE``: against the ARM emulator, with GitHub's real meta
document (``tests/data/feeds``) beside a generated service-tag release."""

from __future__ import annotations

import json
import lzma
import os
import re
from pathlib import Path
from typing import Any

import pytest

from armemu import Emulator
from sync.app.cli_sources import split_sources
from sync.engine import run
from sync.errors import SettingsError
from sync.kinds.nsg.target import NsgTarget
from sync.report import Report, SourceMark, TargetReport

from .conftest import SettingsFor, addresses, make_nsg, merged, nsg_id, rules_of, write_release
from .test_cli import cli, config

GITHUB = Path(__file__).parents[1] / "data" / "feeds" / "github-meta-20260822.json.xz"
TAGS = {"Alpha": ["192.0.2.0/24", "2001:db8:1::/48"], "Beta": ["198.51.100.0/24"]}
HOOKS = {"feed": "github", "select": ["hooks"]}


def meta(tmp_path: Path, name: str = "meta.json", *, seen: int | None = None, **keys: Any) -> Path:
    """GitHub's document as the meta API answers it, some keys replaced; ``seen`` is the
    file's time, which a local file's mark counts (as a fetch's time would)."""
    document = json.loads(lzma.decompress(GITHUB.read_bytes()))
    document.update(keys)
    path = tmp_path / name
    path.write_text(json.dumps(document))
    if seen is not None:
        os.utime(path, (seen, seen))
    return path


def hooks() -> list[str]:
    found: list[str] = json.loads(lzma.decompress(GITHUB.read_bytes()))["hooks"]
    return found


def test_one_target_takes_a_service_tag_and_a_github_key(
    network_client: Any, settings_for: SettingsFor, tmp_path: Path
) -> None:
    nsg = make_nsg(network_client, "n1")
    github = meta(tmp_path, seen=1_755_851_400)
    spec = {"nsg": nsg, "service_tags": ["Alpha"], "sources": [HOOKS]}
    settings = settings_for(
        write_release(tmp_path / "a.json", TAGS, 7), [spec], sources={"github": str(github)}
    )

    first = run(settings)

    assert first.ok, first
    rules = rules_of(network_client, "n1")
    want = merged(TAGS["Alpha"] + hooks())
    assert sorted(sorted(addresses(r)) for r in rules.values()) == sorted(
        [sorted(want["v4"]), sorted(want["v6"])]
    )
    assert [(s.feed, s.mark) for s in first.sources] == [
        ("azure", "7"),
        ("github", "github-1755851400"),
    ]
    assert first.source == first.sources[0]  # the report's one `source` stays the azure feed's
    (row,) = first.targets
    assert [(s.feed, s.select, s.mark) for s in row.sources] == [
        ("azure", ["Alpha"], "7"),
        ("github", ["hooks"], "github-1755851400"),
    ]
    assert row.service_tags == ["Alpha"]
    for rule in rules.values():  # both marks kept on the resource, both selectors named
        assert rule.description == "ipsync: Alpha, github:hooks; change 7 github-1755851400"

    again = run(settings)
    assert (again.writes, again.targets[0].status) == (0, "unchanged")


def test_an_older_release_of_one_feed_is_refused_for_that_feed(
    network_client: Any, settings_for: SettingsFor, tmp_path: Path
) -> None:
    nsg = make_nsg(network_client, "n1")
    spec = {"nsg": nsg, "service_tags": ["Alpha"], "sources": [HOOKS]}
    azure = write_release(tmp_path / "a.json", TAGS, 7)
    newer = meta(tmp_path, "new.json", seen=1_755_851_400)
    assert run(settings_for(azure, [spec], sources={"github": str(newer)})).ok
    before = rules_of(network_client, "n1")

    older = meta(tmp_path, "old.json", seen=1_755_000_000, hooks=[*hooks(), "151.101.0.0/24"])
    report = run(settings_for(azure, [spec], sources={"github": str(older)}))

    (row,) = report.targets
    assert row.status == "refused"
    assert "release github-1755000000 is older than release github-1755851400" in str(row.error)
    assert rules_of(network_client, "n1") == before


def test_a_feed_that_cannot_be_read_fails_only_the_targets_that_take_from_it(
    network_client: Any, settings_for: SettingsFor, tmp_path: Path
) -> None:
    plain, mixed = make_nsg(network_client, "n1"), make_nsg(network_client, "n2")
    targets = [
        {"nsg": plain, "service_tags": ["Alpha"]},
        {"nsg": mixed, "service_tags": ["Beta"], "sources": [HOOKS]},
    ]
    missing = tmp_path / "absent.json"
    settings = settings_for(
        write_release(tmp_path / "a.json", TAGS, 7), targets, sources={"github": str(missing)}
    )

    report = run(settings)

    rows = {row.resource: row for row in report.targets}
    assert rows[plain].status == "applied"
    assert rows[mixed].status == "failed"
    assert f"feed github: --source {missing}: cannot read the file" in str(rows[mixed].error)
    assert rules_of(network_client, "n2") == {}
    assert [s.feed for s in report.sources] == ["azure"]


def test_plan_reads_a_feed_from_source_name_equals_file(
    emulator: Emulator,
    network_client: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    nsg = make_nsg(network_client, "n1")
    spec = {"nsg": nsg, "service_tags": ["Alpha"], "sources": [HOOKS]}
    cfg = config(tmp_path, emulator, write_release(tmp_path / "a.json", TAGS, 7), [spec])
    other = write_release(tmp_path / "b.json", TAGS, 8)
    github = meta(tmp_path, seen=1_755_851_400)

    code, out = cli(
        capsys, "plan", "--config", str(cfg), "--source", f"github={github}",
        "--source", str(other), "--json",
    )  # fmt: skip

    assert code == 2
    report = json.loads(out)
    assert [(s["feed"], s["mark"], s["origin"]) for s in report["sources"]] == [
        ("azure", "8", str(other)),
        ("github", "github-1755851400", str(github)),
    ]
    assert report["source"]["change_number"] == 8


@pytest.mark.parametrize(
    ("values", "azure", "files"),
    [
        (["a.json"], "a.json", {}),
        (["download"], "download", {}),
        (["github=meta.json", "aws=r.json"], None, {"github": "meta.json", "aws": "r.json"}),
        (["url:atlassian=ips.json", "x=y.json"], None, {"url:atlassian": "ips.json"}),
        (["./dir=a/b.json"], "./dir=a/b.json", {}),  # no feed before the '=': a file name
        (["azure=a.json"], "a.json", {}),
    ],
)
def test_source_values_name_the_azure_feed_or_one_feed_each(
    values: list[str], azure: str | None, files: dict[str, str]
) -> None:
    if "x=y.json" in values:
        with pytest.raises(SettingsError, match=r"--source x=y.json: .*feed"):
            split_sources(values)
        values = values[:1]
    assert split_sources(values) == (azure, files)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (["a.json", "b.json"], "--source b.json: feed azure is given twice"),
        (["github=a.json", "github=b.json"], "--source github=b.json: feed github is given twice"),
        (["github="], "--source github=: name the file after '='"),
    ],
)
def test_source_values_that_clash_are_refused(values: list[str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        split_sources(values)


def test_a_target_must_select_from_some_feed_and_name_a_known_one() -> None:
    nsg = nsg_id("n1")
    with pytest.raises(ValueError, match="selects nothing"):
        NsgTarget(kind="nsg", nsg=nsg)
    with pytest.raises(ValueError, match="url:<name>"):
        NsgTarget(kind="nsg", nsg=nsg, sources=[{"feed": "url", "select": []}])
    with pytest.raises(ValueError, match="githb"):
        NsgTarget(kind="nsg", nsg=nsg, sources=[{"feed": "githb", "select": ["actions"]}])
    both = NsgTarget(
        kind="nsg",
        nsg=nsg,
        service_tags=["AzureDevOps"],
        sources=[HOOKS, {"feed": "github", "select": ["actions", "hooks"]}],
    )
    assert both.feeds == {"azure": ("AzureDevOps",), "github": ("hooks", "actions")}
    assert both.selectors == ("AzureDevOps", "github:hooks", "github:actions")


def test_a_report_kept_from_before_several_feeds_reads_as_the_azure_feeds() -> None:
    kept = {
        "ok": True,
        "dry_run": False,
        "source": {"cloud": "Public", "change_number": 373, "origin": "o", "sha256": "0"},
        "targets": [{"kind": "nsg", "resource": "r", "status": "applied", "service_tags": ["A"]}],
    }
    report = Report.model_validate(kept)
    assert [(s.feed, s.mark) for s in report.sources] == [("azure", "373")]
    assert report.release == "373"
    (row,) = report.targets
    assert (row.selectors, row.selected("azure"), row.selected("github")) == (["A"], ["A"], [])


def test_a_target_row_names_every_feeds_selectors() -> None:
    row = TargetReport(
        kind="nsg",
        resource="r",
        status="applied",
        sources=[
            SourceMark(feed="azure", select=["AzureDevOps"], mark="373"),
            SourceMark(feed="github", select=["actions"], mark="github-1755851400"),
            SourceMark(feed="url:atlassian", mark="url:atlassian-1755851400"),
        ],
    )
    assert row.selectors == ["AzureDevOps", "github:actions", "url:atlassian"]
    assert row.selected("github") == ["actions"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('{"azure": "a.json"}', "the azure feed's file is the setting source"),
        ('{"githb": "meta.json"}', "did you mean github"),
        ("github=meta.json", 'not JSON like {"github": "meta.json"}'),
    ],
)
def test_the_sources_setting_names_known_feeds_other_than_azure(
    monkeypatch: pytest.MonkeyPatch, value: str, message: str
) -> None:
    from sync.settings import load_settings

    monkeypatch.setenv("IPSYNC_SOURCES", value)
    with pytest.raises(SettingsError, match=re.escape(message)):
        load_settings()


def test_the_sources_setting_spells_each_feed_as_the_registry_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sync.settings import load_settings

    monkeypatch.setenv("IPSYNC_SOURCES", '{"github": "meta.json", "url:atlassian": "ips.txt"}')
    assert load_settings().sources == {"github": "meta.json", "url:atlassian": "ips.txt"}


def test_several_url_feeds_coexist_by_name_in_one_target(
    network_client: Any, settings_for: SettingsFor, tmp_path: Path
) -> None:
    from tests.feeds.test_url import ATLASSIAN, FEEDS, OKTA

    nsg = make_nsg(network_client, "n1")
    files = {
        "url:atlassian": str(tmp_path / "atlassian.json"),
        "url:okta": str(tmp_path / "okta.json"),
    }
    Path(files["url:atlassian"]).write_text(json.dumps(ATLASSIAN))
    Path(files["url:okta"]).write_text(json.dumps(OKTA))
    spec = {"nsg": nsg, "sources": [{"feed": "url:atlassian"}, {"feed": "url:okta"}]}
    settings = settings_for(
        tmp_path / "no-azure-release.json",
        [spec],
        sources=files,
        url_feeds=json.dumps(FEEDS),
    )

    report = run(settings)

    assert report.ok, report
    (row,) = report.targets
    assert row.selectors == ["url:atlassian", "url:okta"]
    assert [s.feed for s in report.sources] == ["url:atlassian", "url:okta"]
    published = [i["cidr"] for i in ATLASSIAN["items"]] + [
        p for cell in OKTA.values() for p in cell["ip_ranges"]
    ]
    want = merged(published)
    rules = rules_of(network_client, "n1")
    assert sorted(sorted(addresses(r)) for r in rules.values()) == sorted(
        [sorted(want["v4"]), sorted(want["v6"])]
    )
