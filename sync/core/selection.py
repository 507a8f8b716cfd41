"""The per-target selection of a release: which tags, which families, what is added and removed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple

from sync.core.feed import DEFAULT_FEED
from sync.core.prefixes import (
    FAMILIES,
    Aggregated,
    Family,
    aggregate_union,
    aggregated,
    family_of,
    parse_prefix,
)
from sync.errors import FeedError, SettingsError

if TYPE_CHECKING:
    from sync.core.feed import Release, ServiceTag


class Selection(NamedTuple):
    """The aggregated prefixes one target allows, and what they were derived from."""

    tags: tuple[str, ...]
    v4: tuple[str, ...]
    v6: tuple[str, ...]
    change_numbers: dict[str, int | str]

    @property
    def prefixes(self) -> tuple[str, ...]:
        return self.v4 + self.v6

    def family(self, f: Family) -> tuple[str, ...]:
        if f not in FAMILIES:
            raise ValueError(f"family must be v4 or v6, not {f!r}")
        return self.v4 if f == "v4" else self.v6

    @property
    def sha256(self) -> str:
        """The change fingerprint: equal means same prefixes and same per-tag versions.

        Hashes canonical JSON of the aggregated prefixes and each tag's own change number, so
        it ignores file bytes, line endings, tag order, duplicates and the release's top-level
        change number (which Microsoft has reused for different content).
        """
        import hashlib
        import json

        numbers = json.dumps(self.change_numbers, sort_keys=True, separators=(",", ":"))
        v4, v6 = _strings(self.v4), _strings(self.v6)
        body = f'{{"change_numbers":{numbers},"v4":{v4},"v6":{v6}}}'
        return hashlib.sha256(body.encode()).hexdigest()

    def as_dict(self, *, fingerprint: bool = True) -> dict[str, Any]:
        """The document every list format renders; ``fingerprint`` adds :attr:`sha256`
        (which only the JSON form shows)."""
        document: dict[str, Any] = {
            "tags": list(self.tags),
            "change_numbers": dict(self.change_numbers),
            "v4": list(self.v4),
            "v6": list(self.v6),
        }
        if fingerprint:
            document["sha256"] = self.sha256
        return document


def _strings(values: tuple[str, ...]) -> str:
    """``values`` as compact JSON, as ``json.dumps`` writes them. Prefixes need no escape, so
    they are joined as they are (ten times faster than encoding each: every target's
    fingerprint is taken); any other text is left to the encoder."""
    import json

    text = "".join(values)
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return '["' + '","'.join(values) + '"]' if values else "[]"
    return json.dumps(list(values), separators=(",", ":"))


def _setting_prefixes(values: Sequence[str], setting: str) -> list[str]:
    """Validate user-given prefixes strictly: host bits are refused, not silently cleared."""
    result = []
    for value in values:
        try:
            parsed = parse_prefix(value)
        except ValueError as exc:
            raise FeedError(f"{setting}: {value!r} is not a prefix: {exc}") from None
        if parsed.host_bits:
            raise FeedError(f"{setting}: {value!r} has host bits set (did you mean {parsed.text}?)")
        result.append(parsed.text)
    return result


class Pick(NamedTuple):
    """What one target takes from one feed's release: its selectors, by name."""

    #: The feed as targets name it (``azure``, ``github``, ``url:atlassian``).
    feed: str
    release: Release
    names: tuple[str, ...]


def label(feed: str, name: str) -> str:
    """How a selection names a record: a service tag by its name (as ever), any other feed's
    selector as ``feed:name`` (``github:actions``), so names of two feeds never meet."""
    return name if feed in ("", DEFAULT_FEED) else f"{feed}:{name}"


def select(
    release: Release,
    names: Sequence[str],
    *,
    families: Sequence[str] = FAMILIES,
    extra: Sequence[str] = (),
    exclude: Sequence[str] = (),
) -> Selection:
    """Aggregate the union of the named tags (any case), restricted to ``families``.

    ``extra`` prefixes are added (one of a family not selected is an error, not dropped) and
    ``exclude`` prefixes are removed exactly. A name missing from the release raises
    :class:`FeedError`: a vanished tag must never become an empty allow-list.
    """
    if not names:
        raise FeedError("no service tag selected")
    return select_many(
        [Pick("", release, tuple(names))], families=families, extra=extra, exclude=exclude
    )


