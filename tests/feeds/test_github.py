"""The github feed on GitHub's real ranges in the meta API's shape: keys as selectors, ETag
revalidation, a mark from the first fetch, and a token that never shows."""

from __future__ import annotations

import logging
import lzma
from pathlib import Path

import httpx
import pytest
import respx

from sync.errors import DownloadError, FeedError
from sync.feeds import load_release
from sync.feeds.github import URL, meta_url
from sync.feedsettings import FeedSettings, Secret

from .conftest import GITHUB, raw, revalidating, write

TOKEN = "ghp_0123456789abcdefSECRETabcdef0123456789"
ETAG = 'W/"8e6d1f3a2b"'


@pytest.fixture
def body() -> bytes:
    return lzma.decompress(GITHUB.read_bytes())


def test_the_keys_are_the_selectors(settings: FeedSettings) -> None:
    release = load_release(settings, "github", source=str(GITHUB))
    assert {"actions", "hooks", "web", "api", "git", "packages", "pages", "importer"} <= set(
        release.tags
    )
    assert "domains" not in release.tags
    assert "verifiable_password_authentication" not in release.tags
    assert len(release.tags["actions"].address_prefixes) == 5953 + 1641
    assert release.mark == f"github-{int(GITHUB.stat().st_mtime)}"
    assert release.digest is not None
    assert len(release.digest) == 64


def test_a_malformed_address_is_refused_naming_key_and_entry(
    settings: FeedSettings, tmp_path: Path
) -> None:
    document = raw(GITHUB)
    document["hooks"].append("192.30.252.0/33")
    path = write(tmp_path / "meta.json", document)
    with pytest.raises(FeedError, match=r"github selector 'hooks': entry 6 '192.30.252.0/33'"):
        load_release(settings, "github", source=str(path))


def test_reserved_space_is_refused(settings: FeedSettings, tmp_path: Path) -> None:
    document = raw(GITHUB)
    document["web"].append("fd12:3456::/32")
    path = write(tmp_path / "meta.json", document)
    with pytest.raises(
        FeedError, match=r"fd12:3456::/32 overlaps reserved fc00::/7 \(unique local\)"
    ):
        load_release(settings, "github", source=str(path))


def test_an_unchanged_document_keeps_its_mark_through_a_304(
    settings: FeedSettings, router: respx.MockRouter, body: bytes
) -> None:
    route = router.get(URL).mock(side_effect=revalidating(body, ETAG))
    first = load_release(settings, "github")
    second = load_release(settings, "github")
    assert first.mark == second.mark
    assert [call.response.status_code for call in route.calls] == [200, 304]
    assert route.calls[1].request.headers["X-GitHub-Api-Version"] == "2022-11-28"


def test_the_token_is_sent_and_never_shown(
    settings: FeedSettings,
    router: respx.MockRouter,
    body: bytes,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = settings._replace(github_token=Secret(TOKEN))
    route = router.get(URL).mock(
        side_effect=[
            httpx.Response(200, content=body),
            httpx.Response(401, json={"message": TOKEN}),
        ]
    )
    with caplog.at_level(logging.DEBUG):
        load_release(settings, "github")
        with pytest.raises(DownloadError) as caught:
            load_release(settings, "github")
    assert route.calls[0].request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in str(caught.value)
    assert "401" in str(caught.value)
    assert TOKEN not in caplog.text
    assert "api.github.com" in caplog.text
    assert TOKEN not in repr(settings)
    assert TOKEN not in str(settings.github_token)
    cached = "".join(p.read_bytes().decode("latin-1") for p in settings.cache_dir.iterdir())
    assert TOKEN not in cached


def test_a_redirect_to_another_host_goes_without_the_token(
    settings: FeedSettings, router: respx.MockRouter, body: bytes
) -> None:
    moved = "https://objects.example.net/meta.json"
    router.get(URL).mock(return_value=httpx.Response(302, headers={"Location": moved}))
    elsewhere = router.get(moved).mock(return_value=httpx.Response(200, content=body))
    load_release(settings._replace(github_token=Secret(TOKEN)), "github")
    assert "Authorization" not in elsewhere.calls[0].request.headers


def test_an_enterprise_server_is_asked_at_its_own_meta(
    settings: FeedSettings, router: respx.MockRouter, body: bytes
) -> None:
    base = "https://github.example.com"
    route = router.get(f"{base}/api/v3/meta").mock(return_value=httpx.Response(200, content=body))
    release = load_release(settings._replace(github_url=base), "github")
    assert route.called
    assert release.cloud == "github.example.com"
    assert meta_url(None) == "https://api.github.com/meta"
