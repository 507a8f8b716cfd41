"""The budget policy on top of the fit: exact or refused, a cover within the ratio, entries
counted the way the target counts them."""

from __future__ import annotations

import ipaddress

import netaddr
from hypothesis import given
from hypothesis import strategies as st

from sync.core.budget import Budget, FitAccount, entries, fit_ranges_to_budget, fit_to_budget
from sync.core.selection import addresses

V4 = ("10.0.0.0/24", "10.0.2.0/24", "10.0.4.0/24", "10.0.6.0/24")


def _covered(blocks: tuple[str, ...]) -> netaddr.IPSet:
    return netaddr.IPSet(blocks)


def test_a_selection_that_fits_is_kept_exactly_with_its_account() -> None:
    fitted = fit_to_budget(
        {"v4": V4}, Budget(4, "limit 4"), mode="exact", max_entries=None, where="t",
    )  # fmt: skip
    assert fitted.refused is None
    assert fitted.by_family == {"v4": V4}
    assert fitted.account == FitAccount(4, 4, 0, {"v4": _covered(V4).size}, {"v4": 0}, "limit 4")


def test_exact_over_the_capacity_is_refused_with_the_numbers() -> None:
    fitted = fit_to_budget(
        {"v4": V4}, Budget(3, "limit 400, 397 held by others"), mode="exact", max_entries=None,
        where="target s1",
    )  # fmt: skip
    assert fitted.refused is not None
    assert "needs 4 entries but 3 fit (limit 400, 397 held by others)" in fitted.refused
    assert "fit: cover" in fitted.refused


def test_cover_allows_the_fewest_extra_addresses_within_the_ratio() -> None:
    fitted = fit_to_budget(
        {"v4": V4}, Budget(10, "limit 10"), mode="cover", max_entries=2, where="t",
    )  # fmt: skip
    assert fitted.refused is None
    blocks = fitted.by_family["v4"]
    assert len(blocks) <= 2
    assert _covered(V4).issubset(_covered(blocks))
    extra = _covered(blocks).size - _covered(V4).size
    assert fitted.account == FitAccount(
        1, 2, extra, {"v4": _covered(V4).size}, {"v4": extra}, "max_entries 2"
    )
    # Four /24s two apart: any cover of at most two CIDR blocks allows four unpublished /24s;
    # among equal covers the one with fewer entries wins.
    assert blocks == ("10.0.0.0/21",)
    assert extra == 4 * 256


def test_a_cover_says_how_much_it_widens_each_family() -> None:
    fitted = fit_to_budget(
        {"v4": V4}, Budget(1, "limit 1"), mode="cover", max_entries=None, where="t",
    )  # fmt: skip
    assert fitted.refused is None  # the guard stage holds it against max_extra_ratio
    assert fitted.account.extra_addresses == 1024
    assert fitted.account.extra_ratio("v4") == 1


def test_max_entries_never_raises_the_capacity() -> None:
    fitted = fit_to_budget(
        {"v4": V4}, Budget(3, "limit 3"), mode="exact", max_entries=100, where="t",
    )  # fmt: skip
    assert fitted.refused is not None
    assert fitted.account.capacity == 3


def test_a_forbidden_length_costs_two_entries() -> None:
    assert entries(["1.2.3.4/31", "1.2.3.8/32", "1.2.4.0/24"], {31}) == 4
    fitted = fit_to_budget(
        {"v4": ("1.2.3.4/31",)}, Budget(1, "limit 1", {"v4": {31}}), mode="exact",
        max_entries=None, where="t",
    )  # fmt: skip
    assert fitted.refused is not None
    assert "needs 2 entries" in fitted.refused


def test_ranges_merge_neighbours_then_close_the_smallest_gaps() -> None:
    prefixes = ["10.0.0.0/25", "10.0.0.128/25", "10.0.2.0/24", "10.0.9.0/24"]
    ranges, account, refused = fit_ranges_to_budget(
        prefixes, Budget(3, "limit 3"), mode="exact", max_entries=None, where="t",
    )  # fmt: skip
    assert refused is None
    assert ranges == (("10.0.0.0", "10.0.0.255"), ("10.0.2.0", "10.0.2.255"),
                      ("10.0.9.0", "10.0.9.255"))  # fmt: skip
    ranges, account, refused = fit_ranges_to_budget(
        prefixes, Budget(2, "limit 2"), mode="cover", max_entries=None, where="t",
    )  # fmt: skip
    assert refused is None
    assert ranges == (("10.0.0.0", "10.0.2.255"), ("10.0.9.0", "10.0.9.255"))
    size = _covered(prefixes).size
    assert account == FitAccount(2, 2, 256, {"v4": size}, {"v4": 256}, "limit 2")


def test_the_account_holds_each_familys_published_and_extra_addresses() -> None:
    """Enough to judge each family's extra ratio from the account alone."""
    v6 = ("2001:db8::/48", "2001:db8:2::/48")
    fitted = fit_to_budget(
        {"v4": ("10.0.0.0/24",), "v6": v6}, Budget(2, "limit 2"), mode="cover",
        max_entries=None, where="t",
    )  # fmt: skip
    account = fitted.account
    assert dict(account.published) == {"v4": 256, "v6": _covered(v6).size}
    (block,) = fitted.by_family["v6"]
    assert account.extra == {"v4": 0, "v6": _covered([block]).size - _covered(v6).size}
    assert account.extra_addresses == account.extra["v6"]
    assert (account.extra_ratio("v4"), account.extra_ratio("v6")) == (0, 1)


@st.composite
def _prefix(draw: st.DrawFn, version: int) -> str:
    """A canonical prefix of the family, of any length (IPv4-mapped IPv6 included)."""
    bits = 32 if version == 4 else 128
    prefixlen = draw(st.integers(0, bits))
    mapped = [0xFFFF << 32] if version == 6 else []
    start = draw(st.one_of(st.integers(0, 2**bits - 1), st.sampled_from([0, *mapped])))
    network = ipaddress.IPv4Network if version == 4 else ipaddress.IPv6Network
    return str(network((start & ~((1 << (bits - prefixlen)) - 1), prefixlen)))


@given(st.lists(_prefix(4), max_size=6), st.lists(_prefix(6), max_size=6))
def test_the_published_count_is_what_ipaddress_counts(v4: list[str], v6: list[str]) -> None:
    """An account counts a family's prefixes in bulk, a mixed list one by one: the same sum."""
    for items in (v4, v6, v4 + v6):
        expected = sum(ipaddress.ip_network(p).num_addresses for p in items)
        assert addresses(items) == expected
