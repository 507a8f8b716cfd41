"""select: exact (no address gained or lost) and minimal, checked independently."""

from __future__ import annotations

import hashlib
import ipaddress
import itertools
import json
from collections.abc import Iterable

import netaddr
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from sync.core.feed import Release
from sync.core.prefixes import RESERVED, all_canonical, parse_prefix, reserved_block
from sync.core.selection import Selection, select
from sync.errors import FeedError, SettingsError
from sync.feeds.azure.parse import parse_release

Net = ipaddress.IPv4Network | ipaddress.IPv6Network

# Small address spaces (256 addresses per family) so that merges happen and sets of integers
# are an exact, independent model of what a list of prefixes covers.
V4_BASE = int(ipaddress.IPv4Address("11.20.30.0"))
V6_BASE = int(ipaddress.IPv6Address("2001:db8::"))


@st.composite
def prefixes(draw: st.DrawFn, *, host_bits: bool = True) -> str:
    version = draw(st.sampled_from([4, 6]))
    bits = 32 if version == 4 else 128
    prefixlen = draw(st.integers(bits - 8, bits))
    offset = draw(st.integers(0, 255))
    if not host_bits:
        offset &= ~((1 << (bits - prefixlen)) - 1)
    if version == 4:
        return f"{ipaddress.IPv4Address(V4_BASE + offset)}/{prefixlen}"
    return f"{ipaddress.IPv6Address(V6_BASE + offset)}/{prefixlen}"


def addresses(items: Iterable[str]) -> set[tuple[int, int]]:
    """Every (version, address) covered, computed with ipaddress (not the code under test)."""
    covered: set[tuple[int, int]] = set()
    for text in items:
        net = ipaddress.ip_network(text, strict=False)
        first = int(net.network_address)
        covered.update((net.version, a) for a in range(first, first + net.num_addresses))
    return covered


def collapse(items: Iterable[str]) -> list[str]:
    nets = [ipaddress.ip_network(p, strict=False) for p in items]
    out: list[str] = []
    for version in (4, 6):
        family: list[Net] = [n for n in nets if n.version == version]
        out += [str(n) for n in ipaddress.collapse_addresses(family)]  # type: ignore[type-var]
    return out


def assert_minimal_and_sorted(result: list[str]) -> None:
    nets = [ipaddress.ip_network(p) for p in result]  # strict: no host bits in the output
    assert [n.version for n in nets] == sorted(n.version for n in nets)  # IPv4 first
    for a, b in itertools.pairwise(nets):
        if a.version == b.version:
            assert int(a.broadcast_address) < int(b.network_address)  # sorted, disjoint
    keys = {(n.version, n.network_address, n.prefixlen) for n in nets}
    for n in nets:  # no two siblings: they would merge into their parent
        if n.prefixlen:
            sibling = n.supernet().network_address
            if sibling == n.network_address:
                sibling = n.network_address + n.num_addresses
            assert (n.version, sibling, n.prefixlen) not in keys, f"{n} has its sibling"


@st.composite
def _wide_prefix(draw: st.DrawFn) -> str:
    version = draw(st.sampled_from([4, 6]))
    bits = 32 if version == 4 else 128
    prefixlen = draw(st.integers(8 if version == 4 else 16, bits))
    low = 0 if version == 4 else 1 << 125
    address = draw(st.integers(low, 2 * low - 1 if low else (1 << 32) - 1))
    return str(ipaddress.ip_network((address & ~((1 << (bits - prefixlen)) - 1), prefixlen)))


def wide_prefixes() -> st.SearchStrategy[str]:
    """Any public prefix within the default bounds (/8, /16): big blocks, odd alignments
    (IPv6 in global unicast 2000::/3, IPv4 outside the reserved blocks).

    A filter on the prefix draws again in place; an ``assume`` would throw away the whole
    list of 40, and Hypothesis's health check failed on that now and then."""
    return _wide_prefix().filter(lambda text: reserved_block(text) is None)


def netaddr_select(items: Iterable[str], exclude: Iterable[str] = ()) -> list[str]:
    """The former engine: netaddr's cidr_merge, and IPSet difference for exclusions."""
    merged = netaddr.cidr_merge([netaddr.IPNetwork(p) for p in items])
    if exclude:
        remaining = netaddr.IPSet(merged) - netaddr.IPSet(exclude)
        merged = list(remaining.iter_cidrs())
    return [str(net) for net in merged]


def selected(items: list[str], exclude: list[str] = ()) -> list[str]:  # type: ignore[assignment]
    return list(select(release_of({"A": items}), ["A"], exclude=exclude).prefixes)


@given(st.lists(prefixes(), max_size=40))
def test_select_is_exact_and_minimal_over_host_bits(items: list[str]) -> None:
    result = selected(items)
    assert addresses(result) == addresses(items)
    assert_minimal_and_sorted(result)
    assert result == collapse(items)


