"""The Microsoft 365 IP address and URL web service (``https://endpoints.office.com``):
the endpoint sets of an instance (``IPSYNC_M365_INSTANCE``: Worldwide, USGovDoD, USGovGCCHigh,
China), their IP ranges only (URLs are out of scope: an allow-list of addresses cannot hold
them).

The service asks to be polled by version: a run asks ``/version/<instance>`` first (one small
request) and downloads ``/endpoints/<instance>`` only when that version is not already kept
in the cache. Every request carries the ``clientrequestid`` GUID the service asks for,
generated once and kept in the cache folder (or ``IPSYNC_M365_CLIENT_REQUEST_ID``). The mark
is the version (``YYYYMMDDNN``): ``m365-<version>``.

Selectors (:mod:`sync.feeds.m365.select`): ``AREA`` (``Exchange``, ``SharePoint``, ``Skype``,
``Common``), ``AREA.CATEGORY`` (``Exchange.Optimize``; categories ``Optimize``, ``Allow``,
``Default``), each narrowed by ``+required`` (required endpoint sets only) and
``+tcp:PORTS`` / ``+udp:PORTS`` (sets whose ports meet ``443`` or ``3478-3481``), e.g.
``Skype.Optimize+udp:3478-3481`` or ``Common+required+tcp:443``.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any

from sync.core.feed import Release, decode_json, decompress
from sync.core.redact import mask_url
from sync.errors import FeedError
from sync.feeds.base import Feed, Group, build_release, read_source
from sync.feeds.m365.select import EndpointSet, endpoint_set, resolver
from sync.logs import get_logger

if TYPE_CHECKING:
    from pathlib import Path

    import httpx

    from sync.feeds.base import AnySettings

log = get_logger(__name__)

BASE = "https://endpoints.office.com"
#: Where the generated ``clientrequestid`` is kept in the cache folder.
CLIENT_ID_FILE = "m365-clientrequestid"
#: Versions are ``YYYYMMDDNN``: a jump of two years of dates, 20,000,000, is the most a new
#: version may be ahead of the held one (versions come about monthly).
PLAUSIBLE_STEP = 20_000_000
_VERSION = re.compile(r"(\d{8})(\d{2})")
#: Fewest endpoint sets with addresses a plausible answer has (Worldwide had about 30 in
#: 2025); fewer means a partial or wrong answer.
MIN_SETS = 5


class M365Feed(Feed):
    name = "m365"
    title = "Microsoft 365 IP address and URL web service (IPs only)"
    selectors = (
        "AREA (Exchange, SharePoint, Skype, Common), AREA.CATEGORY (Exchange.Optimize), "
        "each with +required, +tcp:PORTS, +udp:PORTS"
    )

    step = PLAUSIBLE_STEP

    def read(
        self, settings: AnySettings, source: str | None, client: httpx.Client | None
    ) -> Release:
        if source:
            data, origin, _ = read_source(source)
            found = _VERSION.search(origin.rsplit("/", 1)[-1])
            if found is None:
                raise FeedError(
                    f"{origin}: the file's name must hold its version (YYYYMMDDNN, as "
                    "endpoints-Worldwide-2025063000.json): the answer itself does not"
                )
            version = parse_version(found[0], origin)
        else:
            data, origin, version = _fetch(settings, client)
        return parse(data, origin, version, settings)


def _fetch(settings: AnySettings, client: httpx.Client | None) -> tuple[bytes, str, int]:
    """The version first; the endpoints only when that version is not kept already."""
    from sync.feeds.fetch import Cache, Entry, client_scope, get, get_text, now

    instance = settings.m365_instance
    guid = settings.m365_client_request_id or client_request_id(settings.cache_dir)
    query = f"?clientrequestid={guid}"
    with client_scope(client) as http:
        text = get_text(http, f"{BASE}/version/{instance}{query}")
        version = _latest(text, instance, f"{BASE}/version/{instance}")
        url = f"{BASE}/endpoints/{instance}{query}"
        cache, key = Cache(settings.cache_dir), f"{url}#version={version}"
        kept = cache.load(key)
        if kept is not None:
            log.info("%s: version %s unchanged; using the kept endpoints", BASE, version)
            return kept.body, kept.origin, version
        answer = get(http, url, {})
    origin = mask_url(answer.url)
    cache.store(key, Entry(origin, None, None, answer.body, now()))
    return answer.body, origin, version


def _latest(text: str, instance: str, origin: str) -> int:
    """The ``latest`` version of the version method's answer, for ``instance``."""
    payload = decode_json(text.encode(), origin, "the version method's answer")
    if not (isinstance(payload, dict) and payload.get("instance") == instance):
        raise FeedError(f"{origin}: not a version answer for instance {instance!r}")
    return parse_version(payload.get("latest"), origin)


