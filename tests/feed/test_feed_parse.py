"""parse_release: every bad input gets one clear line, nothing is half-read."""

from __future__ import annotations

import gzip
import json
import logging
import lzma
from typing import Any

import pytest

from sync.core import feed
from sync.errors import FeedError
from sync.feeds.azure.parse import parse_release

from .conftest import PUBLIC, XML, raw_json, release_bytes


def tag(name: str, prefixes: list[str], **props: Any) -> dict[str, Any]:
    properties = {
        "changeNumber": 1,
        "region": "",
        "regionId": 0,
        "platform": "Azure",
        "systemService": name,
        "addressPrefixes": prefixes,
        "networkFeatures": None,
    }
    properties.update(props)
    return {"name": name, "id": name, "properties": properties}


def doc(*tags: dict[str, Any], cloud: str = "Public") -> bytes:
    return json.dumps({"changeNumber": 7, "cloud": cloud, "values": list(tags)}).encode()


def parse_small(data: bytes, **kwargs: Any) -> feed.Release:
    return parse_release(data, origin="small.json", min_tags=1, **kwargs)


def test_small_release_parses_in_file_order() -> None:
    release = parse_small(doc(tag("B", ["11.0.0.0/24"]), tag("A", ["2001:db8::/48"])))
    assert list(release.tags) == ["B", "A"]
    assert release.kind == "json"
    assert release.change_number == 7
    assert release.tags["A"].address_prefixes == ["2001:db8::/48"]


@pytest.mark.parametrize("compress", [gzip.compress, lzma.compress])
def test_compressed_file_is_detected_by_magic_bytes(compress: Any) -> None:
    data = doc(tag("A", ["11.0.0.0/24"]))
    assert parse_small(compress(data)).tags == parse_small(data).tags


def test_utf8_bom_is_accepted() -> None:
    assert "A" in parse_small(b"\xef\xbb\xbf" + doc(tag("A", ["11.0.0.0/24"]))).tags


def test_not_json() -> None:
    with pytest.raises(FeedError, match=r"^small.json: not JSON"):
        parse_small(b"changeNumber=1")


def test_html_page_instead_of_json() -> None:
    page = b"\r\n<!DOCTYPE html><html><head><title>Download</title></head></html>"
    with pytest.raises(FeedError, match="looks like an HTML page, not the service tags JSON"):
        parse_small(page)


def test_truncated_json() -> None:
    data = release_bytes(PUBLIC)
    with pytest.raises(FeedError, match=r"truncated: the JSON ends early"):
        parse_release(data[: len(data) // 2], origin=PUBLIC)


def test_truncated_inside_a_string() -> None:
    data = doc(tag("A", ["11.0.0.0/24"]))
    cut = data[: data.index(b"11.0.0.0") + 4]
    with pytest.raises(FeedError, match="truncated"):
        parse_small(cut)


def test_truncated_xz() -> None:
    packed = lzma.compress(doc(tag("A", ["11.0.0.0/24"])))
    with pytest.raises(FeedError, match="truncated: the xz data ends early"):
        parse_small(packed[:-20])


def test_corrupt_gzip() -> None:
    packed = bytearray(gzip.compress(doc(tag("A", ["11.0.0.0/24"]))))
    packed[12:20] = b"\x00" * 8
    with pytest.raises(FeedError, match="corrupt gzip data"):
        parse_small(bytes(packed))


def test_decompression_bomb_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(feed, "MAX_FEED_BYTES", 1 << 20)
    bomb = gzip.compress(b" " * (2 << 20))
    assert len(bomb) < 10_000
    with pytest.raises(FeedError, match="decompresses to more than 1 MiB"):
        parse_small(bomb)


def test_wrong_cloud_names_both() -> None:
    with pytest.raises(FeedError, match="cloud 'China' but IPSYNC_CLOUD is 'Public'"):
        parse_small(doc(tag("A", ["11.0.0.0/24"]), cloud="China"), cloud="Public")


def test_not_an_object() -> None:
    with pytest.raises(FeedError, match="not a service tags document"):
        parse_small(b"[1, 2]")


def test_missing_field_names_field_and_tag() -> None:
    payload = raw_json(PUBLIC)
    del payload["values"][5]["properties"]["addressPrefixes"]
    name = payload["values"][5]["name"]
    with pytest.raises(FeedError) as err:
        parse_release(json.dumps(payload).encode(), origin=PUBLIC)
    assert f"tag {name!r} (values[5]): missing field 'properties.addressPrefixes'" in str(err.value)


def test_missing_top_level_field() -> None:
    with pytest.raises(FeedError, match="release: missing field 'cloud'"):
        parse_small(b'{"changeNumber": 1, "values": []}')


def test_wrong_type_names_field_and_tag() -> None:
    with pytest.raises(
        FeedError, match=r"tag 'A' \(values\[0\]\): field 'properties.addressPrefixes"
    ):
        parse_small(doc(tag("A", "11.0.0.0/24")))  # type: ignore[arg-type]


VALID = "Input should be a valid"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("A", f"values[0]: field 'entry': {VALID} dictionary"),
        (tag("", ["1.0.0.0/24"]), "values[0]: field 'name': String should have at least 1"),
        (tag("A", ["1.0.0.0/24", 7]), f"field 'properties.addressPrefixes.1': {VALID} string"),
        (tag("A", [], changeNumber=1.5), f"'properties.changeNumber.int': {VALID} integer, got a"),
        (tag("A", [], regionId="x"), f"'properties.regionId': {VALID} integer, unable to parse"),
        (tag("A", [], region=None), f"field 'properties.region': {VALID} string"),
        (tag("A", [], networkFeatures="NSG"), f"field 'properties.networkFeatures': {VALID} list"),
        ({"name": "A"}, "tag 'A' (values[0]): missing field 'properties.region'"),
    ],
)
def test_structural_fault_is_named(entry: Any, message: str) -> None:
    with pytest.raises(FeedError) as err:
        parse_small(doc(entry))
    assert message in str(err.value)


