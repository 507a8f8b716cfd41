"""The google and cloudflare feeds, on documents in each service's documented shape."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import respx

from sync.core.selection import select
from sync.errors import FeedError
from sync.feeds import load_release
from sync.feeds.cloudflare import URLS as CLOUDFLARE
from sync.feeds.google import URLS as GOOGLE
from sync.feedsettings import FeedSettings

from .conftest import CLOUDFLARE_V4, CLOUDFLARE_V6, cloud, goog, write


def test_google_fetches_both_files_and_marks_with_the_older_token(
    settings: FeedSettings, router: respx.MockRouter
) -> None:
    router.get(GOOGLE["goog"]).mock(return_value=httpx.Response(200, json=goog("1756119600000")))
    router.get(GOOGLE["cloud"]).mock(return_value=httpx.Response(200, json=cloud("1756033200000")))
    release = load_release(settings, "google")
    assert release.mark == "google-1756033200000"
    assert {"goog", "cloud", "cloud.europe-west1", "cloud.global"} <= release.tags.keys()
    assert select(release, ["cloud.europe-west1"]).prefixes == (
        "34.76.0.0/14",
        "2600:1900:4010::/44",
    )
    assert select(release, ["goog"], families=["v6"]).v6 == ("2001:4860::/32",)


def test_google_reads_either_file_offline(settings: FeedSettings, tmp_path: Path) -> None:
    only_cloud = load_release(settings, "google", source=str(write(tmp_path / "c.json", cloud())))
    assert "goog" not in only_cloud.tags
    assert "cloud.africa-south1" in only_cloud.tags
    only_goog = load_release(settings, "google", source=str(write(tmp_path / "g.json", goog())))
    assert set(only_goog.tags) == {"goog"}


@pytest.mark.parametrize("token", [1756119600000, "1756119600000.0", "soon"])
def test_google_refuses_a_token_not_of_digits(
    settings: FeedSettings, tmp_path: Path, token: object
) -> None:
    path = write(tmp_path / "goog.json", goog() | {"syncToken": token})
    with pytest.raises(FeedError, match=rf"'syncToken': {token!r} is not a string of digits"):
        load_release(settings, "google", source=str(path))


def test_google_refuses_an_entry_with_two_prefixes(settings: FeedSettings, tmp_path: Path) -> None:
    document = goog()
    document["prefixes"][1]["ipv6Prefix"] = "2001:4860::/32"
    with pytest.raises(FeedError, match=r"prefixes\[1\]: needs exactly one"):
        load_release(settings, "google", source=str(write(tmp_path / "g.json", document)))


def test_cloudflare_reads_both_lists_and_keeps_its_mark_while_unchanged(
    settings: FeedSettings, router: respx.MockRouter
) -> None:
    """The lists carry validators here; the mark is the time their bytes were first seen."""
    v4 = router.get(CLOUDFLARE[0]).mock(return_value=httpx.Response(200, text=CLOUDFLARE_V4))
    router.get(CLOUDFLARE[1]).mock(return_value=httpx.Response(200, text=CLOUDFLARE_V6))
    first = load_release(settings, "cloudflare")
    assert list(first.tags) == ["ips"]
    assert len(select(first, ["ips"]).v4) == 15
    assert len(select(first, ["ips"]).v6) == 7
    second = load_release(settings, "cloudflare")
    assert second.mark == first.mark
    assert second.digest == first.digest
    assert v4.call_count == 2


def test_cloudflare_offline_list_with_reserved_space_is_refused(
    settings: FeedSettings, tmp_path: Path
) -> None:
    path = tmp_path / "ips-v4"
    path.write_text(CLOUDFLARE_V4 + "\n# a comment\n\n100.64.0.0/10\n")
    with pytest.raises(FeedError, match=r"100.64.0.0/10 overlaps reserved 100.64.0.0/10"):
        load_release(settings, "cloudflare", source=str(path))
    path.write_text(CLOUDFLARE_V4 + "\n173.245.48.0 /20\n")
    with pytest.raises(FeedError, match=r"line 16: '173.245.48.0 /20' is not one prefix"):
        load_release(settings, "cloudflare", source=str(path))
