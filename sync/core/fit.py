"""Fit published prefixes into a target's capacity with the fewest extra addresses, exactly.

A Storage account takes 400 IP rules, a SQL server 256 ranges, while a service tag can hold
more prefixes than that (AzureCloud.westeurope has about 415 IPv4 prefixes after aggregation).
Some addresses that Microsoft did not publish must then be allowed too; these functions allow
the fewest possible.

:func:`fit_family` is a dynamic program over the binary trie of the prefixes, compressed to
its branching nodes. A useful block covers exactly the published addresses below one trie
node, so the choice at each node is "one block for the whole subtree" or "the best split of
the entries between the two children" (a min-plus convolution of their cost curves). Curves
are cut at the capacity K and at the subtree's exact entry count, which bounds the work by
O(n * K) for n prefixes. Curves are not convex in general (a node whose single block costs
no more than its best two-block cover breaks convexity), so no shortcut relies on it.

Pure: strings and integers in, strings out; no I/O.
"""

from __future__ import annotations

import heapq
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import pairwise
from socket import AF_INET, AF_INET6, inet_ntop

from sync.core.prefixes import FAMILIES, parse_prefix

_BITS = {4: 32, 6: 128}


@dataclass(frozen=True)
class FamilyFit:
    """The blocks written for one IP family, and what they cost in unpublished addresses."""

    blocks: tuple[str, ...]  # canonical CIDRs, sorted by address
    published: int  # addresses published
    extra_addresses: int  # addresses the blocks allow beyond the published ones
    exact: bool  # the blocks cover the published addresses and nothing else
    capacity: int  # entries this family was allowed

    @property
    def extra_ratio(self) -> Fraction:
        """Extra addresses per published address (0 for an empty family)."""
        return Fraction(self.extra_addresses, self.published) if self.published else Fraction(0)


@dataclass(frozen=True)
class RangeFit:
    """Inclusive address ranges (``start``, ``end``) covering the published prefixes."""

    ranges: tuple[tuple[str, str], ...]  # sorted by address
    published: int
    extra_addresses: int
    exact: bool


def _blocks(prefixes: Sequence[str]) -> tuple[int, list[tuple[int, int]]]:
    """The IP version and sorted (network, length) pairs of one family's canonical prefixes."""
    parsed = [parse_prefix(text) for text in prefixes]
    versions = {p.version for p in parsed}
    if len(versions) > 1:
        raise ValueError("prefixes of both IP families: fit each family on its own")
    for p in parsed:
        if p.host_bits:
            raise ValueError(f"{p.text} has host bits set")
    version = versions.pop() if versions else 4
    return version, sorted((p.network, p.prefixlen) for p in parsed)


def _address(version: int, value: int) -> str:
    if version == 4:
        return inet_ntop(AF_INET, value.to_bytes(4, "big"))
    return inet_ntop(AF_INET6, value.to_bytes(16, "big"))


def _text(version: int, network: int, length: int) -> str:
    return f"{_address(version, network)}/{length}"


def _entries(count: int) -> str:
    return f"{count} entry" if count == 1 else f"{count} entries"


def _min_plus(a: list[int], b: list[int], size: int) -> list[int]:
    """``out[r] = min(a[i] + b[j] for i + j == r)`` for ``r < size``, in list operations.

    The hot loop of the fit: one list comprehension per element of the shorter curve.
    """
    if size <= 0 or not a or not b:
        return []
    if len(a) > len(b):
        a, b = b, a
    nb = len(b)
    last = b[-1]
    first = a[0]
    # Row 0 and the last column: every position gets one real sum, so no infinity is needed.
    out = [first + y for y in b[:size]]
    out += [x + last for x in a[1 : size - nb + 1]]
    for i in range(1, min(len(a), size)):
        m = min(nb - 1, size - i)
        if m > 0:
            add = a[i].__add__
            out[i : i + m] = [
                o if o <= z else z for o, z in zip(out[i : i + m], map(add, b), strict=False)
            ]
    return out


class _Node:
    """A trie node: the published addresses below it and their cost curve.

    ``costs[k - low]`` is the least cost of covering the node's addresses with at most k
    entries, for ``low <= k <= high``; a cost is ``extra * scale + entries not preferred``.
    """

    __slots__ = ("block", "children", "costs", "high", "low", "single")

    def __init__(self, block: tuple[int, int]) -> None:
        self.block = block  # (network, length) of the smallest block holding its addresses
        self.children: tuple[_Node, _Node] | None = None
        self.single: tuple[int, int, int] | None = None  # (network, length, cost): one block
        self.low = 0
        self.high = 0
        self.costs: list[int] = []


