"""Hostile releases: deep nesting, decompression bombs, DTDs in any encoding, absurd counts.

Each is refused with one line, and without spending memory a Flex instance (2 GB) lacks.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sync.core import feed
from sync.errors import FeedError
from sync.feeds.azure.parse import parse_discovery, parse_release

from .conftest import XML, parsed, release_bytes
from .test_feed_parse import doc, tag

ROOT = Path(__file__).parents[2]


@pytest.mark.parametrize("opener", [b"[", b'{"a":'])
def test_deeply_nested_json_is_one_line(opener: bytes) -> None:
    closer = b"]" if opener == b"[" else b"}"
    data = opener * 200_000 + closer * 200_000
    with pytest.raises(FeedError, match=r"^deep\.json: .*nested too deeply"):
        parse_release(data, origin="deep.json")


def test_deeply_nested_discovery_payload_is_one_line() -> None:
    payload: dict[str, Any] = {}
    for _ in range(100_000):
        payload = {"values": [payload]}
    with pytest.raises(FeedError, match="nested too deeply"):
        parse_discovery(payload, origin="api", cloud="Public")


def test_more_tags_than_any_release_is_refused() -> None:
    data = doc(*(tag(f"T{i}", ["11.0.0.0/24"]) for i in range(feed.MAX_TAGS + 1)))
    with pytest.raises(FeedError, match=r"^x\.json: more than 20,000 tags \(20,001\); refusing$"):
        parse_release(data, origin="x.json", min_tags=1)


def test_more_prefixes_than_any_release_is_refused() -> None:
    half = feed.MAX_PREFIXES // 2 + 1
    data = doc(tag("A", ["11.0.0.0/24"] * half), tag("B", ["11.0.1.0/24"] * half))
    with pytest.raises(FeedError, match=r"more than 500,000 prefix entries \(500,002\)"):
        parse_release(data, origin="x.json", min_tags=1)


def test_the_limits_leave_room_above_real_releases() -> None:
    public = parsed("ServiceTags_Public_20251017.json.xz")
    prefixes = sum(len(t.address_prefixes) for t in public.tags.values())
    assert 5 * len(public.tags) < feed.MAX_TAGS
    assert 5 * prefixes < feed.MAX_PREFIXES
    text = release_bytes("ServiceTags_Public_20251017.json.xz")
    assert 5 * sum(map(text.count, (b",", b"[", b"{"))) < feed.MAX_JSON_VALUES


_BOMB = """
import sys
from sync.feeds.azure.parse import parse_release
from sync.errors import FeedError
data = open(sys.argv[1], "rb").read()
try:
    parse_release(data, origin="bomb.json.gz")
except FeedError as error:
    print(error)
status = open("/proc/self/status").read()  # VmHWM: this process's peak, not its parent's
print(int(status.split("VmHWM:")[1].split()[0]) // 1024)
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmHWM")
def test_a_gzip_bomb_of_prefixes_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    """60 MB of prefixes, 0.3 MB gzipped: refused by counting, before it is decoded."""
    body = b'"11.0.0.0/29",' * 4_000_000
    text = b'{"changeNumber": 1, "cloud": "Public", "values": [{"name": "T", "properties": {'
    text += b'"region": "", "systemService": "", "changeNumber": 1, "addressPrefixes": ['
    text += body + b'"11.0.0.8/29"]}}]}'
    bomb = tmp_path / "bomb.json.gz"
    bomb.write_bytes(gzip.compress(text, compresslevel=1))
    done = subprocess.run(
        [sys.executable, "-c", _BOMB, str(bomb)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    message, peak_mb = done.stdout.splitlines()
    assert message.startswith("bomb.json.gz: about 4,000,0")
    assert message.endswith(
        "JSON values, more than a release of 20,000 tags and 500,000 prefixes holds; refusing"
    )
    # The decompressed text and its one copy; decoding it took about 400 MB more.
    assert int(peak_mb) < 250


def _utf16(xml: bytes) -> bytes:
    return xml.decode("utf-8").replace('encoding="utf-8"', 'encoding="utf-16"').encode("utf-16")


def test_utf16_xml_reads_like_utf8() -> None:
    text = release_bytes(XML)
    assert b'encoding="utf-8"' in text[:100]
    utf16 = parse_release(_utf16(text), origin="PublicIPs_20200826.xml")
    utf8 = parse_release(text, origin="PublicIPs_20200826.xml")
    assert utf16.tags == utf8.tags
    assert len(utf16.tags) > 40


@pytest.mark.parametrize("codec", ["utf-8", "utf-16", "utf-16-le", "utf-16-be"])
def test_xml_with_entities_is_refused_in_any_encoding(codec: str) -> None:
    laughs = (
        f'<?xml version="1.0" encoding="{codec}"?>\n'
        '<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        '<AzurePublicIpAddresses><Region Name="&b;"/></AzurePublicIpAddresses>'
    )
    with pytest.raises(
        FeedError, match=r"^x\.xml: XML with DOCTYPE or entity declarations is refused$"
    ):
        parse_release(laughs.encode(codec), origin="x.xml")


def test_xml_prefixes_are_counted_while_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(feed, "MAX_PREFIXES", 100)
    with pytest.raises(FeedError, match=r"more than 100 prefix entries \(101\); refusing"):
        parse_release(release_bytes(XML), origin="PublicIPs_20200826.xml")


def test_xml_elements_beyond_the_bounds_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(feed, "MAX_PREFIXES", 10)
    monkeypatch.setattr(feed, "MAX_TAGS", 10)
    junk = "<x/>" * 21
    data = f"<AzurePublicIpAddresses>{junk}</AzurePublicIpAddresses>".encode()
    with pytest.raises(FeedError, match=r"more than 20 XML elements; refusing"):
        parse_release(data, origin="x.xml")


def test_html_in_utf16_is_named_as_a_page() -> None:
    page = "<!DOCTYPE html><html><body>Sign in</body></html>".encode("utf-16")
    with pytest.raises(FeedError, match="looks like an HTML page"):
        parse_release(page, origin="x.json")


def test_utf16_json_still_parses() -> None:
    data = json.loads(doc(tag("A", ["11.0.0.0/24"])))
    text = json.dumps(data).encode("utf-16")
    assert list(parse_release(text, origin="x.json", min_tags=1).tags) == ["A"]
