"""The registry of published feeds: every sub-package here is one, exposing ``FEED``.

Adding a feed is a sub-package implementing :class:`sync.feeds.base.Feed`; nothing lists the
names by hand. :func:`load_release` is the one way the engine, the apps and the command line
get a release; :func:`recording` lets a caller see the releases a run read through it.
"""

from __future__ import annotations

import contextlib
import importlib
from _thread import allocate_lock
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, cast

from sync.core.feed import DEFAULT_FEED
from sync.errors import SettingsError

__all__ = ["DEFAULT_FEED", "canonical", "feed_names", "get_feed", "load_release", "recording"]

if TYPE_CHECKING:
    import httpx

    from sync.core.feed import Release
    from sync.feeds.base import AnySettings, Feed


def feed_names() -> tuple[str, ...]:
    """Every feed, by its folder's name, sorted."""
    here = Path(__file__).parent
    return tuple(sorted(p.name for p in here.iterdir() if (p / "__init__.py").is_file()))


def get_feed(name: str) -> tuple[Feed, str]:
    """The feed ``name`` names (``url:atlassian`` is the ``url`` feed, instance ``atlassian``)
    and the instance; a name that is none is refused with a "did you mean"."""
    base, _, instance = name.strip().partition(":")
    known = feed_names()
    if base not in known:
        import difflib

        close = difflib.get_close_matches(base, known, n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise SettingsError(f"feed {name!r} is not a feed ({', '.join(known)}){hint}")
    return cast("Feed", importlib.import_module(f"sync.feeds.{base}").FEED), instance


def canonical(name: str) -> str:
    """``name`` as the registry spells it (``github``, ``url:atlassian``); a name that is no
    feed is refused as :func:`get_feed` refuses it."""
    feed, instance = get_feed(name)
    return f"{feed.name}:{instance}" if instance else feed.name


def load_release(
    settings: AnySettings,
    feed: str = DEFAULT_FEED,
    *,
    source: str | None = None,
    client: httpx.Client | None = None,
) -> Release:
    """The current release of ``feed``: fetched (conditional GET, cache), or read from the
    local file ``source``; parsed and validated. The azure feed takes ``settings.source``
    when no ``source`` is given."""
    found, instance = get_feed(feed)
    release = found.load(settings, source=source, instance=instance, client=client)
    if _recorders:
        with _recording:
            for seen in _recorders:
                seen.append(release)
    return release


#: The lists of :func:`recording` blocks that are open (in any thread).
_recorders: list[list[Release]] = []
#: threading's Lock, without importing threading (1 ms of every command's start).
_recording = allocate_lock()


@contextlib.contextmanager
def recording() -> Iterator[list[Release]]:
    """The releases :func:`load_release` returns while the block runs, in the order read.

    So the Functions app keeps the release a run applied without reading it again, and
    without the engine knowing. Every thread's reads count (the engine may read in its
    workers); the app runs one run at a time, under its run lock.
    """
    seen: list[Release] = []
    with _recording:
        _recorders.append(seen)
    try:
        yield seen
    finally:
        with _recording:  # by identity: two lists that hold the same releases are equal
            _recorders[:] = [other for other in _recorders if other is not seen]
