"""The cache folder every feed keeps its downloads and checked releases in: this user's alone.

Cached files are trusted (a body is served on HTTP 304, a verdict skips the prefix check), so
a folder or file another user could have written is never read; that only costs a download or
a check.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, TypeVar

from sync.logs import get_logger

if TYPE_CHECKING:
    from mmap import mmap

log = get_logger(__name__)
_T = TypeVar("_T")


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/ipsync`` or ``~/.cache/ipsync``; the temp dir when home is read-only.

    Azure Functions mounts the app read-only, and a missing cache only costs a full download.
    """
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    preferred = Path(base) / "ipsync"
    try:
        preferred.mkdir(parents=True, exist_ok=True)
    except OSError:
        pass
    else:
        if os.access(preferred, os.W_OK):
            return preferred
    import tempfile  # imported when needed: reading a release should stay cheap

    return Path(tempfile.gettempdir()) / "ipsync"


def ours_alone(status: os.stat_result) -> bool:
    """Owned by this user and writable by nobody else (group and others may not write)."""
    mine = not hasattr(os, "getuid") or status.st_uid == os.getuid()
    return mine and not status.st_mode & 0o022


def private_dir(path: Path) -> bool:
    """Create the cache folder for this user alone (0700) if missing; True when it is safe.

    A folder another user could write to, such as a pre-created one in a shared temp dir, is
    not used.
    """
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        status = path.stat()
    except OSError as error:
        log.info("cache folder %s is unusable: %s", path, error)
        return False
    if not ours_alone(status):
        log.warning("%s: owned by another user or writable by others; not used as cache", path)
        return False
    return True


def read_private(path: Path) -> bytes | None:
    """The file's bytes if it and its folder are ours alone (:func:`ours_alone`), else None."""
    return _private(path, lambda file: file.read())


def map_private(path: Path) -> mmap | None:
    """:func:`read_private`, mapped rather than read: a kept release of 4 MB of which a run
    decodes a few tags is read as far as it is used. ipsync replaces its files by renaming,
    never in place, so what is mapped does not change under the reader."""

    def mapped(file: BinaryIO) -> mmap:
        import mmap as mapping

        return mapping.mmap(file.fileno(), 0, access=mapping.ACCESS_READ)

    return _private(path, mapped)


def _private(path: Path, take: Callable[[BinaryIO], _T]) -> _T | None:
    """What ``take`` makes of the file if it and its folder are ours alone, else None. The
    file is checked as opened (``fstat``), so it cannot be swapped between check and read."""
    try:
        folder = path.parent.stat()
        with path.open("rb") as file:
            status = os.fstat(file.fileno())
            if not (ours_alone(folder) and ours_alone(status)):
                log.warning("%s: written by another user or writable by others; ignored", path)
                return None
            return take(file)
    except (OSError, ValueError):  # ValueError: an empty file cannot be mapped
        return None


def write_atomically(path: Path, data: bytes | list[bytes], *, durable: bool = True) -> None:
    """Replace ``path`` whole (0600): a crash or a concurrent writer never leaves half a file.

    ``durable`` waits for the disk before the rename; a file that only saves time later (a
    kept release) does without. The temporary name is this process's own (no ``tempfile``
    import: the quick path of the command line writes here).
    """
    import time

    temp = path.with_name(f"{path.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as file:
            file.writelines([data] if isinstance(data, bytes) else data)
            if durable:
                file.flush()
                os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
