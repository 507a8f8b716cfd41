"""The service-tags release: parsing, validation and plausibility guards (Microsoft's feed).

Pure: bytes or a mapping in, a :class:`Release` or a one-line :class:`FeedError` out. The
document structure is checked field by field on the decoded JSON (plain dicts and lists, kept
as they are); prefixes, ~95,000 per release, are checked once per distinct string in bulk
(:func:`sync.core.prefixes.all_canonical`) and only an odd one is parsed on its own. That check
is the costly part, so a release remembers its verdict by content (:attr:`Release.verdict`):
the caller may keep it and hand it back for the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import lzma
import re
import zlib
from collections import Counter
from collections.abc import Callable, Container, Mapping
from itertools import repeat
from typing import Any, Literal, NamedTuple, NoReturn, Protocol, cast

from sync.core.clouds import CLOUDS
from sync.core.prefixes import all_canonical, parse_prefix
from sync.core.redact import mask_url
from sync.errors import FeedError

log = logging.getLogger(__name__)

#: Largest (decompressed) release accepted; real ones are ~4 MB.
MAX_FEED_BYTES = 64 * 1024 * 1024
#: Most tags and prefix entries (summed over tags) a release may hold: about six and five
#: times the real counts (Nov 2025 Public: ~3,100 tags, ~96,000 prefix entries). Bytes alone
#: do not bound the cost: 63 MB of tags, 7.9 MB gzipped, took 2.3 GB and 30 s to read.
MAX_TAGS = 20_000
MAX_PREFIXES = 500_000
#: Most JSON values a release may hold, counted in the text before it is decoded (every value
#: after the first of a container follows a comma; each container opens with a bracket): the
#: prefixes, plus a generous 32 values (fields, features) per tag. Public holds ~131,000.
MAX_JSON_VALUES = MAX_PREFIXES + 32 * MAX_TAGS

#: Fewest tags a plausible release of each cloud has: about a third of the real counts
#: (Nov 2025: Public 3,039, AzureGovernment 327, China 325). AzureGermany is frozen and small.
#: Fewest tags for a cloud not in :data:`sync.core.clouds.CLOUDS`.
MIN_TAGS_OTHER = 30
#: The Discovery API holds only the NSG-usable subset: half of a cloud's ``min_tags``.
API_MIN_TAGS_DIVISOR = 2
#: Regions a legacy ``PublicIPs_*.xml`` file has at least (the last one has 45).
MIN_XML_REGIONS = 20

_GZIP_MAGIC = b"\x1f\x8b"
_XZ_MAGIC = b"\xfd7zXZ\x00"
_BOM = b"\xef\xbb\xbf"


Kind = Literal["json", "api", "xml"]


class ServiceTag(NamedTuple):
    """One service tag of a release, prefixes normalised (host bits cleared).

    Named tuples, not dataclasses: importing ``dataclasses`` costs every command ~6 ms.
    """

    name: str
    region: str  # "" for cloud-wide tags
    system_service: str
    change_number: int | str  # str for the Discovery API
    address_prefixes: list[str]
    region_id: int | None = None
    network_features: list[str] | None = None
    state: str | None = None


class Release:
    """A whole release of one cloud, tags keyed by exact name in file order."""

    __slots__ = ("_by_lower", "change_number", "cloud", "kind", "origin", "tags", "verdict")

    def __init__(
        self,
        cloud: str,
        change_number: int | str,
        origin: str,
        kind: Kind,
        tags: dict[str, ServiceTag],
        verdict: str | None = None,
    ) -> None:
        self.cloud = cloud
        self.change_number = change_number
        self.origin = origin
        self.kind = kind
        self.tags = tags
        #: The content key (:func:`_verdict_key`) of a release whose prefixes all passed the
        #: check as they are; ``None`` when some needed rewriting, or for the Discovery API. A
        #: later parse of the same content given this key in ``trusted`` skips the check.
        self.verdict = verdict
        self._by_lower: dict[str, list[str]] | None = None

    def __repr__(self) -> str:
        return (
            f"Release({self.cloud} {self.change_number}, {self.kind} from {self.origin}, "
            f"{len(self.tags)} tags)"
        )

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
        import difflib  # only a miss needs it

        close = difflib.get_close_matches(name.lower(), self._by_lower, n=3, cutoff=0.6)
        hint = ""
        if close:
            hint = "; did you mean " + " or ".join(self._by_lower[c][0] for c in close) + "?"
        raise FeedError(
            f"service tag {name!r} is not in the {self.cloud} release {self.change_number} "
            f"({self.origin}){hint}"
        )


class _Decompressor(Protocol):
    def decompress(self, data: bytes, max_length: int, /) -> bytes: ...

    @property
    def eof(self) -> bool: ...

    @property
    def unused_data(self) -> bytes: ...


class _Guards(NamedTuple):
    """Where the release came from and what it must satisfy."""

    origin: str
    cloud: str | None
    min_prefixlen_v4: int
    min_prefixlen_v6: int
    min_tags: int | None
    verdict: str | None = None  # the content key, for file releases
    trusted: Container[str] = ()

    def minimum(self, version: int) -> int:
        return self.min_prefixlen_v4 if version == 4 else self.min_prefixlen_v6


#: Part of every verdict key: bump it when the prefix check changes what it accepts, so that
#: verdicts of the old check are not taken for the new one.
VERDICT_VERSION = 1


def _verdict_key(text: bytes, guards: _Guards) -> str:
    """SHA-256 over the check's version, the guards it depends on and the decompressed file."""
    digest = hashlib.sha256(
        f"ipsync prefix verdict {VERDICT_VERSION}\ncloud={guards.cloud}\n"
        f"v4={guards.min_prefixlen_v4}\nv6={guards.min_prefixlen_v6}\n".encode()
    )
    digest.update(text)
    return digest.hexdigest()


