"""Azure's service-tags release: the JSON file, the Discovery API's answer (and, in
:mod:`sync.feeds.azure.xmlfile`, the retired XML), checked field by field into a :class:`Release`.

The document structure is checked on the decoded JSON (plain dicts and lists, kept as they
are), with the messages pydantic gave when it did this; prefixes are checked by
:func:`sync.core.feed.checked_records`. Each release remembers its verdict by content, keyed
here by the cloud and the prefix bounds too.
"""

from __future__ import annotations

from collections.abc import Collection, Container, Mapping
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
from sync.feeds.azure.fields import Invalid, listed, present, read_field, string, tag_of
from sync.feeds.azure.layout import Layout, LazyTags
from sync.feeds.azure.skim import Known, Skim, skim

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
    tags of a JSON file come as :class:`sync.feeds.azure.layout.LazyTags`, whose layout (the
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
        before = Known(known)
        skimmed = skim(text, before)
        if skimmed is not None:
            return _from_skim(skimmed, text, before, guards)
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


def _from_skim(skimmed: Skim, text: bytes, known: Known, guards: _Guards) -> Release:
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
    layout = Layout(text, names, skimmed.starts, skimmed.ends, [
        sizes[n] if n in sizes else known.counts[known.at[n]] for n in names])  # fmt: skip
    held = known.prefixes(list(sizes))
    return assemble(decoded, cloud, change_number, "json", guards, held, layout)


def _fields(payload: dict[str, Any], kind: Literal["json", "api"], origin: str) -> tuple[
        int | str, str, list[Any]]:  # fmt: skip
    """The release's own fields, checked in field order; the first fault is named."""
    try:
        change_number = read_field(payload, "changeNumber", present)
        cloud = read_field(payload, "cloud", string)
        values = read_field(payload, "values", listed)
    except Invalid as exc:
        raise FeedError(f"{origin}: release: {exc}") from None
    change_number = _release_number(change_number, kind, origin)
    feed.check_bounds(origin, tags=len(values))
    return change_number, cloud, values


def _entry(entry: Any, index: int, origin: str) -> ServiceTag:
    """One entry of ``values`` as a tag, or its fault named with its place."""
    try:
        return tag_of(entry)
    except Invalid as exc:
        name = entry.get("name") if isinstance(entry, dict) else None
        where = f"tag {name!r} (values[{index}])" if name else f"values[{index}]"
        raise FeedError(f"{origin}: {where}: {exc}") from None


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
