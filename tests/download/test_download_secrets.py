"""A release URL's secrets stay out of the release, the logs, the errors and the cache."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from sync.errors import DownloadError, FeedError
from sync.feeds import load_release
from sync.settings import load_settings

from . import loopback

SECRETS = ("s3cr3tSig", "hunter2")


def _clean(text: str) -> bool:
    return not any(secret in text for secret in SECRETS)


def test_sas_and_password_stay_out_of_release_logs_and_cache(
    https_server: loopback.FileServer,
    tls: loopback.Tls,
    release_bytes: bytes,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    path = "/feed/ServiceTags_Public_20251017.json?sv=2024&sig=s3cr3tSig"
    https_server.routes[path] = loopback.Route(release_bytes, etag='"v1"')
    monkeypatch.setenv("SSL_CERT_FILE", str(tls.ca_pem))
    url = https_server.url(path).replace("https://", "https://ops:hunter2@")
    cache = tmp_path / "cache"

    with caplog.at_level(logging.DEBUG):
        first = load_release(load_settings(source=url, cache_dir=cache))
        again = load_release(load_settings(source=url, cache_dir=cache))

    masked = f"https://***@127.0.0.1:{https_server.port}/feed/"
    masked += "ServiceTags_Public_20251017.json?sv=***&sig=***"
    assert first.origin == again.origin == masked
    assert [entry.status for entry in https_server.log] == [200, 304]
    assert _clean(caplog.text)
    assert _clean(repr(first))
    for file in cache.iterdir():
        assert _clean(file.read_bytes().decode("latin-1")), file.name


def test_errors_of_a_secret_url_are_masked(
    https_server: loopback.FileServer,
    tls: loopback.Tls,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    https_server.routes["/bad.json?sig=s3cr3tSig"] = loopback.Route(b"<html>login</html>")
    monkeypatch.setenv("SSL_CERT_FILE", str(tls.ca_pem))
    with pytest.raises(FeedError) as caught:
        load_release(load_settings(source=https_server.url("/bad.json?sig=s3cr3tSig")))
    assert _clean(str(caught.value))
    assert "/bad.json?sig=***: " in str(caught.value)

    with caplog.at_level(logging.DEBUG), pytest.raises(DownloadError) as failed:
        load_release(load_settings(source=https_server.url("/missing?sig=s3cr3tSig")))
    assert _clean(str(failed.value))
    assert "/missing?sig=***: HTTP 404" in str(failed.value)
    assert _clean(caplog.text)
