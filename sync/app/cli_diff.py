"""``diff`` and ``plan --impact`` on the command line: a release against an earlier one.

Kept apart from :mod:`sync.app.cli`, which hands in how it reads settings and releases.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from sync.errors import IpsyncError

if TYPE_CHECKING:
    from sync.core.feed import Release
    from sync.feeds.archive import ArchivedRelease
    from sync.feedsettings import FeedSettings
    from sync.settings import Settings


def diff_command(
    args: argparse.Namespace,
    feed_settings: Callable[[argparse.Namespace], Settings | FeedSettings],
    read_release: Callable[[argparse.Namespace], Release],
) -> int:
    from sync.app.render import render_diff
    from sync.core.diff import diff_releases

    old, new = _diff_sides(args, feed_settings, read_release)
    diff = diff_releases(old, new, tags=args.tag or (), match=args.match, region=args.region)
    if args.json:
        print(json.dumps(diff.as_json(), indent=2))
    else:
        print(render_diff(diff))
    return 2 if diff.changed else 0


#: The words ``diff`` takes for a side besides a file: the source's current release, and the
#: newest kept one with other content.
LATEST, PREVIOUS = "latest", "previous"


def _diff_sides(
    args: argparse.Namespace,
    feed_settings: Callable[[argparse.Namespace], Settings | FeedSettings],
    read_release: Callable[[argparse.Namespace], Release],
) -> tuple[Release, Release]:
    """OLD and NEW: files of ``--feed``, or its current release (kept on the way) and the
    one before it among the kept releases."""
    from sync.errors import SettingsError
    from sync.feeds import DEFAULT_FEED, load_release
    from sync.feeds.archive import cache_archive
    from sync.feeds.cache import default_cache_dir

    for word in (args.old, args.new):
        if word not in (LATEST, PREVIOUS) and not Path(word).expanduser().is_file():
            raise SettingsError(
                f"diff: {word}: no such release file (or say {LATEST} or {PREVIOUS})"
            )
    settings = feed_settings(args)
    archive = cache_archive(settings.cache_dir or default_cache_dir())
    latest: Release | None = None
    entry: ArchivedRelease | None = None
    if {args.old, args.new} & {LATEST, PREVIOUS}:
        latest = read_release(args)
        kept = archive.keep(latest)
        entry = kept.before if kept is not None else archive.before(latest)

    def side(word: str) -> Release:
        if word == LATEST and latest is not None:
            return latest
        if word == PREVIOUS and latest is not None:
            if entry is None:
                raise IpsyncError(
                    f"diff: no release before {latest.mark} is kept in "
                    f"{archive.shelf}: the download page links only the newest, so the one "
                    f"before must have been read here (each 'diff {LATEST}' keeps what it "
                    "reads); give the older release as a file"
                )
            return archive.load(entry)
        return load_release(settings, args.feed or DEFAULT_FEED, source=word)

    return side(args.old), side(args.new)


def impact_command(args: argparse.Namespace, settings: Settings) -> int:
    """``plan --impact``: the summary (or its JSON); exits as ``plan`` would."""
    from sync.app.impact import impact_command as impact
    from sync.app.impact import render_impact

    found = impact(settings, offline=args.offline, since=args.since)
    print(json.dumps(found.as_json(), indent=2) if args.json else render_impact(found))
    return found.exit_code()
