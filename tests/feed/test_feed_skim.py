"""Reading a release tag by tag against the one before: the same release as a whole read gives,
only the changed tags decoded, and nothing a whole read would refuse let through."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sync.core.feed import Release, ServiceTag
from sync.errors import FeedError
from sync.feeds.azure import parse as parse_module
from sync.feeds.azure.layout import Layout, LazyTags
from sync.feeds.azure.parse import parse_release

from .conftest import PUBLIC, raw_json, release_bytes

PAIRS = [
    ("ServiceTags_Public_20250101.json.xz", "ServiceTags_Public_20251010.json.xz"),
    ("ServiceTags_Public_20251010.json.xz", PUBLIC),
]


def read(data: bytes, known: Layout | None = None) -> tuple[Release, Layout | None]:
    """The release, and its layout when it was read tag by tag."""
    release = parse_release(data, origin="release.json", known=known)
    tags = release.tags
    return release, tags.layout if isinstance(tags, LazyTags) else None


def layout_of(data: bytes) -> Layout:
    _, layout = read(data)
    assert layout is not None
    return layout


def whole(release: Release) -> dict[str, ServiceTag]:
    return dict(release.tags)


@pytest.fixture
def decoded(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the entries made into tags (the real conversion runs)."""
    names: list[str] = []
    real = parse_module.tag_of

    def counted(entry: Any) -> ServiceTag:
        tag = real(entry)
        names.append(tag.name)
        return tag

    monkeypatch.setattr(parse_module, "tag_of", counted)
    return names


@pytest.mark.parametrize(("before", "after"), PAIRS)
def test_a_release_read_against_the_one_before_is_the_release(
    before: str, after: str, decoded: list[str]
) -> None:
    """Also when no tag's bytes match (the January file ends its lines with CRLF)."""
    known = layout_of(release_bytes(before))
    decoded.clear()
    release, layout = read(release_bytes(after), known)
    read_now = list(decoded)
    alone = parse_release(release_bytes(after), origin="release.json")
    assert layout is not None
    assert (release.cloud, release.change_number, release.mark, release.verdict) == (
        alone.cloud, alone.change_number, alone.mark, alone.verdict)  # fmt: skip
    assert list(release.tags) == list(alone.tags)
    old = whole(parse_release(release_bytes(before), origin="before.json"))
    changed = {name for name, tag in alone.tags.items() if old.get(name) != tag}
    assert changed <= set(read_now)
    assert whole(release) == whole(alone)  # the others decode from the new text as they are


def test_a_weekly_release_decodes_only_its_changed_tags(decoded: list[str]) -> None:
    before, after = PAIRS[-1]
    known = layout_of(release_bytes(before))
    decoded.clear()
    release, _ = read(release_bytes(after), known)
    at_read = list(decoded)
    old = whole(parse_release(release_bytes(before), origin="before.json"))
    changed = [name for name, tag in whole(release).items() if old.get(name) != tag]
    assert 0 < len(changed) < len(release.tags) / 10
    assert at_read == changed  # in document order; the others when first used


def test_tags_moved_removed_or_added_are_found_as_they_are(decoded: list[str]) -> None:
    """Stretches of tags as they were are taken whole; a tag moved elsewhere is found by its
    name and taken as it was; only the added and the changed ones are decoded."""
    payload = raw_json(PUBLIC)
    before = json.dumps(payload, indent=2).encode()
    values = payload["values"]
    moved = values.pop(10)
    del values[5]
    values.append(moved)
    added = {**values[20], "name": "Added.Tag", "id": "Added.Tag"}
    values.insert(20, added)
    values[30]["properties"]["addressPrefixes"].append("198.51.100.0/24")
    after = json.dumps(payload, indent=2).encode()
    known = layout_of(before)
    decoded.clear()
    release, layout = read(after, known)
    assert decoded == ["Added.Tag", values[30]["name"]]
    assert layout is not None
    assert layout.names == [entry["name"] for entry in values]
    assert whole(release) == whole(parse_release(after, origin="release.json"))


def test_the_layout_spans_each_tag_of_the_text() -> None:
    data = release_bytes(PUBLIC)
    layout = layout_of(data)
    payload = json.loads(data)
    assert layout.names == [entry["name"] for entry in payload["values"]]
    for index in (0, 1, len(layout.names) - 1):
        span = data[layout.starts[index] : layout.ends[index]]
        assert json.loads(span) == payload["values"][index]
    assert layout.counts[0] == len(payload["values"][0]["properties"]["addressPrefixes"])


def test_any_writing_of_the_document_reads_alike() -> None:
    """Keys in another order, no whitespace, an escaped name, text that is not ASCII (read
    whole): all read as ``json.loads`` reads them."""
    payload = raw_json(PUBLIC)
    payload["values"][0] = {"id": "x", **payload["values"][0]}  # name not first
    payload["values"][1]["name"] = 'Quote"d'
    plain = json.dumps(payload, separators=(",", ":")).encode()
    payload["values"][2]["properties"]["systemService"] = "Sérvice"
    wide = json.dumps(payload, ensure_ascii=False, indent=1).encode()
    known = layout_of(release_bytes(PUBLIC))
    for data in (plain, wide):
        release, layout = read(data, known)
        assert (layout is None) == (data is wide)  # not ASCII: decoded whole
        expected = {v["name"]: v["properties"]["addressPrefixes"] for v in payload["values"]}
        assert {n: t.address_prefixes for n, t in release.tags.items()} == expected
    assert read(wide)[0].tags[payload["values"][2]["name"]].system_service == "Sérvice"


def test_a_changed_tag_is_checked_for_what_it_adds() -> None:
    known = layout_of(release_bytes(PUBLIC))
    payload = raw_json(PUBLIC)
    name = payload["values"][5]["name"]
    payload["values"][5]["properties"]["addressPrefixes"].insert(3, "10.0.0.0/8")
    with pytest.raises(FeedError, match=rf"tag '{name}': prefix 10\.0\.0\.0/8 overlaps reserved"):
        read(json.dumps(payload, indent=2).encode(), known)


def test_a_known_tag_given_twice_is_refused() -> None:
    data = release_bytes(PUBLIC)
    known = layout_of(data)
    first = data[known.starts[0] : known.ends[0]]
    twice = data[: known.starts[0]] + first + b",\n    " + data[known.starts[0] :]
    with pytest.raises(FeedError, match=f"tag '{known.names[0]}' appears twice"):
        read(twice, known)


def test_bytes_after_a_known_tag_are_not_json() -> None:
    data = release_bytes(PUBLIC)
    known = layout_of(data)
    broken = data[: known.ends[0]] + b' "x"' + data[known.ends[0] :]
    with pytest.raises(FeedError, match="not JSON"):
        read(broken, known)
