"""The releases one run reads, and what each target selects of them.

Each feed that a target or list takes from is loaded once per run
(:func:`sync.feeds.load_release`, from ``IPSYNC_SOURCES``' file where one is named). A feed
that cannot be read fails only the targets that take from it, each naming the feed; a run
whose every feed failed fails as a whole, as a run of the azure feed alone always did.
Selections of the same inputs are aggregated once per run (many targets select alike).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, NamedTuple

from sync.core.guards import split_mark
from sync.core.selection import Pick, Selection, empty_selectors, select_many
from sync.errors import FeedError, IpsyncError

if TYPE_CHECKING:
    from sync.core.feed import Release
    from sync.kinds.base import TargetSpec
    from sync.settings import Settings

#: A selection's inputs: per feed its selectors (any case), then the target's own fields.
_Key = tuple[object, ...]


class Chosen(NamedTuple):
    """What one target selects of the run's feeds."""

    #: Over all its feeds, its extra and exclude prefixes applied.
    selection: Selection
    #: For a target of several feeds, each feed's part (exclusions applied, no extra
    #: prefixes): the guards judge each feed as well as the union. Empty for one feed.
    parts: Mapping[str, Selection]
    #: Its selectors with no prefix of its families in their release.
    empty: tuple[str, ...]


class RunFeeds:
    """The run's releases by feed, and the selections made of them."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        #: The releases read, by feed, in the order first used.
        self.loaded: dict[str, Release] = {}
        #: Why a feed could not be read, by feed.
        self.failed: dict[str, str] = {}
        self._selections: dict[_Key, Selection] = {}

    def load(self, feeds: Iterable[str]) -> None:
        """Read each feed not read yet; raise when none of them could be."""
        from sync.feeds import load_release

        for feed in dict.fromkeys(feeds):
            if feed in self.loaded or feed in self.failed:
                continue
            source = self._settings.sources.get(feed)
            try:
                self.loaded[feed] = load_release(self._settings, feed, source=source)
            except IpsyncError as exc:
                self.failed[feed] = str(exc)
        if self.failed and not self.loaded:
            if len(self.failed) == 1:
                raise FeedError(next(iter(self.failed.values())))
            raise FeedError("; ".join(f"feed {f}: {why}" for f, why in self.failed.items()))

    def problem(self, target: TargetSpec) -> str | None:
        """Why the target has nothing to select from: a feed of it that could not be read."""
        for feed in target.feeds:
            if feed in self.failed:
                return f"feed {feed}: {self.failed[feed]}"
        return None

    @property
    def marks(self) -> dict[str, str]:
        """Each release's mark, by feed."""
        return {feed: release.mark for feed, release in self.loaded.items()}

    @property
    def labels(self) -> dict[str, str]:
        """What each release is of (``Public``, ``api.github.com``), by feed."""
        return {feed: release.cloud for feed, release in self.loaded.items()}

    def steps(self) -> dict[str, int]:
        """How far each release's mark series may step ahead of a held mark (its feed says)."""
        return steps_of(self.loaded.values())

    def picks(self, target: TargetSpec) -> list[Pick]:
        """What the target takes from each feed; a feed named without selectors takes its own
        selection (a url feed's one list), and a feed that has none is refused."""
        from sync.feeds import get_feed

        picks = []
        for feed, named in target.feeds.items():
            release = self.loaded[feed]
            names = named
            if not names:
                found = get_feed(feed)[0]
                names = found.implicit(release)
                if not names:
                    raise FeedError(
                        f"feed {feed}: select names no selector, and the {feed} feed has no "
                        f"selection of its own ({found.selectors})"
                    )
            picks.append(Pick(feed, release, names))
        return picks

    def chosen(self, target: TargetSpec) -> Chosen:
        """What the target selects of its feeds, for its plan and its guards."""
        picks = self.picks(target)
        families, exclude = target.families, target.exclude_prefixes
        parts = (
            {pick.feed: self._select([pick], families, (), exclude) for pick in picks}
            if len(picks) > 1
            else {}
        )
        return Chosen(
            self._select(picks, families, target.extra_prefixes, exclude),
            parts,
            tuple(empty_selectors(picks, families)),
        )

    def _select(
        self,
        picks: list[Pick],
        families: tuple[str, ...],
        extra: tuple[str, ...],
        exclude: tuple[str, ...],
    ) -> Selection:
        key: _Key = (
            tuple(sorted((p.feed, tuple(sorted(n.lower() for n in p.names))) for p in picks)),
            families,
            extra,
            exclude,
        )
        if key not in self._selections:
            self._selections[key] = select_many(
                picks, families=families, extra=extra, exclude=exclude
            )
        return self._selections[key]


def steps_of(releases: Iterable[Release]) -> dict[str, int]:
    """How far each release's mark series may step ahead of a held mark (its feed says)."""
    from sync.feeds import get_feed

    steps: dict[str, int] = {}
    for release in releases:
        parts = split_mark(release.mark)
        series = parts[0] if parts is not None else ""
        steps[series] = get_feed(release.feed)[0].plausible_step(series)
    return steps
