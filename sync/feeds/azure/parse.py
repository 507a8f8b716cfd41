"""Azure's service-tags release: the JSON file, the Discovery API's answer (and, in
:mod:`sync.feeds.azure.xmlfile`, the retired XML), checked field by field into a :class:`Release`.

The document structure is checked on the decoded JSON (plain dicts and lists, kept as they
are), with the messages pydantic gave when it did this; prefixes are checked by
:func:`sync.core.feed.checked_records`. Each release remembers its verdict by content, keyed
here by the cloud and the prefix bounds too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Container, Mapping
from itertools import repeat
from typing import Any, Literal, NamedTuple, cast

from sync.core import feed
from sync.core.clouds import CLOUDS
from sync.core.feed import (
    Bounds,
    Release,
    ServiceTag,
    check_unique,
    checked_records,
    digits,
    mark_of,
)
from sync.core.redact import mask_url
from sync.errors import FeedError
from sync.feeds.azure.skim import Layout, LazyTags, Skim, known_prefixes, skim

#: Fewest tags a plausible release of each cloud has: :data:`sync.core.clouds.CLOUDS`; for a
#: cloud not listed there:
MIN_TAGS_OTHER = 30
#: The Discovery API holds only the NSG-usable subset: half of a cloud's ``min_tags``.
API_MIN_TAGS_DIVISOR = 2
#: Regions a legacy ``PublicIPs_*.xml`` file has at least (the last one has 45).
MIN_XML_REGIONS = 20

Kind = Literal["json", "api", "xml"]


class _Guards(NamedTuple):
    """Where the release came from and what it must satisfy."""

    origin: str
    cloud: str | None
    min_prefixlen_v4: int
    min_prefixlen_v6: int
    min_tags: int | None
    verdict: str | None = None  # the content key, for file releases
    trusted: Container[str] = ()


#: Part of every verdict key: bump it when the prefix check changes what it accepts, so that
#: verdicts of the old check are not taken for the new one (2: public addresses only; 3: keyed
#: by the bytes as read).
VERDICT_VERSION = 3


def _verdict_key(data: bytes, guards: _Guards) -> str:
    """SHA-256 over the check's version, the guards it depends on and the file's bytes as read:
    a compressed file is hashed as it is, a fifth of the text it holds."""
    import hashlib  # not on the path of a release read as kept

    digest = hashlib.sha256(
        f"ipsync prefix verdict {VERDICT_VERSION}\ncloud={guards.cloud}\n"
        f"v4={guards.min_prefixlen_v4}\nv6={guards.min_prefixlen_v6}\n".encode()
    )
    digest.update(data)
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
    known: Layout | None = None,
) -> Release:
    """Parse a release file: JSON or legacy XML, optionally gzip/xz (detected by magic bytes).

    ``origin`` names the file in messages and in :attr:`Release.origin`, masked
    (:func:`sync.core.redact.mask_url`). ``cloud``, when given, must match the file's.
    ``min_tags`` overrides the cloud's plausibility minimum (:data:`sync.core.clouds.CLOUDS`).
    ``trusted`` holds :attr:`Release.verdict` keys of releases checked before: the same content
    under the same guards skips the prefix check. ``known`` is a release that passed the check
    under the same guards before (the week before's, as kept): a tag of the same bytes is
    taken as it is, and a changed tag is checked for the prefixes it did not hold then. The
    tags of a JSON file come as :class:`sync.feeds.azure.skim.LazyTags`, whose layout (the
    text and each tag's span) is what a release is kept as.
    """
    origin = mask_url(origin)
    text = feed.decompress(data, origin)
    guards = _Guards(origin, cloud, min_prefixlen_v4, min_prefixlen_v6, min_tags)
    guards = guards._replace(verdict=_verdict_key(data, guards), trusted=trusted)
    start = feed.head(text)
    if start.startswith("<") and not start.startswith(("<!doctype html", "<html")):
        from sync.feeds.azure.xmlfile import parse_xml  # the retired format: seldom read

        tags, dated = parse_xml(text, origin)
        return assemble(tags, "Public", dated, "xml", guards)
    what = "the service tags JSON"
    with feed.paused_gc():
        feed.screen_json(text, origin, what)
        skimmed = skim(text, known)
        if skimmed is not None:
            return _from_skim(skimmed, text, known, guards)
        payload = feed.decode_json(text, origin, what)
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


def _from_payload(payload: Any, kind: Literal["json", "api"], guards: _Guards) -> Release:
    """Check the document's structure field by field; the first fault, in field order, is named."""
    if not isinstance(payload, dict):
        raise FeedError(
            f"{guards.origin}: not a service tags document (expected a JSON object with "
            "changeNumber, cloud and values)"
        )
    change_number, cloud, values = _fields(payload, kind, guards.origin)
    tags = [_entry(entry, index, guards.origin) for index, entry in enumerate(values)]
    return assemble(tags, cloud, change_number, kind, guards)


def _from_skim(skimmed: Skim, text: bytes, known: Layout | None, guards: _Guards) -> Release:
    """:func:`_from_payload` of a document read tag by tag: a tag taken as the known one is
    neither decoded nor checked; a changed one is checked for the prefixes it did not hold."""
    payload = skimmed.fields | {"values": skimmed.entries}
    change_number, cloud, _ = _fields(payload, "json", guards.origin)
    decoded: list[ServiceTag] = []
    names: list[str] = []
    for index, (entry, taken) in enumerate(zip(skimmed.entries, skimmed.names, strict=True)):
        if taken is None:
            decoded.append(_entry(entry, index, guards.origin))
        names.append(decoded[-1].name if taken is None else taken)
    sizes = {tag.name: len(tag.address_prefixes) for tag in decoded}
    counts = dict(zip(known.names, known.counts, strict=True)) if known else {}
    layout = Layout(text, names, skimmed.starts, skimmed.ends, [
        sizes[n] if n in sizes else counts[n] for n in names])  # fmt: skip
    held = known_prefixes(known, list(sizes))
    return assemble(decoded, cloud, change_number, "json", guards, held, layout)


def _fields(payload: dict[str, Any], kind: Literal["json", "api"], origin: str) -> tuple[
        int | str, str, list[Any]]:  # fmt: skip
    """The release's own fields, checked in field order; the first fault is named."""
    try:
        change_number = _read(payload, "changeNumber", _present)
        cloud = _read(payload, "cloud", _str)
        values = _read(payload, "values", _list)
    except _Invalid as exc:
        raise FeedError(f"{origin}: release: {exc}") from None
    change_number = _release_number(change_number, kind, origin)
    feed.check_bounds(origin, tags=len(values))
    return change_number, cloud, values


def _entry(entry: Any, index: int, origin: str) -> ServiceTag:
    """One entry of ``values`` as a tag, or its fault named with its place."""
    try:
        return tag_of(entry)
    except _Invalid as exc:
        name = entry.get("name") if isinstance(entry, dict) else None
        where = f"tag {name!r} (values[{index}])" if name else f"values[{index}]"
        raise FeedError(f"{origin}: {where}: {exc}") from None


class _Wrong(Exception):
    """A value of the wrong type; ``suffix`` locates it inside the field (a list index)."""

    def __init__(self, message: str, suffix: str = "") -> None:
        super().__init__(message)
        self.message, self.suffix = message, suffix


class _Invalid(ValueError):
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


def tag_of(entry: Any) -> ServiceTag:
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
    """:func:`tag_of` field by field, in the order and with the messages pydantic gave."""
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


def _present(value: Any) -> Any:
    return value


def _release_number(value: Any, kind: Literal["json", "api"], origin: str) -> int | str:
    """The release's own ``changeNumber``, read strictly: a JSON integer in the file, a string
    of digits from the Discovery API. Anything else (``"373 "``, ``373.0``, ``true``) is
    refused with its value named: a mark no rollback check can compare must never be held."""
    if kind == "api":
        digits(value, "changeNumber", origin, "a string of digits (the Discovery API's form)")
        return cast(str, value)
    if type(value) is int and value >= 0:
        return value
    raise FeedError(
        f"{origin}: release: field 'changeNumber': {value!r} is not a whole JSON number; "
        "refusing the release (its release mark must be exact)"
    )


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


def assemble(
    tags: list[ServiceTag],
    cloud: str,
    change_number: int | str,
    kind: Kind,
    guards: _Guards,
    held: Collection[str] = (),
    layout: Layout | None = None,
) -> Release:
    """Apply the release-wide guards, normalise prefixes, and build the release.

    With a ``layout``, ``tags`` are the tags decoded now (the others were taken as a known
    release's) and ``held`` the prefixes those tags held then: only the others are checked.
    """
    origin = guards.origin
    if guards.cloud is not None and cloud != guards.cloud:
        raise FeedError(
            f"{origin}: release is for cloud {cloud!r} but IPSYNC_CLOUD is {guards.cloud!r}"
        )
    names = layout.names if layout is not None else [tag.name for tag in tags]
    if not names:
        raise FeedError(f"{origin}: holds no service tags (empty 'values')")
    total = sum(layout.counts) if layout is not None else sum(len(t.address_prefixes) for t in tags)
    feed.check_bounds(origin, prefixes=total)
    _check_count(len(names), cloud, kind, guards)
    check_unique(names, origin, "tag")
    bounds = Bounds(
        origin,
        guards.min_prefixlen_v4,
        guards.min_prefixlen_v6,
        verdict=guards.verdict,
        trusted=guards.trusted,
        checked=held,
    )
    checked = checked_records(tags, bounds)
    series = "" if kind == "json" else kind
    mark = mark_of(series, int(change_number))
    by_name: Mapping[str, ServiceTag] = checked.by_name
    if layout is not None:
        by_name = LazyTags(layout, origin, tag_of, checked.by_name)
    return Release(cloud, change_number, origin, kind, by_name, checked.verdict, mark=mark)


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
