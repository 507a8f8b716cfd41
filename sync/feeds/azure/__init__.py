"""Azure's service tags (``IPSYNC_SOURCE``, ``--source``): download page, https URL, file, or
the Discovery API; checked by :mod:`sync.feeds.azure.parse`.

A release that passed whole is kept (:mod:`sync.feeds.azure.kept`), so a weekly release is
checked once, not by every run until the next.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sync.core.feed import Release
from sync.core.redact import mask_url
from sync.errors import SettingsError
from sync.feeds.base import Feed, read_source
from sync.feeds.cache import default_cache_dir
from sync.feedsettings import FeedSettings, setting_label
from sync.logs import get_logger

if TYPE_CHECKING:
    import httpx

    from sync.feeds.base import AnySettings

log = get_logger(__name__)

#: How far a release mark may jump ahead of the one a target holds, per series. The file's
#: ``changeNumber`` grows by about one a week (339 on 2025-01-01, 372 and 373 in October
#: 2025): 100 is about two years of releases. The Discovery API's numbers grow alike; the
#: retired XML's are dates (YYYYMMDD): 20,000 is two years.
PLAUSIBLE_STEPS = {"": 100, "api": 100, "xml": 20_000}


class AzureFeed(Feed):
    name = "azure"
    title = "Azure IP Ranges and Service Tags (Microsoft)"
    selectors = "a service tag: AzureCloud, Storage.WestEurope, ..."
    step = PLAUSIBLE_STEPS[""]

    def plausible_step(self, series: str) -> int:
        return PLAUSIBLE_STEPS[series]

    def read(
        self, settings: AnySettings, source: str | None, client: httpx.Client | None
    ) -> Release:
        """The release named by ``source`` (default ``settings.source``) for ``settings.cloud``.

        ``download`` reads the cloud's download page, ``api`` asks the Discovery API (which
        needs the full settings: subscription, endpoint, credential), an ``https://`` URL is
        fetched as it is, anything else is a local file (JSON or legacy XML, optionally
        .gz/.xz).
        """
        source = (source or settings.source).strip()
        scheme = source.split("://", 1)[0].lower() if "://" in source else ""
        if source == "api":
            from sync.feeds.azure.discovery import fetch_discovery

            if isinstance(settings, FeedSettings):
                raise SettingsError(
                    f"{setting_label(settings, 'source')} api: needs the full settings "
                    "(a subscription)"
                )
            return fetch_discovery(settings)
        if source == "download" or scheme == "https":
            from sync.feeds.azure import page
            from sync.feeds.fetch import fetch_url

            if source == "download":
                fetched = page.fetch_latest(
                    settings.cloud, cache_dir=settings.cache_dir, client=client
                )
            else:
                fetched = fetch_url(source, cache_dir=settings.cache_dir, client=client)
            if fetched.from_cache:
                log.info("%s: not modified (HTTP 304); using the cached copy", fetched.origin)
            data, origin = fetched.data, fetched.origin
        elif scheme:
            raise SettingsError(
                f"{setting_label(settings, 'source')} {mask_url(source)}: only https:// URLs "
                "are accepted"
            )
        else:
            return _from_file(source, settings)
        return _parsed(data, origin, settings)[0]


def _from_file(source: str, settings: AnySettings) -> Release:
    """A local file: the release kept for it when the kernel says it is the file read before
    (:func:`sync.feeds.azure.kept.file_identity`), else read and parsed. It is remembered
    only when it was the same file before and after it was read."""
    from sync.feeds.azure import kept

    cache = settings.cache_dir or default_cache_dir()
    path = Path(source).expanduser()
    identity = kept.file_identity(path, settings)
    key = kept.file_key(cache, identity) if identity is not None else None
    if key is not None:
        release = kept.read_parsed(cache, key, mask_url(source))
        if release is not None:
            return release
    data, origin, _ = read_source(source, setting_label(settings, "source"))
    release, key = _parsed(data, origin, settings)
    if identity is not None and key is not None and kept.file_identity(path, settings) == identity:
        kept.remember_file(cache, identity, key)
    return release


def _parsed(data: bytes, origin: str, settings: AnySettings) -> tuple[Release, str | None]:
    """Parse, or take the release kept for these bytes; keep what passed whole. The key of
    the kept release comes too (None when it is not kept)."""
    from sync.feeds.azure import kept

    cache = settings.cache_dir or default_cache_dir()
    key = kept.parsed_key(data, settings)
    release = kept.read_parsed(cache, key, mask_url(origin))
    if release is not None:
        return release, key
    from sync.feeds.azure.layout import LazyTags
    from sync.feeds.azure.parse import VERDICT_VERSION, parse_release

    guards = (VERDICT_VERSION, settings.min_prefixlen_v4, settings.min_prefixlen_v6)
    trusted = kept.read_verdicts(cache)
    release = parse_release(
        data,
        origin=origin,
        cloud=settings.cloud,
        trusted=trusted,
        known=kept.read_known(cache, guards),
        min_prefixlen_v4=settings.min_prefixlen_v4,
        min_prefixlen_v6=settings.min_prefixlen_v6,
    )
    if release.verdict is not None:
        if release.verdict not in trusted:
            kept.write_verdicts(cache, [*trusted, release.verdict])
        if isinstance(release.tags, LazyTags):  # a JSON file, read tag by tag
            kept.write_parsed(cache, key, release, release.tags.layout, guards)
            return release, key
    return release, None


FEED = AzureFeed()
