"""Where a release comes from (``IPSYNC_SOURCE``, ``--source``): a thin edge over the parser."""

from __future__ import annotations

import logging
from pathlib import Path

from sync.core.feed import Release, parse_release
from sync.errors import SettingsError
from sync.settings import Settings

log = logging.getLogger(__name__)


def load_release(settings: Settings) -> Release:
    """Fetch or read the release named by ``settings.source`` and parse it for ``settings.cloud``.

    ``download`` reads the cloud's download page, ``api`` asks the Discovery API, an
    ``https://`` URL is fetched as it is, anything else is a local file (JSON or legacy XML,
    optionally .gz/.xz).
    """
    source = settings.source.strip()
    scheme = source.split("://", 1)[0].lower() if "://" in source else ""
    if source == "api":
        from sync.sources.discovery_api import fetch_discovery

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
        raise SettingsError(f"IPSYNC_SOURCE {source}: only https:// URLs are accepted")
    else:
        data, origin = _read_file(Path(source).expanduser()), source
    return parse_release(data, origin=origin, cloud=settings.cloud, **guards(settings))


def guards(settings: Settings) -> dict[str, int]:
    """The plausibility bounds every source is parsed with."""
    return {
        "min_prefixlen_v4": settings.min_prefixlen_v4,
        "min_prefixlen_v6": settings.min_prefixlen_v6,
    }


def _read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise SettingsError(
            f"IPSYNC_SOURCE {path}: cannot read the file ({exc.strerror})"
        ) from None
