"""Feed freshness: a feed whose release has not changed, or that has not been read, for too long.

Microsoft publishes the service tags weekly; a release that stays the same for weeks, or a
download that keeps failing, leaves every allow-list on old addresses while each run looks
fine on its own. So what each feed gave run after run is kept (:class:`Watch`, one per feed)
and judged against ``IPSYNC_FEED_STALE_AFTER_HOURS``. Pure: the kept watch and a run's reads
in, the new watch and the problems out.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import NamedTuple

#: How every freshness note begins: readers of a report tell it from other notes by it.
PREFIX = "feed "
#: The setting that says when a feed counts as stale or unreachable.
SETTING = "IPSYNC_FEED_STALE_AFTER_HOURS"


class Watch(NamedTuple):
    """What one feed gave: its release, since when, and since when it has not been read."""

    mark: str | None = None
    #: When a run first read this release (ISO 8601, UTC).
    since: str | None = None
    #: The last run that read the feed.
    read_at: str | None = None
    #: The first run of those since that read nothing (None: the last run read it).
    failing_since: str | None = None
    #: That run's error.
    problem: str | None = None


def observe(
    kept: Mapping[str, Watch], read: Mapping[str, str], error: str | None, now: datetime
) -> dict[str, Watch]:
    """The watch after a run that read ``read`` (feed -> release mark) and ended with
    ``error``: a feed it read is fresh from now; one it did not read in a failed run is
    failing from the first such run on."""
    at = now.isoformat(timespec="seconds")
    result = dict(kept)
    for feed, mark in read.items():
        old = kept.get(feed, Watch())
        since = old.since if old.mark == mark and old.since else at
        result[feed] = Watch(mark, since, at)
    if error is not None:
        for feed, old in kept.items():
            if feed not in read:
                result[feed] = old._replace(failing_since=old.failing_since or at, problem=error)
    return result


def problems(watch: Mapping[str, Watch], now: datetime, stale_after_h: float) -> dict[str, str]:
    """Per feed, why it is stale or unreachable for longer than ``stale_after_h``; fresh
    feeds are not listed."""
    result = {}
    for feed, seen in sorted(watch.items()):
        failing = _over(now, seen.failing_since, stale_after_h)
        same = _over(now, seen.since, stale_after_h)
        if failing:
            result[feed] = f"{PREFIX}{feed}: not read for {failing}: {seen.problem}"
        elif same:
            result[feed] = (
                f"{PREFIX}{feed}: release {seen.mark} unchanged for {same}; is it still published?"
            )
    return result


def _over(now: datetime, since: str | None, limit_h: float) -> str | None:
    """``12.5 h (since <when>, more than <setting>)`` when ``since`` is over ``limit_h`` ago."""
    if since is None:
        return None
    hours = _hours(now, since)
    if hours <= limit_h:
        return None
    return f"{hours:g} h (since {since}, more than {SETTING}={limit_h:g})"


def _hours(now: datetime, since: str) -> float:
    """Hours from ``since`` to ``now``, to a tenth."""
    return round((now - datetime.fromisoformat(since)).total_seconds() / 3600, 1)
