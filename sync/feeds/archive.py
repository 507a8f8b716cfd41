"""The release archive: past releases of any feed, so that "what changed" has two sides.

Microsoft's download page links only the newest release, so the one before it must have been
archived when it was read. Each release is archived once (by content), as a service-tags
document (compressed), beside a small record of where it came from; only the newest
:data:`MAX_ARCHIVED` stay, each at most :data:`MAX_ARCHIVED_BYTES`. A release of any feed is
archived the same way, through the release model.

The layout is the same wherever the files live (a :class:`Shelf`): :class:`FolderShelf` keeps
them in a folder of the cache for the command line (``<cache>/releases/``), which must be this
user's alone, as the cache is; the Functions app keeps them as blobs (``releases/...``). The
feed's own :mod:`sync.feeds.azure.kept` is another thing: the verdicts of checked releases and
parsed copies that spare the next read its work.
"""

from __future__ import annotations

import hashlib
import json
import logging
import lzma
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from sync.errors import FeedError

if TYPE_CHECKING:
    from sync.core.feed import Release

log = logging.getLogger(__name__)

#: Releases archived (the newest); a week's release is read by every run until the next.
MAX_ARCHIVED = 8
#: Largest compressed document archived (a Public release is about 0.4 MB).
MAX_ARCHIVED_BYTES = 16 * 1024 * 1024
#: The folder, under the cache folder (and the blob prefix in the app's container).
FOLDER = "releases"
#: ``<UTC time archived>-<first 16 hex digits of the content key>``: names sort by that time.
NAME = re.compile(r"^\d{8}T\d{12}Z-[0-9a-f]{16}$")
BODY, META = ".json.xz", ".json"


class ArchivedRelease(NamedTuple):
    """What is known of an archived release without reading it."""

    name: str
    mark: str
    cloud: str
    kind: str
    feed: str
    change_number: int | str
    origin: str
    kept_at: str
    #: SHA-256 of the (uncompressed) document: equal means the same release.
    sha256: str

    def record(self) -> dict[str, Any]:
        return self._asdict()


class Kept(NamedTuple):
    """A release in the archive, and the one before it there."""

    entry: ArchivedRelease
    #: True when this call archived it; False when the same content was archived before.
    new: bool
    #: The newest other archived release of its feed and cloud, if any.
    before: ArchivedRelease | None


class Shelf(Protocol):
    """Where the archive's files live: named byte strings, listed, read, written, deleted."""

    def names(self) -> list[str]:
        """Every file name on the shelf (any order); none when the shelf does not exist yet."""
        ...

    def read(self, name: str) -> bytes | None:
        """The file, or None when it is missing (or not to be trusted)."""
        ...

    def write(self, name: str, data: bytes) -> bool:
        """Replace the file whole; False when the shelf cannot be written."""
        ...

    def delete(self, name: str) -> None:
        """Remove the file; a missing one is fine."""
        ...


def document(release: Release) -> bytes:
    """The release as a service-tags JSON document, the same bytes for the same content.

    Tags stay in release order with every field the model holds; absent optional fields are
    left out, as :func:`release_of` reads them back as absent.
    """
    values = []
    for tag in release.tags.values():
        properties: dict[str, Any] = {
            "changeNumber": tag.change_number,
            "region": tag.region,
            "systemService": tag.system_service,
            "addressPrefixes": tag.address_prefixes,
        }
        optional = {
            "regionId": tag.region_id,
            "networkFeatures": tag.network_features,
            "state": tag.state,
        }
        properties.update({k: v for k, v in optional.items() if v is not None})
        values.append({"name": tag.name, "id": tag.name, "properties": properties})
    body = {"changeNumber": release.change_number, "cloud": release.cloud, "values": values}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def release_of(body: bytes, entry: ArchivedRelease) -> Release:
    """The release of an archived document whose content key matched its record.

    The feed checked it when it was first read, under the settings of that run; this module
    wrote it, so it is read back as written, whatever feed or series its mark belongs to.
    """
    from sync.core.feed import Release, ServiceTag

    tags = {}
    for value in json.loads(body)["values"]:
        fields = value["properties"]
        tags[value["name"]] = ServiceTag(
            value["name"],
            fields["region"],
            fields["systemService"],
            fields["changeNumber"],
            fields["addressPrefixes"],
            fields.get("regionId"),
            fields.get("networkFeatures"),
            fields.get("state"),
        )
    return Release(
        entry.cloud,
        entry.change_number,
        entry.origin,
        entry.kind,
        tags,
        mark=entry.mark,
        feed=entry.feed,
    )


def entry_name(kept_at: datetime, sha256: str) -> str:
    """The name of a release archived at ``kept_at`` (UTC): sortable by it, unique by content."""
    return f"{kept_at.astimezone(UTC):%Y%m%dT%H%M%S%f}Z-{sha256[:16]}"


def to_drop(names: list[str], keep: int = MAX_ARCHIVED) -> list[str]:
    """The names beyond the newest ``keep`` (names sort by the time they were archived)."""
    return sorted(names)[:-keep] if keep > 0 else sorted(names)


