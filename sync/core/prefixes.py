"""Prefix parsing, exact aggregation (netaddr) and the per-target selection of a release.

Checking prefixes is the hot path of a release (about 95,000 entries, 53,000 distinct):
:func:`all_canonical` screens them in bulk through C-level ``map`` pipelines
(``inet_pton``, ``int.from_bytes``), and :func:`parse_prefix` explains the odd one out.
netaddr does the aggregation and the set difference.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from itertools import filterfalse, repeat
from operator import and_, methodcaller
from socket import AF_INET, AF_INET6, AddressFamily, inet_ntop, inet_pton
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, cast

from netaddr import IPNetwork, IPSet, cidr_merge

from sync.errors import FeedError, SettingsError

if TYPE_CHECKING:
    from sync.core.feed import Release

Family = Literal["v4", "v6"]
FAMILIES: tuple[Family, ...] = ("v4", "v6")

#: netaddr objects remembered across calls: a release holds ~53,000 distinct prefixes, the
#: targets of one run share many, and the next weekly release repeats nearly all of them.
CACHE_SIZE = 1 << 17


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
    canonical = f"{inet_ntop(family, packed)}/{prefixlen}"
    return ParsedPrefix(canonical, version, network, prefixlen, network != value)


def all_canonical(
    prefixes: Collection[str], *, min_prefixlen_v4: int, min_prefixlen_v6: int
) -> bool:
    """True if every prefix is valid, canonical, free of host bits and not too broad.

    Exact but silent: when it says False, :func:`parse_prefix` tells which and why.
    """
    v6 = list(filter(_HAS_COLON, prefixes))
    v4 = list(filterfalse(_HAS_COLON, prefixes))
    return _family_canonical(v4, AF_INET, 32, min_prefixlen_v4) and _family_canonical(
        v6, AF_INET6, 128, min_prefixlen_v6
    )


_HAS_COLON = methodcaller("__contains__", ":")
_HOSTMASKS = {bits: [(1 << (bits - n)) - 1 for n in range(bits + 1)] for bits in (32, 128)}
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
#: Whole text of one family, one prefix per line. The IPv4 form is canonical by construction;
#: both guarantee exactly one "/" per line, which makes splitting the joined text safe.
_LINES = {
    AF_INET: re.compile(rf"(?:(?:{_OCTET}\.){{3}}{_OCTET}/(?:3[0-2]|[12]?[0-9])\n)*"),
    AF_INET6: re.compile(r"(?:[0-9a-f:.]+/(?:12[0-8]|1[01][0-9]|[1-9]?[0-9])\n)*"),
}


def _family_canonical(prefixes: list[str], family: AddressFamily, bits: int, minimum: int) -> bool:
    if not prefixes:
        return True
    text = "\n".join(prefixes) + "\n"
    if not _LINES[family].fullmatch(text):
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
    hostmasks = map(_HOSTMASKS[bits].__getitem__, prefixlens)
    if any(map(and_, map(int.from_bytes, packed), hostmasks)):
        return False
    return family == AF_INET or list(map(inet_ntop, repeat(family), packed)) == addresses


def family_of(prefix: str) -> Family:
    """The family of a canonical prefix (cheap: no parsing)."""
    return "v6" if ":" in prefix else "v4"


@lru_cache(maxsize=CACHE_SIZE)
def _network(prefix: str) -> IPNetwork:
    """netaddr's object for a canonical prefix."""
    address, _, length = prefix.partition("/")
    if ":" in address:
        return IPNetwork((int.from_bytes(inet_pton(AF_INET6, address)), int(length)), version=6)
    return IPNetwork((int.from_bytes(inet_pton(AF_INET, address)), int(length)), version=4)


def aggregate(prefixes: Iterable[str]) -> list[str]:
    """The minimal CIDR list covering exactly the given prefixes (host bits are cleared).

    IPv4 first, then IPv6, each sorted by address (the order netaddr's ``cidr_merge`` gives).
    Raises ``ValueError`` for a malformed prefix.
    """
    return _merge({parse_prefix(p).text for p in prefixes})


def _merge(canonical: Iterable[str]) -> list[str]:
    texts = list(canonical)
    nets = list(map(_network, texts))
    # cidr_merge hands back the input objects it did not merge: reuse their text.
    known = dict(zip(map(id, nets), texts, strict=True))
    return [known.get(id(net)) or str(net) for net in cidr_merge(nets)]


def _subtract(prefixes: list[str], exclude: Iterable[str]) -> list[str]:
    """Remove ``exclude`` exactly: an exclusion inside a block splits the block."""
    remaining = IPSet(_network(p) for p in prefixes) - IPSet(_network(p) for p in exclude)
    return [str(net) for net in remaining.iter_cidrs()]


@dataclass(frozen=True)
class Selection:
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

    @cached_property
    def sha256(self) -> str:
        """The change fingerprint: equal means same prefixes and same per-tag versions.

        Hashes canonical JSON of the aggregated prefixes and each tag's own change number, so
        it ignores file bytes, line endings, tag order, duplicates and the release's top-level
        change number (which Microsoft has reused for different content).
        """
        body = json.dumps(
            {"change_numbers": self.change_numbers, "v4": self.v4, "v6": self.v6},
            sort_keys=True,
            separators=(",", ":"),
        )
        return hashlib.sha256(body.encode()).hexdigest()

    def as_dict(self) -> dict[str, Any]:
        return {
            "tags": list(self.tags),
            "change_numbers": dict(self.change_numbers),
            "v4": list(self.v4),
            "v6": list(self.v6),
            "sha256": self.sha256,
        }


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
    wanted_families = set(families)
    if not wanted_families or not wanted_families <= set(FAMILIES):
        raise SettingsError(f"families: {list(families)!r} must be a non-empty subset of v4, v6")
    if not names:
        raise FeedError("no service tag selected")
    tags = {tag.name: tag for tag in map(release.find, names)}
    extras = _setting_prefixes(extra, "extra_prefixes")
    for prefix in extras:
        if family_of(prefix) not in wanted_families:
            raise FeedError(
                f"extra_prefixes: {prefix} is {family_of(prefix)} but families are "
                f"{', '.join(sorted(wanted_families))}"
            )
    excluded = _setting_prefixes(exclude, "exclude_prefixes")
    wanted = {
        prefix
        for tag in tags.values()
        for prefix in tag.address_prefixes
        if family_of(prefix) in wanted_families
    }
    merged = _merge(wanted.union(extras))
    if excluded:
        merged = _subtract(merged, excluded)
    return Selection(
        tags=tuple(tags),
        v4=tuple(p for p in merged if family_of(p) == "v4"),
        v6=tuple(p for p in merged if family_of(p) == "v6"),
        change_numbers={name: tag.change_number for name, tag in tags.items()},
    )
