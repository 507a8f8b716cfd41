"""Retries, back-off, size cap, redirects, timeouts and TLS refusals of one download."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import respx

from sync.errors import DownloadError
from sync.feeds import fetch as download
from sync.feeds.fetch import fetch_url

from .loopback import FileServer, Route, Tls

URL = "https://download.microsoft.com/download/x/ServiceTags_Public_20251020.json"


def test_503_is_retried_with_exponential_back_off(
    router: respx.MockRouter, tmp_path: Path, sleeps: list[float]
) -> None:
    route = router.get(URL).mock(
        side_effect=[httpx.Response(503), httpx.Response(502), httpx.Response(200, content=b"ok")]
    )

    assert fetch_url(URL, cache_dir=tmp_path).data == b"ok"
    assert route.call_count == 3
    assert sleeps == [download.BACKOFF_BASE_S, 2 * download.BACKOFF_BASE_S]


def test_retry_after_is_honoured_and_capped(
    router: respx.MockRouter, tmp_path: Path, sleeps: list[float]
) -> None:
    router.get(URL).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "7"}),
            httpx.Response(503, headers={"Retry-After": "86400"}),
            httpx.Response(200, content=b"ok"),
        ]
    )

    fetch_url(URL, cache_dir=tmp_path)

    assert sleeps == [7.0, download.MAX_WAIT_S]


def test_persistent_5xx_gives_up_after_the_attempt_limit(
    router: respx.MockRouter, tmp_path: Path, sleeps: list[float]
) -> None:
    route = router.get(URL).respond(500)

    with pytest.raises(DownloadError) as caught:
        fetch_url(URL, cache_dir=tmp_path)

    assert route.call_count == download.MAX_ATTEMPTS
    assert len(sleeps) == download.MAX_ATTEMPTS - 1
    assert str(caught.value) == (
        f"GET {URL}: HTTP 500 Internal Server Error "
        f"(gave up after {download.MAX_ATTEMPTS} attempts)"
    )


def test_404_is_not_retried(router: respx.MockRouter, tmp_path: Path, sleeps: list[float]) -> None:
    route = router.get(URL).respond(404)

    with pytest.raises(DownloadError, match=r"^GET \S+ServiceTags_Public_20251020.json: HTTP 404"):
        fetch_url(URL, cache_dir=tmp_path)

    assert route.call_count == 1
    assert sleeps == []


def test_a_connection_broken_mid_transfer_is_retried(
    router: respx.MockRouter, tmp_path: Path, sleeps: list[float]
) -> None:
    route = router.get(URL).mock(
        side_effect=[httpx.ReadError("connection reset"), httpx.Response(200, content=b"ok")]
    )

    assert fetch_url(URL, cache_dir=tmp_path).data == b"ok"
    assert route.call_count == 2
    assert len(sleeps) == 1


def test_declared_oversize_body_is_refused(
    router: respx.MockRouter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(download, "MAX_BODY_BYTES", 1000)
    router.get(URL).respond(200, content=b"x" * 1001)

    with pytest.raises(DownloadError, match=r"Content-Length 1001; limit MAX_BODY_BYTES = 1000"):
        fetch_url(URL, cache_dir=tmp_path)


def test_undeclared_oversize_stream_is_cut_off(
    router: respx.MockRouter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(download, "MAX_BODY_BYTES", 1000)
    chunks_sent: list[int] = []

    def endless() -> Iterator[bytes]:
        while True:
            chunks_sent.append(400)
            yield b"x" * 400

    router.get(URL).mock(return_value=httpx.Response(200, content=endless()))

    with pytest.raises(DownloadError, match=r"MAX_BODY_BYTES = 1000"):
        fetch_url(URL, cache_dir=tmp_path)
    assert len(chunks_sent) == 3


def test_body_at_the_cap_is_accepted(
    router: respx.MockRouter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(download, "MAX_BODY_BYTES", 1000)
    router.get(URL).mock(return_value=httpx.Response(200, content=iter([b"y" * 500] * 2)))

    assert fetch_url(URL, cache_dir=tmp_path).data == b"y" * 1000


def test_https_redirects_are_followed_and_reported_as_origin(
    router: respx.MockRouter, tmp_path: Path
) -> None:
    mirror = "https://mirror.example.org/ServiceTags_Public_20251020.json"
    router.get(URL).respond(302, headers={"Location": mirror})
    router.get(mirror).respond(200, content=b"mirrored")

    fetched = fetch_url(URL, cache_dir=tmp_path)

    assert (fetched.data, fetched.origin) == (b"mirrored", mirror)


def test_redirect_to_plain_http_is_refused(router: respx.MockRouter, tmp_path: Path) -> None:
    plain = "http://mirror.example.org/ServiceTags_Public_20251020.json"
    router.get(URL).respond(301, headers={"Location": plain})
    insecure = router.get(plain).respond(200, content=b"x")

    with pytest.raises(DownloadError, match=r"redirected to non-https URL http://mirror"):
        fetch_url(URL, cache_dir=tmp_path)
    assert not insecure.called


def test_redirect_loop_ends(router: respx.MockRouter, tmp_path: Path) -> None:
    router.get(URL).respond(302, headers={"Location": URL})

    with pytest.raises(DownloadError, match=r"more than 10 redirects"):
        fetch_url(URL, cache_dir=tmp_path)


def test_plain_http_url_is_refused_before_any_request(router: respx.MockRouter) -> None:
    with pytest.raises(DownloadError, match=r"only https:// URLs are accepted"):
        fetch_url("http://example.org/ServiceTags_Public_20251020.json")
    assert not router.calls


def test_stalled_server_times_out_on_every_attempt(
    https_server: FileServer, tls: Tls, tmp_path: Path, sleeps: list[float]
) -> None:
    https_server.routes["/stall"] = Route(stall=True)

    with tls.client(timeout=0.2) as client, pytest.raises(DownloadError) as caught:
        fetch_url(https_server.url("/stall"), cache_dir=tmp_path, client=client)

    assert "timed out (ReadTimeout)" in str(caught.value)
    assert f"gave up after {download.MAX_ATTEMPTS} attempts" in str(caught.value)
    assert len(https_server.log) == download.MAX_ATTEMPTS
    assert len(sleeps) == download.MAX_ATTEMPTS - 1


def test_untrusted_certificate_fails_at_once_with_a_hint(
    https_server: FileServer, tmp_path: Path, sleeps: list[float]
) -> None:
    https_server.routes["/r.json"] = Route(body=b"x")

    with pytest.raises(DownloadError) as caught:
        fetch_url(https_server.url("/r.json"), cache_dir=tmp_path)

    assert "TLS certificate verification failed" in str(caught.value)
    assert "SSL_CERT_FILE" in str(caught.value)
    assert https_server.log == []
    assert sleeps == []


def test_query_strings_stay_out_of_messages(router: respx.MockRouter, tmp_path: Path) -> None:
    """A blob-storage mirror URL carries its SAS signature in the query."""
    sas_url = "https://mirror.blob.core.windows.net/feed/ServiceTags_Public.json?sv=2024&sig=SECRET"
    router.get(sas_url).respond(403)

    with pytest.raises(DownloadError) as caught:
        fetch_url(sas_url, cache_dir=tmp_path)

    assert "SECRET" not in str(caught.value)
    assert "ServiceTags_Public.json?sv=***&sig=***: HTTP 403" in str(caught.value)