class _Family:
    """One family's prefixes and the dynamic program that fits them into a budget."""

    def __init__(
        self,
        prefixes: Sequence[str],
        capacity: int,
        prefer: Collection[str],
        forbidden_lengths: Collection[int],
    ) -> None:
        if capacity < 0:
            raise ValueError(f"capacity {capacity} is negative")
        version, leaves = _blocks(prefixes)
        bits = _BITS[version]
        forbidden = set(forbidden_lengths)
        if not forbidden <= set(range(bits)):
            raise ValueError(
                f"forbidden lengths {sorted(forbidden)} must be 0..{bits - 1} for IPv{version} "
                "(a single address is always one entry)"
            )
        # The prefix length shared by each pair of neighbours: the trie's branching nodes.
        self.depths = [bits - (a ^ b).bit_length() for (a, _), (b, _) in pairwise(leaves)]
        for ((net, length), (following, length2)), depth in zip(
            pairwise(leaves), self.depths, strict=True
        ):
            if net + (1 << (bits - length)) > following:
                raise ValueError(f"{_text(version, net, length)} overlaps the next prefix")
            if length == length2 == depth + 1:
                raise ValueError(
                    f"{_text(version, net, length)} and the next prefix make one block: "
                    "fit expects aggregated prefixes"
                )
        self.version, self.bits, self.leaves, self.capacity = version, bits, leaves, capacity
        self.scale = capacity + 1  # more than any count of entries not preferred
        # The fewest entries of a block of each length: a forbidden length costs two entries
        # of the next length (a Storage account writes a /31 as two single addresses).
        self.allowed = [length not in forbidden for length in range(bits + 1)]
        self.entries = [1] * (bits + 1)
        for length in range(bits - 1, -1, -1):
            if length in forbidden:
                self.entries[length] = 2 * self.entries[length + 1]
        # Running totals over the leaves: addresses and exact entries of any run of leaves.
        self.sizes = [0]
        self.counts = [0]
        for _, length in leaves:
            self.sizes.append(self.sizes[-1] + (1 << (bits - length)))
            self.counts.append(self.counts[-1] + self.entries[length])
        self.published = self.sizes[-1]
        self.exact_entries = self.counts[-1]
        self.prefer = set()
        for text in prefer:
            p = parse_prefix(text)
            if p.version == version and not p.host_bits:
                self.prefer.add((p.network, p.prefixlen))
        self._root: _Node | None = None

    @property
    def root(self) -> _Node:
        """The solved trie (computed on first use): the curve of the whole family."""
        if self._root is None:
            self._root = self._solve(0, len(self.leaves), -1)
        return self._root

    def require(self, budget: int) -> None:
        """Raise ``ValueError`` when no cover of ``budget`` entries exists."""
        if self.leaves and budget < self.exact_entries and budget < self.root.low:
            raise ValueError(
                f"{len(self.leaves)} IPv{self.version} prefixes need at least "
                f"{_entries(self.root.low)}; the capacity is {budget}"
            )

    def extra(self, budget: int) -> int:
        """The fewest extra addresses within ``budget`` entries (at least ``root.low``)."""
        if budget >= self.exact_entries:
            return 0
        root = self.root
        return root.costs[budget - root.low] // self.scale

    def _solve(self, lo: int, hi: int, parent: int) -> _Node:
        """The node over ``leaves[lo:hi]``, whose parent has prefix length ``parent``."""
        bits = self.bits
        children = None
        if hi - lo == 1:
            net, length = self.leaves[lo]
        else:
            split = min(range(lo, hi - 1), key=self.depths.__getitem__)
            length = self.depths[split]
            children = (self._solve(lo, split + 1, length), self._solve(split + 1, hi, length))
            net = self.leaves[lo][0] >> (bits - length) << (bits - length)
        node = _Node((net, length))
        node.children = children
        node.high = min(self.capacity, self.counts[hi] - self.counts[lo])
        # One block for the whole node: the longest allowed length above it, up to its parent.
        best = next((n for n in range(length, parent, -1) if self.allowed[n]), None)
        if best is not None:
            block = net >> (bits - best) << (bits - best)
            extra = (1 << (bits - best)) - (self.sizes[hi] - self.sizes[lo])
            node.single = (block, best, extra * self.scale + self._new(block, best))
        if node.children is not None:
            left, right = node.children
            low = left.low + right.low
            curve = _min_plus(left.costs, right.costs, node.high - low + 1)
        elif best == length:
            low, curve = self.capacity + 1, []  # an allowed prefix: nothing beats the block
        else:
            # A forbidden length: written exactly as pieces of the next allowed length.
            low, curve = self.entries[length], []
            if low <= self.capacity:
                curve = [sum(self._new(*block) for block in self._pieces(net, length))]
        if node.single is None:
            node.low, node.costs = low, curve
        else:
            one = node.single[2]
            node.low = 1
            node.costs = [one] * (min(low, node.high + 1) - 1)
            node.costs += [c if c <= one else one for c in curve]
        return node

    def _new(self, network: int, length: int) -> int:
        """1 for a block the target does not hold yet: fewer of them means fewer changes."""
        return 0 if (network, length) in self.prefer else 1

    def fit(self, budget: int) -> FamilyFit:
        """The best cover within ``budget`` entries (at most the capacity)."""
        self.require(budget)
        chosen: list[tuple[int, int]] = []
        if budget >= self.exact_entries:
            for net, length in self.leaves:
                chosen += self._pieces(net, length)
        else:
            self._emit(self.root, budget, chosen)
            chosen.sort()
        size = sum(1 << (self.bits - length) for _, length in chosen)
        return FamilyFit(
            blocks=tuple(_text(self.version, net, length) for net, length in chosen),
            published=self.published,
            extra_addresses=size - self.published,
            exact=size == self.published,
            capacity=budget,
        )

    def _pieces(self, net: int, length: int) -> list[tuple[int, int]]:
        """A prefix as the fewest blocks the target accepts: itself, or pieces of it."""
        pieces = self.entries[length]
        piece = length + pieces.bit_length() - 1
        return [(net + (i << (self.bits - piece)), piece) for i in range(pieces)]

    def _emit(self, node: _Node, budget: int, out: list[tuple[int, int]]) -> None:
        """Append the blocks of the best cover of ``node`` within ``budget`` entries."""
        target = node.costs[budget - node.low]
        if node.single is not None and node.single[2] == target:
            out.append(node.single[:2])
            return
        if node.children is None:
            out += self._pieces(*node.block)
            return
        left, right = node.children
        for i in range(left.low, min(left.high, budget - right.low) + 1):
            j = min(budget - i, right.high)
            if left.costs[i - left.low] + right.costs[j - right.low] == target:
                self._emit(left, i, out)
                self._emit(right, j, out)
                return
        raise AssertionError("no split of the budget reaches the node's cost")


