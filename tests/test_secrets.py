"""Secrets in a source URL (a SAS signature, user:password) never reach a message or a release."""

from __future__ import annotations

import pytest

from sync.core.redact import mask_url, mask_urls_in
from sync.errors import FeedError
from sync.feeds.azure.parse import parse_discovery, parse_release

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
