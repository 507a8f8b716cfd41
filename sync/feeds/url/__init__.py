"""Any HTTPS URL serving a list of ranges, each named in ``IPSYNC_URL_FEEDS`` and addressed
``url:<name>``: a plain list (``format: lines``: one CIDR or address per line, ``#``
comments) or JSON whose prefixes a JMESPath expression (``select``) picks out.

Such a feed has one list and so needs no selector (a target names the feed alone); its record
is ``all``. No serial is published, so the mark is the time the bytes were first fetched
(``url:<name>-<Unix seconds>``), with their SHA-256 as the release's digest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sync.core.feed import Release, decode_json, decompress, lines_of
from sync.core.redact import mask_url
from sync.errors import FeedError, SettingsError
from sync.feeds.base import TWO_YEARS_S, Feed, Group, build_release, fetcher, load_document

if TYPE_CHECKING:
    import httpx

    from sync.feeds.base import AnySettings

#: The mark counts seconds from the first fetch of the bytes.
PLAUSIBLE_STEP = TWO_YEARS_S
#: The one record of a url feed.
RECORD = "all"


class UrlFeed(Feed):
    name = "url"
    title = "any HTTPS URL serving a plain list, or JSON with a JMESPath selector"
    selectors = "none: IPSYNC_URL_FEEDS holds each url feed's URL, format and selector"
    step = PLAUSIBLE_STEP

    def implicit(self, release: Release) -> tuple[str, ...]:
        return (RECORD,)

    def load(
        self,
        settings: AnySettings,
        *,
        source: str | None = None,
        instance: str = "",
        client: httpx.Client | None = None,
    ) -> Release:
        spec = _spec(settings, instance)
        fetch = fetcher(spec["url"], settings, remember=True)
        data, origin, seen = load_document(settings, source, client, fetch)
        return parse(data, origin, seen, spec, settings)


def _spec(settings: AnySettings, instance: str) -> dict[str, str]:
    names = [feed["name"] for feed in settings.url_feeds]
    for feed in settings.url_feeds:
        if feed["name"] == instance:
            return feed
    known = ", ".join(f"url:{name}" for name in names) or "none is set"
    what = f"url:{instance}" if instance else "url (without :<name>)"
    raise SettingsError(f"feed {what}: IPSYNC_URL_FEEDS names no such feed ({known})")


def parse(
    data: bytes, origin: str, seen: int, spec: dict[str, str], settings: AnySettings
) -> Release:
    """The url feed's prefixes, read as its ``format`` says."""
    origin = mask_url(origin)
    text = decompress(data, origin)
    if spec["format"] == "lines":
        prefixes = lines_of(text, origin)
    else:
        prefixes = _selected(decode_json(text, origin, "a JSON document"), spec, origin)
    name = f"url:{spec['name']}"
    return build_release(
        "url",
        name,
        {RECORD: Group("", name, prefixes)},
        origin=origin,
        settings=settings,
        number=seen,
        series=name,
        data=text,
    )


def _selected(document: Any, spec: dict[str, str], origin: str) -> list[str]:
    """What ``select`` picks out of the document: it must be a list of strings."""
    import jmespath
    from jmespath.exceptions import JMESPathError

    try:
        found = jmespath.search(spec["select"], document)
    except JMESPathError as exc:
        message = str(exc).splitlines()[0]
        raise FeedError(f"{origin}: select {spec['select']!r} failed: {message}") from None
    if not isinstance(found, list) or not all(isinstance(item, str) for item in found):
        shown = type(found).__name__ if not isinstance(found, list) else "a list of non-strings"
        raise FeedError(
            f"{origin}: select {spec['select']!r} gives {shown}, not a list of prefixes"
        )
    return found


FEED = UrlFeed()