def fit_family(
    prefixes: Sequence[str],
    capacity: int,
    *,
    prefer: Collection[str] = (),
    forbidden_lengths: Collection[int] = (),
) -> FamilyFit:
    """At most ``capacity`` entries covering every address of ``prefixes``, least extra first.

    ``prefixes`` are one family's aggregated prefixes (as :func:`sync.core.prefixes.select`
    gives them). A block whose length is in ``forbidden_lengths`` costs two entries of the
    next length (a Storage account takes a single address but no /31: {31}); such a block is
    written as those pieces. Among the covers with the fewest extra addresses the one with
    the fewest blocks not in ``prefer`` (what the target holds now; with none, the fewest
    blocks) wins, so a new release changes few entries; a published prefix is never cut into
    smaller blocks to match ``prefer``. A capacity at or above the exact count gives the exact
    list. Raises ``ValueError`` for bad input or a capacity too small to cover anything.
    """
    return _Family(prefixes, capacity, prefer, forbidden_lengths).fit(capacity)


def fit(
    by_family: Mapping[str, Sequence[str]],
    capacity: int,
    *,
    prefer: Collection[str] = (),
    forbidden_lengths: Mapping[str, Collection[int]] | None = None,
) -> dict[str, FamilyFit]:
    """Fit the families (``"v4"``, ``"v6"``) into one shared ``capacity`` of entries.

    Extra IPv4 and IPv6 addresses are not comparable (2^32 against 2^128 addresses), so the
    split compares each family's extra ratio, extra / published addresses of that family: it
    minimises the larger ratio, then the sum of the ratios, then the entries used. It is exact:
    every split is scored from the two families' cost curves, in O(capacity). Each family then
    gets the fewest entries that reach its extra (its ``capacity`` field); the rest is left
    unused. A single family gets the whole capacity, as in :func:`fit_family`.
    """
    forbidden = forbidden_lengths or {}
    families: dict[str, _Family] = {}
    for name, prefixes in by_family.items():
        if name not in FAMILIES:
            raise ValueError(f"family must be v4 or v6, not {name!r}")
        families[name] = _Family(prefixes, capacity, prefer, forbidden.get(name, ()))
        if families[name].leaves and f"v{families[name].version}" != name:
            raise ValueError(f"the {name} prefixes are IPv{families[name].version}")
    filled = [f for f in families.values() if f.leaves]
    if len(filled) < 2:
        return {name: f.fit(capacity if f.leaves else 0) for name, f in families.items()}
    if sum(f.exact_entries for f in filled) <= capacity:
        budgets = {id(f): f.exact_entries for f in filled}
    else:
        budgets = _split(*filled, capacity=capacity)
    return {name: f.fit(budgets.get(id(f), 0)) for name, f in families.items()}


