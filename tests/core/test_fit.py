"""fit_family, fit and fit_ranges: checked against brute-force searches that share no code.

The brute force walks the address line: the lowest published address not yet covered must lie
in some block of the cover, so it tries every block holding that address and recurses from the
block's end. It knows nothing of tries or cost curves; ``ipaddress`` does its arithmetic.
"""

from __future__ import annotations

import ipaddress
import itertools
from collections.abc import Collection, Iterable
from fractions import Fraction
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from netaddr import IPSet

from sync.core.feed import Release
from sync.core.fit import FamilyFit, fit, fit_family, fit_ranges
from sync.core.selection import select
from sync.feeds.azure.parse import parse_release

Net = ipaddress.IPv4Network | ipaddress.IPv6Network
DATA = Path(__file__).resolve().parent.parent / "data"
# Small spaces (a /24 and a /120: 256 addresses) so that random prefixes sit close together.
BASES = {4: int(ipaddress.IPv4Address("10.20.30.0")), 6: int(ipaddress.IPv6Address("2001:db8::"))}
BITS = {4: 32, 6: 128}
#: Blocks wider than this many bits above the space are never needed: its own /24 (/120)
#: block holds every published address, and tests forbid only lengths near the host length.
WIDEST = {4: 0, 6: 96}


@st.composite
def family_prefixes(draw: st.DrawFn, version: int, max_size: int = 7) -> list[str]:
    """Aggregated prefixes of one family inside the space, lengths /25../32 (/121../128)."""
    bits = BITS[version]
    items = draw(
        st.lists(
            st.tuples(st.integers(0, 255), st.integers(bits - 7, bits)), min_size=1,
            max_size=max_size,
        )
    )  # fmt: skip
    nets = [
        ipaddress.ip_network((BASES[version] + offset, length), strict=False)
        for offset, length in items
    ]
    return [str(n) for n in ipaddress.collapse_addresses(nets)]  # type: ignore[type-var]


def span(version: int, text: str) -> tuple[int, int]:
    net = ipaddress.ip_network(text)
    assert net.version == version
    return int(net.network_address), int(net.network_address) + net.num_addresses


def addresses(blocks: Iterable[str]) -> set[int]:
    covered: set[int] = set()
    for text in blocks:
        start, end = span(ipaddress.ip_network(text).version, text)
        covered.update(range(start, end))
    return covered


def brute(
    version: int,
    prefixes: list[str],
    capacity: int,
    *,
    forbidden: Collection[int] = (),
    prefer: Collection[str] = (),
    tight: bool = False,
) -> tuple[int, int] | None:
    """The least (extra addresses, blocks not in ``prefer``) of any cover, or None.

    Without ``tight`` a cover may use any blocks of allowed lengths; with it (the meaning of
    ``prefer``: a published prefix is never cut without need) a block holds whole published
    prefixes, or is a piece, at the next allowed length, of a prefix of a forbidden length.
    """
    bits = BITS[version]
    spans = sorted(span(version, p) for p in prefixes)
    preferred = {span(version, p) for p in prefer}
    allowed = [n for n in range(WIDEST[version], bits + 1) if n not in forbidden]

    def published_in(start: int, end: int) -> int:
        return sum(max(0, min(end, e) - max(start, s)) for s, e in spans)

    @cache
    def best(x: int, k: int) -> tuple[int, int] | None:
        holder = next(((s, e) for s, e in spans if e > x), None)
        if holder is None:
            return (0, 0)
        if k == 0:
            return None
        a = max(holder[0], x)
        own = bits - (holder[1] - holder[0]).bit_length() + 1  # the prefix length of `holder`
        results = []
        for length in allowed:
            size = 1 << (bits - length)
            start = a - a % size
            if (
                tight
                and length > own
                and (own in allowed or length != min(n for n in allowed if n > own))
            ):
                continue
            rest = best(start + size, k - 1)
            if rest is not None:
                extra = size - published_in(start, start + size)
                new = (start, start + size) not in preferred
                results.append((extra + rest[0], new + rest[1]))
        return min(results, default=None)

    return best(0, capacity)


def check_cover(
    result: FamilyFit, prefixes: list[str], capacity: int, forbidden: Collection[int]
) -> None:
    """Within capacity, no host bits, no forbidden length, sorted, disjoint, exact counts."""
    nets = [ipaddress.ip_network(b) for b in result.blocks]  # strict: host bits raise
    assert len(nets) <= capacity
    assert all(n.prefixlen not in forbidden for n in nets)
    for a, b in itertools.pairwise(nets):
        assert int(a.broadcast_address) < int(b.network_address)
    published = addresses(prefixes)
    covered = addresses(result.blocks)
    assert published <= covered
    assert result.published == len(published)
    assert result.extra_addresses == len(covered) - len(published)
    assert result.exact == (covered == published)


