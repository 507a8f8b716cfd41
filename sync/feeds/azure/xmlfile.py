"""The retired ``PublicIPs_*.xml`` release (Public, IPv4 only, last published in 2020)."""

from __future__ import annotations

import io
import json
import re
from typing import Any

from sync.core import feed
from sync.core.feed import ServiceTag
from sync.errors import FeedError


def parse_xml(text: bytes, origin: str) -> tuple[list[ServiceTag], int]:
    """The retired ``PublicIPs_*.xml`` (Public, IPv4): each region becomes a tag.

    Decoded first (UTF-8, or UTF-16/32 by BOM or zero bytes), then read as a stream by
    defusedxml, which refuses DTDs and entities; regions and ranges are counted as they come
    and dropped once read, so memory stays bounded by :data:`feed.MAX_TAGS` and
    :data:`feed.MAX_PREFIXES`.
    """
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import iterparse

    dated = re.search(r"PublicIPs_(\d{8})", origin)
    change_number = int(dated[1]) if dated else 0
    try:
        decoded = text.decode(json.detect_encoding(text[:4]))
    except UnicodeDecodeError:
        raise FeedError(f"{origin}: XML neither in UTF-8 nor in UTF-16") from None
    tags: list[ServiceTag] = []
    elements = prefixes = 0
    try:  # a str is read as decoded, whatever encoding the XML declaration names
        events = iterparse(io.StringIO(decoded), events=("start", "end"), forbid_dtd=True)
        _, root = next(events)
        if root.tag != "AzurePublicIpAddresses":
            raise FeedError(
                f"{origin}: XML root is <{root.tag}>, not <AzurePublicIpAddresses> "
                "(the legacy PublicIPs file)"
            )
        for event, element in events:
            if event == "start":
                elements += 1
                if elements > feed.MAX_TAGS + feed.MAX_PREFIXES:
                    feed.check_bounds(origin, tags=len(tags), prefixes=prefixes)
                    raise FeedError(f"{origin}: more than {elements - 1:,} XML elements; refusing")
                continue
            if element.tag == "IpRange":
                prefixes += 1
                feed.check_bounds(origin, prefixes=prefixes)
            elif element.tag == "Region" and element in root:
                tags.append(_region(element, len(tags), change_number, origin))
                feed.check_bounds(origin, tags=len(tags))
                root.remove(element)
    except DefusedXmlException:
        raise FeedError(f"{origin}: XML with DOCTYPE or entity declarations is refused") from None
    except (ParseError, StopIteration) as exc:
        raise FeedError(f"{origin}: not well-formed XML, maybe truncated ({exc})") from None
    return tags, change_number


def _region(region: Any, index: int, change_number: int, origin: str) -> ServiceTag:
    """One ``<Region Name=...>`` with its ``<IpRange Subnet=...>`` children as a tag."""
    name = region.get("Name")
    if not name:
        raise FeedError(f"{origin}: Region #{index} has no Name attribute")
    subnets = [ip.get("Subnet") for ip in region.findall("IpRange")]
    if None in subnets:
        raise FeedError(f"{origin}: region {name!r}: an IpRange has no Subnet attribute")
    return ServiceTag(
        name=name,
        region=name,
        system_service="",
        change_number=change_number,
        address_prefixes=[s for s in subnets if s is not None],
    )