def parse_release(
    data: bytes,
    *,
    origin: str,
    cloud: str | None = None,
    min_prefixlen_v4: int = 8,
    min_prefixlen_v6: int = 16,
    min_tags: int | None = None,
    trusted: Container[str] = (),
) -> Release:
    """Parse a release file: JSON or legacy XML, optionally gzip/xz (detected by magic bytes).

    ``origin`` names the file in messages and in :attr:`Release.origin`, masked
    (:func:`sync.core.redact.mask_url`). ``cloud``, when given, must match the file's.
    ``min_tags`` overrides the cloud's plausibility minimum (:data:`sync.core.clouds.CLOUDS`).
    ``trusted`` holds :attr:`Release.verdict` keys of releases checked before: the same content
    under the same guards skips the prefix check.
    """
    origin = mask_url(origin)
    text = _decompress(data, origin)
    head = _head(text)
    if head.startswith(("<!doctype html", "<html")):
        raise FeedError(f"{origin}: looks like an HTML page, not the service tags JSON")
    guards = _Guards(origin, cloud, min_prefixlen_v4, min_prefixlen_v6, min_tags)
    guards = guards._replace(verdict=_verdict_key(text, guards), trusted=trusted)
    if head.startswith("<"):
        return _parse_xml(text, guards)
    values = sum(map(text.count, (b",", b"[", b"{")))
    if values > MAX_JSON_VALUES:
        raise FeedError(
            f"{origin}: about {values:,} JSON values, more than a release of {MAX_TAGS:,} tags "
            f"and {MAX_PREFIXES:,} prefixes holds; refusing"
        )
    try:
        payload = json.loads(text.removeprefix(_BOM))
    except UnicodeDecodeError:
        raise FeedError(f"{origin}: not JSON (not UTF-8 text)") from None
    except RecursionError:
        raise FeedError(f"{origin}: not a service tags document (JSON nested too deeply)") from None
    except json.JSONDecodeError as exc:
        if exc.pos >= len(exc.doc.rstrip()) or exc.msg.startswith("Unterminated string"):
            raise FeedError(f"{origin}: truncated: the JSON ends early ({exc})") from None
        raise FeedError(f"{origin}: not JSON ({exc})") from None
    return _from_payload(payload, "json", guards)


def _head(text: bytes) -> str:
    """The file's first characters, lower-cased, in UTF-8 or UTF-16/32 (by BOM or zero bytes).

    Decoded before looking, so that XML or HTML in UTF-16 is recognised as such.
    """
    sample = text[:256]
    return sample.decode(json.detect_encoding(sample), errors="ignore").lstrip()[:64].lower()


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
    guards = _Guards(mask_url(origin), cloud, min_prefixlen_v4, min_prefixlen_v6, min_tags)
    try:
        plain = _plain(payload)
    except RecursionError:
        raise FeedError(
            f"{guards.origin}: not a service tags document (nested too deeply)"
        ) from None
    return _from_payload(plain, "api", guards)


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
    """Check the document's structure field by field; the first fault, in field order, is named."""
    if not isinstance(payload, dict):
        raise FeedError(
            f"{guards.origin}: not a service tags document (expected a JSON object with "
            "changeNumber, cloud and values)"
        )
    try:
        change_number = _read(payload, "changeNumber", _int_or_str)
        cloud = _read(payload, "cloud", _str)
        values = _read(payload, "values", _list)
    except _Invalid as exc:
        raise FeedError(f"{guards.origin}: release: {exc}") from None
    _check_bounds(guards.origin, tags=len(values))
    tags = []
    for index, entry in enumerate(values):
        try:
            tags.append(_tag(entry))
        except _Invalid as exc:
            name = entry.get("name") if isinstance(entry, dict) else None
            where = f"tag {name!r} (values[{index}])" if name else f"values[{index}]"
            raise FeedError(f"{guards.origin}: {where}: {exc}") from None
    return _assemble(tags, cloud, change_number, kind, guards)


