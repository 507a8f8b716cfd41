"""``load_release`` over the network sources: the download page and an https URL."""

from __future__ import annotations

import logging

import httpx
import pytest
import respx

from sync.errors import SettingsError
from sync.feeds import load_release
from sync.feeds.azure.page import DETAILS_URL
from sync.settings import load_settings

from . import loopback

FILE = "https://download.microsoft.com/download/7/1/D/71D86715-5596-4529-9B13-DA13A5DE5B63/ServiceTags_Public_20251017.json"


def test_download_source_reads_the_page_then_parses_the_linked_release(
    router: respx.MockRouter, release_bytes: bytes, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    page = f'<html><body><a class="download-button" href="{FILE}">Download</a></body></html>'
    router.get(DETAILS_URL.format(id=56519)).mock(return_value=httpx.Response(200, text=page))
    router.get(FILE).mock(return_value=httpx.Response(200, content=release_bytes))
    release = load_release(load_settings(source="download", cache_dir=tmp_path))
    assert release.origin == FILE
    assert release.change_number == 373
    assert release.find("storage.westeurope").name == "Storage.WestEurope"


def test_https_source_is_fetched_verified_and_parsed(
    https_server: loopback.FileServer,
    tls: loopback.Tls,
    release_bytes: bytes,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    tmp_path,
) -> None:  # type: ignore[no-untyped-def]
    https_server.routes["/mirror/tags.json"] = loopback.Route(release_bytes, etag='"v1"')
    monkeypatch.setenv("SSL_CERT_FILE", str(tls.ca_pem))
    url = https_server.url("/mirror/tags.json")
    release = load_release(load_settings(source=url, cache_dir=tmp_path))
    assert release.cloud == "Public"
    assert len(release.tags) > 3000
    with caplog.at_level(logging.INFO, logger="sync.feeds.azure"):
        again = load_release(load_settings(source=url, cache_dir=tmp_path))
    assert "not modified (HTTP 304); using the cached copy" in caplog.text
    assert again.tags.keys() == release.tags.keys()
    assert [entry.status for entry in https_server.log] == [200, 304]


def test_plain_http_source_is_refused_naming_the_setting(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SettingsError, match="IPSYNC_SOURCE"):
        load_release(load_settings(source="http://example.org/tags.json", cache_dir=tmp_path))