def select_many(
    picks: Sequence[Pick],
    *,
    families: Sequence[str] = FAMILIES,
    extra: Sequence[str] = (),
    exclude: Sequence[str] = (),
) -> Selection:
    """:func:`select` over several feeds' releases at once: the union of every pick's records,
    aggregated once, each record named by :func:`label`.

    Every pick must name a selector (a feed's implicit selection is resolved by the caller).
    """
    wanted_families = set(families)
    if not wanted_families or not wanted_families <= set(FAMILIES):
        raise SettingsError(f"families: {list(families)!r} must be a non-empty subset of v4, v6")
    if not picks:
        raise FeedError("no selector selected")
    tags: dict[str, ServiceTag] = {}
    parts: list[Aggregated] = []
    for pick in picks:
        if not pick.names:
            raise FeedError(f"feed {pick.feed}: no selector selected")
        for name in pick.names:
            tag = pick.release.find(name)
            if label(pick.feed, tag.name) not in tags:
                parts.append(_tag_aggregate(pick.release, tag))
            tags[label(pick.feed, tag.name)] = tag
    extras = _setting_prefixes(extra, "extra_prefixes")
    for prefix in extras:
        if family_of(prefix) not in wanted_families:
            raise FeedError(
                f"extra_prefixes: {prefix} is {family_of(prefix)} but families are "
                f"{', '.join(sorted(wanted_families))}"
            )
    excluded = _setting_prefixes(exclude, "exclude_prefixes")
    if extras:
        parts.append(aggregated(extras))
    merged = aggregate_union(parts, excluded, [f for f in FAMILIES if f in wanted_families])
    return Selection(
        tags=tuple(tags),
        v4=tuple(merged["v4"]),
        v6=tuple(merged["v6"]),
        change_numbers={name: tag.change_number for name, tag in tags.items()},
    )


def _tag_aggregate(release: Release, tag: ServiceTag) -> Aggregated:
    """A record's prefixes aggregated once per release, shared by every target selecting it."""
    found: Aggregated | None = release.memo.get(tag.name)
    if found is None:
        found = release.memo[tag.name] = _aggregated(tuple(tag.address_prefixes))
    return found


#: Records aggregated in this process, remembered by their prefixes. Every run reads its
#: release anew, yet the runs of a week (a fanned-out run's work items, one after another
#: in one instance) select the same records; the bound keeps a long-lived worker's memory
#: flat across releases. What is remembered is never changed by its users.
AGGREGATED_CACHE = 1024


@lru_cache(maxsize=AGGREGATED_CACHE)
def _aggregated(prefixes: tuple[str, ...]) -> Aggregated:
    return aggregated(prefixes)


def empty_tags(release: Release, names: Sequence[str], families: Sequence[str]) -> list[str]:
    """Selected tags with no prefix of ``families``: a tag emptied by a bad release must not
    silently shrink an allow-list, even when other tags keep it from being empty."""
    return empty_selectors([Pick("", release, tuple(names))], families)


def empty_selectors(picks: Sequence[Pick], families: Sequence[str]) -> list[str]:
    """:func:`empty_tags` over several feeds' picks, each named by :func:`label`."""
    wanted = set(families)
    return [
        label(pick.feed, name)
        for pick in picks
        for name in pick.names
        if not any(family_of(p) in wanted for p in pick.release.find(name).address_prefixes)
    ]


#: Addresses in a prefix, by the text of its length, per address width.
_SIZES = {bits: {str(n): 1 << (bits - n) for n in range(bits + 1)} for bits in (32, 128)}


def addresses(prefixes: Sequence[str]) -> int:
    """How many addresses aggregated (non-overlapping) prefixes hold.

    Every plan counts what its selection publishes, a thousand prefixes and more: prefixes of
    one family are counted by length (C-level split and count, no loop per prefix); anything
    else (both families, an odd text) one by one.
    """
    text = "/".join(prefixes)
    fields = text.split("/")
    if len(fields) == 2 * len(prefixes) and not (":" in text and "." in text):
        sizes = _SIZES[128 if ":" in text else 32]
        lengths = Counter(fields[1::2])
        if lengths.keys() <= sizes.keys():
            return sum(sizes[length] * count for length, count in lengths.items())
    total = 0
    for prefix in prefixes:
        length = int(prefix.rsplit("/", 1)[1])
        total += 1 << ((128 if ":" in prefix else 32) - length)
    return total
