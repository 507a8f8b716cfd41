"""The aws feed on AWS's real ip-ranges.json: selectors, marks, strictness, reserved space."""

from __future__ import annotations

import json
import lzma
from pathlib import Path

import pytest
import respx

from sync.core.selection import select
from sync.errors import FeedError
from sync.feeds import load_release
from sync.feeds.aws import URL
from sync.feedsettings import FeedSettings

from .conftest import AWS_NEW, AWS_OLD, raw, revalidating, write


def test_both_real_releases_pass_with_their_sync_tokens(settings: FeedSettings) -> None:
    old = load_release(settings, "aws", source=str(AWS_OLD))
    new = load_release(settings, "aws", source=str(AWS_NEW))
    assert (old.mark, new.mark) == ("aws-1783099625", "aws-1783108025")
    assert old.feed == new.feed == "aws"
    assert {"AMAZON", "S3", "S3.eu-west-1", "EC2.us-east-1"} <= old.tags.keys()
    assert any("@" in name for name in old.tags)


def test_selectors_hold_what_the_file_says(settings: FeedSettings) -> None:
    import ipaddress

    release = load_release(settings, "aws", source=str(AWS_OLD))
    document = raw(AWS_OLD)
    wanted = [
        p["ip_prefix"]
        for p in document["prefixes"]
        if p["service"] == "S3" and p["region"] == "eu-west-1"
    ]
    expected = [str(n) for n in ipaddress.collapse_addresses(map(ipaddress.ip_network, wanted))]
    assert list(select(release, ["s3.EU-WEST-1"], families=["v4"]).v4) == expected
    every_s3 = {p["ip_prefix"] for p in document["prefixes"] if p["service"] == "S3"}
    assert set(release.find("S3").address_prefixes) >= every_s3


def test_a_selector_that_did_not_change_keeps_its_version(settings: FeedSettings) -> None:
    """Two releases hours apart: most selectors are the same and keep their content version."""
    old = load_release(settings, "aws", source=str(AWS_OLD))
    new = load_release(settings, "aws", source=str(AWS_NEW))
    same = [
        n
        for n in old.tags
        if n in new.tags and old.tags[n].change_number == new.tags[n].change_number
    ]
    changed = [n for n in old.tags if n in new.tags and n not in same]
    assert len(same) > 10 * len(changed) > 0
    for name in changed:
        assert sorted(old.tags[name].address_prefixes) != sorted(new.tags[name].address_prefixes)


def test_a_release_with_reserved_space_is_refused_naming_the_range(
    settings: FeedSettings, tmp_path: Path
) -> None:
    document = raw(AWS_NEW)
    document["prefixes"].append(
        {
            "ip_prefix": "252.0.0.0/10",
            "region": "us-east-1",
            "service": "AMAZON",
            "network_border_group": "us-east-1",
        }
    )
    path = write(tmp_path / "ip-ranges.json", document)
    with pytest.raises(FeedError) as caught:
        load_release(settings, "aws", source=str(path))
    message = str(caught.value)
    assert "aws selector 'AMAZON'" in message
    assert "prefix 252.0.0.0/10 overlaps reserved 240.0.0.0/4 (reserved)" in message
    assert message.startswith(str(path))
    assert "\n" not in message


@pytest.mark.parametrize("token", [1783099625, "1783099625 ", "", None, "17830e9"])
def test_a_sync_token_not_of_digits_is_refused_with_its_value(
    settings: FeedSettings, tmp_path: Path, token: object
) -> None:
    document = raw(AWS_OLD)
    document["syncToken"] = token
    path = write(tmp_path / "ip-ranges.json", document)
    with pytest.raises(FeedError, match=rf"field 'syncToken': {token!r} is not a string of digits"):
        load_release(settings, "aws", source=str(path))


def test_a_partial_file_is_refused(settings: FeedSettings, tmp_path: Path) -> None:
    document = raw(AWS_OLD)
    document["prefixes"] = document["prefixes"][:100]
    path = write(tmp_path / "ip-ranges.json", document)
    with pytest.raises(FeedError, match="only 100 IPv4 prefixes"):
        load_release(settings, "aws", source=str(path))


def test_an_entry_without_its_fields_is_named(settings: FeedSettings, tmp_path: Path) -> None:
    document = raw(AWS_OLD)
    del document["ipv6_prefixes"][3]["service"]
    path = write(tmp_path / "ip-ranges.json", document)
    with pytest.raises(FeedError, match=r"ipv6_prefixes\[3\]: field 'service': None"):
        load_release(settings, "aws", source=str(path))


def test_fetched_with_a_conditional_get(settings: FeedSettings, router: respx.MockRouter) -> None:
    body = lzma.decompress(AWS_OLD.read_bytes())
    etag = '"5a6b0c3d1e2f"'
    route = router.get(URL).mock(side_effect=revalidating(body, etag))
    first = load_release(settings, "aws")
    second = load_release(settings, "aws")
    assert first.mark == second.mark == "aws-1783099625"
    assert first.origin == URL
    assert [call.response.status_code for call in route.calls] == [200, 304]
    assert json.loads(body)["syncToken"] == "1783099625"
