"""Fixtures of the feed tests: a clean environment, recorded waits, mocked HTTPS, and
documents in each service's documented shape.

Microsoft 365, Google and Cloudflare publish no real data in this repository: their documents
here are small, built in the shape each service documents (the Microsoft 365 web service's
``version`` and ``endpoints`` answers, Google's ``goog.json``/``cloud.json``, Cloudflare's plain
``ips-v4``/``ips-v6`` lists), with ranges these services publish. AWS and GitHub use the real
data in ``tests/data/feeds``.
"""

from __future__ import annotations

import json
import lzma
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from sync.feeds import fetch
from sync.feedsettings import FeedSettings

DATA = Path(__file__).parents[1] / "data" / "feeds"
AWS_OLD = DATA / "aws-ip-ranges-20260703172705.json.xz"
AWS_NEW = DATA / "aws-ip-ranges-20260703194705.json.xz"
GITHUB = DATA / "github-meta-20260822.json.xz"


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No IPSYNC_* or proxy variable leaks in; the cache is the test's own."""
    for key in list(os.environ):
        if key.upper().startswith("IPSYNC_") or "proxy" in key.lower():
            monkeypatch.delenv(key)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(fetch, "sleep", lambda _: None)


@pytest.fixture
def settings(tmp_path: Path) -> FeedSettings:
    return FeedSettings(cache_dir=tmp_path / "cache")


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    """Mocked HTTPS for the routes a test declares; any other request fails."""
    with respx.mock(assert_all_called=False) as mock:
        yield mock


def raw(path: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(lzma.decompress(path.read_bytes()))
    return result


def write(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document))
    return path


def m365_sets() -> list[dict[str, Any]]:
    """Endpoint sets as the endpoints method documents them (fields, types, omissions)."""

    def one(ident: int, area: str, category: str, required: bool, ips: list[str], **ports: str):
        item: dict[str, Any] = {
            "id": ident,
            "serviceArea": area,
            "serviceAreaDisplayName": {
                "Exchange": "Exchange Online",
                "Skype": "Skype for Business Online and Microsoft Teams",
                "SharePoint": "SharePoint Online and OneDrive for Business",
                "Common": "Microsoft 365 Common and Office Online",
            }[area],
            "urls": ["outlook.office.com"],
            "ips": ips,
            "expressRoute": True,
            "category": category,
            "required": required,
        }
        item.update(ports)
        if not required:
            item["notes"] = "optional"
        return item

    return [
        one(
            1,
            "Exchange",
            "Optimize",
            True,
            [
                "13.107.6.152/31",
                "13.107.18.10/31",
                "40.96.0.0/13",
                "40.104.0.0/15",
                "52.96.0.0/14",
                "2603:1006::/40",
            ],
            tcpPorts="80,443",
        ),
        one(
            2,
            "Exchange",
            "Allow",
            True,
            ["40.92.0.0/15", "52.100.0.0/14", "2a01:111:f400::/48"],
            tcpPorts="25",
        ),
        one(9, "Exchange", "Default", False, [], tcpPorts="80,443"),
        one(
            11,
            "Skype",
            "Optimize",
            True,
            ["52.112.0.0/14", "52.122.0.0/15", "2603:1063::/38"],
            udpPorts="3478,3479,3480,3481",
        ),
        one(12, "Skype", "Allow", True, ["52.112.0.0/14", "52.122.0.0/15"], tcpPorts="443"),
        one(
            31,
            "SharePoint",
            "Optimize",
            True,
            [
                "13.107.136.0/22",
                "40.108.128.0/17",
                "52.104.0.0/14",
                "104.146.128.0/17",
                "2620:1ec:8f8::/46",
            ],
            tcpPorts="80,443",
        ),
        one(46, "Common", "Allow", True, ["52.108.0.0/14", "2603:1040:401::/48"], tcpPorts="443"),
        one(
            56,
            "Common",
            "Allow",
            True,
            ["20.190.128.0/18", "40.126.0.0/18", "2603:1006:2000::/48"],
            tcpPorts="80,443",
        ),
        one(98, "Common", "Default", False, ["104.42.230.91/32"], tcpPorts="443"),
    ]


def _google(token: str, prefixes: list[dict[str, str]]) -> dict[str, Any]:
    return {"syncToken": token, "creationTime": "2025-08-25T11:00:00.123456", "prefixes": prefixes}


def _entry(prefix: str, scope: str | None = None) -> dict[str, str]:
    entry = {"ipv6Prefix" if ":" in prefix else "ipv4Prefix": prefix}
    return entry | ({"service": "Google Cloud", "scope": scope} if scope else {})


def goog(token: str = "1756119600000") -> dict[str, Any]:
    """``goog.json`` as Google publishes it: no service, no scope."""
    return _google(
        token, [_entry(p) for p in ("8.8.4.0/24", "8.8.8.0/24", "8.34.208.0/20", "2001:4860::/32")]
    )


def cloud(token: str = "1756119600000") -> dict[str, Any]:
    """``cloud.json`` as Google publishes it: a service and a scope per prefix."""
    scoped = [
        ("34.1.208.0/20", "africa-south1"),
        ("34.76.0.0/14", "europe-west1"),
        ("2600:1900:4010::/44", "europe-west1"),
        ("34.64.0.0/11", "global"),
    ]
    return _google(token, [_entry(p, scope) for p, scope in scoped])


def revalidating(body: bytes, etag: str) -> Any:
    """A server that answers 304 to its ETag and the body with it otherwise."""

    def answer(request: httpx.Request) -> httpx.Response:
        if request.headers.get("If-None-Match") == etag:
            return httpx.Response(304)
        return httpx.Response(200, content=body, headers={"ETag": etag})

    return answer


CLOUDFLARE_V4 = (
    "173.245.48.0/20\n103.21.244.0/22\n103.22.200.0/22\n103.31.4.0/22\n141.101.64.0/18\n"
    "108.162.192.0/18\n190.93.240.0/20\n188.114.96.0/20\n197.234.240.0/22\n198.41.128.0/17\n"
    "162.158.0.0/15\n104.16.0.0/13\n104.24.0.0/14\n172.64.0.0/13\n131.0.72.0/22"
)
CLOUDFLARE_V6 = (
    "2400:cb00::/32\n2606:4700::/32\n2803:f800::/32\n2405:b500::/32\n2405:8100::/32\n"
    "2a06:98c0::/29\n2c0f:f248::/32"
)