def test_lenient_numbers_are_read_as_integers() -> None:
    release = parse_small(doc(tag("A", [], changeNumber=3.0, regionId="12")))
    assert (release.tags["A"].change_number, release.tags["A"].region_id) == (3, 12)


def test_empty_values() -> None:
    with pytest.raises(FeedError, match=r"holds no service tags \(empty 'values'\)"):
        parse_small(doc())


def test_duplicate_tag() -> None:
    with pytest.raises(FeedError, match="tag 'A' appears twice"):
        parse_small(doc(tag("A", ["11.0.0.0/24"]), tag("A", ["11.1.0.0/24"])))


@pytest.mark.parametrize(
    "bad",
    [
        "10.0.0/24",
        "11.0.0.256/24",
        "11.0.0.0/33",
        "11.0.0.0/024",
        "fe80::1%eth0/64",
        "2001:db8::/129",
        "",
        "11.0.0.0/ 8",
    ],
)
def test_malformed_prefix_names_tag_and_prefix(bad: str) -> None:
    data = doc(tag("Good", ["11.1.0.0/16"]), tag("Bad", ["11.2.0.0/16", bad]))
    with pytest.raises(FeedError) as err:
        parse_small(data)
    assert f"tag 'Bad': malformed prefix {bad!r}" in str(err.value)
    assert "\n" not in str(err.value)


def test_first_bad_prefix_in_file_order_is_named() -> None:
    data = doc(tag("One", ["11.0.0.0/24", "x"]), tag("Two", ["y"]))
    with pytest.raises(FeedError, match="tag 'One': malformed prefix 'x'"):
        parse_small(data)


def test_host_bits_are_cleared_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    data = doc(
        tag("A", ["11.0.0.1/24", "11.9.0.0/16"]),
        tag("B", ["11.0.0.1/24"]),
        tag("C", ["2001:DB8:0::/48"]),
    )
    with caplog.at_level(logging.WARNING, logger="sync.core.feed"):
        release = parse_small(data)
    assert release.tags["A"].address_prefixes == ["11.0.0.0/24", "11.9.0.0/16"]
    assert release.tags["B"].address_prefixes == ["11.0.0.0/24"]
    assert release.tags["C"].address_prefixes == ["2001:db8::/48"]
    warned = [r.getMessage() for r in caplog.records]
    assert len(warned) == 2  # once per tag carrying it; the upper-case IPv6 is silent
    assert "tag 'A': prefix 11.0.0.1/24 has host bits set; using 11.0.0.0/24" in warned[0]
    assert "tag 'B'" in warned[1]


