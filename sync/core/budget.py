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
from typing import Literal

from sync.core.fit import fit, fit_ranges

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
class Fitted:
    """What the target should hold per family, the fit's account, or why it is refused."""

    by_family: dict[str, tuple[str, ...]]
    account: dict[str, int]
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
    account = {"entries": needed, "capacity": capacity, "extra_addresses": 0}
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
    extra = sum(f.extra_addresses for f in fitted.values())
    used = sum(entries(f.blocks, budget.forbidden_lengths.get(n, ())) for n, f in fitted.items())
    account = {"entries": used, "capacity": capacity, "extra_addresses": extra}
    blocks = {name: f.blocks for name, f in fitted.items()}
    for name, family in fitted.items():
        if family.extra_ratio > max_extra_ratio:
            return Fitted(
                blocks,
                account,
                f"{where}: fitting {needed} -> {used} entries ({why}) allows "
                f"{family.extra_addresses} {name} addresses Microsoft did not publish "
                f"({float(family.extra_ratio):.2%} of {family.published} > max_extra_ratio "
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
) -> tuple[tuple[tuple[str, str], ...], dict[str, int], str | None]:
    """For range kinds: the inclusive (first, last) ranges to hold, the account, a refusal."""
    capacity, why = _capacity(budget, max_entries)
    exact = fit_ranges(prefixes, len(prefixes) or 1)
    needed = len(exact.ranges)
    account = {"entries": needed, "capacity": capacity, "extra_addresses": 0}
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
    account = {
        "entries": len(fitted.ranges),
        "capacity": capacity,
        "extra_addresses": fitted.extra_addresses,
    }
    ratio = fitted.extra_addresses / fitted.published if fitted.published else 0.0
    if ratio > max_extra_ratio:
        return (
            fitted.ranges,
            account,
            f"{where}: fitting {needed} -> {len(fitted.ranges)} ranges ({why}) allows "
            f"{fitted.extra_addresses} addresses Microsoft did not publish ({ratio:.2%} of "
            f"{fitted.published} > max_extra_ratio {max_extra_ratio:.0%}); refused",
        )
    return fitted.ranges, account, None
