"""What the Azure feed keeps of a release it checked: its verdict, and the release parsed.

Checking every prefix is the costly part of reading a release, and a weekly release is read by
every run until the next. The verdict of a release is kept by its content key (SHA-256 of the
decompressed file and the guards), so a changed or tampered file never matches an old verdict
and is checked again. A release that passed whole is also kept parsed (``parsed-<key>``, keyed
by the SHA-256 of the bytes as read and the guards), each tag apart, so the next read of the
same bytes skips decompressing and decoding and decodes only the tags it uses. Its prefixes are
kept too (``checked-prefixes``, with the guards they passed), so the next release is checked
for the prefixes it adds: a week adds a few dozen of some 50,000. All live in the owner-only
cache folder (:mod:`sync.feeds.cache`).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from sync.core.feed import Release, ServiceTag
from sync.errors import FeedError
from sync.feeds.cache import private_dir, read_private, write_atomically
from sync.logs import get_logger

if TYPE_CHECKING:
    from sync.feeds.base import AnySettings

log = get_logger(__name__)

#: The file of verdicts in the cache directory, and how many it keeps (newest last).
VERDICTS_FILE = "prefix-verdicts"
MAX_VERDICTS = 32
_KEY = re.compile(r"[0-9a-f]{64}")


#: Parsed releases kept in the cache folder (each is a few MB).
MAX_PARSED = 3
PARSED_PREFIX = "parsed-"
#: Bumped whenever the kept form or what the parser checks changes.
PARSED_VERSION = 3
#: The prefixes of the last release that passed whole, under the guards they passed.
CHECKED_FILE = "checked-prefixes"


def parsed_key(data: bytes, settings: AnySettings) -> str:
    import hashlib

    # marshal's format belongs to the Python version that wrote it.
    digest = hashlib.sha256(
        f"ipsync parsed release {PARSED_VERSION} python {sys.version_info[:2]}\n"
        f"cloud={settings.cloud}\n"
        f"v4={settings.min_prefixlen_v4}\nv6={settings.min_prefixlen_v6}\n".encode()
    )
    digest.update(data)
    return digest.hexdigest()


class KeptTags(Mapping[str, ServiceTag]):
    """The tags of a kept release, in document order, each decoded when first asked for: a run
    that selects one tag decodes that tag alone."""

    def __init__(self, names: list[str], ends: list[int], body: memoryview, where: Path) -> None:
        self._at = dict(zip(names, range(len(names)), strict=True))
        self._ends, self._body, self._where = ends, body, where
        self._decoded: dict[str, ServiceTag] = {}

    def __getitem__(self, name: str) -> ServiceTag:
        tag = self._decoded.get(name)
        if tag is None:
            import marshal

            at = self._at[name]
            start = self._ends[at - 1] if at else 0
            try:
                tag = ServiceTag(*marshal.loads(self._body[start : self._ends[at]]))
            except (ValueError, TypeError, EOFError):
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


def read_parsed(cache_dir: Path, key: str, origin: str) -> Release | None:
    """The release kept for ``key``, read from ``origin`` this time; None when there is none,
    or it is unsafe (:func:`read_private`) or unreadable. Its tags are decoded as used."""
    import marshal

    path = cache_dir / f"{PARSED_PREFIX}{key}"
    data = read_private(path)
    if data is None:
        return None
    view = memoryview(data)
    try:
        size = int.from_bytes(view[:8], "little")
        cloud, change_number, kind, verdict, mark, names, ends = marshal.loads(view[8 : 8 + size])
        body = view[8 + size :]
        if len(names) != len(ends) or len(body) != (ends[-1] if ends else 0):
            return None
    except (ValueError, TypeError, EOFError):
        return None
    tags = KeptTags(names, ends, body, path)
    return Release(cloud, change_number, origin, kind, tags, verdict, mark=mark)


def write_parsed(cache_dir: Path, key: str, release: Release) -> None:
    """Keep a release that passed whole, each tag apart (:class:`KeptTags`); the oldest kept
    ones beyond :data:`MAX_PARSED` go."""
    import marshal
    from itertools import accumulate

    blobs = [marshal.dumps(tuple(tag)) for tag in release.tags.values()]
    header = marshal.dumps(
        (
            release.cloud,
            release.change_number,
            release.kind,
            release.verdict,
            release.mark,
            list(release.tags),
            list(accumulate(map(len, blobs))),
        )
    )
    _keep(cache_dir, f"{PARSED_PREFIX}{key}", [len(header).to_bytes(8, "little"), header, *blobs])
    try:
        kept = sorted(
            (
                p
                for p in cache_dir.glob(f"{PARSED_PREFIX}*")
                if _KEY.fullmatch(p.name[len(PARSED_PREFIX) :])
            ),
            key=lambda p: p.stat().st_mtime,
        )
        for old in kept[:-MAX_PARSED]:
            old.unlink(missing_ok=True)
    except OSError as error:
        log.info("could not tidy the kept releases in %s: %s", cache_dir, error)


def read_checked(cache_dir: Path, guards: tuple[int, ...]) -> list[str]:
    """The prefixes the last release that passed whole held, if it passed under ``guards``;
    none when the file is absent, unsafe (:func:`read_private`), unreadable or of other
    guards. The file is text: the guards on its first line, then one prefix a line."""
    data = read_private(cache_dir / CHECKED_FILE)
    try:
        lines = data.decode("ascii").split("\n") if data is not None else []
    except UnicodeDecodeError:
        return []
    return lines[1:] if lines and lines[0] == _guards_line(guards) else []


def write_checked(cache_dir: Path, guards: tuple[int, ...], release: Release) -> None:
    """Keep the prefixes of a release that passed whole under ``guards`` (replacing those of
    the release before): the next release is checked for the prefixes it adds."""
    if release.checked is not None:
        text = "\n".join([_guards_line(guards), *release.checked])
        _keep(cache_dir, CHECKED_FILE, [text.encode("ascii")])


def _guards_line(guards: tuple[int, ...]) -> str:
    return "guards " + " ".join(map(str, guards))


def _keep(cache_dir: Path, name: str, parts: list[bytes]) -> None:
    """Write ``name`` whole (owner-only, replaced at once); a failure only costs time later."""
    if not private_dir(cache_dir):
        return
    try:
        write_atomically(cache_dir / name, parts, durable=False)
    except OSError as error:
        log.info("could not keep %s in %s: %s", name, cache_dir, error)


def read_verdicts(cache_dir: Path) -> list[str]:
    """The kept verdict keys, oldest first; none when the file is absent, unreadable or unsafe.

    Only a file nobody else could have written counts (:func:`read_private`): its keys let a
    release skip the prefix check.
    """
    data = read_private(cache_dir / VERDICTS_FILE)
    try:
        text = data.decode("ascii") if data is not None else ""
    except UnicodeDecodeError:
        return []
    return list(dict.fromkeys(filter(_KEY.fullmatch, text.split())))


def write_verdicts(cache_dir: Path, keys: list[str]) -> None:
    """Keep the newest :data:`MAX_VERDICTS` keys (replaced whole); a failure only costs a check."""
    _keep(cache_dir, VERDICTS_FILE, ["".join(f"{key}\n" for key in keys[-MAX_VERDICTS:]).encode()])