@pytest.mark.parametrize(
    ("prefix", "setting"),
    [
        ("0.0.0.0/0", "IPSYNC_MIN_PREFIXLEN_V4"),
        ("11.0.0.0/7", "IPSYNC_MIN_PREFIXLEN_V4"),
        ("::/0", "IPSYNC_MIN_PREFIXLEN_V6"),
        ("2000::/3", "IPSYNC_MIN_PREFIXLEN_V6"),
    ],
)
def test_too_broad_prefix_is_refused(prefix: str, setting: str) -> None:
    data = doc(tag("Wide", ["11.0.0.0/24", prefix]))
    with pytest.raises(FeedError) as err:
        parse_small(data)
    assert f"tag 'Wide': prefix {prefix} is broader than" in str(err.value)
    assert setting in str(err.value)


def test_prefix_bound_is_a_setting() -> None:
    data = doc(tag("A", ["11.0.0.0/8"]))
    assert parse_small(data).tags["A"].address_prefixes == ["11.0.0.0/8"]
    with pytest.raises(FeedError, match="broader than /9"):
        parse_small(data, min_prefixlen_v4=9)


def test_real_release_with_a_zero_prefix_is_refused() -> None:
    payload = raw_json(PUBLIC)
    payload["values"][100]["properties"]["addressPrefixes"].append("0.0.0.0/0")
    with pytest.raises(FeedError, match=r"prefix 0\.0\.0\.0/0 is broader than /8"):
        parse_release(json.dumps(payload).encode(), origin=PUBLIC)


def test_too_few_tags_for_the_cloud() -> None:
    payload = raw_json(PUBLIC)
    payload["values"] = payload["values"][:500]
    with pytest.raises(FeedError, match="only 500 tags, but a Public release has at least 1000"):
        parse_release(json.dumps(payload).encode(), origin=PUBLIC)


def test_too_few_tags_uses_the_files_own_cloud() -> None:
    tags = [tag(f"T{i}", [f"10.{i}.0.0/16"]) for i in range(99)]
    with pytest.raises(FeedError, match="a China release has at least 100"):
        parse_release(doc(*tags, cloud="China"), origin="x")


# --- legacy XML -------------------------------------------------------------------------------


def xml(body: str) -> bytes:
    return f'<?xml version="1.0" encoding="utf-8"?>\n{body}'.encode()


def test_xml_regions_become_tags() -> None:
    release = parse_release(release_bytes(XML), origin=XML)
    assert release.kind == "xml"
    assert release.cloud == "Public"
    assert release.change_number == 20200826
    assert release.find("EuropeWest").region == "europewest"


def test_xml_with_a_doctype_is_refused() -> None:
    bomb = xml('<!DOCTYPE r [<!ENTITY a "aaaa">]><AzurePublicIpAddresses/>')
    with pytest.raises(FeedError, match="DOCTYPE or entity declarations is refused"):
        parse_small(bomb)


def test_xml_of_another_kind_is_refused() -> None:
    with pytest.raises(FeedError, match="XML root is <feed>, not <AzurePublicIpAddresses>"):
        parse_small(xml("<feed/>"))


def test_truncated_xml() -> None:
    data = release_bytes(XML)
    with pytest.raises(FeedError, match="not well-formed XML, maybe truncated"):
        parse_release(data[: len(data) // 2], origin=XML)


def test_xml_is_public_only() -> None:
    with pytest.raises(FeedError, match="cloud 'Public' but IPSYNC_CLOUD is 'China'"):
        parse_release(release_bytes(XML), origin=XML, cloud="China")


def test_xml_bad_subnet_names_region() -> None:
    body = '<AzurePublicIpAddresses><Region Name="r1"><IpRange Subnet="1.2.3/24"/></Region>'
    with pytest.raises(FeedError, match=r"tag 'r1': malformed prefix '1\.2\.3/24'"):
        parse_small(xml(body + "</AzurePublicIpAddresses>"))


def test_xml_missing_attribute() -> None:
    body = '<AzurePublicIpAddresses><Region Name="r1"><IpRange/></Region></AzurePublicIpAddresses>'
    with pytest.raises(FeedError, match="region 'r1': an IpRange has no Subnet attribute"):
        parse_small(xml(body))


def test_xml_too_few_regions() -> None:
    body = '<AzurePublicIpAddresses><Region Name="r1"><IpRange Subnet="1.2.3.0/24"/></Region>'
    with pytest.raises(FeedError, match="only 1 tags, but a Public release has at least 20"):
        parse_release(xml(body + "</AzurePublicIpAddresses>"), origin="x.xml")
