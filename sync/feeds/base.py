"""The feed protocol: what every published feed (a sub-package of :mod:`sync.feeds`) provides.

A feed fetches its document with a conditional GET and the shared cache
(:mod:`sync.feeds.fetch`), or reads a local file (``--source FILE``); parses and validates it
into a :class:`~sync.core.feed.Release` whose records are its selectors; and gives the
release a strict mark (``series-number``). The guard stage compares marks of one series and
refuses one that jumps further ahead of the held mark than :meth:`Feed.plausible_step`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, TypeAlias

from sync.core.feed import (
    Bounds,
    Release,
    ServiceTag,
    check_bounds,
    checked_records,
    content_version,
    mark_of,
)
from sync.core.redact import mask_url
from sync.errors import FeedError, SettingsError

if TYPE_CHECKING:
    import httpx

    from sync.feeds.fetch import Fetched
    from sync.feedsettings import FeedSettings
    from sync.settings import Settings

    #: What a feed reads its settings from: the full settings, or the light ones of
    #: ``prefixes`` and ``tags``.
    AnySettings: TypeAlias = Settings | FeedSettings

#: Two years and a day, in seconds: the plausible step of marks that count time.
TWO_YEARS_S = 731 * 24 * 3600


class Feed:
    """One published feed; its sub-package exposes it as ``FEED``. What a feed does not
    override is what most share: one plausible step for every series, no implicit selection,
    no instances; each says how it reads its release (:meth:`read`)."""

    #: Its name in settings and on the command line: the sub-package's name.
    name: str
    #: One line: what it publishes.
    title: str
    #: The forms a selector takes (for help and messages).
    selectors: str
    #: How far a new mark may jump ahead of the held one, for every series.
    step: int

    def plausible_step(self, series: str) -> int:
        """How far a new mark of ``series`` may jump ahead of the one a target holds."""
        return self.step

    def implicit(self, release: Release) -> tuple[str, ...]:
        """The selection when none is named (a ``url`` feed's one list); empty for most."""
        return ()

    def load(
        self,
        settings: AnySettings,
        *,
        source: str | None = None,
        instance: str = "",
        client: httpx.Client | None = None,
    ) -> Release:
        if instance:
            raise SettingsError(
                f"feed {self.name}:{instance}: the {self.name} feed takes no ':<name>'"
            )
        return self.read(settings, source, client)

    def read(
        self, settings: AnySettings, source: str | None, client: httpx.Client | None
    ) -> Release:
        """The release: from the local file ``source`` when given, else fetched."""
        raise NotImplementedError


def prefix_bounds(settings: AnySettings, origin: str, noun: str) -> Bounds:
    """The prefix checks of every feed, from the settings they share."""
    return Bounds(mask_url(origin), settings.min_prefixlen_v4, settings.min_prefixlen_v6, noun)


def read_source(source: str, option: str = "--source") -> tuple[bytes, str, int]:
    """A local file a feed reads instead of fetching: its bytes, its name for messages, and
    its modification time (the fetch time of a feed whose mark counts time)."""
    path = Path(source).expanduser()
    try:
        data = path.read_bytes()
        seen = int(path.stat().st_mtime)
    except OSError as exc:
        raise SettingsError(f"{option} {path}: cannot read the file ({exc.strerror})") from None
    return data, source, seen


def fetcher(
    url: str,
    settings: AnySettings,
    *,
    headers: Mapping[str, str] | None = None,
    remember: bool = False,
) -> Callable[[httpx.Client], Fetched]:
    """A conditional GET of ``url`` through the cache, for :func:`load_document`; the fetcher
    (and httpx) is imported only when it runs, so reading a local file stays light."""

    def fetch(http: httpx.Client) -> Fetched:
        from sync.feeds.fetch import fetch_cached

        return fetch_cached(http, url, settings.cache_dir, headers=headers, remember=remember)

    return fetch


def load_document(
    settings: AnySettings,
    source: str | None,
    client: httpx.Client | None,
    fetch: Callable[[httpx.Client], Fetched],
) -> tuple[bytes, str, int]:
    """The document's bytes, origin and fetch time: read from ``source``, or fetched."""
    if source:
        return read_source(source)
    from sync.feeds.fetch import client_scope

    with client_scope(client) as http:
        fetched = fetch(http)
    return fetched.data, fetched.origin, fetched.seen


class Group(NamedTuple):
    """What one selector of a feed holds, before it is checked."""

    region: str
    service: str
    prefixes: list[str]


def build_release(
    feed: str,
    label: str,
    groups: Mapping[str, Group],
    *,
    origin: str,
    settings: AnySettings,
    number: int,
    series: str | None = None,
    data: bytes | None = None,
    resolve: Callable[[str], ServiceTag | None] | None = None,
) -> Release:
    """A feed's release from its selectors: bounds, names, every prefix checked (valid, no
    broader than the minimum, public), each record versioned by its content, and the mark
    ``<series>-<number>`` (series: the feed's name). ``data``, for a feed whose mark is a
    fetch time, gives the release its content hash."""
    import hashlib

    origin = mask_url(origin)
    check_bounds(origin, tags=len(groups))
    if not any(group.prefixes for group in groups.values()):
        raise FeedError(f"{origin}: holds no prefixes; refusing an empty {feed} release")
    records = [ServiceTag(name, g.region, g.service, "", g.prefixes) for name, g in groups.items()]
    by_name = checked_records(records, prefix_bounds(settings, origin, f"{feed} selector")).by_name
    versioned = {
        name: tag._replace(change_number=content_version(tag.address_prefixes))
        for name, tag in by_name.items()
    }
    return Release(
        label,
        number,
        origin,
        feed,
        versioned,
        mark=mark_of(series or feed, number),
        feed=feed,
        digest=hashlib.sha256(data).hexdigest() if data is not None else None,
        resolve=resolve,
    )
