"""What the Azure feed keeps of a release it checked: its verdict, and the release parsed.

Checking every prefix is the costly part of reading a release, and a weekly release is read by
every run until the next. The verdict of a release is kept by its content key (SHA-256 of the
decompressed file and the guards), so a changed or tampered file never matches an old verdict
and is checked again. A release that passed whole is also kept parsed (``parsed-<key>``, keyed
by the SHA-256 of the bytes as read and the guards), so the next read of the same bytes skips
decompressing and decoding too. Both live in the owner-only cache folder
(:mod:`sync.feeds.cache`).
"""

from __future__ import annotations

import logging
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from sync.core.feed import Release, ServiceTag
from sync.feeds.cache import private_dir, read_private

if TYPE_CHECKING:
    from sync.feeds.base import AnySettings

log = logging.getLogger(__name__)

#: The file of verdicts in the cache directory, and how many it keeps (newest last).
VERDICTS_FILE = "prefix-verdicts"
MAX_VERDICTS = 32
_KEY = re.compile(r"[0-9a-f]{64}")


#: Parsed releases kept in the cache folder (each is a few MB).
MAX_PARSED = 3
PARSED_PREFIX = "parsed-"
#: Bumped whenever the kept form or what the parser checks changes.
PARSED_VERSION = 2


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


def read_parsed(cache_dir: Path, key: str, origin: str) -> Release | None:
    """The release kept for ``key``, read from ``origin`` this time; None when there is none,
    or it is unsafe (:func:`read_private`) or unreadable."""
    import marshal

    data = read_private(cache_dir / f"{PARSED_PREFIX}{key}")
    if data is None:
        return None
    try:
        cloud, change_number, kind, verdict, mark, tags = marshal.loads(data)
        parsed = {t[0]: ServiceTag(*t) for t in tags}
    except (ValueError, TypeError, EOFError):
        return None
    return Release(cloud, change_number, origin, kind, parsed, verdict, mark=mark)


def write_parsed(cache_dir: Path, key: str, release: Release) -> None:
    """Keep a release that passed whole; the oldest kept ones beyond :data:`MAX_PARSED` go."""
    import marshal
    import tempfile

    if not private_dir(cache_dir):
        return
    body = (
        release.cloud,
        release.change_number,
        release.kind,
        release.verdict,
        release.mark,
        [tuple(tag) for tag in release.tags.values()],
    )
    try:
        fd, temp = tempfile.mkstemp(dir=cache_dir, prefix=PARSED_PREFIX, suffix=".tmp")  # 0600
        with os.fdopen(fd, "wb") as file:
            marshal.dump(body, file)
        os.replace(temp, cache_dir / f"{PARSED_PREFIX}{key}")
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
        log.info("could not keep the parsed release in %s: %s", cache_dir, error)


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
    import tempfile

    if not private_dir(cache_dir):
        return
    try:
        fd, temp = tempfile.mkstemp(dir=cache_dir, prefix=VERDICTS_FILE, suffix=".tmp")  # 0600
    except OSError as error:
        log.info("could not keep the release verdict in %s: %s", cache_dir, error)
        return
    try:
        with os.fdopen(fd, "w", encoding="ascii") as file:
            file.write("".join(f"{key}\n" for key in keys[-MAX_VERDICTS:]))
        os.replace(temp, cache_dir / VERDICTS_FILE)
    except OSError as error:
        Path(temp).unlink(missing_ok=True)
        log.info("could not keep the release verdict in %s: %s", cache_dir, error)
