"""Kind-neutral plan machinery: writes, plans, add-only and make-before-break order.

Every kind turns desired and current state into :class:`Write`s; what happens to them next
(refusal by the guard stage, :mod:`sync.core.guards`; add-only as a transform of the desired
state; the order they are sent in) is the same for every allow-list, so it lives here and in
the guard stage. Pure: no I/O, no Azure SDK.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

import netaddr

from sync.core.prefixes import ParsedPrefix, parse_prefix

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
    #: The CIDRs the target's entries allow once the writes are done (what the guard stage
    #: compares with what they allow now).
    after: frozenset[str] = frozenset()
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


#: Distinct address entries remembered by :func:`normalise_prefix`. Every run reads the same
#: few thousand entries from every allow-list (a tag such as AzureMonitor sits on each of
#: them), so parsing each distinct text once is most of a no-op run's own work; the bound
#: keeps a long-lived worker's memory flat across releases (about 10 MB when full).
NORMALISED_CACHE = 1 << 16


@lru_cache(maxsize=NORMALISED_CACHE)
def normalise_prefix(value: str) -> str:
    """Canonical text of an address entry: CIDRs without host bits, compressed lower-case IPv6,
    a single address as its host prefix (``1.2.3.4`` and ``1.2.3.4/32`` are the same entry).

    Anything that is not an IP address or CIDR (a service tag, ``*``, or an odd value in a
    foreign rule) is kept as written.
    """
    text = value.strip()
    if "." not in text and ":" not in text:
        return text
    try:
        return parse_prefix(text).text
    except ValueError:
        return text


@lru_cache(maxsize=NORMALISED_CACHE)
def parsed_prefix(value: str) -> ParsedPrefix:
    """:func:`~sync.core.prefixes.parse_prefix` of a text seen before, remembered (a bad one
    raises every time): plans ask it of every selected prefix in every run."""
    return parse_prefix(value)


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
