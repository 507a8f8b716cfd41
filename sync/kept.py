"""Kept releases: the last few releases ipsync read, so that "what changed" has two sides.

Microsoft's download page links only the newest release, so the one before it must have been
kept when it was read. Each release is kept once (by content), as a service-tags document
(compressed), beside a small record of where it came from; only the newest :data:`MAX_KEPT`
stay. A release of any feed is kept the same way, through the release model.

The document, its content key and the names are pure (:func:`document`, :func:`entry_name`,
:func:`to_drop`), so a blob store can keep the same layout; :class:`KeptFolder` keeps them in a
folder of the cache, which must be this user's alone, as the cache is.
"""

from __future__ import annotations

import hashlib
import json
import logging
import lzma
import os
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from sync.errors import FeedError

if TYPE_CHECKING:
    from sync.core.feed import Release

log = logging.getLogger(__name__)

#: Releases kept (newest first); a week's release is read by every run until the next.
MAX_KEPT = 8
#: Largest compressed document kept (a Public release is about 0.4 MB).
MAX_KEPT_BYTES = 16 * 1024 * 1024
#: The folder, under the cache folder, that holds them.
FOLDER = "releases"
#: ``<UTC time kept>-<first 16 hex digits of the content key>``: names sort by time kept.
NAME = re.compile(r"^\d{8}T\d{12}Z-[0-9a-f]{16}$")
BODY, META = ".json.xz", ".json"


class KeptRelease(NamedTuple):
    """What is known of a kept release without reading it."""

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


def document(release: Release) -> bytes:
    """The release as a service-tags JSON document, the same bytes for the same content.

    Tags stay in release order with every field the model holds; absent optional fields are
    left out, as the parser reads them back as absent.
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


def entry_name(kept_at: datetime, sha256: str) -> str:
    """The name of a release kept at ``kept_at`` (UTC): sortable by that time, unique by content."""
    return f"{kept_at.astimezone(UTC):%Y%m%dT%H%M%S%f}Z-{sha256[:16]}"


def to_drop(names: list[str], keep: int = MAX_KEPT) -> list[str]:
    """The names beyond the newest ``keep`` (names sort by the time they were kept)."""
    return sorted(names)[:-keep] if keep > 0 else sorted(names)


def kept_folder(cache_dir: Path) -> Path:
    return cache_dir / FOLDER


class KeptFolder:
    """Kept releases in a folder: ``<name>.json.xz`` (the document) and ``<name>.json`` (its
    record). The record is written last, so a release is listed only once whole."""

    def __init__(self, folder: Path, keep: int = MAX_KEPT) -> None:
        if keep < 1:
            raise ValueError("at least one release must be kept")
        self.folder = folder
        self.keep_count = keep

    def entries(self) -> list[KeptRelease]:
        """The kept releases whose records are readable and ours alone, oldest first."""
        from sync.feeds.cache import read_private

        found = []
        try:
            paths = sorted(self.folder.glob(f"*{META}"))
        except OSError:
            return []
        for path in paths:
            name = path.name.removesuffix(META)
            if not NAME.match(name):
                continue
            data = read_private(path)
            try:
                entry = KeptRelease(**json.loads(data)) if data is not None else None
            except (ValueError, TypeError):
                entry = None
            if entry is not None and entry.name == name:
                found.append(entry)
        return found

    def find(self, sha256: str) -> KeptRelease | None:
        return next((e for e in self.entries() if e.sha256 == sha256), None)

    def keep(self, release: Release, now: datetime | None = None) -> KeptRelease | None:
        """Keep ``release`` unless the same content is kept already (that entry is returned).

        None when it could not be kept (a folder that is not ours alone, a full disk, a
        document beyond :data:`MAX_KEPT_BYTES`): that only leaves "the one before" unknown.
        """
        from sync.feeds.cache import private_dir

        body = document(release)
        digest = hashlib.sha256(body).hexdigest()
        known = self.find(digest)
        if known is not None:
            return known
        packed = lzma.compress(body, preset=1)  # ~0.1 s for a Public release; preset 6: 1.2 s
        if len(packed) > MAX_KEPT_BYTES:
            log.warning(
                "release %s not kept: %d bytes compressed, more than MAX_KEPT_BYTES (%d)",
                release.change_number,
                len(packed),
                MAX_KEPT_BYTES,
            )
            return None
        now = now or datetime.now(UTC)
        entry = KeptRelease(
            name=entry_name(now, digest),
            mark=release.mark,
            feed=release.feed,
            cloud=release.cloud,
            kind=release.kind,
            change_number=release.change_number,
            origin=release.origin,
            kept_at=now.astimezone(UTC).isoformat(timespec="seconds"),
            sha256=digest,
        )
        if not private_dir(self.folder):
            return None
        try:
            _write(self.folder / f"{entry.name}{BODY}", packed)
            _write(self.folder / f"{entry.name}{META}", json.dumps(entry.record()).encode())
        except OSError as error:
            log.info("could not keep release %s in %s: %s", entry.mark, self.folder, error)
            return None
        self._prune()
        return entry

    def _prune(self) -> None:
        for name in to_drop([e.name for e in self.entries()], self.keep_count):
            for suffix in (META, BODY):  # the record first: a half-dropped entry is not listed
                (self.folder / f"{name}{suffix}").unlink(missing_ok=True)

    def before(self, latest: Release) -> KeptRelease | None:
        """The newest kept release of ``latest``'s feed and cloud with other content: the one
        before."""
        current = hashlib.sha256(document(latest)).hexdigest()
        same = (latest.feed, latest.cloud)
        older = [e for e in self.entries() if (e.feed, e.cloud) == same and e.sha256 != current]
        return older[-1] if older else None

    def load(self, entry: KeptRelease) -> Release:
        """The kept release, checked against its content key; a one-line error otherwise."""
        from sync.feeds.cache import read_private

        path = self.folder / f"{entry.name}{BODY}"
        packed = read_private(path)
        try:
            body = lzma.decompress(packed) if packed is not None else None
        except lzma.LZMAError:
            body = None
        if body is None or hashlib.sha256(body).hexdigest() != entry.sha256:
            raise FeedError(f"kept release {entry.mark} ({path}) is missing or damaged")
        return release_of(body, entry)


def release_of(body: bytes, entry: KeptRelease) -> Release:
    """The release of a kept document whose content key matched its record.

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


def _write(path: Path, data: bytes) -> None:
    """Replace ``path`` whole (0600, as :func:`tempfile.mkstemp` creates it)."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