def parse_version(value: Any, origin: str) -> int:
    """A version ``YYYYMMDDNN`` (a string, a real date), strictly; else refused, named."""
    found = _VERSION.fullmatch(value) if isinstance(value, str) else None
    try:
        if found is None:
            raise ValueError(value)
        dt.date.fromisoformat(f"{found[1][:4]}-{found[1][4:6]}-{found[1][6:]}")
    except ValueError:
        raise FeedError(
            f"{origin}: version {value!r} is not YYYYMMDDNN; refusing the release (its "
            "release mark must be exact)"
        ) from None
    return int(value)


def parse(data: bytes, origin: str, version: int, settings: AnySettings) -> Release:
    """The endpoint sets' addresses as selectors; the version is the release's number."""
    origin = mask_url(origin)
    payload = decode_json(decompress(data, origin), origin, "the endpoints method's answer")
    if not isinstance(payload, list):
        raise FeedError(f"{origin}: not the endpoints method's answer (expected a JSON list)")
    sets = [endpoint_set(entry, f"{origin}: [{index}]") for index, entry in enumerate(payload)]
    sets = [s for s in sets if s.ips]
    if len(sets) < MIN_SETS:
        raise FeedError(
            f"{origin}: only {len(sets)} endpoint sets with addresses, but the service "
            f"publishes at least {MIN_SETS}; refusing a partial or wrong answer"
        )
    groups: dict[str, Group] = {}
    for item in sets:
        for name in (item.area, f"{item.area}.{item.category}"):
            groups.setdefault(name, Group("", item.area, [])).prefixes.extend(item.ips)
    release = build_release(
        "m365",
        f"Microsoft 365 {settings.m365_instance}",
        groups,
        origin=origin,
        settings=settings,
        number=version,
        resolve=None,
    )
    checked: list[EndpointSet] = [s._replace(ips=_canonical(s.ips)) for s in sets]
    release.resolve = resolver(checked)
    return release


def _canonical(ips: list[str]) -> list[str]:
    """A set's prefixes as the release holds them (host bits cleared: checked already)."""
    from sync.core.prefixes import parse_prefix

    return [parse_prefix(ip).text for ip in ips]


def client_request_id(cache_dir: Path | None) -> str:
    """The GUID this installation sends as ``clientrequestid``: generated once and kept in
    the cache folder (the service asks for one per machine); a fresh one when the folder is
    unusable."""
    import uuid

    from sync.feeds.cache import default_cache_dir, private_dir, read_private, write_atomically

    folder = cache_dir or default_cache_dir()
    kept = read_private(folder / CLIENT_ID_FILE)
    text = kept.decode("ascii", errors="replace").strip() if kept else ""
    try:
        return str(uuid.UUID(text))
    except ValueError:
        pass
    guid = str(uuid.uuid4())
    if private_dir(folder):
        try:
            write_atomically(folder / CLIENT_ID_FILE, guid.encode())
        except OSError as error:
            log.info("could not keep the m365 clientrequestid in %s: %s", folder, error)
    return guid


FEED = M365Feed()