@settings(max_examples=200)
@given(st.lists(wide_prefixes(), max_size=40), st.lists(wide_prefixes(), max_size=6))
def test_select_matches_ipaddress_and_netaddr_on_wide_prefixes(
    items: list[str], exclude: list[str]
) -> None:
    result = selected(items)
    assert result == netaddr_select(items)
    # ipaddress writes ::/96 addresses ("::80:0") unlike inet_ntop and netaddr ("::0.128.0.0").
    assert list(map(ipaddress.ip_network, result)) == list(
        map(ipaddress.ip_network, collapse(items))
    )
    result = selected(items, exclude)
    assert result == netaddr_select(items, exclude)
    assert_minimal_and_sorted(result)


@given(st.lists(prefixes(), max_size=20))
def test_select_is_idempotent_and_order_free(items: list[str]) -> None:
    once = selected(items)
    assert selected(once) == once
    assert selected(items[::-1]) == once


@given(prefixes())
def test_parse_prefix_agrees_with_ipaddress(text: str) -> None:
    parsed = parse_prefix(text)
    net = ipaddress.ip_network(text, strict=False)
    assert parsed.text == str(net)
    assert parsed.network == int(net.network_address)
    assert parsed.host_bits == (str(net) != text)


@given(st.text(alphabet="0123456789abcdef.:/ x", max_size=24))
def test_parse_prefix_accepts_only_what_ipaddress_accepts(text: str) -> None:
    try:
        expected = str(ipaddress.ip_network(text, strict=False))
    except ValueError:
        with pytest.raises(ValueError, match=r"is not (an IPv[46] address|0\.\.)"):
            parse_prefix(text)
        return
    _address, slash, length = text.partition("/")
    if slash and length not in {str(n) for n in range(129)}:
        with pytest.raises(ValueError, match="prefix length"):  # "/024", "/255.0.0.0"
            parse_prefix(text)
    else:
        assert parse_prefix(text).text == expected


def screen_expected(text: str, v4_min: int, v6_min: int) -> bool:
    try:
        parsed = parse_prefix(text)
    except ValueError:
        return False
    minimum = v4_min if parsed.version == 4 else v6_min
    return parsed.text == text and parsed.prefixlen >= minimum


@given(
    st.lists(st.one_of(prefixes(), st.text(alphabet="0123456789abcdef.:/ ", max_size=20))),
    st.integers(0, 32),
    st.integers(0, 128),
)
def test_bulk_screen_agrees_with_parse_prefix(items: list[str], v4_min: int, v6_min: int) -> None:
    expected = all(screen_expected(p, v4_min, v6_min) for p in items)
    assert all_canonical(items, min_prefixlen_v4=v4_min, min_prefixlen_v6=v6_min) == expected


@st.composite
def anywhere(draw: st.DrawFn) -> str:
    """A canonical prefix of any length anywhere in the address space (near a reserved block
    more often than chance would put it)."""
    version = draw(st.sampled_from([4, 6]))
    bits = 32 if version == 4 else 128
    prefixlen = draw(st.integers(0, bits))
    near = [int(ipaddress.ip_network(block).network_address) for block, _ in RESERVED
            if ipaddress.ip_network(block).version == version]  # fmt: skip
    start = draw(st.one_of(st.integers(0, 2**bits - 1), st.sampled_from(near)))
    start += draw(st.integers(-(2**12), 2**12))
    network = max(0, min(start, 2**bits - 1)) & ~((1 << (bits - prefixlen)) - 1)
    return str(ipaddress.ip_network((network, prefixlen)))


@given(st.lists(anywhere(), max_size=6), st.integers(0, 32), st.integers(0, 128))
@example(["11.0.0.0/8", "96.0.0.0/3"], 0, 0)  # holds 100.64.0.0/10, starts outside it
@example(["64.0.0.0/2"], 2, 0)
def test_bulk_public_screen_agrees_with_the_block_it_names(
    items: list[str], v4_min: int, v6_min: int
) -> None:
    """Broad prefixes too (a /3 holds reserved blocks without starting in one)."""
    expected = all(
        screen_expected(p, v4_min, v6_min) and reserved_block(parse_prefix(p).text) is None
        for p in items
    )
    screened = all_canonical(items, min_prefixlen_v4=v4_min, min_prefixlen_v6=v6_min, public=True)
    assert screened == expected


