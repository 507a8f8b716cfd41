"""The Functions app's watch over its feeds: ``feeds.json`` in its container, one
:class:`~sync.core.freshness.Watch` per feed, updated after every run.

A run reads each feed once; the watch remembers since when each release has been the same and
since when a feed has not been read, so a run can say (in its report, its notification and
``/api/health``) that a feed is stale or unreachable for longer than
``IPSYNC_FEED_STALE_AFTER_HOURS``, which no single run can see.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from azure.core.exceptions import ResourceNotFoundError

from sync.core.freshness import Watch, observe

if TYPE_CHECKING:
    from azure.storage.blob import ContainerClient

    from sync.core.feed import Release
    from sync.report import Report

BLOB = "feeds.json"


class FeedWatch:
    """The watch blob of one container."""

    def __init__(self, container: ContainerClient) -> None:
        self._container = container

    def load(self) -> dict[str, Watch]:
        try:
            data = self._container.download_blob(BLOB).readall()
        except ResourceNotFoundError:
            return {}
        kept = json.loads(data)
        return {str(feed): Watch(**fields) for feed, fields in kept.items()}

    def update(self, read: Sequence[Release], report: Report, now: datetime) -> dict[str, Watch]:
        """Record what the run read (the releases :func:`~sync.feeds.recording` saw) and how
        it ended; returns the new watch."""
        marks = {release.feed: release.mark for release in read}
        watch = observe(self.load(), marks, report.error, now)
        body = json.dumps({feed: seen._asdict() for feed, seen in watch.items()}, indent=2)
        self._container.upload_blob(BLOB, body.encode(), overwrite=True)
        return watch
