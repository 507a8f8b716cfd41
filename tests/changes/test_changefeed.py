"""Kept change entries and the change feed (JSON and Atom), read back by a real feed parser."""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.etree import ElementTree as ET

import feedparser
import netaddr
import pytest

from sync.app.changefeed import ATOM, CIDRS_SHOWN, changes_atom, changes_json, feed_id
from sync.changes import ChangeEntry, change_entry, entry_id
from sync.core.diff import diff_releases
from sync.report import Change, TargetReport
from tests.feed.conftest import parsed, raw_json

OLD, NEW = "ServiceTags_Public_20251010.json.xz", "ServiceTags_Public_20251017.json.xz"
FEED = "https://ipsync-demo.azurewebsites.net/api/changes.atom"
SEEN = datetime(2025, 10, 17, 4, 30, tzinfo=UTC)
NSG = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/n1"


def targets() -> list[TargetReport]:
    return [
        TargetReport(
            kind="nsg",
            resource=NSG,
            status="applied",
            service_tags=["Storage.WestEurope", "AzureCloud.westeurope"],
            changes=[Change(rule="ipsync-a-v4", action="update", added=["57.157.14.42/31"] * 5)],
        ),
        TargetReport(
            kind="list",
            resource="lists/<edl>&co",
            status="refused",
            service_tags=["AzureCloud"],
            changes=[Change(rule="edl", action="update", removed=["192.0.2.0/24"])],
            error="list <edl>: would remove 812 of 2700 owned prefixes (30% > 'max')",
        ),
        TargetReport(
            kind="keyvault", resource="/kv", status="unchanged", service_tags=["Sql.WestEurope"]
        ),
    ]


def week_entry(seen: datetime = SEEN) -> ChangeEntry:
    entry = change_entry(
        diff_releases(parsed(OLD), parsed(NEW)),
        cloud="Public",
        selected=["storage.westeurope", "AzureCloud.westeurope", "AzureCloud", "Sql.WestEurope"],
        targets=targets(),
        seen_at=seen,
        run_id="20251017T043000123Z-1a2b3c4d",
    )
    assert entry is not None
    return entry


def test_an_entry_holds_only_the_selected_tags_that_changed() -> None:
    entry = week_entry()
    assert set(entry.tags) == {"AzureCloud", "AzureCloud.westeurope"}  # Storage, Sql: unchanged
    name = "AzureCloud.westeurope"
    before = netaddr.IPSet(_prefixes(OLD, name))
    after = netaddr.IPSet(_prefixes(NEW, name))
    assert entry.tags[name].added == [str(c) for c in (after - before).iter_cidrs()]
    assert entry.tags[name].addresses["v4"] == ((after - before).size, 0)
    assert [(t.resource, t.service_tags, t.added, t.removed) for t in entry.targets] == [
        (NSG, ["AzureCloud.westeurope"], 5, 0),
        ("lists/<edl>&co", ["AzureCloud"], 0, 0),  # refused: nothing written
    ]
    assert (entry.previous, entry.mark) == ("372", "373")


def _prefixes(name: str, tag: str) -> list[str]:
    found: list[str] = next(
        v["properties"]["addressPrefixes"] for v in raw_json(name)["values"] if v["name"] == tag
    )
    return found


def test_nothing_selected_changed_is_no_entry() -> None:
    diff = diff_releases(parsed(OLD), parsed(NEW))
    kwargs = {"cloud": "Public", "targets": targets(), "seen_at": SEEN}
    assert change_entry(diff, selected=["Storage.WestEurope"], **kwargs) is None  # type: ignore[arg-type]


def test_entry_ids_are_stable_per_release_change() -> None:
    assert (
        week_entry().id
        == week_entry(SEEN + timedelta(days=1)).id
        == entry_id("Public", "372", "373")
    )
    assert entry_id("Public", "373", "374") != entry_id("Public", "372", "373")
    assert entry_id("China", "372", "373") != entry_id("Public", "372", "373")


def test_json_lists_changes_newest_first_and_reads_back() -> None:
    older = week_entry().model_copy(update={"id": entry_id("Public", "371", "372"), "mark": "372"})
    newer = week_entry(SEEN + timedelta(days=7))
    body = json.loads(changes_json([older, newer]))
    assert [c["mark"] for c in body["changes"]] == ["373", "372"]
    assert ChangeEntry.model_validate(body["changes"][0]) == newer
    assert changes_json([older, newer]) == changes_json([newer, older])


