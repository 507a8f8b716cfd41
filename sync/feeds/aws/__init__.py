"""AWS's ``ip-ranges.json``: every AWS service's prefixes by region and network border group.

Selectors: ``SERVICE`` (every region, e.g. ``S3``, ``AMAZON``), ``SERVICE.REGION``
(``S3.eu-west-1``) and ``SERVICE@BORDER_GROUP`` (``EC2@us-east-1-bos-1``). The mark is the
file's ``syncToken`` (Unix seconds of the publication, a string of digits): ``aws-<token>``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from sync.core.feed import Release, decode_json, decompress, digits
from sync.core.redact import mask_url
from sync.errors import FeedError
from sync.feeds.base import TWO_YEARS_S, Feed, Group, build_release, fetcher, load_document

if TYPE_CHECKING:
    import httpx

    from sync.feeds.base import AnySettings

URL = "https://ip-ranges.amazonaws.com/ip-ranges.json"
#: ``syncToken`` counts seconds and AWS publishes several times a day: a mark may jump two
#: years ahead of the held one.
PLAUSIBLE_STEP = TWO_YEARS_S
#: Fewest IPv4 prefixes a plausible file holds: about a third of the real count (10,607 on
#: 2026-07-03); a partial or wrong file must not sync.
MIN_PREFIXES = 3_000
_CREATED = re.compile(r"\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}")
_FIELDS = {"prefixes": "ip_prefix", "ipv6_prefixes": "ipv6_prefix"}


class AwsFeed(Feed):
    name = "aws"
    title = "AWS IP address ranges (ip-ranges.json)"
    selectors = "SERVICE (S3, AMAZON), SERVICE.REGION (S3.eu-west-1), SERVICE@BORDER_GROUP"

    step = PLAUSIBLE_STEP

    def read(
        self, settings: AnySettings, source: str | None, client: httpx.Client | None
    ) -> Release:
        data, origin, _ = load_document(settings, source, client, fetcher(URL, settings))
        return parse(data, origin, settings)


def parse(data: bytes, origin: str, settings: AnySettings) -> Release:
    """Check ``ip-ranges.json`` entry by entry; the first fault is named with its index."""
    origin = mask_url(origin)
    payload = decode_json(decompress(data, origin), origin, "AWS's ip-ranges.json")
    if not isinstance(payload, dict):
        raise FeedError(f"{origin}: not AWS's ip-ranges.json (expected a JSON object)")
    token = digits(payload.get("syncToken"), "syncToken", origin)
    created = payload.get("createDate")
    if not (isinstance(created, str) and _CREATED.fullmatch(created)):
        raise FeedError(f"{origin}: field 'createDate': {created!r} is not YYYY-MM-DD-hh-mm-ss")
    groups: dict[str, Group] = {}
    count = 0
    for field, key in _FIELDS.items():
        entries = payload.get(field)
        if not isinstance(entries, list):
            raise FeedError(f"{origin}: field {field!r}: missing or not a list")
        for index, entry in enumerate(entries):
            prefix, region, service, border = _entry(entry, key, f"{origin}: {field}[{index}]")
            for name, where in (
                (service, ""),
                (f"{service}.{region}", region),
                (f"{service}@{border}", border),
            ):
                groups.setdefault(name, Group(where, service, [])).prefixes.append(prefix)
        if field == "prefixes":
            count = len(entries)
    if count < MIN_PREFIXES:
        raise FeedError(
            f"{origin}: only {count} IPv4 prefixes, but AWS publishes at least {MIN_PREFIXES:,}; "
            "refusing a partial or wrong file"
        )
    return build_release("aws", "AWS", groups, origin=origin, settings=settings, number=token)


def _entry(entry: Any, key: str, where: str) -> tuple[str, str, str, str]:
    """One entry's prefix, region, service and network border group, all strings."""
    if not isinstance(entry, dict):
        raise FeedError(f"{where}: not an object")
    values = []
    for field in (key, "region", "service", "network_border_group"):
        value = entry.get(field)
        if not isinstance(value, str) or not value:
            raise FeedError(f"{where}: field {field!r}: {value!r} is not a non-empty string")
        values.append(value)
    return values[0], values[1], values[2], values[3]


FEED = AwsFeed()
