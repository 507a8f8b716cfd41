"""The service-tags release: parsing, validation and plausibility guards (Microsoft's feed).

Pure: bytes or a mapping in, a :class:`Release` or a one-line :class:`FeedError` out. The
document structure is validated by pydantic in one pass; prefixes, ~95,000 per release, are
checked once per distinct string in bulk (:func:`sync.core.prefixes.all_canonical`) and only an
odd one is parsed on its own.
"""

from __future__ import annotations

import difflib
import json
import logging
import lzma
import re
import zlib
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, NoReturn, Protocol
from xml.etree import ElementTree

from pydantic import AliasPath, BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from sync.core.prefixes import all_canonical, parse_prefix
from sync.errors import FeedError

log = logging.getLogger(__name__)

#: Largest (decompressed) release accepted; real ones are ~4 MB.
MAX_FEED_BYTES = 64 * 1024 * 1024

#: Fewest tags a plausible release of each cloud has: about a third of the real counts
#: (Nov 2025: Public 3,039, AzureGovernment 327, China 325). AzureGermany is frozen and small.
MIN_TAGS: dict[str, int] = {
    "Public": 1000,
    "AzureGovernment": 100,
    "China": 100,
    "AzureGermany": 30,
}
#: For a cloud not in :data:`MIN_TAGS`.
MIN_TAGS_OTHER = 30
#: The Discovery API holds only the NSG-usable subset: half of :data:`MIN_TAGS`.
API_MIN_TAGS_DIVISOR = 2
#: Regions a legacy ``PublicIPs_*.xml`` file has at least (the last one has 45).
MIN_XML_REGIONS = 20

_GZIP_MAGIC = b"\x1f\x8b"
_XZ_MAGIC = b"\xfd7zXZ\x00"
_BOM = b"\xef\xbb\xbf"


def _prop(key: str, *default: None) -> Any:
    """A field read from the entry's ``properties`` object (required unless a default)."""
    return Field(*default, validation_alias=AliasPath("properties", key))


class ServiceTag(BaseModel):
    """One service tag of a release, prefixes normalised (host bits cleared).

    Validates straight from a release's JSON entry (``{"name", "properties": {...}}``) in
    one pydantic pass, and from its own field names.
    """

    model_config = ConfigDict(populate_by_name=True)

    name: str = Field(min_length=1)
    region: str = _prop("region")  # "" for cloud-wide tags
    system_service: str = _prop("systemService")
    change_number: int | str = _prop("changeNumber")  # str for the Discovery API
    address_prefixes: list[str] = _prop("addressPrefixes")
    region_id: int | None = _prop("regionId", None)
    network_features: list[str] | None = _prop("networkFeatures", None)
    state: str | None = _prop("state", None)


class Release(BaseModel):
    """A whole release of one cloud, tags keyed by exact name in file order."""

    cloud: str
    change_number: int | str
    origin: str
    kind: Literal["json", "api", "xml"]
    tags: dict[str, ServiceTag]
    _by_lower: dict[str, list[str]] | None = PrivateAttr(default=None)

    def find(self, name: str) -> ServiceTag:
        """The tag of that name, exact case first, else any case; else a "did you mean"."""
        tag = self.tags.get(name)
        if tag is not None:
            return tag
        if self._by_lower is None:
            self._by_lower = {}
            for exact in self.tags:
                self._by_lower.setdefault(exact.lower(), []).append(exact)
        matches = self._by_lower.get(name.lower(), [])
        if len(matches) == 1:
            return self.tags[matches[0]]
        if matches:
            raise FeedError(f"service tag {name!r} is ambiguous: {', '.join(matches)}")
        close = difflib.get_close_matches(name.lower(), self._by_lower, n=3, cutoff=0.6)
        hint = ""
        if close:
            hint = "; did you mean " + " or ".join(self._by_lower[c][0] for c in close) + "?"
        raise FeedError(
            f"service tag {name!r} is not in the {self.cloud} release {self.change_number} "
            f"({self.origin}){hint}"
        )