class _Wrong(Exception):
    """A value of the wrong type; ``suffix`` locates it inside the field (a list index)."""

    def __init__(self, message: str, suffix: str = "") -> None:
        super().__init__(message)
        self.message, self.suffix = message, suffix


class _Invalid(Exception):
    """A structural fault: the field's dotted path, and what is wrong (``None``: missing)."""

    def __init__(self, field: str, message: str | None) -> None:
        self.field, self.message = field, message
        super().__init__(
            f"missing field {field!r}" if message is None else f"field {field!r}: {message}"
        )


_MISSING: Any = object()


def _read(mapping: dict[str, Any], key: str, check: Callable[[Any], Any], path: str = "") -> Any:
    """``mapping[key]`` checked; a missing key is an error unless ``check`` allows None."""
    value = mapping.get(key, _MISSING)
    if value is _MISSING:
        if check in _OPTIONAL:
            return None
        raise _Invalid(path + key, None)
    try:
        return check(value)
    except _Wrong as exc:
        raise _Invalid(path + key + exc.suffix, exc.message) from None


def _tag(entry: Any) -> ServiceTag:
    """One ``{"name", "properties": {...}}`` entry as a tag (its lists are kept, not copied).

    An entry of exactly the published types is taken in one step; any other goes through
    :func:`_checked_tag`, which converts what it may and names what is wrong.
    """
    try:
        props = entry["properties"]
        tag = ServiceTag(
            entry["name"],
            props["region"],
            props["systemService"],
            props["changeNumber"],
            props["addressPrefixes"],
            props.get("regionId"),
            props.get("networkFeatures"),
            props.get("state"),
        )
    except (KeyError, TypeError, AttributeError):
        return _checked_tag(entry)
    if (
        type(tag.name) is str
        and tag.name
        and type(tag.region) is str
        and type(tag.system_service) is str
        and type(tag.change_number) in (int, str)  # not bool: pydantic's rules make it 1
        and _all_str(tag.address_prefixes)
        and (tag.region_id is None or type(tag.region_id) is int)
        and (tag.network_features is None or _all_str(tag.network_features))
        and (tag.state is None or type(tag.state) is str)
    ):
        return tag
    return _checked_tag(entry)


def _all_str(value: Any) -> bool:
    return type(value) is list and all(map(isinstance, value, repeat(str)))


def _checked_tag(entry: Any) -> ServiceTag:
    """:func:`_tag` field by field, in the order and with the messages pydantic gave."""
    if not isinstance(entry, dict):
        raise _Invalid("entry", "Input should be a valid dictionary or instance of ServiceTag")
    props = entry.get("properties")
    if not isinstance(props, dict):
        props = {}
    p = "properties."
    return ServiceTag(
        name=_read(entry, "name", _name),
        region=_read(props, "region", _str, p),
        system_service=_read(props, "systemService", _str, p),
        change_number=_read(props, "changeNumber", _int_or_str, p),
        address_prefixes=_read(props, "addressPrefixes", _strings, p),
        region_id=_read(props, "regionId", _optional_int, p),
        network_features=_read(props, "networkFeatures", _optional_strings, p),
        state=_read(props, "state", _optional_str, p),
    )


