"""Secrets in a source URL (a SAS signature, user:password) never reach a message or a release."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from sync.app import notify
from sync.core.redact import mask_secrets_in, mask_url, mask_urls_in, url_key
from sync.errors import FeedError, SettingsError
from sync.feeds.azure.parse import parse_discovery, parse_release
from sync.settings import load_settings
from sync.state import State
from sync.state.ownership import StateError
from sync.state.place import open_place

SAS = (
    "https://acct.blob.core.windows.net/feed/ServiceTags_Public_20251017.json"
    "?sv=2024-11-04&se=2026-01-01T00%3A00Z&sp=r&sig=s3cr3tSig%2Bz%3D"
)


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        (SAS, SAS.split("?", maxsplit=1)[0] + "?sv=***&se=***&sp=***&sig=***"),
        ("https://user:pa55w0rd@host:8443/f.json", "https://***@host:8443/f.json"),
        ("https://token@host/f.json?k", "https://***@host/f.json?***"),
        ("https://host/f.json#access_token=abc", "https://host/f.json#***"),
        ("HTTPS://host/a?x=1&&y=", "https://host/a?x=***&&y=***"),
        ("https://download.microsoft.com/d/ServiceTags_Public_20251017.json", None),
        ("/srv/feeds/tags.json?x=1", None),  # a file path, not a URL
        ("tags.json", None),
    ],
)
def test_mask_url(url: str, masked: str | None) -> None:
    assert mask_url(url) == (url if masked is None else masked)


def test_urls_inside_text_are_masked_and_the_rest_kept() -> None:
    text = f"cannot reach {SAS} via http://u:p@proxy:3128/ (refused)"
    assert mask_urls_in(text) == (
        f"cannot reach {mask_url(SAS)} via http://***@proxy:3128/ (refused)"
    )


def test_release_origin_and_feed_errors_are_masked() -> None:
    with pytest.raises(FeedError) as caught:
        parse_release(b"{not json", origin=SAS)
    assert "s3cr3t" not in str(caught.value)
    assert str(caught.value).startswith(mask_url(SAS) + ": not JSON")

    with pytest.raises(FeedError) as caught:
        parse_discovery({"values": []}, origin="https://u:pw@arm.example/x?sig=1", cloud="Public")
    assert "pw" not in str(caught.value)
    assert "sig=***" in str(caught.value)


HOOK_TOKEN, HOOK_SIG = "T0KEN-in-path", "S1G-in-query"


@pytest.mark.parametrize(
    "written",
    [
        f"https://hooks.example.com/hooks/{HOOK_TOKEN}?sig={HOOK_SIG}",  # as httpx logs it
        f"HTTPS://Hooks.Example.COM:443/hooks/{HOOK_TOKEN}?sig={HOOK_SIG}",
        f"https://hooks.example.com:443/hooks/./{HOOK_TOKEN}?SIG={HOOK_SIG}",
        f"https://hooks.example.com/hooks/x/../{HOOK_TOKEN}#{HOOK_SIG}",
    ],
)
def test_a_secret_url_is_masked_to_its_host_however_it_is_written(written: str) -> None:
    secret = url_key(f"HTTPS://Hooks.Example.com:443/hooks/{HOOK_TOKEN}?sig={HOOK_SIG}")
    assert secret is not None
    masked = mask_secrets_in(f"HTTP Request: POST {written} 200", {secret})
    assert masked == "HTTP Request: POST https://hooks.example.com/*** 200"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("https://h:abc/hooks/tok", "https://***"),  # httpx cannot parse it: nothing but scheme
        ('"GET /c/b?sv=2024&sig=s3cr3t HTTP/1.1" 403', '"GET /c/b?sv=2024&sig=*** HTTP/1.1" 403'),
        ("AccountName=a;AccountKey=k3y==;EndpointSuffix=x", "AccountName=a;AccountKey=***;Endp"),
        ("SharedAccessSignature=sv=1&sig=s3cr3t;", "SharedAccessSignature=***;"),
    ],
)
def test_secret_pairs_and_unparsable_urls_are_masked_anywhere(text: str, shown: str) -> None:
    assert mask_secrets_in(text).startswith(shown)


class _Answer(BaseHTTPRequestHandler):
    """Answers every request with ``status`` (a webhook behind a proxy, a storage account)."""

    status = 200

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(self.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def loopback(request: pytest.FixtureRequest) -> Iterator[str]:
    handler = type("Handler", (_Answer,), {"status": getattr(request, "param", 200)})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_httpx_own_log_lines_of_odd_webhook_urls_hold_no_secret(
    loopback: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Real requests through a loopback proxy, so the webhook's host, port and case are the
    odd ones: httpx logs each URL in its own normal form, which differs from the setting's."""
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", loopback)
    forms = [
        f"HTTP://Hooks.Example.COM:80/hooks/{HOOK_TOKEN}?sig={HOOK_SIG}",
        f"http://hooks.example.com:80/hooks/./{HOOK_TOKEN}?Sig={HOOK_SIG}",
        f"http://HOOKS.example.com/hooks/{HOOK_TOKEN}/?sig={HOOK_SIG}",
    ]
    with caplog.at_level(logging.DEBUG):
        for url in forms:
            assert notify.post(url, {"text": "t"}, attempts=1) is True
    assert caplog.text.count("HTTP Request: POST http://hooks.example.com/***") == len(forms)
    assert HOOK_TOKEN not in caplog.text
    assert HOOK_SIG not in caplog.text


@pytest.mark.parametrize("loopback", [403], indirect=True)
def test_azure_core_and_urllib3_log_lines_and_errors_of_a_sas_state_hold_no_secret(
    loopback: str, caplog: pytest.LogCaptureFixture
) -> None:
    """An ``IPSYNC_STATE`` container URL with a SAS, read by the real storage SDK."""
    sas = "sv=2024-11-04&se=2026-01-01T00%3A00Z&sp=rw&sig=s3cr3tSig%2Bz%3D"
    url = f"HTTP{loopback.removeprefix('http')}/devstoreaccount1/records?{sas}"
    settings = load_settings(state=url)
    with caplog.at_level(logging.DEBUG), pytest.raises(StateError) as caught:
        State(lambda: open_place(settings, env={})).registry.load(
            "/subscriptions/x/resourceGroups/rg/r"
        )
    assert "Request URL:" in caplog.text  # azure-core's own line
    assert '"GET /devstoreaccount1/records/' in caplog.text  # urllib3's request line
    for text in (caplog.text, str(caught.value)):
        assert "s3cr3tSig" not in text
    assert f"in {loopback}/devstoreaccount1/records/: " in str(caught.value)


def test_settings_errors_show_a_sas_state_url_masked() -> None:
    with pytest.raises(SettingsError) as caught:
        open_place(load_settings(state="http://example.com/c?sv=1&sig=s3cr3tSig"), env={})
    assert "s3cr3tSig" not in str(caught.value)
    assert "http://example.com/c?sv=***&sig=***" in str(caught.value)


def test_storage_errors_told_in_reports_and_answers_hold_no_sas() -> None:
    from azure.core.exceptions import ServiceRequestError

    from sync.app.runs import describe

    error = ServiceRequestError(
        "cannot reach https://a.blob.core.windows.net/ipsync/lock?sv=1&sig=s3cr3tSig\nmore"
    )
    told = describe(error)
    assert "s3cr3tSig" not in told
    assert told.startswith("ServiceRequestError: cannot reach https://a.blob.core.windows.net/")
