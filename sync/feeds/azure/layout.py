"""A release kept as its own text with each tag's span, and its tags decoded as used.

What a later run of the same release reads (:mod:`sync.feeds.azure.kept`), apart from the
reading of a new release (:mod:`sync.feeds.azure.skim`), so that it loads only this.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

from sync.core.feed import ServiceTag
from sync.errors import FeedError


class Layout(NamedTuple):
    """A release's text and where each tag lies in it, in document order."""

    text: bytes | memoryview  # ASCII
    names: list[str]
    starts: list[int]
    ends: list[int]
    counts: list[int]  # prefixes of each tag

    def places(self) -> dict[str, int]:
        """Each tag's place by name."""
        return dict(zip(self.names, range(len(self.names)), strict=True))


class LazyTags(Mapping[str, ServiceTag]):
    """The tags of a release read from its text, in document order, each decoded when first
    asked for: a run that selects one tag decodes that tag alone."""

    def __init__(
        self,
        layout: Layout,
        where: str,
        tag_of: Callable[[Any], ServiceTag],
        decoded: dict[str, ServiceTag] | None = None,
    ) -> None:
        """``tag_of`` makes a tag of its decoded entry, or raises ValueError."""
        self._at = layout.places()
        self._layout, self._where, self._tag_of = layout, where, tag_of
        self._decoded = decoded if decoded is not None else {}

    @property
    def layout(self) -> Layout:
        """The release's text and each tag's span: what it is kept as."""
        return self._layout

    def __getitem__(self, name: str) -> ServiceTag:
        tag = self._decoded.get(name)
        if tag is None:
            layout, at = self._layout, self._at[name]
            try:
                entry = json.loads(bytes(layout.text[layout.starts[at] : layout.ends[at]]))
                tag = self._tag_of(entry)
            except ValueError:  # not JSON, not UTF-8, or not a tag
                raise FeedError(
                    f"{self._where}: the kept release is damaged; delete it to read the "
                    "release again"
                ) from None
            self._decoded[name] = tag
        return tag

    def __contains__(self, name: object) -> bool:
        return name in self._at

    def __iter__(self) -> Iterator[str]:
        return iter(self._at)

    def __len__(self) -> int:
        return len(self._at)