def _str(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise _Wrong("Input should be a valid string")


def _name(value: Any) -> str:
    if not _str(value):
        raise _Wrong("String should have at least 1 character")
    return cast(str, value)


def _int(value: Any) -> int:
    """An integer as JSON or a form writes it: ``7``, ``7.0``, ``"7"`` (``true`` is 1)."""
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise _Wrong("Input should be a valid integer, got a number with a fractional part")
    if isinstance(value, str):
        if _INTEGER.fullmatch(value):
            return int(value)
        raise _Wrong("Input should be a valid integer, unable to parse string as an integer")
    raise _Wrong("Input should be a valid integer")


_INTEGER = re.compile(r"\s*[+-]?[0-9]+(?:_[0-9]+)*\s*")


def _int_or_str(value: Any) -> int | str:
    """A change number: an integer in the files, a string in the Discovery API."""
    if isinstance(value, str):
        return value
    try:
        return _int(value)
    except _Wrong as exc:
        raise _Wrong(exc.message, ".int") from None  # named as the integer reading failed


def _list(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    raise _Wrong("Input should be a valid list")


def _strings(value: Any) -> list[str]:
    if not all(map(isinstance, _list(value), repeat(str))):
        index = next(i for i, item in enumerate(value) if not isinstance(item, str))
        raise _Wrong("Input should be a valid string", f".{index}")
    return cast(list[str], value)


def _optional_str(value: Any) -> str | None:
    return None if value is None else _str(value)


def _optional_int(value: Any) -> int | None:
    return None if value is None else _int(value)


def _optional_strings(value: Any) -> list[str] | None:
    return None if value is None else _strings(value)


#: Checks of fields that may be missing or null.
_OPTIONAL = frozenset({_optional_str, _optional_int, _optional_strings})


def _assemble(
    tags: list[ServiceTag],
    cloud: str,
    change_number: int | str,
    kind: Kind,
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
    _check_bounds(origin, prefixes=sum(len(tag.address_prefixes) for tag in tags))
    _check_count(len(tags), cloud, kind, guards)
    by_name = {tag.name: tag for tag in tags}
    if len(by_name) != len(tags):
        twice = Counter(tag.name for tag in tags).most_common(1)[0][0]
        raise FeedError(f"{origin}: tag {twice!r} appears twice")
    verdict = guards.verdict
    trusted = verdict is not None and verdict in guards.trusted
    if not trusted and not _normalise_prefixes(tags, guards):
        verdict = None  # prefixes were rewritten: the same content needs the rewrite again
    return Release(cloud, change_number, origin, kind, by_name, verdict)


def _normalise_prefixes(tags: list[ServiceTag], guards: _Guards) -> bool:
    """Check every distinct prefix once; rewrite only the tags holding non-canonical ones.

    True when every prefix was fine as it is (nothing rewritten).
    """
    distinct = set().union(*(tag.address_prefixes for tag in tags))
    v4_min, v6_min = guards.min_prefixlen_v4, guards.min_prefixlen_v6
    if all_canonical(distinct, min_prefixlen_v4=v4_min, min_prefixlen_v6=v6_min):
        return True
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
        # In place: the list is the decoded document's own (or the XML's), nobody else's.
        prefixes[:] = [renamed[p].text if p in renamed else p for p in prefixes]
    return False


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


def _check_bounds(origin: str, *, tags: int = 0, prefixes: int = 0) -> None:
    """Refuse a release far larger than real ones (:data:`MAX_TAGS`, :data:`MAX_PREFIXES`)."""
    if tags > MAX_TAGS:
        raise FeedError(f"{origin}: more than {MAX_TAGS:,} tags ({tags:,}); refusing")
    if prefixes > MAX_PREFIXES:
        raise FeedError(
            f"{origin}: more than {MAX_PREFIXES:,} prefix entries ({prefixes:,}); refusing"
        )


def _check_count(count: int, cloud: str, kind: str, guards: _Guards) -> None:
    """Refuse a release far smaller than real ones: a partial or wrong file must not sync."""
    if guards.min_tags is not None:
        minimum = guards.min_tags
    elif kind == "xml":
        minimum = MIN_XML_REGIONS
    else:
        facts = CLOUDS.get(cloud)
        minimum = facts.min_tags if facts else MIN_TAGS_OTHER
        if kind == "api":
            minimum //= API_MIN_TAGS_DIVISOR
    if count < minimum:
        raise FeedError(
            f"{guards.origin}: only {count} tags, but a {cloud} release has at least {minimum}; "
            "refusing a partial or wrong release"
        )


def _parse_xml(text: bytes, guards: _Guards) -> Release:
    """The retired ``PublicIPs_*.xml`` (Public, IPv4): each region becomes a tag.

    Decoded first (UTF-8, or UTF-16/32 by BOM or zero bytes), then read as a stream by
    defusedxml, which refuses DTDs and entities; regions and ranges are counted as they come
    and dropped once read, so memory stays bounded by :data:`MAX_TAGS` and
    :data:`MAX_PREFIXES`.
    """
    import io
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import iterparse

    origin = guards.origin
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
                if elements > MAX_TAGS + MAX_PREFIXES:
                    _check_bounds(origin, tags=len(tags), prefixes=prefixes)
                    raise FeedError(f"{origin}: more than {elements - 1:,} XML elements; refusing")
                continue
            if element.tag == "IpRange":
                prefixes += 1
                _check_bounds(origin, prefixes=prefixes)
            elif element.tag == "Region" and element in root:
                tags.append(_region(element, len(tags), change_number, origin))
                _check_bounds(origin, tags=len(tags))
                root.remove(element)
    except DefusedXmlException:
        raise FeedError(f"{origin}: XML with DOCTYPE or entity declarations is refused") from None
    except (ParseError, StopIteration) as exc:
        raise FeedError(f"{origin}: not well-formed XML, maybe truncated ({exc})") from None
    return _assemble(tags, "Public", change_number, "xml", guards)


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
