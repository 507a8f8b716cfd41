"""Strict release marks: a mark of the wrong type never passes as one a rollback check could
compare (a string ``"373 "`` once let an older release through on every kind)."""

from __future__ import annotations

import json
import lzma
from pathlib import Path
from typing import Any

import pytest

from sync.errors import FeedError
from sync.feeds import load_release
from sync.feeds.azure.parse import parse_discovery, parse_release
from sync.feedsettings import FeedSettings

AZURE = Path(__file__).parents[1] / "data" / "ServiceTags_Public_20251017.json.xz"


def _azure(change: Any) -> bytes:
    document = json.loads(lzma.decompress(AZURE.read_bytes()))
    document["changeNumber"] = change
    return json.dumps(document).encode()


@pytest.mark.parametrize("change", ["373 ", "373", 373.0, True, -1, None])
def test_the_file_change_number_must_be_a_whole_json_number(change: Any) -> None:
    with pytest.raises(
        FeedError,
        match=rf"^x\.json: release: field 'changeNumber': {change!r} is not a whole JSON number",
    ):
        parse_release(_azure(change), origin="x.json")


def test_a_missing_change_number_is_named() -> None:
    document = json.loads(_azure(1))
    del document["changeNumber"]
    with pytest.raises(FeedError, match="release: missing field 'changeNumber'"):
        parse_release(json.dumps(document).encode(), origin="x.json")


@pytest.mark.parametrize("change", [73, " 73", "73a", ""])
def test_the_discovery_change_number_must_be_a_string_of_digits(change: Any) -> None:
    payload = {"changeNumber": change, "cloud": "Public", "values": []}
    with pytest.raises(FeedError, match=rf"'changeNumber': {change!r} is not a string of digits"):
        parse_discovery(payload, origin="api", cloud="Public")


def test_each_series_writes_its_mark(settings: FeedSettings) -> None:
    assert parse_release(_azure(373), origin="x.json").mark == "373"
    xml = Path(__file__).parents[1] / "data" / "PublicIPs_20200826.xml.xz"
    assert load_release(settings, source=str(xml)).mark == "xml-20200826"
    assert load_release(settings._replace(source=str(xml))).mark == "xml-20200826"
