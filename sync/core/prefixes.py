"""Prefix parsing and exact aggregation, on integers.

Checking prefixes is the hot path of a release (about 95,000 entries, 53,000 distinct):
:func:`all_canonical` screens them in bulk through C-level ``map`` pipelines
(``inet_pton``, ``int.from_bytes``), and :func:`parse_prefix` explains the odd one out.
Aggregation merges sorted integer ``(first, last)`` ranges and splits the result into CIDRs;
text is built for the output only, no object per prefix.
"""

from __future__ import annotations

import re

# The C module itself: ``socket`` would add its enums and ``selectors`` to every start-up.
from _socket import AF_INET, AF_INET6, inet_ntop, inet_pton
from collections.abc import Collection, Iterable, Mapping
from itertools import accumulate, chain, compress, repeat
from operator import add, and_, itemgetter, or_
from typing import Literal, NamedTuple, cast

Family = Literal["v4", "v6"]
FAMILIES: tuple[Family, ...] = ("v4", "v6")


class ParsedPrefix(NamedTuple):
    """A prefix reduced to integers, plus its canonical text."""

    text: str  # canonical: network address (host bits cleared, RFC 5952 for IPv6) "/" length
    version: int  # 4 or 6
    network: int
    prefixlen: int
    host_bits: bool  # the input had bits set below the prefix length


#: Canonical decimal prefix lengths: "024", "+24" or " 24" are not keys.
_LENGTHS = {str(n): n for n in range(129)}


