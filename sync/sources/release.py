"""Where a release comes from (``IPSYNC_SOURCE``, ``--source``): a thin edge over the parser.

It also keeps the parser's verdicts: checking every prefix of a release is the costly part of
reading one, and a weekly release is read by every run until the next. The verdict of a
release is kept by its content key (SHA-256 of the decompressed file and the guards), so a
changed or tampered file never matches an old verdict and is checked again. A release that
passed whole is also kept parsed (``parsed-<key>``, keyed by the SHA-256 of the bytes as read
and the guards), so the next read of the same bytes skips decompressing and decoding too.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from sync.core.feed import Release, ServiceTag, parse_release
from sync.core.redact import mask_url
from sync.errors import SettingsError
from sync.feedsettings import FeedSettings

if TYPE_CHECKING:
    from sync.settings import Settings

log = logging.getLogger(__name__)

#: The file of verdicts in the cache directory, and how many it keeps (newest last).
VERDICTS_FILE = "prefix-verdicts"
MAX_VERDICTS = 32
_KEY = re.compile(r"[0-9a-f]{64}")


def load_release(settings: Settings | FeedSettings) -> Release:
    """Fetch or read the release named by ``settings.source`` and parse it for ``settings.cloud``.

    ``download`` reads the cloud's download page, ``api`` asks the Discovery API (which needs
    the full settings: subscription, endpoint, credential), an ``https://`` URL is fetched as
    it is, anything else is a local file (JSON or legacy XML, optionally .gz/.xz).
    """
    source = settings.source.strip()
    scheme = source.split("://", 1)[0].lower() if "://" in source else ""
    if source == "api":
        from sync.sources.discovery_api import fetch_discovery

        if isinstance(settings, FeedSettings):
            raise SettingsError("IPSYNC_SOURCE api: needs the full settings (a subscription)")
        return fetch_discovery(settings)
    if source == "download" or scheme == "https":
        from sync.sources import download

        if source == "download":
            fetched = download.fetch_latest(settings.cloud, cache_dir=settings.cache_dir)
        else:
            fetched = download.fetch_url(source, cache_dir=settings.cache_dir)
        if fetched.from_cache:
            log.info("%s: not modified (HTTP 304); using the cached copy", fetched.origin)
        data, origin = fetched.data, fetched.origin
    elif scheme:
        raise SettingsError(f"IPSYNC_SOURCE {mask_url(source)}: only https:// URLs are accepted")
    else:
        data, origin = _read_file(Path(source).expanduser()), source
    cache = settings.cache_dir or default_cache_dir()
    key = _parsed_key(data, settings)
    kept = read_parsed(cache, key, mask_url(origin))
    if kept is not None:
        return kept
    trusted = read_verdicts(cache)
    release = parse_release(
        data, origin=origin, cloud=settings.cloud, trusted=trusted, **guards(settings)
    )
    if release.verdict is not None:
        if release.verdict not in trusted:
            write_verdicts(cache, [*trusted, release.verdict])
        if release.kind == "json":  # an XML release's change number comes from its file name
            write_parsed(cache, key, release)
    return release


#: Parsed releases kept in the cache folder (each is a few MB).
MAX_PARSED = 3
PARSED_PREFIX = "parsed-"
#: Bumped whenever the kept form or what the parser checks changes.
PARSED_VERSION = 1


def _parsed_key(data: bytes, settings: Settings | FeedSettings) -> str:
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
        cloud, change_number, kind, verdict, tags = marshal.loads(data)
        parsed = {t[0]: ServiceTag(*t) for t in tags}
    except (ValueError, TypeError, EOFError):
        return None
    return Release(cloud, change_number, origin, kind, parsed, verdict)


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


def guards(settings: Settings | FeedSettings) -> dict[str, int]:
    """The plausibility bounds every source is parsed with."""
    return {
        "min_prefixlen_v4": settings.min_prefixlen_v4,
        "min_prefixlen_v6": settings.min_prefixlen_v6,
    }


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


def ours_alone(status: os.stat_result) -> bool:
    """Owned by this user and writable by nobody else (group and others may not write)."""
    mine = not hasattr(os, "getuid") or status.st_uid == os.getuid()
    return mine and not status.st_mode & 0o022


def private_dir(path: Path) -> bool:
    """Create the cache folder for this user alone (0700) if missing; True when it is safe.

    Cached files are trusted (a body is served on HTTP 304, a verdict skips the prefix
    check), so a folder another user could write to, such as a pre-created one in a shared
    temp dir, is not used; that only costs a download or a check.
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
    """The file's bytes if it and its folder are ours alone (:func:`ours_alone`), else None.

    The file is checked as opened (``fstat``), so it cannot be swapped between check and read.
    """
    try:
        folder = path.parent.stat()
        with path.open("rb") as file:
            status = os.fstat(file.fileno())
            data = file.read()
    except OSError:
        return None
    if not (ours_alone(folder) and ours_alone(status)):
        log.warning("%s: written by another user or writable by others; ignored", path)
        return None
    return data


def _read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise SettingsError(
            f"IPSYNC_SOURCE {path}: cannot read the file ({exc.strerror})"
        ) from None
