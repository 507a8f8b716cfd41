"""Published lists as the ``list`` kind, offline: the command line publishes into the state
folder, through the same plan, fit and guard stage as every other kind."""

from __future__ import annotations

import json
import lzma
from pathlib import Path
from typing import Any

import netaddr
import pytest

from sync.app.cli import main
from sync.engine import run
from sync.settings import Settings, load_settings

DATA = Path(__file__).resolve().parents[1] / "data"
FEED = DATA / "ServiceTags_Public_20251017.json.xz"
OLDER = DATA / "ServiceTags_Public_20251010.json.xz"


def settings(tmp_path: Path, source: Path, **lists: dict[str, Any]) -> Settings:
    return load_settings(source=str(source), cache_dir=tmp_path, lists=lists)


def published(tmp_path: Path, name: str, ext: str = ".json") -> Any:
    text = (tmp_path / "state" / "lists" / f"{name}{ext}").read_text()
    return json.loads(text) if ext == ".json" else text


def published_tag(tag: str, family: str) -> netaddr.IPSet:
    document = json.loads(lzma.decompress(FEED.read_bytes()))
    (entry,) = [v for v in document["values"] if v["name"] == tag]
    wanted = [p for p in entry["properties"]["addressPrefixes"] if (":" in p) == (family == "v6")]
    return netaddr.IPSet(wanted)


def test_a_list_is_published_in_every_format_then_left_alone(tmp_path: Path) -> None:
    first = run(settings(tmp_path, FEED, monitor={"service_tags": ["AzureMonitor"]}))
    (row,) = first.targets
    assert (row.kind, row.resource, row.status) == ("list", "lists/monitor", "applied")
    document = published(tmp_path, "monitor")
    assert (document["release"], document["cloud"], document["name"]) == ("373", "Public",
                                                                          "monitor")  # fmt: skip
    assert netaddr.IPSet(document["v4"]) == published_tag("AzureMonitor", "v4")
    assert published(tmp_path, "monitor", ".txt").split() == document["v4"] + document["v6"]
    again = run(settings(tmp_path, FEED, monitor={"service_tags": ["AzureMonitor"]}))
    assert (again.targets[0].status, again.writes) == ("unchanged", 0)


def test_an_older_release_is_refused_as_a_rollback_and_the_list_stays(tmp_path: Path) -> None:
    lists = {"monitor": {"service_tags": ["AzureMonitor"]}}
    assert run(settings(tmp_path, FEED, **lists)).ok
    before = published(tmp_path, "monitor")
    older = run(settings(tmp_path, OLDER, **lists))
    (row,) = older.targets
    assert row.status == "refused"
    assert "older than release 373" in (row.error or "")
    assert published(tmp_path, "monitor") == before


def test_an_emptied_family_is_refused_unless_forced(tmp_path: Path) -> None:
    lists = {"monitor": {"service_tags": ["AzureMonitor"]}}
    assert run(settings(tmp_path, FEED, **lists)).ok
    data = json.loads(lzma.decompress(FEED.read_bytes()))
    data["changeNumber"] += 1
    for value in data["values"]:
        if value["name"] == "AzureMonitor":
            props = value["properties"]
            props["addressPrefixes"] = [p for p in props["addressPrefixes"] if ":" not in p]
    cut = tmp_path / "cut.json"
    cut.write_text(json.dumps(data))
    refused = run(settings(tmp_path, cut, **lists))
    assert refused.targets[0].status == "refused"
    assert "every IPv6 prefix" in (refused.targets[0].error or "")
    assert published(tmp_path, "monitor")["v6"]
    forced = run(settings(tmp_path, cut, **lists), force=True)
    assert forced.targets[0].status == "applied"
    assert published(tmp_path, "monitor")["v6"] == []


def test_a_list_is_never_published_wider_than_its_max_extra_ratio(tmp_path: Path) -> None:
    tight = {"service_tags": ["AzureCloud.westeurope"], "families": ["v4"], "max_entries": 50}
    refused = run(settings(tmp_path, FEED, w=tight))
    (row,) = refused.targets
    assert row.status == "refused"
    assert "max_extra_ratio 10%" in (row.error or "")
    assert not (tmp_path / "state" / "lists" / "w.json").exists()  # first publish included

    widened = run(settings(tmp_path, FEED, w={**tight, "max_extra_ratio": 10.0}))
    assert widened.targets[0].status == "applied"
    document = published(tmp_path, "w")
    assert len(document["v4"]) <= 50
    assert published_tag("AzureCloud.westeurope", "v4").issubset(netaddr.IPSet(document["v4"]))
    assert document["fit"]["v4"]["extra_addresses"] > 0


def test_a_missing_tag_fails_the_list_alone(tmp_path: Path) -> None:
    report = run(settings(tmp_path, FEED, gone={"service_tags": ["NoSuchTag"]},
                          ok={"service_tags": ["AzureMonitor"]}))  # fmt: skip
    by_name = {t.resource: t for t in report.targets}
    assert by_name["lists/gone"].status == "failed"
    assert "NoSuchTag" in (by_name["lists/gone"].error or "")
    assert by_name["lists/ok"].status == "applied"


def test_prefixes_refuses_a_fit_beyond_the_ratio_unless_asked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["prefixes", "AzureCloud.westeurope", "--max-entries", "10", "--source", str(FEED)]
    assert main(args) == 3
    out, err = capsys.readouterr()
    assert out == ""
    assert "(--max-entries 10) allows" in err
    assert "> max_extra_ratio 10%" in err
    assert main([*args, "--max-extra-ratio", "100000"]) == 0
    out, _ = capsys.readouterr()
    assert len(out.split()) <= 10
