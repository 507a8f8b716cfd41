"""The default client reaches the internet through the standard proxy variables."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sync.feeds.fetch import fetch_url

from .loopback import ConnectProxy, FileServer, Route, Tls

PATH = "/download/x/ServiceTags_Public_20251017.json"


@pytest.fixture
def proxied(
    monkeypatch: pytest.MonkeyPatch, tls: Tls, https_server: FileServer, connect_proxy: ConnectProxy
) -> FileServer:
    """HTTPS_PROXY points at the loopback proxy; the test CA is trusted via SSL_CERT_FILE."""
    https_server.routes[PATH] = Route(body=b'{"changeNumber": 1}', etag='"1"')
    monkeypatch.setenv("HTTPS_PROXY", connect_proxy.url)
    monkeypatch.setenv("SSL_CERT_FILE", str(tls.ca_pem))
    return https_server


def test_https_proxy_variable_tunnels_the_download(
    proxied: FileServer, connect_proxy: ConnectProxy, tmp_path: Path
) -> None:
    assert not {"NO_PROXY", "no_proxy"} & set(os.environ)

    fetched = fetch_url(proxied.url(PATH), cache_dir=tmp_path)

    assert fetched.data == b'{"changeNumber": 1}'
    assert connect_proxy.connects == [f"127.0.0.1:{proxied.port}"]
    assert [entry.path for entry in proxied.log] == [PATH]


def test_conditional_get_works_through_the_proxy(
    proxied: FileServer, connect_proxy: ConnectProxy, tmp_path: Path
) -> None:
    fetch_url(proxied.url(PATH), cache_dir=tmp_path)
    again = fetch_url(proxied.url(PATH), cache_dir=tmp_path)

    assert again.from_cache
    assert len(connect_proxy.connects) == 2
    assert [entry.status for entry in proxied.log] == [200, 304]


@pytest.mark.parametrize("variable", ["NO_PROXY", "no_proxy"])
def test_no_proxy_bypasses_the_proxy(
    proxied: FileServer,
    connect_proxy: ConnectProxy,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
) -> None:
    monkeypatch.setenv(variable, "example.org,127.0.0.1")

    fetched = fetch_url(proxied.url(PATH), cache_dir=tmp_path)

    assert fetched.data == b'{"changeNumber": 1}'
    assert connect_proxy.connects == []
    assert [entry.path for entry in proxied.log] == [PATH]
