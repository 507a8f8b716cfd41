"""Fixtures of the download tests: clean proxy environment, recorded waits, loopback servers."""

from __future__ import annotations

import lzma
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import respx
import trustme

from sync.feeds import fetch as download

from . import loopback

DATA = Path(__file__).parents[1] / "data"
NETWORK_VARIABLES = (
    *("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY"),
    *("SSL_CERT_FILE", "SSL_CERT_DIR"),
)


@pytest.fixture(autouse=True)
def clean_network_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests decide themselves which proxy and CA variables are set."""
    for name in NETWORK_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture(autouse=True)
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Back-off waits are recorded instead of slept."""
    waits: list[float] = []
    monkeypatch.setattr(download, "sleep", waits.append)
    return waits


@pytest.fixture(scope="session")
def release_bytes() -> bytes:
    return lzma.decompress((DATA / "ServiceTags_Public_20251017.json.xz").read_bytes())


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> loopback.Tls:
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    ca_pem = tmp_path_factory.mktemp("tls") / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_pem))
    return loopback.Tls(ca, ca_pem, server_context)


@pytest.fixture
def client(tls: loopback.Tls) -> Iterator[httpx.Client]:
    """A client that trusts the test CA and ignores proxy variables."""
    with tls.client() as trusting:
        yield trusting


@pytest.fixture
def https_server(tls: loopback.Tls) -> Iterator[loopback.FileServer]:
    with loopback.file_server(tls) as server:
        yield server


@pytest.fixture
def connect_proxy() -> Iterator[loopback.ConnectProxy]:
    with loopback.connect_proxy() as proxy:
        yield proxy


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    """Mocked HTTP for the routes a test declares; anything else fails the request."""
    with respx.mock(assert_all_called=False) as mock:
        yield mock