class _RawRelease(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    change_number: int | str = Field(alias="changeNumber")
    cloud: str
    values: list[ServiceTag]


class _Decompressor(Protocol):
    def decompress(self, data: bytes, max_length: int, /) -> bytes: ...

    @property
    def eof(self) -> bool: ...

    @property
    def unused_data(self) -> bytes: ...


@dataclass(frozen=True)
class _Guards:
    """Where the release came from and what it must satisfy."""

    origin: str
    cloud: str | None
    min_prefixlen_v4: int
    min_prefixlen_v6: int
    min_tags: int | None

    def minimum(self, version: int) -> int:
        return self.min_prefixlen_v4 if version == 4 else self.min_prefixlen_v6


def parse_release(
    data: bytes,
    *,
    origin: str,
    cloud: str | None = None,
    min_prefixlen_v4: int = 8,
    min_prefixlen_v6: int = 16,
    min_tags: int | None = None,
) -> Release:
    """Parse a release file: JSON or legacy XML, optionally gzip/xz (detected by magic bytes).

    ``cloud``, when given, must match the file's. ``min_tags`` overrides the per-cloud
    plausibility minimum (:data:`MIN_TAGS`).
    """
    text = _decompress(data, origin)
    head = text.lstrip(_BOM + b" \t\r\n")[:64].lower()
    if head.startswith((b"<!doctype html", b"<html")):
        raise FeedError(f"{origin}: looks like an HTML page, not the service tags JSON")
    guards = _Guards(origin, cloud, min_prefixlen_v4, min_prefixlen_v6, min_tags)
    if head.startswith(b"<"):
        return _parse_xml(text, guards)
    try:
        payload = json.loads(text.removeprefix(_BOM))
    except UnicodeDecodeError:
        raise FeedError(f"{origin}: not JSON (not UTF-8 text)") from None
    except json.JSONDecodeError as exc:
        if exc.pos >= len(exc.doc.rstrip()) or exc.msg.startswith("Unterminated string"):
            raise FeedError(f"{origin}: truncated: the JSON ends early ({exc})") from None
        raise FeedError(f"{origin}: not JSON ({exc})") from None
    return _from_payload(payload, "json", guards)


def parse_discovery(
    payload: Mapping[str, Any],
    *,
    origin: str,
    cloud: str,
    min_prefixlen_v4: int = 8,
    min_prefixlen_v6: int = 16,
    min_tags: int | None = None,
) -> Release:
    """Parse a Service Tag Discovery API response (its ARM JSON, or an SDK model's mapping)."""
    guards = _Guards(origin, cloud, min_prefixlen_v4, min_prefixlen_v6, min_tags)
    return _from_payload(_plain(payload), "api", guards)


def _plain(value: Any) -> Any:
    """Mappings and lists as plain dicts and lists (SDK models are mappings, not dicts)."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _decompress(data: bytes, origin: str) -> bytes:
    """Undo gzip/xz, bounded so a small hostile file cannot fill memory."""
    factory: Callable[[], _Decompressor]
    if data.startswith(_GZIP_MAGIC):
        factory, kind = (lambda: zlib.decompressobj(wbits=31)), "gzip"
    elif data.startswith(_XZ_MAGIC):
        factory, kind = lzma.LZMADecompressor, "xz"
    else:
        if len(data) > MAX_FEED_BYTES:
            raise FeedError(f"{origin}: larger than {MAX_FEED_BYTES >> 20} MiB; refusing")
        return data
    chunks: list[bytes] = []
    total, pending = 0, data
    try:
        while pending:  # gzip members may be concatenated
            decompressor = factory()
            chunk = decompressor.decompress(pending, MAX_FEED_BYTES + 1 - total)
            total += len(chunk)
            chunks.append(chunk)
            if total > MAX_FEED_BYTES:
                raise FeedError(
                    f"{origin}: decompresses to more than {MAX_FEED_BYTES >> 20} MiB; refusing"
                )
            if not decompressor.eof:
                raise FeedError(f"{origin}: truncated: the {kind} data ends early")
            pending = decompressor.unused_data
    except (zlib.error, lzma.LZMAError) as exc:
        raise FeedError(f"{origin}: corrupt {kind} data ({exc})") from None
    return b"".join(chunks)


def _from_payload(payload: Any, kind: Literal["json", "api"], guards: _Guards) -> Release:
    if not isinstance(payload, dict):
        raise FeedError(
            f"{guards.origin}: not a service tags document (expected a JSON object with "
            "changeNumber, cloud and values)"
        )
    try:
        raw = _RawRelease.model_validate(payload)
    except ValidationError as exc:
        raise FeedError(f"{guards.origin}: {_describe(exc, payload)}") from None
    return _assemble(raw.values, raw.cloud, raw.change_number, kind, guards)


def _assemble(
    tags: list[ServiceTag],
    cloud: str,
    change_number: int | str,
    kind: Literal["json", "api", "xml"],
    guards: _Guards,
) -> Release:
    """Apply the release-wide guards, normalise prefixes, and build the release."""
    origin = guards.origin
    if guards.cloud is not None and cloud != guards.cloud:
        raise FeedError(
            f"{origin}: release is for cloud {cloud!r} but IPSYNC_CLOUD is {guards.cloud!r}"
        )
    if not tags:
        raise FeedError(f"{origin}: holds no service tags (empty 'values')")
    _check_count(len(tags), cloud, kind, guards)
    by_name = {tag.name: tag for tag in tags}
    if len(by_name) != len(tags):
        twice = Counter(tag.name for tag in tags).most_common(1)[0][0]
        raise FeedError(f"{origin}: tag {twice!r} appears twice")
    _normalise_prefixes(tags, guards)
    return Release.model_construct(
        cloud=cloud, change_number=change_number, origin=origin, kind=kind, tags=by_name
    )


def _normalise_prefixes(tags: list[ServiceTag], guards: _Guards) -> None:
    """Check every distinct prefix once; rewrite only the tags holding non-canonical ones."""
    distinct = set().union(*(tag.address_prefixes for tag in tags))
    v4_min, v6_min = guards.min_prefixlen_v4, guards.min_prefixlen_v6
    if all_canonical(distinct, min_prefixlen_v4=v4_min, min_prefixlen_v6=v6_min):
        return
    try:
        parsed = {raw: parse_prefix(raw) for raw in distinct}
    except ValueError:
        _raise_first_bad(tags, guards)
    if any(p.prefixlen < guards.minimum(p.version) for p in parsed.values()):
        _raise_first_bad(tags, guards)
    renamed = {raw: p for raw, p in parsed.items() if p.text != raw}
    for tag in tags:
        prefixes = tag.address_prefixes
        if renamed.keys().isdisjoint(prefixes):
            continue
        for raw in dict.fromkeys(p for p in prefixes if p in renamed and renamed[p].host_bits):
            log.warning(
                "%s: tag %r: prefix %s has host bits set; using %s",
                guards.origin,
                tag.name,
                raw,
                renamed[raw].text,
            )
        tag.address_prefixes = [renamed[p].text if p in renamed else p for p in prefixes]


def _raise_first_bad(tags: list[ServiceTag], guards: _Guards) -> NoReturn:
    """Name the first bad prefix in file order, and its tag."""
    for tag in tags:
        for raw in tag.address_prefixes:
            try:
                parsed = parse_prefix(raw)
            except ValueError as exc:
                raise FeedError(
                    f"{guards.origin}: tag {tag.name!r}: malformed prefix {raw!r}: {exc}"
                ) from None
            minimum = guards.minimum(parsed.version)
            if parsed.prefixlen < minimum:
                raise FeedError(
                    f"{guards.origin}: tag {tag.name!r}: prefix {raw} is broader than "
                    f"/{minimum} (IPSYNC_MIN_PREFIXLEN_V{parsed.version}); refusing the release"
                )
    raise FeedError(f"{guards.origin}: a prefix failed validation")


def _describe(exc: ValidationError, payload: dict[str, Any]) -> str:
    """One line naming the tag (if any) and the field of the first structural error."""
    error = exc.errors()[0]
    loc = error["loc"]
    where = "release"
    if len(loc) >= 2 and loc[0] == "values" and isinstance(loc[1], int):
        entry = payload["values"][loc[1]]
        name = entry.get("name") if isinstance(entry, dict) else None
        where = f"tag {name!r} (values[{loc[1]}])" if name else f"values[{loc[1]}]"
        loc = loc[2:]
    field = ".".join(str(part) for part in loc) or "entry"
    if error["type"] == "missing":
        return f"{where}: missing field {field!r}"
    return f"{where}: field {field!r}: {error['msg']}"


def _check_count(count: int, cloud: str, kind: str, guards: _Guards) -> None:
    """Refuse a release far smaller than real ones: a partial or wrong file must not sync."""
    if guards.min_tags is not None:
        minimum = guards.min_tags
    elif kind == "xml":
        minimum = MIN_XML_REGIONS
    else:
        minimum = MIN_TAGS.get(cloud, MIN_TAGS_OTHER)
        if kind == "api":
            minimum //= API_MIN_TAGS_DIVISOR
    if count < minimum:
        raise FeedError(
            f"{guards.origin}: only {count} tags, but a {cloud} release has at least {minimum}; "
            "refusing a partial or wrong release"
        )


def _parse_xml(text: bytes, guards: _Guards) -> Release:
    """The retired ``PublicIPs_*.xml`` (Public, IPv4): each region becomes a tag."""
    origin = guards.origin
    if re.search(rb"<!(DOCTYPE|ENTITY)", text, re.IGNORECASE):
        raise FeedError(f"{origin}: XML with DOCTYPE or entity declarations is refused")
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as exc:
        raise FeedError(f"{origin}: not well-formed XML, maybe truncated ({exc})") from None
    if root.tag != "AzurePublicIpAddresses":
        raise FeedError(
            f"{origin}: XML root is <{root.tag}>, not <AzurePublicIpAddresses> "
            "(the legacy PublicIPs file)"
        )
    dated = re.search(r"PublicIPs_(\d{8})", origin)
    change_number = int(dated[1]) if dated else 0
    tags = []
    for index, region in enumerate(root.findall("Region")):
        name = region.get("Name")
        if not name:
            raise FeedError(f"{origin}: Region #{index} has no Name attribute")
        subnets = [ip.get("Subnet") for ip in region.findall("IpRange")]
        if None in subnets:
            raise FeedError(f"{origin}: region {name!r}: an IpRange has no Subnet attribute")
        tags.append(
            ServiceTag(
                name=name,
                region=name,
                system_service="",
                change_number=change_number,
                address_prefixes=[s for s in subnets if s is not None],
            )
        )
    return _assemble(tags, "Public", change_number, "xml", guards)
