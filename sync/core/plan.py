"""Kind-neutral plan machinery: writes, plans, the removal guards and make-before-break order.

Every kind turns desired and current state into :class:`Write`s; what happens to them next
(refusal by a guard, add-only as a transform of the desired state, the order they are sent
in) is the same for every allow-list, so it lives here. Pure: no I/O, no Azure SDK.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

import netaddr

from sync.core.prefixes import parse_prefix

if TYPE_CHECKING:
    from sync.core.budget import FitAccount

K = TypeVar("K")
P = TypeVar("P")

Action = Literal["create", "update", "delete"]
_FAMILY_NAMES = {"v4": "IPv4", "v6": "IPv6"}


@dataclass(frozen=True)
class Write(Generic[P]):
    """One request to ARM: the entry (or rule) ``name``, what it carries, and its address delta.

    ``payload`` is the kind's own model of the entry (an NSG rule, a SQL range, a whole
    ip-rule list); the generic machinery reads only the action and the delta.
    """

    action: Action
    name: str
    payload: P
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


@dataclass(frozen=True)
class TargetPlan(Generic[P]):
    """The writes for one target, in make-before-break order (creates, updates, deletes).

    A refused plan keeps its writes so the report can show what was held up; only
    :attr:`to_apply` says what may be sent. ``fit`` is the budget fit's account, when the
    kind fitted the selection into a capacity.
    """

    target: Any
    writes: tuple[Write[P], ...] = ()
    held_back: tuple[Write[P], ...] = ()
    refused: str | None = None
    fit: FitAccount | None = None
    #: What the report should tell beyond the writes (e.g. entries kept because ipsync
    #: cannot prove it wrote them).
    notes: tuple[str, ...] = ()

    @property
    def to_apply(self) -> tuple[Write[P], ...]:
        return () if self.refused is not None else self.writes

    def refuse(self, reason: str) -> TargetPlan[P]:
        return replace(self, refused=reason)


@lru_cache(maxsize=1 << 16)
def cidr_family(value: str) -> str | None:
    """``v4`` or ``v6`` for a CIDR, None for anything else (a service tag, ``*``, a typo).

    Remembered: a run asks this of every entry of every plan, mostly the same few thousand.
    """
    if "/" not in value:
        return None
    try:
        return f"v{parse_prefix(value).version}"
    except ValueError:
        return None


def family_name(family: str) -> str:
    return _FAMILY_NAMES[family]


def _cidrs(prefixes: Iterable[str]) -> netaddr.IPSet:
    return netaddr.IPSet(p for p in prefixes if cidr_family(p) is not None)


def lost(old: Iterable[str], new: Collection[str]) -> frozenset[str]:
    """Entries of ``old`` whose addresses ``new`` no longer covers (re-aggregation loses none)."""
    gone = [p for p in old if p not in new]
    if not gone:
        return frozenset()
    covered = _cidrs(new)
    return frozenset(
        p for p in gone if cidr_family(p) is None or netaddr.IPNetwork(p) not in covered
    )


def outermost(prefixes: Collection[str]) -> frozenset[str]:
    """Drop entries inside another entry.

    add-only keeps old blocks beside new ones, and an overlap would spend the target's entry
    allowance for nothing. Nothing is merged, so a kept entry stays stable from run to run.
    """
    nets = sorted(
        (netaddr.IPNetwork(p) for p in prefixes if cidr_family(p) is not None),
        key=lambda n: (n.version, n.first, -n.last),
    )
    kept: set[str] = {p for p in prefixes if cidr_family(p) is None}
    version, end = 0, -1
    for net in nets:
        if net.version == version and net.last <= end:
            continue
        kept.add(str(net))
        version, end = net.version, net.last
    return frozenset(kept)


def add_only(desired: frozenset[str], held: Iterable[str]) -> tuple[frozenset[str], frozenset[str]]:
    """The add-only policy as a transform of the desired entries: nothing held leaves.

    Returns the entries to hold and those kept back (held now, no longer desired).
    """
    kept = lost(held, desired)
    if not kept:
        return desired, kept
    return outermost(desired | kept), kept


def removal_guard(
    where: str,
    before: Collection[str],
    after: Collection[str],
    *,
    max_remove_ratio: float,
    families: Sequence[str],
) -> str | None:
    """Why a change from ``before`` to ``after`` (the target's owned entries) is refused.

    An allow-list left empty is refused outright, and so is a family left empty (every IPv6
    prefix gone is no small change, whatever the IPv4 side does). The share of owned entries
    whose addresses would no longer be allowed must stay within ``max_remove_ratio`` for the
    whole list and for each family, so a family cannot erode behind a larger one.
    """
    if not after:
        return (
            f"{where}: would be left with no prefixes ({'/'.join(families)}); "
            "refused (use --force to remove all its entries)"
        )
    if not before:
        return None
    removed = lost(before, after)
    if not removed:
        return None
    scopes: list[tuple[str, list[str], Collection[str]]] = [
        ("owned prefixes", list(before), removed)
    ]
    for family in families:
        mine = [p for p in before if cidr_family(p) == family]
        if mine and not any(cidr_family(p) == family for p in after):
            return (
                f"{where}: would remove every {family_name(family)} prefix ({len(mine)}); "
                "refused (use --force to apply)"
            )
        scopes.append(
            (f"{family_name(family)} prefixes", mine, {p for p in removed if p in set(mine)})
        )
    for what, owned, gone in scopes:
        ratio = len(gone) / len(owned) if owned else 0.0
        if ratio > max_remove_ratio:
            return (
                f"{where}: would remove {len(gone)} of {len(owned)} {what} "
                f"({ratio:.0%} > max_remove_ratio {max_remove_ratio:.0%}); refused "
                "(use --force to apply)"
            )
    return None


def erosion_guard(
    where: str, peaks: Mapping[str, int], now: Mapping[str, int], max_remove_ratio: float
) -> str | None:
    """Why a selection that shrank too far below its largest is refused.

    The remove-ratio guard bounds one run; releases that each take a little (four of 25%)
    would still erode an allow-list unnoticed. Measured in addresses, so a release that only
    merges prefixes never counts; ``--force`` accepts the smaller list as the new reference.
    """
    for family, peak in sorted(peaks.items()):
        held = now.get(family, 0)
        if peak and held < (1 - max_remove_ratio) * peak:
            return (
                f"{where}: the published {family_name(family)} ranges now hold {held} "
                f"addresses, {1 - held / peak:.0%} fewer than the {peak} this target held at "
                f"its largest (> max_remove_ratio {max_remove_ratio:.0%} over several "
                "releases); refused (use --force to accept them as the new reference)"
            )
    return None


def release_mark(kind: str, change_number: int | str) -> str:
    """How a target records the release it holds: ``373`` for the published file, ``api-95``
    or ``xml-20200824`` for the other series (their numbers are not comparable)."""
    return str(change_number) if kind == "json" else f"{kind}-{change_number}"


def rollback_guard(where: str, held: Iterable[str], incoming: str) -> str | None:
    """Why writing release ``incoming`` over a target that holds a newer one is refused.

    Only marks of the same series are compared. An older release would take published
    ranges away and bring retired ones back; a concurrent older run re-reads after its 412
    and is refused here too, so the newer run wins.
    """
    series, _, number = incoming.rpartition("-")
    if not number.isdigit():
        return None
    newer = [
        mark
        for mark in held
        if mark.rpartition("-")[0] == series
        and mark.rpartition("-")[2].isdigit()
        and int(mark.rpartition("-")[2]) > int(number)
    ]
    if not newer:
        return None
    return (
        f"{where}: release {incoming} is older than release {max(newer, key=_number)} that it "
        "holds; refused as a rollback (use --force to apply)"
    )


def _number(mark: str) -> int:
    return int(mark.rpartition("-")[2])


def make_before_break(writes: Sequence[tuple[K, Write[Any]]]) -> list[tuple[K, Write[Any]]]:
    """Order the writes of all targets of one resource so no address still wanted goes missing.

    Writes that only add come first, deletes last. Updates that take something away come in
    between, each after any update that adds what it takes away (an address moving from one
    target's entry to another's). Only a cycle (two entries trading addresses) leaves a moment
    with one of them missing; avoiding that would cost an extra write.
    """
    grow = [w for w in writes if w[1].action != "delete" and not w[1].removed]
    deletes = [w for w in writes if w[1].action == "delete"]
    pending = [w for w in writes if w[1].action != "delete" and w[1].removed]
    gains = [_cidrs(w[1].added) for w in pending]
    losses = [_cidrs(w[1].removed) for w in pending]
    shrink: list[tuple[K, Write[Any]]] = []
    while pending:
        ready = next(
            (
                i
                for i in range(len(pending))
                if not any(gains[j] & losses[i] for j in range(len(pending)) if j != i)
            ),
            0,
        )
        shrink.append(pending.pop(ready))
        gains.pop(ready)
        losses.pop(ready)
    return grow + shrink + deletes
