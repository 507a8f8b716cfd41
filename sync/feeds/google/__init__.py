"""Google's published ranges: ``goog.json`` (every range Google serves from) and
``cloud.json`` (Google Cloud customers' external ranges, by scope).

Selectors: ``goog``, ``cloud`` (every scope) and ``cloud.SCOPE`` (``cloud.europe-west1``,
``cloud.global``). Each file carries a ``syncToken`` (milliseconds since 1970, a string of
digits) and a ``creationTime``; the mark is the older file's token (``google-<token>``), so a
rollback of either file is seen. ``--source FILE`` reads one of the two files, told apart by
content (``cloud.json`` names a scope for every prefix).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sync.core.feed import Release, decode_json, decompress, digits
from sync.core.redact import mask_url
from sync.errors import FeedError
from sync.feeds.base import TWO_YEARS_S, Feed, Group, build_release, read_source

if TYPE_CHECKING:
    import httpx

    from sync.feeds.base import AnySettings

URLS = {
    "goog": "https://www.gstatic.com/ipranges/goog.json",
    "cloud": "https://www.gstatic.com/ipranges/cloud.json",
}
#: ``syncToken`` counts milliseconds: two years of them.
PLAUSIBLE_STEP = TWO_YEARS_S * 1000


class GoogleFeed(Feed):
    name = "google"
    title = "Google's IP ranges (goog.json) and Google Cloud's (cloud.json)"
    selectors = "goog, cloud, cloud.SCOPE (cloud.europe-west1, cloud.global)"

    step = PLAUSIBLE_STEP

    def read(
        self, settings: AnySettings, source: str | None, client: httpx.Client | None
    ) -> Release:
        if source:
            data, origin, _ = read_source(source)
            documents = [(data, origin)]
        else:
            from sync.feeds.fetch import client_scope, fetch_cached

            with client_scope(client) as http:
                fetched = [fetch_cached(http, url, settings.cache_dir) for url in URLS.values()]
            documents = [(f.data, f.origin) for f in fetched]
        groups: dict[str, Group] = {}
        tokens = [_read(data, origin, groups) for data, origin in documents]
        origin = " + ".join(mask_url(where) for _, where in documents)
        return build_release(
            self.name, "Google", groups, origin=origin, settings=settings, number=min(tokens)
        )


def _read(data: bytes, origin: str, groups: dict[str, Group]) -> int:
    """One file's prefixes into ``groups`` (``goog``, or ``cloud`` and ``cloud.SCOPE``); its
    ``syncToken``."""
    origin = mask_url(origin)
    payload = decode_json(decompress(data, origin), origin, "Google's goog.json or cloud.json")
    if not isinstance(payload, dict) or not isinstance(payload.get("prefixes"), list):
        raise FeedError(f"{origin}: not Google's goog.json or cloud.json (no 'prefixes' list)")
    token = digits(payload.get("syncToken"), "syncToken", origin)
    created = payload.get("creationTime")
    try:
        dt.datetime.fromisoformat(created if isinstance(created, str) else "")
    except ValueError:
        raise FeedError(f"{origin}: field 'creationTime': {created!r} is not a time") from None
    entries: list[Any] = payload["prefixes"]
    cloud = any(isinstance(e, dict) and "scope" in e for e in entries)
    for index, entry in enumerate(entries):
        where = f"{origin}: prefixes[{index}]"
        prefix = _prefix(entry, where)
        if not cloud:
            groups.setdefault("goog", Group("", "Google", [])).prefixes.append(prefix)
            continue
        scope, service = entry.get("scope"), entry.get("service")
        if not (isinstance(scope, str) and scope and isinstance(service, str)):
            raise FeedError(f"{where}: 'scope' and 'service' must be strings")
        groups.setdefault("cloud", Group("", service, [])).prefixes.append(prefix)
        groups.setdefault(f"cloud.{scope}", Group(scope, service, [])).prefixes.append(prefix)
    return token


def _prefix(entry: Any, where: str) -> str:
    """An entry's one prefix: ``ipv4Prefix`` or ``ipv6Prefix``."""
    found = [entry.get(k) for k in ("ipv4Prefix", "ipv6Prefix")] if isinstance(entry, dict) else []
    given = [value for value in found if value is not None]
    if len(given) != 1 or not isinstance(given[0], str):
        raise FeedError(f"{where}: needs exactly one string 'ipv4Prefix' or 'ipv6Prefix'")
    return given[0]


FEED = GoogleFeed()
