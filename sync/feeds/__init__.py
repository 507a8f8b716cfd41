"""The registry of published feeds: every sub-package here is one, exposing ``FEED``.

Adding a feed is a sub-package implementing :class:`sync.feeds.base.Feed`; nothing lists the
names by hand. :func:`load_release` is the one way the engine, the apps and the command line
get a release.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, cast

from sync.errors import SettingsError

if TYPE_CHECKING:
    import httpx

    from sync.core.feed import Release
    from sync.feeds.base import AnySettings, Feed

#: The feed of ``service_tags`` and of a run that names none.
DEFAULT_FEED = "azure"


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
    return found.load(settings, source=source, instance=instance, client=client)