def parse_prefix(text: str) -> ParsedPrefix:
    """Parse ``address[/length]`` strictly; raise ``ValueError`` saying what is wrong.

    A bare address is a host prefix (/32, /128). Leading zeros, spaces, zone ids and
    non-ASCII digits are refused (``inet_pton`` is strict), unlike ``netaddr.IPNetwork``.
    """
    address, slash, length = text.partition("/")
    if ":" in address:
        family, version, bits = AF_INET6, 6, 128
    else:
        family, version, bits = AF_INET, 4, 32
    try:
        packed = inet_pton(family, address)
    except (OSError, ValueError):
        raise ValueError(f"{address!r} is not an IPv{version} address") from None
    prefixlen = _LENGTHS.get(length, -1) if slash else bits
    if not 0 <= prefixlen <= bits:
        raise ValueError(f"prefix length {length!r} is not 0..{bits}")
    value = int.from_bytes(packed, "big")
    network = value & ~((1 << (bits - prefixlen)) - 1)
    if network != value:
        packed = network.to_bytes(bits // 8, "big")
    text = inet_ntop(family, packed)
    if version == 6 and "." in text:
        # glibc writes ::/96 and ::ffff:0:0/96 with a dotted tail; ipaddress is the canon.
        from ipaddress import IPv6Address

        text = str(IPv6Address(packed))
    canonical = f"{text}/{prefixlen}"
    return ParsedPrefix(canonical, version, network, prefixlen, network != value)


def all_canonical(
    prefixes: Collection[str],
    *,
    min_prefixlen_v4: int,
    min_prefixlen_v6: int,
    public: bool = False,
) -> bool:
    """True if every prefix is valid, canonical, free of host bits and not too broad, and
    with ``public`` outside :data:`RESERVED` space.

    Exact but silent: when it says False, :func:`parse_prefix` and :func:`reserved_block`
    tell which and why.
    """
    by_family = _by_family(prefixes)
    return _family_canonical(by_family["v4"], "v4", min_prefixlen_v4, public) and (
        _family_canonical(by_family["v6"], "v6", min_prefixlen_v6, public)
    )


_HOSTMASKS = {bits: [(1 << (bits - n)) - 1 for n in range(bits + 1)] for bits in (32, 128)}
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
#: Whole text of one family, one prefix per line. The IPv4 form is canonical by construction;
#: both guarantee exactly one "/" per line, which makes splitting the joined text safe. The
#: repeat is possessive (``*+``): a line, once matched, is never given back, so the engine keeps
#: no backtracking state per line (a plain ``*`` held ~30 MB for a release's 38,000 IPv4 lines).
#: Left to ``re``'s cache to compile: a run that trusts its release's verdict never needs them.
_LINES = {
    AF_INET: rf"(?:(?:{_OCTET}\.){{3}}{_OCTET}/(?:3[0-2]|[12]?[0-9])\n)*+",
    AF_INET6: r"(?:[0-9a-f:.]+/(?:12[0-8]|1[01][0-9]|[1-9]?[0-9])\n)*+",
}


def _family_canonical(prefixes: list[str], name: Family, minimum: int, public: bool) -> bool:
    if not prefixes:
        return True
    family, bits = _WIDTH[name]
    text = "\n".join(prefixes) + "\n"
    if not re.fullmatch(_LINES[family], text):
        return False
    fields = text.replace("/", "\n").split("\n")  # address, length, ..., ""
    addresses, lengths = fields[0:-1:2], fields[1::2]
    try:
        packed = list(map(inet_pton, repeat(family), addresses))
    except (OSError, ValueError):
        return False
    prefixlens = cast(list[int], list(map(_LENGTHS.__getitem__, lengths)))
    if min(prefixlens) < minimum:
        return False
    hostmasks = list(map(_HOSTMASKS[bits].__getitem__, prefixlens))
    firsts = list(map(int.from_bytes, packed))
    if any(map(and_, firsts, hostmasks)):
        return False
    if public and _touches_reserved(_suspects(packed, prefixlens, firsts, hostmasks, name), name):
        return False
    return family == AF_INET or list(map(inet_ntop, repeat(family), packed)) == addresses


def _suspects(
    packed: list[bytes],
    prefixlens: list[int],
    firsts: list[int],
    hostmasks: list[int],
    name: Family,
) -> list[Span]:
    """The spans that may touch reserved space: a prefix of /8 or longer lies within one
    value of the first byte, so only those whose first byte a reserved block touches (and any
    broader than /8) are looked at closely. Public releases hold few: a bulk test, no sort."""
    near = map(_NEAR_RESERVED[name].__contains__, map(itemgetter(0), packed))
    if min(prefixlens) < 8:
        near = map(or_, near, map((8).__gt__, prefixlens))
    chosen = list(compress(range(len(firsts)), near))
    return [(firsts[i], firsts[i] + hostmasks[i]) for i in chosen]


def family_of(prefix: str) -> Family:
    """The family of a canonical prefix (cheap: no parsing)."""
    return "v6" if ":" in prefix else "v4"


#: An address range of one family as integers, both ends included.
Span = tuple[int, int]
#: Per family: the socket family and the address width in bits.
_WIDTH: dict[Family, tuple[int, int]] = {"v4": (AF_INET, 32), "v6": (AF_INET6, 128)}


def aggregate(
    canonical: Iterable[str], exclude: Iterable[str] = (), families: Iterable[Family] = FAMILIES
) -> dict[Family, list[str]]:
    """Per family, the minimal CIDR list covering exactly ``canonical`` minus ``exclude``.

    Both inputs must be canonical prefixes (as :func:`parse_prefix` writes them). Each family
    comes out sorted by address, as ``ipaddress.collapse_addresses`` gives it; an exclusion
    inside a block splits the block. A family not in ``families`` comes out empty.
    """
    wanted, removed = _by_family(canonical), _by_family(exclude)
    result: dict[Family, list[str]] = {"v4": [], "v6": []}
    for family in families:
        given = _spans(wanted[family], family)
        spans = merge(given)
        if removed[family]:
            spans = subtract(spans, merge(_spans(removed[family], family)))
        # Where little merged (the union of tags already aggregated, as most selections are),
        # a range that is one of the given prefixes is written as it was given: building the
        # text again is most of the work. Where much merged, looking them up costs more.
        known = (
            dict(zip(given, wanted[family], strict=True)) if 2 * len(spans) >= len(given) else None
        )
        result[family] = to_cidrs(spans, family, known)
    return result


class Aggregated(NamedTuple):
    """One prefix list aggregated once, per family: its merged ranges, and the CIDRs of each
    (the prefix itself where a range is one). A release's tags are aggregated once each and
    then joined per target (:func:`aggregate_union`), where many targets share a large tag
    (``AzureMonitor`` beside each one's regional tag) in different combinations: a range no
    other part touches keeps its CIDRs, so only the ranges the join makes are written anew."""

    spans: dict[Family, list[Span]]
    known: dict[Family, dict[Span, tuple[str, ...]]]
    #: Its CIDRs in address order, and where each range's first CIDR is among them (one
    #: more: their count), so that a join can take whole stretches of them as they are.
    cidrs: dict[Family, list[str]]
    starts: dict[Family, list[int]]


def aggregated(canonical: Iterable[str]) -> Aggregated:
    """``canonical`` prefixes (as :func:`parse_prefix` writes them) aggregated per family."""
    texts = _by_family(canonical)
    spans: dict[Family, list[Span]] = {}
    known: dict[Family, dict[Span, tuple[str, ...]]] = {}
    cidrs: dict[Family, list[str]] = {}
    starts: dict[Family, list[int]] = {}
    for family in FAMILIES:
        given = _spans(texts[family], family)
        spans[family] = merge(given)
        kept = set(spans[family])
        names = {s: t for s, t in zip(given, texts[family], strict=True) if s in kept}
        known[family] = {
            span: (names[span],) if span in names else tuple(to_cidrs([span], family))
            for span in spans[family]
        }
        each = [known[family][span] for span in spans[family]]
        cidrs[family] = list(chain.from_iterable(each))
        starts[family] = [0, *accumulate(map(len, each))]
    return Aggregated(spans, known, cidrs, starts)


def aggregate_union(
    parts: Iterable[Aggregated], exclude: Iterable[str] = (), families: Iterable[Family] = FAMILIES
) -> dict[Family, list[str]]:
    """What :func:`aggregate` gives for the union of the parts' prefixes minus ``exclude``,
    from parts aggregated already."""
    parts = list(parts)
    removed = _by_family(exclude)
    result: dict[Family, list[str]] = {"v4": [], "v6": []}
    for family in families:
        given = [part for part in parts if part.spans[family]]
        if not removed[family] and given:
            placed = _placed(given, family)
            if placed is not None:
                result[family] = placed
                continue
        runs = [part.spans[family] for part in given]
        spans = runs[0] if len(runs) == 1 else merge([s for run in runs for s in run])
        if removed[family]:
            spans = subtract(spans, merge(_spans(removed[family], family)))
        names: dict[Span, tuple[str, ...]] = {}
        for part in parts:
            names = part.known[family] if not names else names | part.known[family]
        found = list(map(names.get, spans))
        if None in found:  # ranges the join (or an exclusion) made
            found = [
                tuple(to_cidrs([span], family)) if cidrs is None else cidrs
                for span, cidrs in zip(spans, found, strict=True)
            ]
        result[family] = list(chain.from_iterable(cast(list[tuple[str, ...]], found)))
    return result


def _placed(parts: list[Aggregated], family: Family) -> list[str] | None:
    """The union's CIDRs when no range of the smaller parts touches one of the largest part:
    its CIDRs taken as they are, the others' ranges placed between them in address order (most
    targets join one large tag with a small regional one). None when a range touches one."""
    largest = max(parts, key=lambda part: len(part.spans[family]))
    others = [part for part in parts if part is not largest]
    if len(others) > 1:  # joined first: they may touch each other
        names: dict[Span, tuple[str, ...]] = {}
        for part in others:
            names |= part.known[family]
        small = merge([span for part in others for span in part.spans[family]])
    else:
        names = others[0].known[family] if others else {}
        small = others[0].spans[family] if others else []
    spans, texts, starts = largest.spans[family], largest.cidrs[family], largest.starts[family]
    if not small:  # one tag, as most targets select
        return list(texts)
    from bisect import bisect_left

    firsts = list(map(itemgetter(0), spans))
    out: list[str] = []
    done = 0
    for low, high in small:
        at = bisect_left(firsts, low, done)
        if (at < len(spans) and spans[at][0] <= high + 1) or (at and spans[at - 1][1] + 1 >= low):
            return None
        out += texts[starts[done] : starts[at]]
        out += names.get((low, high)) or to_cidrs([(low, high)], family)
        done = at
    out += texts[starts[done] :]
    return out


def _by_family(prefixes: Iterable[str]) -> dict[Family, list[str]]:
    texts = prefixes if isinstance(prefixes, list | set | frozenset) else list(prefixes)
    return {"v4": [p for p in texts if ":" not in p], "v6": [p for p in texts if ":" in p]}


def _spans(prefixes: list[str], family: Family) -> list[Span]:
    """``(first, last)`` of each canonical prefix of one family."""
    if not prefixes:
        return []
    socket_family, bits = _WIDTH[family]
    fields = "/".join(prefixes).split("/")  # address, length, address, length, ...
    firsts = list(map(int.from_bytes, map(inet_pton, repeat(socket_family), fields[0::2])))
    hostmasks = map(_HOSTMASKS[bits].__getitem__, map(int, fields[1::2]))
    return list(zip(firsts, map(add, firsts, hostmasks), strict=False))


def merge(spans: list[Span]) -> list[Span]:
    """Sorted, disjoint and non-adjacent ranges covering exactly the given ones."""
    if not spans:
        return []
    spans = sorted(spans, key=itemgetter(0))  # equal starts in any order: the loop takes the max
    merged = []
    first, last = spans[0]
    for low, high in spans:
        if low > last + 1:
            merged.append((first, last))
            first, last = low, high
        elif high > last:
            last = high
    merged.append((first, last))
    return merged


def subtract(spans: list[Span], remove: list[Span]) -> list[Span]:
    """``spans`` without the addresses of ``remove``; both sorted and disjoint (:func:`merge`)."""
    result = []
    index, count = 0, len(remove)
    for start, last in spans:
        while index < count and remove[index][1] < start:
            index += 1  # wholly before this span, and so before every later one
        first, cut = start, index
        while cut < count and remove[cut][0] <= last:
            low, high = remove[cut]
            if low > first:
                result.append((first, low - 1))
            first = high + 1
            if high > last:
                break
            cut += 1
        if first <= last:
            result.append((first, last))
    return result


def to_cidrs(
    spans: Iterable[Span], family: Family, known: Mapping[Span, str] | None = None
) -> list[str]:
    """The fewest canonical CIDRs covering each range exactly, in address order; a range
    ``known`` names (a prefix's own span) is that prefix."""
    socket_family, bits = _WIDTH[family]
    size = bits // 8
    names = known or {}
    result = []
    for span in spans:
        text = names.get(span)
        if text is not None:
            result.append(text)
            continue
        first, last = span
        while first <= last:
            # The largest block that starts at ``first`` (alignment) and ends by ``last``.
            log2 = (last - first + 1).bit_length() - 1
            if first:
                log2 = min(log2, (first & -first).bit_length() - 1)
            packed = first.to_bytes(size, "big")
            result.append(f"{inet_ntop(socket_family, packed)}/{bits - log2}")
            first += 1 << log2
    return result


#: Address space no public feed may publish, with what it is: private, shared, loopback,
#: link-local, multicast and reserved space (an allow-list holding it would open internal
#: networks, or addresses no service has); for IPv6 everything outside global unicast
#: 2000::/3. AWS once briefly published 252.0.0.0/10. Documentation and benchmarking ranges
#: (192.0.2.0/24, 198.18.0.0/15, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32) reach no
#: network and are not listed.
RESERVED: tuple[tuple[str, str], ...] = (
    ("0.0.0.0/8", "this network"),
    ("10.0.0.0/8", "private"),
    ("100.64.0.0/10", "shared address space"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local"),
    ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "IETF protocol assignments"),
    ("192.168.0.0/16", "private"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"),
    ("::/8", "loopback, unspecified and IPv4-mapped"),
    ("fc00::/7", "unique local"),
    ("fe80::/10", "link-local"),
    ("ff00::/8", "multicast"),
    ("::/3", "outside global unicast 2000::/3"),
    ("4000::/2", "outside global unicast 2000::/3"),
    ("8000::/1", "outside global unicast 2000::/3"),
)


def _reserved_spans() -> dict[Family, list[tuple[Span, str, str]]]:
    spans: dict[Family, list[tuple[Span, str, str]]] = {"v4": [], "v6": []}
    for block, what in RESERVED:
        family = family_of(block)
        spans[family].append((_spans([block], family)[0], block, what))
    return spans


_RESERVED_SPANS = _reserved_spans()
#: Per family, the values of an address's first byte that some reserved block covers.
_NEAR_RESERVED: dict[Family, frozenset[int]] = {
    family: frozenset(
        byte
        for (low, high), _, _ in _RESERVED_SPANS[family]
        for byte in range(low >> (bits - 8), (high >> (bits - 8)) + 1)
    )
    for family, (_, bits) in _WIDTH.items()
}


def overlaps_reserved(canonical: Collection[str]) -> bool:
    """True when any of these canonical prefixes overlaps :data:`RESERVED` space;
    :func:`reserved_block` then names the block of one prefix."""
    by_family = _by_family(canonical)
    return any(_touches_reserved(_spans(by_family[f], f), f) for f in FAMILIES)


def overlaps_any(canonical: Collection[str], blocks: Collection[str]) -> bool:
    """True when any of these canonical prefixes overlaps any of the canonical ``blocks``.

    In bulk, like :func:`overlaps_reserved`: a plan checks every entry it would write against
    the ranges a service refuses, and nearly always finds none; which entry it was is then
    the caller's (rare) question.
    """
    mine, theirs = _by_family(canonical), _by_family(blocks)
    return any(
        _touches(_spans(mine[f], f), _spans(theirs[f], f))
        for f in FAMILIES
        if mine[f] and theirs[f]
    )


def _touches_reserved(spans: list[Span], family: Family) -> bool:
    return _touches(spans, [span for span, _, _ in _RESERVED_SPANS[family]])


def _touches(spans: list[Span], blocks: Iterable[Span]) -> bool:
    """Bulk, without a loop per prefix: the spans sorted by start, the running maximum of
    their ends, and each block looked up by bisection (a span overlaps it when it starts
    before the block's end and ends after its start)."""
    from bisect import bisect_right

    spans = sorted(spans)
    firsts = list(map(itemgetter(0), spans))
    reach = list(accumulate(map(itemgetter(1), spans), max))
    for low, high in blocks:
        index = bisect_right(firsts, high) - 1
        if index >= 0 and reach[index] >= low:
            return True
    return False


def reserved_block(canonical: str) -> tuple[str, str] | None:
    """The reserved block one canonical prefix overlaps, and what it is; None when public."""
    family = family_of(canonical)
    ((first, last),) = _spans([canonical], family)
    for (low, high), block, what in _RESERVED_SPANS[family]:
        if first <= high and last >= low:
            return block, what
    return None
