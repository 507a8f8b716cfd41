"""Offline or blocked: a host that cannot be reached fails at once, named as a network error."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sync.errors import DownloadError
from sync.feeds.azure.page import fetch_latest
from sync.feeds.fetch import fetch_url

from .loopback import Tls


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port nobody listens on: connecting is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        yield probe.getsockname()[1]


@pytest.fixture
def no_dns(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every name lookup fails as it does offline; the names asked for are recorded."""
    asked: list[str] = []

    def fail(host: Any, *args: Any, **kwargs: Any) -> Any:
        asked.append(str(host))
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fail)
    return asked


def test_refused_connection_is_not_retried(
    closed_port: int, tls: Tls, tmp_path: Path, sleeps: list[float]
) -> None:
    started = time.monotonic()
    with tls.client() as client, pytest.raises(DownloadError) as caught:
        fetch_url(f"https://127.0.0.1:{closed_port}/tags.json", cache_dir=tmp_path, client=client)

    message = str(caught.value)
    assert message.startswith(f"network error reaching 127.0.0.1:{closed_port}: ")
    assert "refused" in message.lower()
    assert sleeps == []
    assert time.monotonic() - started < 2


def test_unresolvable_download_page_fails_fast_as_a_network_error(
    no_dns: list[str], tmp_path: Path, sleeps: list[float]
) -> None:
    started = time.monotonic()
    with pytest.raises(DownloadError) as caught:
        fetch_latest("Public", cache_dir=tmp_path)  # the default client, as a run uses

    message = str(caught.value)
    assert message.startswith("network error reaching www.microsoft.com: ")
    assert "Name or service not known" in message
    assert "no ServiceTags" not in message
    assert no_dns == ["www.microsoft.com"]  # one try: the fallback page is on the same host
    assert sleeps == []
    assert time.monotonic() - started < 2