def test_the_atom_feed_reads_back_with_a_real_parser() -> None:
    newer = week_entry(SEEN + timedelta(days=7))
    older = week_entry().model_copy(update={"id": entry_id("Public", "371", "372"), "mark": "372"})
    body = changes_atom([older, newer], feed_url=FEED, when_empty=SEEN)
    parsed_feed = feedparser.parse(body)
    assert parsed_feed.bozo == 0, parsed_feed.get("bozo_exception")
    assert parsed_feed.version == "atom10"
    assert parsed_feed.feed.id == feed_id(FEED)
    assert parsed_feed.feed.updated_parsed[:5] == (2025, 10, 24, 4, 30)
    assert [e.id for e in parsed_feed.entries] == [newer.id, older.id]
    first = parsed_feed.entries[0]
    assert first.title == "Public release 373: 2 service tags changed, 2 targets touched"
    v4 = sum(
        net.size
        for tag in ("AzureCloud", "AzureCloud.westeurope")
        for net in (
            netaddr.IPSet(_prefixes(NEW, tag)) - netaddr.IPSet(_prefixes(OLD, tag))
        ).iter_cidrs()
        if net.version == 4
    )
    assert first.summary.startswith(f"release 372 -> 373: IPv4 +{v4:,} -0 addresses; IPv6 +")
    content = first.content[0]
    assert content.type == "text/html"
    assert "57.157.14.42/31" in content.value
    # Escaped once for HTML, and read back as the text it was.
    assert "lists/&lt;edl&gt;&amp;co" in content.value
    assert "<edl>" not in content.value
    assert next(link.href for link in parsed_feed.feed.links if link.rel == "self") == FEED


def test_the_atom_feed_has_what_rfc_4287_requires() -> None:
    body = changes_atom([week_entry()], feed_url=FEED, when_empty=SEEN)
    root = ET.fromstring(body)
    q = f"{{{ATOM}}}"
    assert root.tag == f"{q}feed"
    for element in (root, *root.iter(f"{q}entry")):
        assert element.find(f"{q}id") is not None
        assert element.find(f"{q}title") is not None
        assert element.findtext(f"{q}updated", "").endswith("Z")
    assert root.find(f"{q}author/{q}name") is not None
    assert body.startswith(b"<?xml version='1.0' encoding='utf-8'?>")


def test_an_empty_feed_still_says_when_it_was_updated() -> None:
    parsed_feed = feedparser.parse(changes_atom([], feed_url=FEED, when_empty=SEEN))
    assert parsed_feed.bozo == 0
    assert parsed_feed.entries == []
    assert parsed_feed.feed.updated == "2025-10-17T04:30:00Z"


def test_a_long_tag_shows_the_first_cidrs_and_a_count() -> None:
    entry = week_entry()
    many = [f"10.{i // 256}.{i % 256}.0/24" for i in range(CIDRS_SHOWN + 7)]
    entry.tags["AzureCloud"].added = many
    value = feedparser.parse(changes_atom([entry], feed_url=FEED, when_empty=SEEN)).entries[0]
    assert "(and 7 more)" in value.content[0].value
    assert many[-1] not in value.content[0].value


@pytest.mark.parametrize(
    "hostile", ["]]></content><x>", "<script>alert(1)</script>", "\u2028&#0;", "nul\x00 vt\x0b"]
)
def test_hostile_text_stays_text(hostile: str) -> None:
    entry = week_entry()
    entry.targets[0].error = hostile
    body = changes_atom([entry], feed_url=FEED, when_empty=SEEN)
    parsed_feed = feedparser.parse(body)
    assert parsed_feed.bozo == 0
    assert len(parsed_feed.entries) == 1
    root = ET.fromstring(body)
    content = root.find(f"{{{ATOM}}}entry/{{{ATOM}}}content")
    assert content is not None
    assert len(list(content)) == 0  # no element smuggled into the content
    assert html.escape(hostile.replace("\x00", "").replace("\x0b", "")) in (content.text or "")


def test_an_entry_of_another_feed_names_the_targets_that_take_from_it() -> None:
    from sync.feeds import load_release
    from sync.feedsettings import FeedSettings
    from sync.report import SourceMark

    data = Path(__file__).parents[1] / "data" / "feeds"
    old, new = (
        load_release(FeedSettings(), "aws", source=str(data / f"aws-ip-ranges-{when}.json.xz"))
        for when in ("20260703172705", "20260703194705")
    )
    aws = SourceMark(feed="aws", select=["EC2.ap-southeast-3", "S3.eu-west-1"], mark=new.mark)
    taking = TargetReport(kind="list", resource="lists/aws", status="applied", sources=[aws])
    azure_only = targets()[0]  # selects no AWS record, whatever their names
    entry = change_entry(
        diff_releases(old, new),
        feed="aws",
        cloud=new.cloud,
        selected=aws.select,
        targets=[taking, azure_only],
        seen_at=SEEN,
    )
    assert entry is not None
    assert (entry.feed, set(entry.tags)) == ("aws", {"EC2.ap-southeast-3"})
    assert entry.tags["EC2.ap-southeast-3"].added == ["1.178.86.0/24"]
    assert [(t.resource, t.service_tags) for t in entry.targets] == [
        ("lists/aws", ["EC2.ap-southeast-3"])
    ]