@pytest.mark.parametrize(
    "odd",
    [
        "11.0.0.1/24",
        "11.0.0.0",
        "2001:DB8::/32",
        "2001:db8:0::/48",
        "11.0.0.0/024",
        "11.0.0.0/33",
        "::/129",
        "11.0.0.0/7",
        "x",
        "11.0.0.0/",
    ],
)
def test_bulk_screen_rejects_each_odd_prefix(odd: str) -> None:
    clean = ["11.0.0.0/24", "2001:db8::/48"]
    assert all_canonical(clean, min_prefixlen_v4=8, min_prefixlen_v6=16)
    assert not all_canonical([*clean, odd], min_prefixlen_v4=8, min_prefixlen_v6=16)


# --- select -----------------------------------------------------------------------------------


def release_of(tags: dict[str, list[str]]) -> Release:
    values = [
        {
            "name": name,
            "properties": {
                "changeNumber": i,
                "region": "",
                "systemService": name,
                "addressPrefixes": p,
            },
        }
        for i, (name, p) in enumerate(tags.items())
    ]
    data = json.dumps({"changeNumber": 1, "cloud": "Public", "values": values}).encode()
    return parse_release(data, origin="t.json", min_tags=1)


@settings(max_examples=150)
@given(
    a=st.lists(prefixes(), max_size=15),
    b=st.lists(prefixes(), max_size=15),
    extra=st.lists(prefixes(host_bits=False), max_size=5),
    exclude=st.lists(prefixes(host_bits=False), max_size=5),
    families=st.sampled_from([("v4",), ("v6",), ("v4", "v6")]),
)
def test_select_is_exact_and_minimal(
    a: list[str], b: list[str], extra: list[str], exclude: list[str], families: tuple[str, ...]
) -> None:
    versions = {int(f[1]) for f in families}
    extra = [p for p in extra if ipaddress.ip_network(p).version in versions]
    release = release_of({"Alpha": a, "Beta": b})
    sel = select(release, ["alpha", "BETA"], families=families, extra=extra, exclude=exclude)
    wanted = {(v, x) for v, x in addresses(a + b) if v in versions} | addresses(extra)
    assert addresses(sel.prefixes) == wanted - addresses(exclude)
    assert_minimal_and_sorted(list(sel.prefixes))
    assert sel.v4 == sel.family("v4")
    assert all(":" not in p for p in sel.v4)
    assert sel.v6 == sel.family("v6")
    assert all(":" in p for p in sel.v6)
    assert sel.tags == ("Alpha", "Beta")
    assert sel.change_numbers == {"Alpha": 0, "Beta": 1}


@settings(max_examples=150)
@given(st.lists(st.lists(prefixes(), max_size=12), min_size=1, max_size=3))
def test_joined_tags_are_exact_and_minimal_whether_their_ranges_touch_or_not(
    tags: list[list[str]],
) -> None:
    """A small tag's ranges placed between a large one's, or the join made afresh when one
    touches: the same exact and minimal list either way (small spaces: they often touch)."""
    names = [f"T{i}" for i in range(len(tags))]
    sel = select(release_of(dict(zip(names, tags, strict=True))), names)
    assert addresses(sel.prefixes) == addresses([p for tag in tags for p in tag])
    assert_minimal_and_sorted(list(sel.prefixes))


def test_exclude_splits_an_aggregated_block() -> None:
    release = release_of({"A": ["11.0.0.0/25", "11.0.0.128/25"]})
    assert select(release, ["A"]).v4 == ("11.0.0.0/24",)
    sel = select(release, ["A"], exclude=["11.0.0.64/26"])
    assert sel.v4 == ("11.0.0.0/26", "11.0.0.128/25")


def test_extra_of_an_unselected_family_is_an_error() -> None:
    release = release_of({"A": ["11.0.0.0/24"]})
    with pytest.raises(FeedError, match=r"extra_prefixes: 2001:db8::/64 is v6 but families are v4"):
        select(release, ["A"], families=["v4"], extra=["2001:db8::/64"])


@pytest.mark.parametrize(
    ("field", "bad", "message"),
    [
        ("extra", "11.0.0.300/32", "extra_prefixes: '11.0.0.300/32' is not a prefix"),
        ("exclude", "nope", "exclude_prefixes: 'nope' is not a prefix"),
        ("extra", "11.0.0.1/24", r"extra_prefixes: '11.0.0.1/24' has host bits set \(did you mean"),
    ],
)
def test_bad_setting_prefix_is_named(field: str, bad: str, message: str) -> None:
    release = release_of({"A": ["11.0.0.0/24"]})
    with pytest.raises(FeedError, match=message):
        select(release, ["A"], **{field: [bad]})


def test_bad_families() -> None:
    with pytest.raises(SettingsError, match="families"):
        select(release_of({"A": ["11.0.0.0/24"]}), ["A"], families=["v5"])


def test_unknown_tag_suggests_a_near_miss(public: Release) -> None:
    with pytest.raises(FeedError) as err:
        select(public, ["Storage.WestEurop"])
    assert "service tag 'Storage.WestEurop' is not in the Public release 373" in str(err.value)
    assert "did you mean Storage.WestEurope" in str(err.value)