def _before(entries: list[ArchivedRelease], latest: Release, digest: str) -> ArchivedRelease | None:
    same = (latest.feed, latest.cloud)
    older = [e for e in entries if (e.feed, e.cloud) == same and e.sha256 != digest]
    return older[-1] if older else None


def content_key(release: Release) -> str:
    """SHA-256 of the release's document: equal means the same release."""
    return hashlib.sha256(document(release)).hexdigest()


class ReleaseArchive:
    """Archived releases on a shelf: ``<name>.json.xz`` (the document) and ``<name>.json``
    (its record). The record is written last, so a release is listed only once whole."""

    def __init__(self, shelf: Shelf, keep: int = MAX_ARCHIVED) -> None:
        if keep < 1:
            raise ValueError("at least one release must be archived")
        self.shelf = shelf
        self.keep_count = keep

    def entries(self) -> list[ArchivedRelease]:
        """The archived releases whose records are readable, oldest first."""
        found = []
        for file in sorted(self.shelf.names()):
            name = file.removesuffix(META)
            if file == name or not NAME.match(name):
                continue
            data = self.shelf.read(file)
            try:
                entry = ArchivedRelease(**json.loads(data)) if data is not None else None
            except (ValueError, TypeError):
                entry = None
            if entry is not None and entry.name == name:
                found.append(entry)
        return found

    def keep(self, release: Release, now: datetime | None = None) -> Kept | None:
        """Archive ``release`` unless the same content is archived already; with the one
        before it (:meth:`before`).

        None when it could not be archived (a shelf that cannot be written, a document beyond
        :data:`MAX_ARCHIVED_BYTES`): that only leaves "the one before" unknown.
        """
        body = document(release)
        digest = hashlib.sha256(body).hexdigest()
        entries = self.entries()
        before = _before(entries, release, digest)
        known = next((e for e in entries if e.sha256 == digest), None)
        if known is not None:
            return Kept(known, False, before)
        packed = lzma.compress(body, preset=1)  # ~0.2 s for a Public release; preset 6: 1.2 s
        if len(packed) > MAX_ARCHIVED_BYTES:
            log.warning(
                "release %s not archived: %d bytes compressed, more than MAX_ARCHIVED_BYTES (%d)",
                release.mark,
                len(packed),
                MAX_ARCHIVED_BYTES,
            )
            return None
        now = now or datetime.now(UTC)
        entry = ArchivedRelease(
            name=entry_name(now, digest),
            mark=release.mark,
            cloud=release.cloud,
            kind=release.kind,
            feed=release.feed,
            change_number=release.change_number,
            origin=release.origin,
            kept_at=now.astimezone(UTC).isoformat(timespec="seconds"),
            sha256=digest,
        )
        record = json.dumps(entry.record()).encode()
        if not (
            self.shelf.write(f"{entry.name}{BODY}", packed)
            and self.shelf.write(f"{entry.name}{META}", record)
        ):
            return None
        for name in to_drop([*(e.name for e in entries), entry.name], self.keep_count):
            for suffix in (META, BODY):  # the record first: a half-dropped entry is not listed
                self.shelf.delete(f"{name}{suffix}")
        return Kept(entry, True, before)

    def before(self, latest: Release) -> ArchivedRelease | None:
        """The newest archived release of ``latest``'s feed and cloud with other content: the
        one before it."""
        return _before(self.entries(), latest, content_key(latest))

    def load(self, entry: ArchivedRelease) -> Release:
        """The archived release, checked against its content key; a one-line error otherwise."""
        packed = self.shelf.read(f"{entry.name}{BODY}")
        try:
            body = lzma.decompress(packed) if packed is not None else None
        except lzma.LZMAError:
            body = None
        if body is None or hashlib.sha256(body).hexdigest() != entry.sha256:
            raise FeedError(
                f"archived release {entry.mark} ({entry.name}{BODY}) is missing or damaged"
            )
        return release_of(body, entry)


class FolderShelf:
    """A folder of the cache, this user's alone (0700; files 0600): a folder or file another
    user could have written is neither used nor read."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def __str__(self) -> str:
        return str(self.folder)

    def names(self) -> list[str]:
        try:
            return [path.name for path in self.folder.iterdir() if path.is_file()]
        except OSError:
            return []

    def read(self, name: str) -> bytes | None:
        from sync.feeds.cache import read_private

        return read_private(self.folder / name)

    def write(self, name: str, data: bytes) -> bool:
        from sync.feeds.cache import private_dir, write_atomically

        if not private_dir(self.folder):
            return False
        try:
            write_atomically(self.folder / name, data)
        except OSError as error:
            log.info("could not archive %s in %s: %s", name, self.folder, error)
            return False
        return True

    def delete(self, name: str) -> None:
        (self.folder / name).unlink(missing_ok=True)


def cache_archive(cache_dir: Path) -> ReleaseArchive:
    """The command line's archive: ``<cache dir>/releases/``."""
    return ReleaseArchive(FolderShelf(cache_dir / FOLDER))
