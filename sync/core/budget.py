"""A target's entry budget: keep the exact list when it fits, else refuse or fit a cover.

Every kind has a limit (4,000 addresses per NSG side, 400 Storage IP rules, 256 SQL rules...)
of which entries ipsync does not own take their share. ``fit: exact`` refuses a selection
that does not fit, with the numbers; ``fit: cover`` computes the cover with the fewest extra
addresses (:mod:`sync.core.fit`), and its account says how many per family, for the guard
stage to hold against the target's ``max_extra_ratio`` (:mod:`sync.core.guards`). Pure.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal

from sync.core.fit import fit, fit_ranges
from sync.core.selection import addresses

FitMode = Literal["exact", "cover"]


@dataclass(frozen=True)
class Budget:
    """How many entries a target may hold, why, and how the target counts entries."""

    capacity: int
    #: How the capacity came about, for messages: ``limit 400, 12 held by others``.
    why: str
    #: Prefix lengths a target cannot hold as one entry, per family (Storage: no /31).
    forbidden_lengths: Mapping[str, Collection[int]] = field(default_factory=dict)


@dataclass(frozen=True)
class FitAccount:
    """A target's entries against its capacity, and per family the addresses published and
    the extra (unpublished) ones its entries allow: enough to judge each family's extra ratio
    without knowing the kind."""

    entries: int
    capacity: int
    #: Extra addresses of every family together.
    extra_addresses: int
    #: Family (``v4``, ``v6``) -> addresses of the selection the entries cover.
    published: Mapping[str, int]
    #: Family -> addresses the entries allow beyond the published ones (0 for an exact list).
    extra: Mapping[str, int]
    #: How the capacity came about, for messages (``limit 400 IP rules, 12 held by others``).
    why: str = ""

    @classmethod
    def exact(
        cls, entries: int, capacity: int, published: Mapping[str, int], why: str = ""
    ) -> FitAccount:
        """The account of entries that hold the selection itself: nothing extra. ``published``
        is kept as given, so one that counts each family when first read stays so."""
        return cls(entries, capacity, 0, published, dict.fromkeys(published, 0), why)

    def extra_ratio(self, family: str) -> Fraction:
        """Extra addresses of ``family`` per published one (0 when it publishes none, or when
        nothing is extra: then what it publishes need not be counted)."""
        extra = self.extra.get(family, 0)
        if not extra:
            return Fraction(0)
        published = self.published.get(family, 0)
        return Fraction(extra, published) if published else Fraction(0)


class _Published(Mapping[str, int]):
    """The addresses a selection publishes, per family, each counted when first read: the
    account of a selection that fits is mostly read for its extra addresses (none), and
    counting a thousand prefixes for every target of every run is not free."""

    def __init__(self, by_family: Mapping[str, Sequence[str]]) -> None:
        self._by_family = by_family
        self._counted: dict[str, int] = {}

    def __getitem__(self, family: str) -> int:
        if family not in self._counted:
            self._counted[family] = addresses(self._by_family[family])
        return self._counted[family]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_family)

    def __len__(self) -> int:
        return len(self._by_family)

    def __repr__(self) -> str:
        return repr(dict(self))


@dataclass(frozen=True)
class Fitted:
    """What the target should hold per family, the fit's account, or why it is refused."""

    by_family: dict[str, tuple[str, ...]]
    account: FitAccount
    refused: str | None = None


def entries(prefixes: Sequence[str], forbidden: Collection[int]) -> int:
    """Entries ``prefixes`` take on a target that cannot hold the ``forbidden`` lengths."""
    if not forbidden:
        return len(prefixes)
    return sum(2 if int(p.rsplit("/", 1)[1]) in forbidden else 1 for p in prefixes)


def _capacity(budget: Budget, max_entries: int | None) -> tuple[int, str]:
    if max_entries is not None and max_entries < budget.capacity:
        return max_entries, f"max_entries {max_entries}"
    return budget.capacity, budget.why


def fit_to_budget(
    by_family: Mapping[str, Sequence[str]],
    budget: Budget,
    *,
    mode: FitMode,
    max_entries: int | None,
    where: str,
    prefer: Collection[str] = (),
) -> Fitted:
    """The entries to hold: the exact selection when it fits, else a cover or a refusal."""
    capacity, why = _capacity(budget, max_entries)
    exact = {f: tuple(p) for f, p in by_family.items()}
    needed = sum(entries(p, budget.forbidden_lengths.get(f, ())) for f, p in exact.items())
    account = FitAccount.exact(needed, capacity, _Published(exact), why)
    if needed <= capacity:
        return Fitted(exact, account)
    if mode == "exact":
        return Fitted(
            exact,
            account,
            f"{where}: needs {needed} entries but {capacity} fit ({why}); refused "
            "(set fit: cover to allow the fewest extra addresses within the capacity)",
        )
    try:
        fitted = fit(exact, capacity, prefer=prefer, forbidden_lengths=budget.forbidden_lengths)
    except ValueError as exc:
        return Fitted(exact, account, f"{where}: cannot fit into {capacity} entries: {exc}")
    used = sum(entries(f.blocks, budget.forbidden_lengths.get(n, ())) for n, f in fitted.items())
    account = FitAccount(
        used,
        capacity,
        sum(f.extra_addresses for f in fitted.values()),
        {name: f.published for name, f in fitted.items()},
        {name: f.extra_addresses for name, f in fitted.items()},
        why,
    )
    return Fitted({name: f.blocks for name, f in fitted.items()}, account)


def fit_ranges_to_budget(
    prefixes: Sequence[str],
    budget: Budget,
    *,
    mode: FitMode,
    max_entries: int | None,
    where: str,
) -> tuple[tuple[tuple[str, str], ...], FitAccount, str | None]:
    """For range kinds (IPv4): the inclusive (first, last) ranges to hold, the account, a
    refusal."""
    capacity, why = _capacity(budget, max_entries)
    exact = fit_ranges(prefixes, len(prefixes) or 1)
    needed = len(exact.ranges)
    account = FitAccount.exact(needed, capacity, {"v4": exact.published}, why)
    if needed <= capacity:
        return exact.ranges, account, None
    if mode == "exact":
        return (
            exact.ranges,
            account,
            f"{where}: needs {needed} ranges but {capacity} fit ({why}); refused "
            "(set fit: cover to close the smallest gaps between ranges)",
        )
    fitted = fit_ranges(prefixes, capacity)
    account = FitAccount(
        len(fitted.ranges),
        capacity,
        fitted.extra_addresses,
        {"v4": fitted.published},
        {"v4": fitted.extra_addresses},
        why,
    )
    return fitted.ranges, account, None
