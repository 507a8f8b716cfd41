"""A target's entry budget: keep the exact list when it fits, else refuse or fit a cover.

Every kind has a limit (4,000 addresses per NSG side, 400 Storage IP rules, 256 SQL rules...)
of which entries ipsync does not own take their share. ``fit: exact`` refuses a selection
that does not fit, with the numbers; ``fit: cover`` writes the cover with the fewest extra
addresses (:mod:`sync.core.fit`) and refuses it when the extra addresses exceed
``max_extra_ratio`` of the published ones in any family. Pure.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
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

    @classmethod
    def exact(cls, entries: int, capacity: int, published: Mapping[str, int]) -> FitAccount:
        """The account of entries that hold the selection itself: nothing extra."""
        return cls(entries, capacity, 0, dict(published), dict.fromkeys(published, 0))

    def extra_ratio(self, family: str) -> Fraction:
        """Extra addresses of ``family`` per published one (0 when it publishes none)."""
        published = self.published.get(family, 0)
        return Fraction(self.extra.get(family, 0), published) if published else Fraction(0)


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
    max_extra_ratio: float,
    where: str,
    prefer: Collection[str] = (),
) -> Fitted:
    """The entries to hold: the exact selection when it fits, else a cover or a refusal."""
    capacity, why = _capacity(budget, max_entries)
    exact = {f: tuple(p) for f, p in by_family.items()}
    needed = sum(entries(p, budget.forbidden_lengths.get(f, ())) for f, p in exact.items())
    account = FitAccount.exact(needed, capacity, {f: addresses(p) for f, p in exact.items()})
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
    )
    blocks = {name: f.blocks for name, f in fitted.items()}
    for name in fitted:
        ratio = account.extra_ratio(name)
        if ratio > max_extra_ratio:
            return Fitted(
                blocks,
                account,
                f"{where}: fitting {needed} -> {used} entries ({why}) allows "
                f"{account.extra[name]} {name} addresses Microsoft did not publish "
                f"({float(ratio):.2%} of {account.published[name]} > max_extra_ratio "
                f"{max_extra_ratio:.0%}); refused (raise max_extra_ratio or the capacity)",
            )
    return Fitted(blocks, account)


def fit_ranges_to_budget(
    prefixes: Sequence[str],
    budget: Budget,
    *,
    mode: FitMode,
    max_entries: int | None,
    max_extra_ratio: float,
    where: str,
) -> tuple[tuple[tuple[str, str], ...], FitAccount, str | None]:
    """For range kinds (IPv4): the inclusive (first, last) ranges to hold, the account, a
    refusal."""
    capacity, why = _capacity(budget, max_entries)
    exact = fit_ranges(prefixes, len(prefixes) or 1)
    needed = len(exact.ranges)
    account = FitAccount.exact(needed, capacity, {"v4": exact.published})
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
    )
    ratio = account.extra_ratio("v4")
    if ratio > max_extra_ratio:
        return (
            fitted.ranges,
            account,
            f"{where}: fitting {needed} -> {len(fitted.ranges)} ranges ({why}) allows "
            f"{fitted.extra_addresses} addresses Microsoft did not publish ({float(ratio):.2%} of "
            f"{fitted.published} > max_extra_ratio {max_extra_ratio:.0%}); refused",
        )
    return fitted.ranges, account, None
