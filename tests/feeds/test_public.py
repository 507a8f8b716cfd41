"""Public addresses only: the bulk check and the one that names the block agree."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.core.prefixes import (
    RESERVED,
    all_canonical,
    overlaps_any,
    overlaps_reserved,
    reserved_block,
)

#: Public neighbours of reserved blocks, and the documentation ranges (accepted).
PUBLIC = [
    "9.255.255.0/24",
    "11.0.0.0/8",
    "100.63.255.0/24",
    "100.128.0.0/10",
    "126.255.0.0/16",
    "128.0.0.0/8",
    "169.253.0.0/16",
    "172.15.0.0/16",
    "172.32.0.0/11",
    "192.0.1.0/24",
    "192.167.0.0/16",
    "192.169.0.0/16",
    "223.255.255.0/24",
    "192.0.2.0/24",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "198.18.0.0/15",
    "2000::/16",
    "2001:db8::/32",
    "3fff:ffff::/32",
]
#: Prefixes inside, or around, each reserved block.
RESERVED_SPACE = [
    "0.0.0.0/8",
    "10.200.0.0/16",
    "100.64.0.0/10",
    "100.0.0.0/8",
    "127.0.0.1/32",
    "169.254.169.254/32",
    "172.31.0.0/16",
    "192.0.0.0/29",
    "192.168.1.0/24",
    "224.0.0.0/24",
    "252.0.0.0/10",
    "255.255.255.255/32",
    "::1/128",
    "::ffff:0:0/96",
    "fd00::/16",
    "fe80::/16",
    "ff02::/16",
    "4000::/16",
    "1000::/16",
]


@pytest.mark.parametrize("prefix", PUBLIC)
def test_public_space_passes(prefix: str) -> None:
    assert reserved_block(prefix) is None
    assert not overlaps_reserved([prefix])
    assert all_canonical([prefix], min_prefixlen_v4=8, min_prefixlen_v6=16, public=True)


@pytest.mark.parametrize("prefix", RESERVED_SPACE)
def test_reserved_space_is_found_in_bulk_and_named(prefix: str) -> None:
    block = reserved_block(prefix)
    assert block is not None
    assert block in RESERVED
    assert overlaps_reserved([*PUBLIC, prefix])
    assert not all_canonical(
        [*PUBLIC, prefix], min_prefixlen_v4=8, min_prefixlen_v6=16, public=True
    )


def _net(version: int, address: int, prefixlen: int) -> str:
    bits = 32 if version == 4 else 128
    address &= ((1 << bits) - 1) ^ ((1 << (bits - prefixlen)) - 1)
    return str(ipaddress.ip_network((address, prefixlen)))


@st.composite
def _prefix(draw: st.DrawFn) -> str:
    """Prefixes packed into a small corner of each family, so that they often overlap."""
    version = draw(st.sampled_from([4, 6]))
    bits = 32 if version == 4 else 128
    base = 0x0B000000 if version == 4 else 0x2001 << 112
    return _net(version, base + draw(st.integers(0, 1023)), draw(st.integers(bits - 10, bits)))


@given(st.lists(_prefix(), max_size=30), st.lists(_prefix(), max_size=6))
def test_the_bulk_overlap_test_agrees_with_ipaddress(mine: list[str], blocks: list[str]) -> None:
    nets = [ipaddress.ip_network(b) for b in blocks]
    expected = any(ipaddress.ip_network(p).overlaps(n) for p in mine for n in nets)
    assert overlaps_any(mine, blocks) is expected
