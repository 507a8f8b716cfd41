"""What the Functions app keeps of the releases its runs applied: the releases themselves and
one change entry per release that changed something its targets and lists select.

In the app's container, beside the run history:

- ``releases/<name>.json.xz`` and ``releases/<name>.json``: the release archive
  (:mod:`sync.feeds.archive`: the newest :data:`~sync.feeds.archive.MAX_ARCHIVED`, each at
  most :data:`~sync.feeds.archive.MAX_ARCHIVED_BYTES` compressed);
- ``changes/<seen>-<id>.json``: one :class:`~sync.changes.ChangeEntry` per release change,
  stored once per id, the newest :data:`MAX_CHANGES`, each at most :data:`MAX_CHANGE_BYTES`.

Written after a run that is not a dry run, from the releases that run read (the hook in
:mod:`sync.app.runs`); ``GET /api/changes``, its Atom form and the status page read them.
Entries never change once stored, so their names alone make an ETag.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from azure.core.exceptions import ResourceNotFoundError

from sync.changes import ChangeEntry, change_entry
from sync.core.diff import diff_releases
from sync.errors import FeedError
from sync.feeds.archive import FOLDER, ReleaseArchive

if TYPE_CHECKING:
    from azure.storage.blob import ContainerClient

    from sync.core.feed import Release
    from sync.report import Report

log = logging.getLogger(__name__)

#: Change entries kept: a year of weekly releases, and some to spare.
MAX_CHANGES = 60
#: Largest stored entry; beyond it the entry keeps its address counts but not its CIDRs.
MAX_CHANGE_BYTES = 1024 * 1024
CHANGES = "changes/"
RELEASES = f"{FOLDER}/"
#: ``<UTC time the run started>-<the entry id's 32 hex digits>.json``: names sort by time.
NAME = re.compile(r"^(\d{8}T\d{6}Z)-([0-9a-f]{32})\.json$")
#: Entries read at once when a whole feed is asked for.
READERS = 8


class BlobShelf:
    """Blobs under one prefix of a container: a shelf of :class:`ReleaseArchive`."""

    def __init__(self, container: ContainerClient, prefix: str) -> None:
        self.container = container
        self.prefix = prefix

    def __str__(self) -> str:
        return f"{self.container.container_name}/{self.prefix}"

    def names(self) -> list[str]:
        try:
            listed = self.container.list_blob_names(name_starts_with=self.prefix)
            return [name.removeprefix(self.prefix) for name in listed]
        except ResourceNotFoundError:
            return []

    def read(self, name: str) -> bytes | None:
        try:
            data: bytes = self.container.download_blob(self.prefix + name).readall()
        except ResourceNotFoundError:
            return None
        return data

    def write(self, name: str, data: bytes) -> bool:
        self.container.upload_blob(self.prefix + name, data, overwrite=True)
        return True

    def delete(self, name: str) -> None:
        with contextlib.suppress(ResourceNotFoundError):
            self.container.delete_blob(self.prefix + name)


def entry_blob(change: ChangeEntry) -> str:
    """The blob name of ``change``: the time its run started, then its id."""
    seen = datetime.fromisoformat(change.seen_at).astimezone(UTC)
    return f"{seen:%Y%m%dT%H%M%SZ}-{change.id.rsplit(':', 1)[-1].replace('-', '')}.json"


class ChangeLog:
    """The app's archived releases and change entries, in its container."""

    def __init__(self, container: ContainerClient, keep: int = MAX_CHANGES) -> None:
        if keep < 1:
            raise ValueError("at least one change entry must be kept")
        self.releases = ReleaseArchive(BlobShelf(container, RELEASES))
        self._changes = BlobShelf(container, CHANGES)
        self.keep = keep

    def names(self) -> list[str]:
        """The stored entries' names, oldest first."""
        return sorted(name for name in self._changes.names() if NAME.match(name))

    def entries(self, names: Sequence[str] | None = None) -> list[ChangeEntry]:
        """The entries (of ``names``, else all), newest first; one that vanished is skipped."""
        wanted = list(reversed(self.names() if names is None else names))
        with ThreadPoolExecutor(max_workers=READERS, thread_name_prefix="changes") as pool:
            found = list(pool.map(self._changes.read, wanted))
        return [ChangeEntry.model_validate_json(data) for data in found if data is not None]

    def latest(self) -> ChangeEntry | None:
        names = self.names()
        return next(iter(self.entries(names[-1:])), None)

    def add(self, change: ChangeEntry) -> bool:
        """Store ``change`` unless an entry of its id is stored; drop the oldest beyond
        :attr:`keep`. True when it was stored."""
        name = entry_blob(change)
        names = self.names()
        if name.partition("-")[2] in {n.partition("-")[2] for n in names}:
            return False
        body = change.model_dump_json().encode()
        if len(body) > MAX_CHANGE_BYTES:
            log.warning(
                "change %s -> %s: %d bytes, more than MAX_CHANGE_BYTES (%d); kept without its "
                "CIDRs",
                change.previous,
                change.mark,
                len(body),
                MAX_CHANGE_BYTES,
            )
            body = change.without_cidrs().model_dump_json().encode()
        self._changes.write(name, body)
        for old in sorted([*names, name])[: -self.keep]:
            self._changes.delete(old)
        return True

    def record(self, read: Sequence[Release], report: Report) -> list[ChangeEntry]:
        """Archive the releases a run read; for each one new to the archive, store what it
        changed since the one before in what the run's targets and lists select.

        Only a release new to the archive is compared: the runs that read it again until the
        next release have nothing new to tell.
        """
        seen_at = datetime.fromisoformat(report.started_at or datetime.now(UTC).isoformat())
        stored = []
        for release in _distinct(read):
            kept = self.releases.keep(release)
            if kept is None or not kept.new or kept.before is None:
                continue
            previous = self.releases.load(kept.before)
            selected = {tag for target in report.targets for tag in target.selected(release.feed)}
            known = {name.lower() for name in (*previous.tags, *release.tags)}
            tags = [tag for tag in selected if tag.lower() in known]
            if not tags:
                continue
            try:
                diff = diff_releases(previous, release, tags=tags)
            except FeedError as exc:  # a name two tags share in different case
                log.warning("change %s -> %s not kept: %s", previous.mark, release.mark, exc)
                continue
            change = change_entry(
                diff,
                feed=release.feed,
                cloud=release.cloud,
                selected=selected,
                targets=report.targets,
                seen_at=seen_at,
                run_id=report.run_id,
            )
            if change is not None and self.add(change):
                stored.append(change)
        return stored


def _distinct(read: Sequence[Release]) -> list[Release]:
    """One release per feed, cloud and mark (the last read), in the order first read."""
    found: dict[tuple[str, str, str], Release] = {}
    for release in read:
        found[(release.feed, release.cloud, release.mark)] = release
    return list(found.values())