versions = st.sampled_from([4, 6])


@st.composite
def cases(draw: st.DrawFn) -> tuple[int, list[str], int, set[int]]:
    version = draw(versions)
    bits = BITS[version]
    prefixes = draw(family_prefixes(version))
    forbidden = draw(st.sets(st.sampled_from([bits - 1, bits - 2, bits - 4])))
    return version, prefixes, draw(st.integers(0, 6)), forbidden


@settings(max_examples=300)
@given(cases())
def test_fit_family_is_the_least_extra(case: tuple[int, list[str], int, set[int]]) -> None:
    version, prefixes, capacity, forbidden = case
    expected = brute(version, prefixes, capacity, forbidden=forbidden)
    if expected is None:
        with pytest.raises(ValueError, match="need at least"):
            fit_family(prefixes, capacity, forbidden_lengths=forbidden)
        return
    result = fit_family(prefixes, capacity, forbidden_lengths=forbidden)
    check_cover(result, prefixes, capacity, forbidden)
    # The least extra, and among those covers the fewest entries.
    assert (result.extra_addresses, len(result.blocks)) == expected
    assert result.capacity == capacity


@settings(max_examples=200)
@given(cases(), st.data())
def test_prefer_keeps_held_blocks(
    case: tuple[int, list[str], int, set[int]], data: st.DataObject
) -> None:
    version, prefixes, capacity, forbidden = case
    bits = BITS[version]
    held = data.draw(
        st.lists(st.tuples(st.integers(0, 255), st.integers(bits - 8, bits)), max_size=6)
    )
    prefer = [str(ipaddress.ip_network((BASES[version] + o, n), strict=False)) for o, n in held]
    expected = brute(version, prefixes, capacity, forbidden=forbidden, prefer=prefer, tight=True)
    if expected is None:
        return
    result = fit_family(prefixes, capacity, prefer=prefer, forbidden_lengths=forbidden)
    check_cover(result, prefixes, capacity, forbidden)
    new = sum(block not in prefer for block in result.blocks)
    assert (result.extra_addresses, new) == expected


@given(versions.flatmap(lambda v: st.tuples(st.just(v), family_prefixes(v, max_size=10))))
def test_more_capacity_never_costs_more(case: tuple[int, list[str]]) -> None:
    _version, prefixes = case
    extras = [fit_family(prefixes, k).extra_addresses for k in range(1, len(prefixes) + 2)]
    assert extras == sorted(extras, reverse=True)
    assert extras[-2] == extras[-1] == 0
    for k in (len(prefixes), len(prefixes) + 3):
        result = fit_family(prefixes, k)
        assert list(result.blocks) == prefixes
        assert result.exact


@settings(max_examples=150)
@given(family_prefixes(4, max_size=5), family_prefixes(6, max_size=5), st.integers(0, 7))
def test_shared_capacity_split_is_exact(v4: list[str], v6: list[str], capacity: int) -> None:
    """The split minimises (larger ratio, ratio sum, entries) over every split of the capacity."""
    # Per family: (least extra, fewest entries) within each budget, from the brute force.
    costs = {4: [brute(4, v4, k) for k in range(capacity + 1)]}
    costs[6] = [brute(6, v6, k) for k in range(capacity + 1)]
    published = {4: len(addresses(v4)), 6: len(addresses(v6))}
    keys = []
    for k4 in range(capacity + 1):
        for k6 in range(capacity - k4 + 1):
            a, b = costs[4][k4], costs[6][k6]
            if a is not None and b is not None:
                r4, r6 = Fraction(a[0], published[4]), Fraction(b[0], published[6])
                keys.append((max(r4, r6), r4 + r6, a[1] + b[1]))
    if not keys:
        with pytest.raises(ValueError, match="need at least"):
            fit({"v4": v4, "v6": v6}, capacity)
        return
    result = fit({"v4": v4, "v6": v6}, capacity)
    for name, prefixes in (("v4", v4), ("v6", v6)):
        check_cover(result[name], prefixes, result[name].capacity, ())
    r4, r6 = result["v4"].extra_ratio, result["v6"].extra_ratio
    entries = len(result["v4"].blocks) + len(result["v6"].blocks)
    assert (max(r4, r6), r4 + r6, entries) == min(keys)
    assert result["v4"].capacity + result["v6"].capacity <= capacity