def _split(a: _Family, b: _Family, *, capacity: int) -> dict[int, int]:
    """The budgets (by ``id`` of family) that minimise (larger ratio, ratio sum, entries)."""
    low_a, low_b = a.root.low, b.root.low
    if low_a + low_b > capacity:
        raise ValueError(
            f"IPv4 and IPv6 need at least {low_a} + {low_b} entries; the capacity is {capacity}"
        )
    top_a = min(capacity - low_b, a.exact_entries)
    fewest_a = _fewest(a, low_a, top_a)
    fewest_b = _fewest(b, low_b, min(capacity - low_a, b.exact_entries))
    # Ratios scaled by both published counts stay integers: e_a / p_a ~ e_a * p_b.
    best: tuple[int, int, int] | None = None
    budgets = (low_a, low_b)
    for k_a in range(low_a, top_a + 1):
        extra_a, used_a = fewest_a[k_a - low_a]
        extra_b, used_b = fewest_b[min(capacity - k_a, b.exact_entries) - low_b]
        x, y = extra_a * b.published, extra_b * a.published
        key = (max(x, y), x + y, used_a + used_b)
        if best is None or key < best:
            best, budgets = key, (used_a, used_b)
    return {id(a): budgets[0], id(b): budgets[1]}


def _fewest(family: _Family, low: int, top: int) -> list[tuple[int, int]]:
    """For budgets ``low..top``: the least extra, and the fewest entries that reach it."""
    result: list[tuple[int, int]] = []
    for budget in range(low, top + 1):
        extra = family.extra(budget)
        if result and result[-1][0] == extra:
            result.append(result[-1])
        else:
            result.append((extra, budget))
    return result


def fit_ranges(prefixes: Sequence[str], capacity: int) -> RangeFit:
    """At most ``capacity`` inclusive ranges covering ``prefixes``, with the least extra.

    For kinds whose entries are ranges (a SQL server's firewall rules). Touching or
    overlapping prefixes merge into one range; then the smallest gaps between neighbouring
    ranges are closed until the count fits. On a line this is optimal: any cover with fewer
    ranges closes at least that many gaps, and these are the cheapest.
    """
    if capacity < 0:
        raise ValueError(f"capacity {capacity} is negative")
    version, blocks = _blocks(prefixes)
    bits = _BITS[version]
    merged: list[list[int]] = []
    for net, length in blocks:
        end = net + (1 << (bits - length)) - 1
        if merged and net <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([net, end])
    published = sum(end - start + 1 for start, end in merged)
    if merged and capacity < 1:
        raise ValueError(f"{len(merged)} IPv{version} ranges need at least 1 entry")
    extra = 0
    if len(merged) > capacity:
        gaps = [(merged[i + 1][0] - merged[i][1] - 1, i) for i in range(len(merged) - 1)]
        closed = {i for _, i in heapq.nsmallest(len(merged) - capacity, gaps)}
        extra = sum(merged[i + 1][0] - merged[i][1] - 1 for i in closed)
        joined: list[list[int]] = []
        for i, item in enumerate(merged):
            if i - 1 in closed:
                joined[-1][1] = item[1]
            else:
                joined.append(list(item))
        merged = joined
    ranges = tuple((_address(version, start), _address(version, end)) for start, end in merged)
    return RangeFit(ranges=ranges, published=published, extra_addresses=extra, exact=extra == 0)
