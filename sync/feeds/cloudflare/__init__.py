"""Cloudflare's published ranges (``https://www.cloudflare.com/ips-v4`` and ``ips-v6``): plain
lists, one CIDR per line.

One selector, ``ips``: every range Cloudflare serves from (both files). The lists publish no
serial, so the mark is the time their bytes were first fetched (``cloudflare-<Unix
seconds>``, the later of the two files), with their SHA-256 as the release's digest.
``--source FILE`` reads one plain list (either family, or both).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sync.core.feed import Release, decompress, lines_of
from sync.core.redact import mask_url
from sync.feeds.base import TWO_YEARS_S, Feed, Group, build_release, read_source

if TYPE_CHECKING:
    import httpx

    from sync.feeds.base import AnySettings

URLS = ("https://www.cloudflare.com/ips-v4", "https://www.cloudflare.com/ips-v6")
#: The mark counts seconds from the first fetch of the bytes.
PLAUSIBLE_STEP = TWO_YEARS_S


class CloudflareFeed(Feed):
    name = "cloudflare"
    title = "Cloudflare's IP ranges (ips-v4, ips-v6)"
    selectors = "ips (every range, both families)"

    step = PLAUSIBLE_STEP

    def read(
        self, settings: AnySettings, source: str | None, client: httpx.Client | None
    ) -> Release:
        if source:
            data, origin, seen = read_source(source)
            documents = [(decompress(data, origin), origin)]
        else:
            from sync.feeds.fetch import client_scope, fetch_cached

            with client_scope(client) as http:
                fetched = [
                    fetch_cached(http, url, settings.cache_dir, remember=True) for url in URLS
                ]
            documents = [(f.data, f.origin) for f in fetched]
            origin, seen = " + ".join(f.origin for f in fetched), max(f.seen for f in fetched)
        prefixes = [p for text, where in documents for p in lines_of(text, mask_url(where))]
        group = {"ips": Group("", "Cloudflare", prefixes)}
        body = b"\n".join(text for text, _ in documents)
        return build_release(
            self.name, "Cloudflare", group, origin=origin, settings=settings, number=seen, data=body
        )


FEED = CloudflareFeed()