def test_split_minimises_the_larger_ratio_before_the_sum() -> None:
    v4 = ["10.0.0.0/28", "10.0.0.32/30"]  # 1 block: /26, 44 extra / 20 = 2.2; 2 blocks: 0
    v6 = ["2001:db8::/125", "2001:db8::18/126", "2001:db8::20/126"]  # 1: 48 / 16 = 3; 2: 1.25
    result = fit({"v4": v4, "v6": v6}, 3)
    # (1, 2) entries: ratios 2.2 and 1.25; (2, 1) has the smaller sum, 0 + 3, but a larger max.
    assert result["v4"].blocks == ("10.0.0.0/26",)
    assert result["v6"].blocks == ("2001:db8::/123", "2001:db8::20/126")
    assert (result["v4"].extra_ratio, result["v6"].extra_ratio) == (Fraction(11, 5), Fraction(5, 4))


@given(family_prefixes(4), st.integers(1, 6))
def test_one_family_takes_the_whole_capacity(v4: list[str], capacity: int) -> None:
    assert fit({"v4": v4, "v6": []}, capacity) == {
        "v4": fit_family(v4, capacity),
        "v6": FamilyFit((), 0, 0, True, 0),
    }


def brute_ranges(runs: list[list[int]], capacity: int) -> int | None:
    """The least extra of at most ``capacity`` ranges: every choice of gaps to leave open."""
    if not runs:
        return 0
    extras = []
    for kept in range(1, min(capacity, len(runs)) + 1):
        for cuts in itertools.combinations(range(1, len(runs)), kept - 1):
            groups = [runs[i:j] for i, j in itertools.pairwise([0, *cuts, len(runs)])]
            extras.append(sum(g[-1][-1] - g[0][0] + 1 - sum(map(len, g)) for g in groups))
    return min(extras, default=None)


@given(
    versions.flatmap(
        lambda v: st.lists(
            st.tuples(st.integers(0, 255), st.integers(BITS[v] - 6, BITS[v])), max_size=9
        ).map(lambda items: (v, items))
    ),
    st.integers(0, 6),
)
def test_fit_ranges_closes_the_cheapest_gaps(
    case: tuple[int, list[tuple[int, int]]], capacity: int
) -> None:
    version, items = case
    prefixes = [str(ipaddress.ip_network((BASES[version] + o, n), strict=False)) for o, n in items]
    published = sorted(addresses(prefixes))
    runs: list[list[int]] = []  # maximal runs of consecutive published addresses
    for a in published:
        if runs and runs[-1][-1] + 1 == a:
            runs[-1].append(a)
        else:
            runs.append([a])
    best = brute_ranges(runs, capacity)
    if best is None:
        with pytest.raises(ValueError, match="need at least"):
            fit_ranges(prefixes, capacity)
        return
    result = fit_ranges(prefixes, capacity)
    spans = [(int(ipaddress.ip_address(s)), int(ipaddress.ip_address(e))) for s, e in result.ranges]
    assert len(spans) <= capacity
    assert all(s <= e for s, e in spans)
    assert all(e + 1 < s for (_, e), (s, _) in itertools.pairwise(spans))  # sorted, apart
    covered = {a for s, e in spans for a in range(s, e + 1)}
    assert set(published) <= covered
    assert result.published == len(published)
    assert result.extra_addresses == len(covered) - len(published) == best
    assert result.exact == (covered == set(published))


def test_storage_writes_a_31_as_two_addresses_or_widens_it() -> None:
    """A Storage account takes single addresses but no /31: {31} is forbidden."""
    two = fit_family(["203.0.113.6/31"], 2, forbidden_lengths={31})
    assert two.blocks == ("203.0.113.6/32", "203.0.113.7/32")
    assert (two.extra_addresses, two.exact) == (0, True)
    one = fit_family(["203.0.113.6/31"], 1, forbidden_lengths={31})
    assert one.blocks == ("203.0.113.4/30",)
    assert one.extra_addresses == 2
    # Three entries: the /31 costs two, so the two prefixes cannot both stay exact.
    three = fit_family(["203.0.113.6/31", "203.0.113.8/29"], 2, forbidden_lengths={31})
    assert three.blocks == ("203.0.113.4/30", "203.0.113.8/29")


