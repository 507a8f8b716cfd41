"""A published list fed by AWS, replayed over AWS's real releases (``tests/data/feeds``): each
release changes only what it changed, and a release that publishes reserved space is refused
with the range named while the last good list stays."""

from __future__ import annotations

import itertools
import json
import lzma
from pathlib import Path
from typing import Any

import netaddr

from sync.engine import run
from sync.settings import Settings, load_settings

DATA = Path(__file__).resolve().parents[1] / "data" / "feeds"
#: Two real releases of AWS's ip-ranges.json, a few hours apart, oldest first.
RELEASES = [
    DATA / "aws-ip-ranges-20260703172705.json.xz",
    DATA / "aws-ip-ranges-20260703194705.json.xz",
]
SELECT = ["EC2.ap-southeast-3", "S3.eu-west-1", "CLOUDFRONT"]
LISTS = {"aws": {"sources": [{"feed": "aws", "select": SELECT}], "families": ["v4"]}}


def settings(tmp_path: Path, release: Path) -> Settings:
    unused = tmp_path / "no-azure-release.json"  # no list takes service tags: never read
    return load_settings(
        source=str(unused), cache_dir=tmp_path, lists=LISTS, sources={"aws": str(release)}
    )


def document(path: Path) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(lzma.decompress(path.read_bytes()))
    return found


def selected(path: Path) -> netaddr.IPSet:
    """What the list should hold: the file's IPv4 prefixes of the selectors (read here)."""
    wanted = {tuple(s.split(".")) if "." in s else (s,) for s in SELECT}
    return netaddr.IPSet(
        p["ip_prefix"]
        for p in document(path)["prefixes"]
        if (p["service"], p["region"]) in wanted or (p["service"],) in wanted
    )


def published(tmp_path: Path) -> dict[str, Any]:
    found: dict[str, Any] = json.loads((tmp_path / "state" / "lists" / "aws.json").read_text())
    return found


def test_each_real_release_changes_only_what_it_changed(tmp_path: Path) -> None:
    first = run(settings(tmp_path, RELEASES[0]))
    assert (first.ok, first.targets[0].status) == (True, "applied"), first
    assert netaddr.IPSet(published(tmp_path)["v4"]) == selected(RELEASES[0])

    for older, newer in itertools.pairwise(RELEASES):
        report = run(settings(tmp_path, newer))
        (row,) = report.targets
        assert (report.ok, row.status) == (True, "applied"), report
        gained = selected(newer) - selected(older)
        lost = selected(older) - selected(newer)
        assert gained or lost  # the releases differ in what this list selects
        (change,) = row.changes
        assert netaddr.IPSet(change.added) - netaddr.IPSet(change.removed) == gained
        assert netaddr.IPSet(change.removed) - netaddr.IPSet(change.added) == lost
        untouched = selected(older) & selected(newer)
        rewritten = netaddr.IPSet(change.added) | netaddr.IPSet(change.removed)
        assert rewritten.size < untouched.size / 100  # the rest of the list was left alone
        assert netaddr.IPSet(published(tmp_path)["v4"]) == selected(newer)
        assert published(tmp_path)["releases"] == {"aws": f"aws-{document(newer)['syncToken']}"}

    again = run(settings(tmp_path, RELEASES[-1]))
    assert (again.writes, again.targets[0].status) == (0, "unchanged")


def test_a_release_adding_reserved_space_is_refused_naming_the_range(tmp_path: Path) -> None:
    assert run(settings(tmp_path, RELEASES[-1])).ok
    before = published(tmp_path)
    poisoned = document(RELEASES[-1])
    poisoned["syncToken"] = str(int(poisoned["syncToken"]) + 3600)
    poisoned["prefixes"].append(
        {
            "ip_prefix": "252.0.0.0/10",
            "region": "ap-southeast-3",
            "service": "EC2",
            "network_border_group": "ap-southeast-3",
        }
    )
    path = tmp_path / "ip-ranges.json"
    path.write_text(json.dumps(poisoned))

    report = run(settings(tmp_path, path))

    assert report.ok is False
    assert "252.0.0.0/10" in str(report.error)
    assert published(tmp_path) == before
