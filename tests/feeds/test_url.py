"""The url feeds: settings checked, plain lists and JSON picked out with JMESPath (in the
documented shapes of Atlassian's and Okta's range documents)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import respx

from sync.core.selection import select
from sync.errors import FeedError, SettingsError
from sync.feeds import load_release
from sync.feedsettings import FeedSettings, load_feed_settings

from .conftest import write

ATLASSIAN = {
    "creationDate": "2025-08-25T04:00:21.00487",
    "syncToken": 1756094421,
    "items": [
        {
            "network": "13.52.5.0",
            "mask_len": 25,
            "cidr": "13.52.5.0/25",
            "mask": "255.255.255.128",
            "region": ["us-west-1"],
            "product": ["jira", "confluence"],
            "direction": ["egress"],
        },
        {
            "network": "104.192.136.0",
            "mask_len": 21,
            "cidr": "104.192.136.0/21",
            "mask": "255.255.248.0",
            "region": ["global"],
            "product": ["bitbucket"],
            "direction": ["ingress", "egress"],
        },
        {
            "network": "2401:1d80:3000::",
            "mask_len": 36,
            "cidr": "2401:1d80:3000::/36",
            "mask": "ffff:ffff:f000::",
            "region": ["global"],
            "product": ["jira"],
            "direction": ["egress"],
        },
    ],
}
OKTA = {
    "us_cell_1": {"ip_ranges": ["3.209.98.128/26", "3.210.154.64/26"]},
    "emea_cell_1": {"ip_ranges": ["3.120.165.0/26"]},
}
FEEDS = [
    {
        "name": "atlassian",
        "url": "https://ip-ranges.atlassian.com/",
        "format": "json",
        "select": "items[].cidr",
    },
    {
        "name": "okta",
        "url": "https://s3.amazonaws.com/okta-ip-ranges/ip_ranges.json",
        "format": "json",
        "select": "*.ip_ranges[]",
    },
    {"name": "office", "url": "https://lists.example.net/egress.txt?sig=abc", "format": "lines"},
]


@pytest.fixture
def configured(settings: FeedSettings) -> FeedSettings:
    return settings._replace(url_feeds=load_feed_settings(url_feeds=json.dumps(FEEDS)).url_feeds)


def test_json_feeds_pick_their_prefixes_with_jmespath(
    configured: FeedSettings, router: respx.MockRouter
) -> None:
    router.get(FEEDS[0]["url"]).mock(return_value=httpx.Response(200, json=ATLASSIAN))
    router.get(FEEDS[1]["url"]).mock(return_value=httpx.Response(200, json=OKTA))
    atlassian = load_release(configured, "url:atlassian")
    assert atlassian.mark.startswith("url:atlassian-")
    assert atlassian.feed == "url"
    assert select(atlassian, ["all"]).prefixes == (
        "13.52.5.0/25",
        "104.192.136.0/21",
        "2401:1d80:3000::/36",
    )
    okta = load_release(configured, "url:okta")
    assert select(okta, ["all"]).v4 == ("3.120.165.0/26", "3.209.98.128/26", "3.210.154.64/26")


def test_a_plain_list_and_its_secret_query(
    configured: FeedSettings, router: respx.MockRouter
) -> None:
    router.get(FEEDS[2]["url"]).mock(
        return_value=httpx.Response(200, text="# egress\n198.51.100.7\n2001:db8:7::/48 # v6\n")
    )
    release = load_release(configured, "url:office")
    assert select(release, ["all"]).prefixes == ("198.51.100.7/32", "2001:db8:7::/48")
    assert "sig=***" in release.origin
    assert "abc" not in release.origin


def test_a_select_that_gives_no_list_is_refused(configured: FeedSettings, tmp_path: Path) -> None:
    path = write(tmp_path / "a.json", {"items": {"cidr": "13.52.5.0/25"}})
    with pytest.raises(FeedError, match=r"select 'items\[\].cidr' gives NoneType"):
        load_release(configured, "url:atlassian", source=str(path))


def test_an_unknown_url_feed_names_the_known_ones(configured: FeedSettings) -> None:
    with pytest.raises(SettingsError, match=r"url:jira: .*\(url:atlassian, url:okta, url:office\)"):
        load_release(configured, "url:jira")


@pytest.mark.parametrize(
    ("feeds", "message"),
    [
        ([{"name": "a", "url": "http://x.example/"}], "url feed 'a': url: .* is not an https"),
        ([{"name": "A b", "url": "https://x.example/"}], "name 'A b' must be"),
        ([{"name": "a", "url": "https://x.example/", "format": "json"}], "select must be"),
        (
            [{"name": "a", "url": "https://x.example/", "format": "json", "select": "items[."}],
            "select 'items\\[.' is not JMESPath",
        ),
        ([{"name": "a", "url": "https://x.example/", "selector": "x"}], "unknown field 'selector'"),
        ([{"name": "a", "url": "https://x.example/"}] * 2, "url feed 'a' is named twice"),
    ],
)
def test_url_feed_settings_are_checked(feeds: list[dict[str, str]], message: str) -> None:
    with pytest.raises(SettingsError, match=f"setting IPSYNC_URL_FEEDS: .*{message}"):
        load_feed_settings(url_feeds=json.dumps(feeds))
    from sync.settings import load_settings

    with pytest.raises(SettingsError, match=message):
        load_settings(url_feeds=json.dumps(feeds))