@pytest.mark.parametrize(
    ("prefixes", "capacity", "kwargs", "message"),
    [
        (["10.0.0.0/24"], 0, {}, "need at least 1 entry; the capacity is 0"),
        (["10.0.0.0/24"], -1, {}, "negative"),
        (["10.0.0.0/24", "2001:db8::/32"], 5, {}, "both IP families"),
        (["10.0.0.1/24"], 5, {}, "host bits"),
        (["10.0.0.0/24", "10.0.0.128/25"], 1, {}, "overlaps"),
        (["10.0.0.0/25", "10.0.0.128/25"], 1, {}, "expects aggregated prefixes"),
        (["10.0.0.0/24"], 1, {"forbidden_lengths": {32}}, "must be 0..31"),
        (["10.0.0.0/24"], 1, {"prefer": ["nonsense"]}, "not an IPv4 address"),
    ],
)
def test_bad_input_is_a_value_error(
    prefixes: list[str], capacity: int, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        fit_family(prefixes, capacity, **kwargs)  # type: ignore[arg-type]


def test_fit_refuses_unknown_or_mismatched_families() -> None:
    with pytest.raises(ValueError, match="family must be v4 or v6"):
        fit({"ipv4": ["10.0.0.0/24"]}, 5)
    with pytest.raises(ValueError, match="the v4 prefixes are IPv6"):
        fit({"v4": ["2001:db8::/32"]}, 5)
    with pytest.raises(ValueError, match=r"need at least 1 \+ 1 entries; the capacity is 1"):
        fit({"v4": ["10.0.0.0/24", "10.0.2.0/24"], "v6": ["2001:db8::/32", "2001:dba::/32"]}, 1)


@cache
def release(name: str) -> Release:
    return parse_release((DATA / name).read_bytes(), origin=name)


CURRENT = "ServiceTags_Public_20251017.json.xz"
PREVIOUS = "ServiceTags_Public_20251010.json.xz"


def check_real(result: FamilyFit, prefixes: tuple[str, ...], capacity: int) -> None:
    """Coverage with netaddr: every published address, and exactly the extra reported."""
    assert len(result.blocks) <= capacity
    published, held = IPSet(prefixes), IPSet(result.blocks)
    assert published.issubset(held)
    assert (published.size, held.size - published.size) == (
        result.published,
        result.extra_addresses,
    )
    assert len(IPSet(result.blocks).iter_cidrs()) == len(result.blocks)  # disjoint, no siblings


def test_azurecloud_v4_into_1000_blocks() -> None:
    v4 = select(release(CURRENT), ["AzureCloud"], families=["v4"]).v4
    assert len(v4) > 1000
    result = fit_family(v4, 1000)
    check_real(result, v4, 1000)
    assert len(result.blocks) == 1000
    # More room never costs more, and room for all is the exact list.
    assert fit_family(v4, 1200).extra_addresses <= result.extra_addresses
    assert fit_family(v4, len(v4)).blocks == v4


def test_westeurope_into_a_storage_account() -> None:
    """AzureCloud.westeurope (about 415 IPv4 prefixes) into a Storage account's 400 IP rules."""
    v4 = select(release(CURRENT), ["AzureCloud.westeurope"], families=["v4"]).v4
    result = fit_family(v4, 400, forbidden_lengths={31})
    check_real(result, v4, 400)
    assert not any(block.endswith("/31") for block in result.blocks)
    assert result.extra_ratio < Fraction(1, 1000)


def test_next_release_changes_few_entries_when_the_held_ones_are_preferred() -> None:
    before = select(release(PREVIOUS), ["AzureCloud.westeurope"], families=["v4"]).v4
    now = select(release(CURRENT), ["AzureCloud.westeurope"], families=["v4"]).v4
    held = fit_family(before, 400).blocks
    stable = fit_family(now, 400, prefer=held)
    fresh = fit_family(now, 400)
    assert stable.extra_addresses == fresh.extra_addresses
    added = len(set(stable.blocks) - set(held))
    assert added <= len(set(fresh.blocks) - set(held))
    assert added <= len(set(now) - set(before))  # no more than the release itself changed


def test_azurecloud_both_families_share_1000() -> None:
    selection = select(release(CURRENT), ["AzureCloud"])
    result = fit({"v4": selection.v4, "v6": selection.v6}, 1000)
    check_real(result["v4"], selection.v4, result["v4"].capacity)
    check_real(result["v6"], selection.v6, result["v6"].capacity)
    assert result["v4"].capacity + result["v6"].capacity <= 1000
    # Neither family alone could do better with one entry more taken from the other.
    r4, r6 = result["v4"].extra_ratio, result["v6"].extra_ratio
    for a, b in (("v4", "v6"), ("v6", "v4")):
        more = fit_family(selection.family(a), result[a].capacity + 1).extra_ratio  # type: ignore[arg-type]
        less = fit_family(selection.family(b), result[b].capacity - 1).extra_ratio  # type: ignore[arg-type]
        assert max(more, less) >= max(r4, r6)