def test_find_is_case_insensitive(public: Release) -> None:
    assert public.find("azurecloud.WESTEUROPE").name == "AzureCloud.westeurope"


def test_same_tag_twice_counts_once(public: Release) -> None:
    sel = select(public, ["Storage.WestEurope", "storage.westeurope"])
    assert sel.tags == ("Storage.WestEurope",)
    assert sel == select(public, ["Storage.WestEurope"])


def test_as_dict_is_json_ready(public: Release) -> None:
    sel = select(public, ["AzureMonitor", "Storage.WestEurope"], families=["v6"])
    data = json.loads(json.dumps(sel.as_dict()))
    assert data["tags"] == ["AzureMonitor", "Storage.WestEurope"]
    assert data["v4"] == []
    assert data["v6"] == list(sel.v6)
    assert data["sha256"] == sel.sha256
    assert len(sel.sha256) == 64
    assert data["change_numbers"] == {
        "AzureMonitor": public.tags["AzureMonitor"].change_number,
        "Storage.WestEurope": public.tags["Storage.WestEurope"].change_number,
    }


def test_fingerprint_changes_with_prefixes_and_tag_versions() -> None:
    base = select(release_of({"A": ["11.0.0.0/24"]}), ["A"])
    assert base.sha256 == select(release_of({"A": ["11.0.0.0/25", "11.0.0.128/25"]}), ["A"]).sha256
    assert base.sha256 != select(release_of({"A": ["11.0.1.0/24"]}), ["A"]).sha256
    assert (
        base.sha256 != select(release_of({"B": ["1.0.0.0/24"], "A": ["11.0.0.0/24"]}), ["A"]).sha256
    )  # A's change number is now 1


def test_a_record_is_aggregated_once_per_process_by_its_prefixes() -> None:
    """Each run reads its release anew: a record of the same prefixes is not aggregated again,
    one whose prefixes changed is, and each run's selection is its own release's."""
    first = release_of({"A": ["11.0.0.0/25", "11.0.0.128/25"], "B": ["12.0.0.0/24"]})
    again = release_of({"A": ["11.0.0.0/25", "11.0.0.128/25"], "B": ["12.0.1.0/24"]})
    assert select(first, ["A", "B"]).prefixes == ("11.0.0.0/24", "12.0.0.0/24")
    assert select(again, ["A", "B"]).prefixes == ("11.0.0.0/24", "12.0.1.0/24")
    assert first.memo["A"] is again.memo["A"]
    assert first.memo["B"] is not again.memo["B"]


#: Text of prefixes, and of what JSON must escape or may write otherwise.
ODD_TEXT = st.text(alphabet='1a./:"\\\x01\x7f\u00e9\u2028 ', max_size=6)


@given(
    st.lists(st.one_of(prefixes(host_bits=False), ODD_TEXT), max_size=6),
    st.lists(ODD_TEXT, max_size=3),
    st.dictionaries(ODD_TEXT, st.one_of(st.integers(), ODD_TEXT)),
)
def test_fingerprint_is_the_sha256_of_canonical_json(
    v4: list[str], v6: list[str], numbers: dict[str, int | str]
) -> None:
    """Prefixes are written without the JSON encoder: the same bytes as the encoder's, for
    any text (a quote, a backslash, a control or non-ASCII character goes to the encoder)."""
    selection = Selection(("A",), tuple(v4), tuple(v6), numbers)
    body = json.dumps(
        {"change_numbers": numbers, "v4": v4, "v6": v6}, sort_keys=True, separators=(",", ":")
    )
    assert selection.sha256 == hashlib.sha256(body.encode()).hexdigest()


@settings(max_examples=200)
@given(
    st.lists(wide_prefixes(), max_size=20),
    st.lists(wide_prefixes(), max_size=20),
    st.lists(wide_prefixes(), max_size=6),
)
def test_tags_aggregated_once_then_joined_equal_the_union_aggregated(
    first: list[str], second: list[str], exclude: list[str]
) -> None:
    """Each tag is aggregated once per release and joined per target: the same as merging
    the union of their prefixes (a tag inside another, touching or overlapping it)."""
    release = release_of({"A": first, "B": second, "C": first[: len(first) // 2]})
    for names in (["A", "B"], ["B", "C", "A"], ["C"]):
        union = [
            p for n in names for p in {"A": first, "B": second, "C": first[: len(first) // 2]}[n]
        ]
        expected = netaddr_select(union, exclude) if union else []
        got = select(release, names, exclude=exclude).prefixes
        assert list(got) == expected
    assert set(release.memo) == {"A", "B", "C"}  # each aggregated once, kept for the next target
