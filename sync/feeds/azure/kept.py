"""What the Azure feed keeps of a release it checked: its verdict, and the release itself.

Checking every prefix is the costly part of reading a release, and a weekly release is read by
every run until the next. The verdict of a release is kept by its content key (SHA-256 of the
file's bytes and the guards), so a changed or tampered file never matches an old verdict
and is checked again. A release that passed whole is also kept as its text with each tag's span
(``parsed-<key>``, keyed by the SHA-256 of the bytes as read and the guards): the next read of
the same bytes skips decompressing and decoding, and decodes only the tags it uses; the next
release takes each tag of the same bytes as it is (:mod:`sync.feeds.azure.skim`) and checks the
others for the prefixes they add: a week changes about a hundred of some 3,000 tags. A local
file read again is found without reading or hashing it, by what the kernel says of it
(:func:`file_identity`), as make and git find unchanged files. All live in the owner-only cache
folder (:mod:`sync.feeds.cache`).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from sync.core.feed import Release
from sync.feeds.azure.layout import Layout, LazyTags
from sync.feeds.cache import map_private, private_dir, read_private, write_atomically
from sync.logs import get_logger

if TYPE_CHECKING:
    from mmap import mmap

    from sync.feeds.base import AnySettings

log = get_logger(__name__)

#: The file of verdicts in the cache directory, and how many it keeps (newest last).
VERDICTS_FILE = "prefix-verdicts"
MAX_VERDICTS = 32
_KEY = re.compile(r"[0-9a-f]{64}")


#: Releases kept in the cache folder (each is about as large as the decompressed file).
MAX_PARSED = 3
PARSED_PREFIX = "parsed-"
#: Bumped whenever the kept form or what the parser checks changes.
PARSED_VERSION = 4


#: Local files found by what the kernel says of them, and how many are remembered.
FILES_FILE = "parsed-files"
MAX_FILES = 16
#: A file changed this recently is not remembered by its identity: a change within the file
#: system's timestamp granularity may leave its times as they were.
RACY_S = 2.0


def file_identity(path: Path, settings: AnySettings) -> str | None:
    """A local release file as the kernel describes it: device, inode, size, and the times of
    its last write and last change, with what else its kept form depends on (:func:`_form`).
    A writer cannot keep them all: the change time (ctime) is the kernel's, set on every
    write, rename or ``utime``. None when the file changed in the last :data:`RACY_S` seconds,
    or cannot be read, and on Windows (where ``st_ctime`` is the time the file was made, which
    a rewrite keeps). Where a file system keeps no change time of its own, a rewrite of the
    same size with its write time put back goes unseen: the release read before is used, never
    the unread bytes."""
    import time

    if os.name == "nt":
        return None
    try:
        status = os.stat(path)
    except OSError:
        return None
    if time.time_ns() - max(status.st_mtime_ns, status.st_ctime_ns) < RACY_S * 1e9:
        return None
    return (
        f"{_form(settings)}dev={status.st_dev}\nino={status.st_ino}\nsize={status.st_size}\n"
        f"mtime={status.st_mtime_ns}\nctime={status.st_ctime_ns}\n"
    )


def _files(cache_dir: Path) -> dict[str, str]:
    """The remembered files: identity to the key of their kept release, oldest first."""
    import marshal

    data = read_private(cache_dir / FILES_FILE)
    try:
        found = marshal.loads(data) if data is not None else {}
    except (ValueError, TypeError, EOFError):
        return {}
    if not isinstance(found, dict):
        return {}
    return {k: v for k, v in found.items() if isinstance(k, str) and isinstance(v, str)
            and _KEY.fullmatch(v)}  # fmt: skip


def file_key(cache_dir: Path, identity: str) -> str | None:
    """The key of the release kept for the file of ``identity``, when remembered."""
    return _files(cache_dir).get(identity)


def remember_file(cache_dir: Path, identity: str, key: str) -> None:
    """Remember the file of ``identity`` as holding the release kept as ``key`` (the newest
    :data:`MAX_FILES`)."""
    import marshal

    files = _files(cache_dir)
    if files.get(identity) == key:
        return
    files.pop(identity, None)
    files[identity] = key
    _keep(cache_dir, FILES_FILE, [marshal.dumps(dict(list(files.items())[-MAX_FILES:]))])


def parsed_key(data: bytes, settings: AnySettings) -> str:
    import hashlib

    digest = hashlib.sha256(_form(settings).encode())
    digest.update(data)
    return digest.hexdigest()


def _form(settings: AnySettings) -> str:
    """What a kept release depends on besides the file: its form's version, the Python that
    wrote it (marshal's format is that version's) and the settings it was checked under."""
    return (
        f"ipsync parsed release {PARSED_VERSION} python {sys.version_info[:2]}\n"
        f"cloud={settings.cloud}\n"
        f"v4={settings.min_prefixlen_v4}\nv6={settings.min_prefixlen_v6}\n"
    )


class _Kept:
    """A kept release as read: its fields, the guards it passed, and its layout."""

    def __init__(self, path: Path, data: bytes | mmap) -> None:
        import marshal

        view = memoryview(data)
        size = int.from_bytes(view[:8], "little")
        fields = marshal.loads(view[8 : 8 + size])
        (self.cloud, self.change_number, self.kind, self.verdict, self.mark, guards, names,
         starts, ends, counts, length) = fields  # fmt: skip
        self.guards = tuple(guards)
        body = view[8 + size :]
        if len(body) != length or not len(names) == len(starts) == len(ends) == len(counts):
            raise ValueError(path)
        self.layout = Layout(body, names, starts, ends, counts)


def _read(path: Path) -> _Kept | None:
    """The kept release at ``path``; None when it is unsafe (:func:`map_private`), of another
    form, or cut short."""
    data = map_private(path)
    if data is None:
        return None
    try:
        return _Kept(path, data)
    except (ValueError, TypeError, EOFError):
        return None


def read_parsed(cache_dir: Path, key: str, origin: str) -> Release | None:
    """The release kept for ``key``, read from ``origin`` this time; None when there is none,
    or it is unsafe or unreadable (:func:`_read`). Its tags are decoded as used."""
    path = cache_dir / f"{PARSED_PREFIX}{key}"
    kept = _read(path)
    if kept is None:
        return None
    from sync.feeds.azure.fields import tag_of

    tags = LazyTags(kept.layout, str(path), tag_of)
    return Release(kept.cloud, kept.change_number, origin, kept.kind, tags, kept.verdict,
                   mark=kept.mark)  # fmt: skip


def read_known(cache_dir: Path, guards: tuple[int, ...]) -> Layout | None:
    """The newest kept release that passed under ``guards``: a new release takes its tags of
    the same bytes as they are (:func:`sync.feeds.azure.parse.parse_release`)."""
    for path in reversed(_kept_files(cache_dir)):
        kept = _read(path)
        if kept is not None and kept.guards == guards:
            return kept.layout
    return None


def _kept_files(cache_dir: Path) -> list[Path]:
    """The kept releases, oldest first."""
    try:
        found = [(p.stat().st_mtime, p) for p in cache_dir.glob(f"{PARSED_PREFIX}*")
                 if _KEY.fullmatch(p.name[len(PARSED_PREFIX) :])]  # fmt: skip
    except OSError as error:
        log.info("could not list the kept releases in %s: %s", cache_dir, error)
        return []
    return [p for _, p in sorted(found)]


def write_parsed(
    cache_dir: Path, key: str, release: Release, layout: Layout, guards: tuple[int, ...]
) -> None:
    """Keep a release that passed whole under ``guards``, as its text and each tag's span
    (:class:`sync.feeds.azure.layout.LazyTags`); the oldest kept ones beyond :data:`MAX_PARSED`
    go."""
    import marshal

    header = marshal.dumps(
        (
            release.cloud,
            release.change_number,
            release.kind,
            release.verdict,
            release.mark,
            guards,
            layout.names,
            layout.starts,
            layout.ends,
            layout.counts,
            len(layout.text),
        )
    )
    _keep(cache_dir, f"{PARSED_PREFIX}{key}",
          [len(header).to_bytes(8, "little"), header, bytes(layout.text)])  # fmt: skip
    try:
        for old in _kept_files(cache_dir)[:-MAX_PARSED]:
            old.unlink(missing_ok=True)
    except OSError as error:
        log.info("could not tidy the kept releases in %s: %s", cache_dir, error)


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
