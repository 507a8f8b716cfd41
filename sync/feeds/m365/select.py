"""Microsoft 365 endpoint sets and the selectors over them (pure).

A selector is ``AREA`` or ``AREA.CATEGORY``, then any of ``+required``, ``+tcp:PORTS`` and
``+udp:PORTS`` (``PORTS``: a port or ``low-high``): the endpoint sets of that area (and
category) that are required, or whose ports of that protocol meet the given ones.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, NamedTuple

from sync.core.feed import ServiceTag, content_version
from sync.errors import FeedError

AREAS = ("Common", "Exchange", "SharePoint", "Skype")
CATEGORIES = ("Optimize", "Allow", "Default")
_PORTS = re.compile(r"(\d{1,5})(?:-(\d{1,5}))?")
_FILTER = re.compile(r"(tcp|udp):(\d{1,5}(?:-\d{1,5})?)", re.IGNORECASE)


class EndpointSet(NamedTuple):
    """What ipsync reads of one endpoint set (its URLs are out of scope)."""

    id: int
    area: str
    category: str
    required: bool
    tcp: tuple[tuple[int, int], ...]
    udp: tuple[tuple[int, int], ...]
    ips: list[str]


def endpoint_set(entry: Any, where: str) -> EndpointSet:
    """One set of the endpoints answer, its fields checked; the first fault named."""
    if not isinstance(entry, dict):
        raise FeedError(f"{where}: not an object")
    ident, area, category = entry.get("id"), entry.get("serviceArea"), entry.get("category")
    if type(ident) is not int:
        raise FeedError(f"{where}: field 'id': {ident!r} is not an integer")
    where = f"{where} (id {ident})"
    if area not in AREAS:
        raise FeedError(f"{where}: field 'serviceArea': {area!r} is not one of {AREAS}")
    if category not in CATEGORIES:
        raise FeedError(f"{where}: field 'category': {category!r} is not one of {CATEGORIES}")
    required = entry.get("required", False)
    if not isinstance(required, bool):
        raise FeedError(f"{where}: field 'required': {required!r} is not true or false")
    ips = entry.get("ips", [])
    if not (isinstance(ips, list) and all(isinstance(ip, str) for ip in ips)):
        raise FeedError(f"{where}: field 'ips': not a list of strings")
    return EndpointSet(
        ident,
        area,
        category,
        required,
        _ports(entry.get("tcpPorts", ""), f"{where}: field 'tcpPorts'"),
        _ports(entry.get("udpPorts", ""), f"{where}: field 'udpPorts'"),
        ips,
    )


def _ports(value: Any, where: str) -> tuple[tuple[int, int], ...]:
    """``"80,443"`` or ``"3478-3481"`` as (low, high) ranges."""
    if not isinstance(value, str):
        raise FeedError(f"{where}: {value!r} is not a string")
    ranges = []
    for part in filter(None, (p.strip() for p in value.split(","))):
        ranges.append(_range(part, where))
    return tuple(ranges)


def _range(text: str, where: str) -> tuple[int, int]:
    found = _PORTS.fullmatch(text)
    low = int(found[1]) if found else -1
    high = int(found[2]) if found and found[2] else low
    if not 0 <= low <= high <= 65535:
        raise FeedError(f"{where}: {text!r} is not a port or a range of ports")
    return low, high


def resolver(sets: list[EndpointSet]) -> Callable[[str], ServiceTag | None]:
    """Resolves selectors with filters (``Skype.Optimize+udp:3478``) over checked sets."""

    def resolve(name: str) -> ServiceTag | None:
        base, *filters = name.split("+")
        area, _, category = base.partition(".")
        area = next((a for a in AREAS if a.lower() == area.lower()), "")
        wanted = next((c for c in CATEGORIES if c.lower() == category.lower()), None)
        if not area or (category and wanted is None) or not filters:
            return None
        chosen = [s for s in sets if s.area == area and (wanted is None or s.category == wanted)]
        for item in filters:
            chosen = _narrow(chosen, item, name)
        ips = [ip for s in chosen for ip in s.ips]
        return ServiceTag(name, "", area, content_version(ips), ips)

    return resolve


def _narrow(sets: list[EndpointSet], item: str, name: str) -> list[EndpointSet]:
    if item.lower() == "required":
        return [s for s in sets if s.required]
    found = _FILTER.fullmatch(item)
    if found is None:
        raise FeedError(
            f"m365 selector {name!r}: {item!r} is not a filter (+required, +tcp:PORTS, +udp:PORTS)"
        )
    low, high = _range(found[2], f"m365 selector {name!r}")
    protocol = found[1].lower()
    return [
        s
        for s in sets
        if any(a <= high and low <= b for a, b in (s.tcp if protocol == "tcp" else s.udp))
    ]
