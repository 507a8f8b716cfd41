"""The bundled real releases: they parse, and ipsync's prefixes match an independent computation."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable
from typing import Any
from xml.etree import ElementTree

import pytest

from sync.core.feed import Release
from sync.core.prefixes import parse_prefix
from sync.core.selection import select
from sync.errors import FeedError
from sync.feeds.azure.parse import parse_release

from .conftest import PUBLIC, RELEASES, XML, raw_json, release_bytes

Net = ipaddress.IPv4Network | ipaddress.IPv6Network


def independent(raw_prefixes: list[str]) -> list[str]:
    """ipaddress.collapse_addresses over the raw strings: IPv4 first, each family sorted."""
    nets = [ipaddress.ip_network(p) for p in raw_prefixes]
    out: list[str] = []
    for version in (4, 6):
        family: list[Net] = [n for n in nets if n.version == version]
        out += [str(n) for n in ipaddress.collapse_addresses(family)]  # type: ignore[type-var]
    return out


def raw_tags(name: str) -> dict[str, dict[str, Any]]:
    return {v["name"]: v["properties"] for v in raw_json(name)["values"]}


@pytest.mark.parametrize("name", RELEASES)
def test_real_release_parses_completely(name: str, release_of: Callable[[str], Release]) -> None:
    raw = raw_json(name)
    release = release_of(name)
    assert release.cloud == raw["cloud"]
    assert release.change_number == raw["changeNumber"]
    assert list(release.tags) == [v["name"] for v in raw["values"]]
    for value in raw["values"]:
        tag = release.tags[value["name"]]
        props = value["properties"]
        assert tag.address_prefixes == props["addressPrefixes"]  # all canonical already
        assert tag.change_number == props["changeNumber"]
        assert (tag.region, tag.region_id) == (props["region"], props["regionId"])
        assert tag.system_service == props["systemService"]
        assert tag.network_features == props["networkFeatures"]


def test_xml_release_parses_completely() -> None:
    release = parse_release(release_bytes(XML), origin=XML)
    root = ElementTree.fromstring(release_bytes(XML))
    expected = {r.get("Name"): [i.get("Subnet") for i in r.findall("IpRange")] for r in root}
    assert {n: t.address_prefixes for n, t in release.tags.items()} == expected
    assert len(release.tags) == 45


@pytest.mark.parametrize(
    "tag",
    [
        "AzureCloud",
        "Storage.WestEurope",
        "AzureMonitor",
        "AzureCloud.westeurope",
        "AzureFrontDoor.Backend",
        "ActionGroup",
    ],
)
def test_prefixes_of_a_tag_match_ipaddress(tag: str, public: Release) -> None:
    assert list(select(public, [tag]).prefixes) == independent(
        raw_tags(PUBLIC)[tag]["addressPrefixes"]
    )


def test_union_of_tags_matches_ipaddress(public: Release) -> None:
    raw = raw_tags(PUBLIC)
    names = ["Storage.WestEurope", "Sql.WestEurope", "AzureMonitor"]
    union = [p for n in names for p in raw[n]["addressPrefixes"]]
    assert list(select(public, names).prefixes) == independent(union)


def test_every_tag_of_a_release_matches_ipaddress(
    release_of: Callable[[str], Release],
) -> None:
    name = "ServiceTags_AzureGovernment_20251025.json.xz"
    release = release_of(name)
    raw = raw_tags(name)
    assert len(raw) == len(release.tags) > 300
    for tag, props in raw.items():
        assert list(select(release, [tag]).prefixes) == independent(props["addressPrefixes"]), tag


# --- real quirks of the feed ----------------------------------------------------------------


def test_quirk1_and_2_fingerprint_ignores_the_top_level_change_number() -> None:
    """A reused or bumped top-level changeNumber decides nothing; the parsed content does."""
    payload = raw_json(PUBLIC)
    same = parse_release(release_bytes(PUBLIC), origin="a")
    payload["changeNumber"] = 999
    bumped = parse_release(json.dumps(payload).encode(), origin="b")
    assert bumped.change_number == 999
    for tag in ("AzureCloud", "Storage.WestEurope"):
        assert select(same, [tag]).sha256 == select(bumped, [tag]).sha256


def test_quirk2_unchanged_tags_keep_their_fingerprint_across_real_releases(
    release_of: Callable[[str], Release],
) -> None:
    old = release_of("ServiceTags_Public_20251010.json.xz")
    new = release_of(PUBLIC)
    assert old.change_number != new.change_number
    unchanged = [
        name for name, tag in new.tags.items() if name in old.tags and old.tags[name] == tag
    ]
    changed = [
        n
        for n, t in new.tags.items()
        if n in old.tags and old.tags[n].address_prefixes != t.address_prefixes
    ]
    assert len(unchanged) > 1000
    assert changed
    for name in unchanged[:50]:
        assert select(old, [name]).sha256 == select(new, [name]).sha256
    for name in changed[:20]:
        assert select(old, [name]).sha256 != select(new, [name]).sha256


def test_quirk3_line_endings_do_not_matter(release_of: Callable[[str], Release]) -> None:
    name = "ServiceTags_Public_20250101.json.xz"  # published with CRLF
    crlf = release_bytes(name)
    assert b"\r\n" in crlf
    lf = parse_release(crlf.replace(b"\r\n", b"\n"), origin="lf")
    for tag in ("AzureCloud", "Storage.WestEurope", "AzureMonitor"):
        assert select(lf, [tag]).sha256 == select(release_of(name), [tag]).sha256


def test_quirk4_a_tag_missing_from_a_newer_release_is_an_error(
    release_of: Callable[[str], Release],
) -> None:
    old = release_of("ServiceTags_Public_20250101.json.xz")
    new = release_of(PUBLIC)
    gone = next(name for name in old.tags if name not in new.tags)
    assert select(old, [gone]).prefixes
    with pytest.raises(FeedError, match=f"service tag '{gone}' is not in the Public release 373"):
        select(new, ["AzureCloud", gone])


def test_quirk5_repeated_prefixes_are_normalised_everywhere() -> None:
    raw = raw_json(PUBLIC)
    entries = [p for v in raw["values"] for p in v["properties"]["addressPrefixes"]]
    assert len(set(entries)) < len(entries) * 0.7  # heavy repetition across tags

    shared = entries[0]  # ActionGroup's first prefix, also in AzureCloud
    holders = [v for v in raw["values"] if shared in v["properties"]["addressPrefixes"]]
    assert len(holders) >= 2
    host, length = shared.split("/")
    dirty = f"{host[:-1]}{int(host[-1]) + 1}/{length}"
    assert parse_prefix(dirty).text == shared
    for value in holders:
        prefixes = value["properties"]["addressPrefixes"]
        prefixes[prefixes.index(shared)] = dirty
    release = parse_release(json.dumps(raw).encode(), origin="dirty")
    for value in holders:
        assert shared in release.tags[value["name"]].address_prefixes
        assert dirty not in release.tags[value["name"]].address_prefixes
