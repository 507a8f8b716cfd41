"""The one guard stage: every refusal a change to an allow-list can meet, decided in one place.

A kind plans what a target's entries become and says what the target owns before and after
(CIDRs). The engine hands that to :func:`judge` with what the release publishes for the target
and what the target's records hold; every guard runs here, once, under one ``force``. A kind
never sees ``force`` or a ratio, so the next kind cannot forget a guard.

The guards, in the order a refusal is reported:

- the target's own bounds, never forced: the fit's ``max_extra_ratio``, and for a target that
  an Azure tag selected the most addresses the operator lets a tag open;
- removal: an empty list, an emptied family, or more than ``max_remove_ratio`` of the owned
  entries gone in one run. Only what ipsync wrote counts: an entry someone widened by hand is
  measured as ipsync wrote it, so repairing it is no removal;
- a selected selector that came out empty (a vanished or emptied service tag);
- breadth: no published block broader than the family's bound (a release of 256 x /8 merges to
  ``0.0.0.0/0``), and no selection larger than a real release could hold; for a target that
  takes from several feeds, each feed's part first (the message names the feed), then the
  union;
- rollback: a release older than the one the target holds, or one whose mark jumps further
  ahead of it than its feed ever steps (a poisoned mark must not freeze later releases);
- addition: a release may add to what a target holds at most ``max_add_ratio`` of its
  addresses (or a small floor, for small lists), per family; measured on what the release
  publishes (a cover fit's own widening is bounded by ``max_extra_ratio``). For a target of
  several feeds each feed may also add at most that share of what the target holds of its
  own part, so a small feed cannot open a target that a large one keeps wide;
- erosion: the published selection more than ``max_remove_ratio`` below its largest.

Pure: strings and numbers in, a reason or None out.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from sync.core.budget import FitAccount
from sync.core.plan import cidr_family, family_name, lost
from sync.core.prefixes import Family, merge, subtract, to_cidrs

FORCE_HINT = "use --force to apply"


@dataclass(frozen=True)
class Thresholds:
    """The run's guard settings (the operator's, never a tag's)."""

    max_remove_ratio: float = 0.3
    #: Addresses a release may add to a target, as a share of what it holds, per family...
    max_add_ratio: float = 1.0
    #: ...or at least this many, so small lists may grow by a few blocks (the largest weekly
    #: growth of a real tag was 1,536 IPv4 addresses, 3.4 times its size).
    add_floor: Mapping[str, int] = field(default_factory=lambda: {"v4": 1 << 16, "v6": 1 << 96})
    #: The broadest block (shortest prefix length) a published selection may merge into: the
    #: feed's own minimum prefix length (real releases merge to /12 and /40 at the broadest).
    broadest: Mapping[str, int] = field(default_factory=lambda: {"v4": 8, "v6": 16})
    #: The most addresses one selection may hold per family (all of Azure: 48 million IPv4).
    max_addresses: Mapping[str, int] = field(
        default_factory=lambda: {"v4": 1 << 28, "v6": 1 << 100}
    )
    #: How far each mark series may step ahead of the mark a target holds (absent: unbounded).
    steps: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Proposal:
    """One target's planned change, as the guards judge it."""

    #: How messages name the target.
    where: str
    families: tuple[str, ...]
    #: CIDRs the target's entries allow now, and after the plan.
    before: frozenset[str]
    after: frozenset[str]
    #: The exact published selection per family (before any fit).
    published: Mapping[str, Sequence[str]]
    #: What ipsync last wrote into the target, when its record matches the target's settings
    #: (None: first sync, changed settings, or a lost record).
    written: frozenset[str] | None = None
    #: Selected selectors with no prefix of the target's families in this release.
    empty: tuple[str, ...] = ()
    #: Release marks the target holds, and those this plan is written from.
    held: tuple[str, ...] = ()
    incoming: tuple[str, ...] = ()
    #: Addresses per family the selection held at its largest.
    peaks: Mapping[str, int] = field(default_factory=dict)
    #: The fit's account: the extra (unpublished) addresses a cover allows per family.
    fit: FitAccount | None = None
    max_extra_ratio: float = 0.1
    #: For a target an Azure tag selected: the most addresses per family it may allow.
    tag_bound: Mapping[str, int] | None = None
    #: For a target that takes from several feeds: each feed's part of ``published``.
    parts: Mapping[str, Mapping[str, Sequence[str]]] = field(default_factory=dict)


def judge(proposal: Proposal, thresholds: Thresholds, *, force: bool = False) -> str | None:
    """Why the change is refused, or None. ``force`` passes every guard but the target's own
    bounds (its ``max_extra_ratio``, and what a tag may open)."""
    p, t = proposal, thresholds
    bounds = fit_guard(p.where, p.fit, p.max_extra_ratio) or tag_guard(
        p.where, p.after, p.tag_bound
    )
    if bounds or force:
        return bounds
    return (
        removal_guard(
            p.where,
            trusted(p.before, p.written),
            p.after,
            max_remove_ratio=t.max_remove_ratio,
            families=p.families,
        )
        or empty_guard(p.where, p.empty, p.families)
        or _first(
            breadth_guard(where, published, t.broadest, t.max_addresses)
            for where, published in _scopes(p)
        )
        or rollback_guard(p.where, p.held, p.incoming, t.steps)
        or _first(
            addition_guard(where, held, cidrs, t.max_add_ratio, t.add_floor)
            for where, held, cidrs in _growth_scopes(p)
        )
        or erosion_guard(p.where, p.peaks, sizes(p.published), t.max_remove_ratio)
    )


def _first(reasons: Iterable[str | None]) -> str | None:
    """The first refusal of guards run one scope after another (lazily)."""
    return next((reason for reason in reasons if reason), None)


def _scopes(p: Proposal) -> Iterator[tuple[str, Mapping[str, Sequence[str]]]]:
    """Each feed's part of the published selection (naming the feed), then the union."""
    for feed, part in sorted(p.parts.items()):
        yield f"{p.where}: feed {feed}", part
    yield p.where, p.published


def _growth_scopes(p: Proposal) -> Iterator[tuple[str, Collection[str], list[str]]]:
    """What the addition guard compares, per feed then for the union: what the target holds
    (of that feed's part) and what is published. Per feed only once the target has a record
    to measure against: a first sync has nothing to grow from."""
    union = reference(p)
    if p.written is not None:
        for feed, part in sorted(p.parts.items()):
            cidrs = [c for cidrs in part.values() for c in cidrs]
            yield f"{p.where}: feed {feed}", common(union, cidrs), cidrs
    yield p.where, union, [c for cidrs in p.published.values() for c in cidrs]


# ----- addresses ---------------------------------------------------------------------------


def _family(prefixes: Iterable[str], family: str) -> list[str]:
    return [p for p in prefixes if cidr_family(p) == family]


def _spans(prefixes: Iterable[str], family: Family) -> list[tuple[int, int]]:
    from sync.core.prefixes import aggregate

    cidrs = aggregate([p for p in prefixes if cidr_family(p) == family], (), (family,))[family]
    return merge([_span(c, family) for c in cidrs])


def _span(cidr: str, family: Family) -> tuple[int, int]:
    from sync.core.prefixes import parse_prefix

    parsed = parse_prefix(cidr)
    bits = 32 if family == "v4" else 128
    return parsed.network, parsed.network + (1 << (bits - parsed.prefixlen)) - 1


def _count(spans: Iterable[tuple[int, int]]) -> int:
    return sum(high - low + 1 for low, high in spans)


def addresses(prefixes: Iterable[str], family: Family) -> int:
    """Distinct addresses of one family that ``prefixes`` allow (overlaps counted once)."""
    return _count(_spans(prefixes, family))


def sizes(published: Mapping[str, Sequence[str]]) -> dict[str, int]:
    """Addresses per family of a published selection."""
    return {f: addresses(p, "v4" if f == "v4" else "v6") for f, p in published.items()}


def trusted(before: frozenset[str], written: frozenset[str] | None) -> frozenset[str]:
    """The owned entries as ipsync wrote them: an entry widened by hand (a rule of ours edited
    to ``0.0.0.0/0``) counts only for the part ipsync wrote; entries inside it are unchanged.

    Without a record every owned entry counts as it is (an IP Group handed over full).
    """
    if written is None:
        return before
    kept: set[str] = set()
    for family in ("v4", "v6"):
        allowed = _spans(written, family)
        for entry in _family(before, family):
            span = _span(entry, family)
            outside = subtract([span], allowed)
            if not outside:
                kept.add(entry)
                continue
            inside = subtract([span], outside)
            kept.update(to_cidrs(inside, family))
    kept.update(e for e in before if cidr_family(e) is None)
    return frozenset(kept)


def common(first: Iterable[str], second: Iterable[str]) -> list[str]:
    """The CIDRs of the addresses both allow."""
    found: list[str] = []
    one, two = list(first), list(second)
    for family in ("v4", "v6"):
        fam: Family = family
        spans = _spans(one, fam)
        outside = subtract(spans, _spans(two, fam))
        found += to_cidrs(subtract(spans, outside), fam)
    return found


def reference(p: Proposal) -> frozenset[str]:
    """What the addition guard measures a release's growth against: what ipsync wrote and the
    target still holds; on a first sync or after the target's settings changed, the published
    selection itself (so only the breadth bound and ``max_extra_ratio`` hold there)."""
    if p.written is None:
        return frozenset(c for cidrs in p.published.values() for c in cidrs)
    return trusted(p.before, p.written)


# ----- the guards --------------------------------------------------------------------------


def fit_guard(
    where: str,
    fit: FitAccount | None,
    max_ratio: float,
    hint: str = "raise max_extra_ratio or the capacity",
) -> str | None:
    """A cover fit may allow at most ``max_ratio`` unpublished addresses per family."""
    for family in sorted(fit.published if fit is not None else ()):
        assert fit is not None
        ratio = fit.extra_ratio(family)
        if ratio > max_ratio:
            return (
                f"{where}: fitting into {fit.entries} entries ({fit.why or fit.capacity}) allows "
                f"{fit.extra[family]} {family} addresses the feed did not publish "
                f"({float(ratio):.2%} of {fit.published[family]} > max_extra_ratio "
                f"{max_ratio:.0%}); refused ({hint})"
            )
    return None


def tag_guard(where: str, after: Collection[str], bound: Mapping[str, int] | None) -> str | None:
    """A target that an Azure tag selected may open at most what the operator allows tags."""
    if bound is None:
        return None
    for family in ("v4", "v6"):
        held = addresses(after, family)
        limit = bound.get(family)
        if limit is not None and held > limit:
            setting = f"IPSYNC_TAG_MAX_ADDRESSES_{family.upper()}"
            return (
                f"{where}: selected by its Azure tags, it would allow {held} "
                f"{family_name(family)} addresses, more than {limit} ({setting}); refused "
                "(name the target in the settings to allow more)"
            )
    return None


def empty_guard(where: str, empty: Sequence[str], families: Sequence[str]) -> str | None:
    if not empty:
        return None
    return (
        f"{where}: service tag {', '.join(empty)} has no {'/'.join(families)} prefix in this "
        f"release; refused ({FORCE_HINT})"
    )


def breadth_guard(
    where: str,
    published: Mapping[str, Sequence[str]],
    broadest: Mapping[str, int],
    most: Mapping[str, int],
) -> str | None:
    """No real release merges into a block this broad, or holds this many addresses."""
    for family, prefixes in sorted(published.items()):
        fam: Family = "v4" if family == "v4" else "v6"
        spans = _spans(prefixes, fam)
        for cidr in to_cidrs(spans, fam):
            length = int(cidr.rsplit("/", 1)[1])
            if length < broadest.get(family, 0):
                return (
                    f"{where}: the published {family_name(family)} ranges merge into {cidr}, "
                    f"broader than /{broadest[family]} (no real release holds such a block); "
                    f"refused ({FORCE_HINT})"
                )
        total = _count(spans)
        if family in most and total > most[family]:
            return (
                f"{where}: the published {family_name(family)} ranges hold {total} addresses, "
                f"more than {most[family]} (no real release holds as many); refused "
                f"({FORCE_HINT})"
            )
    return None


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
                f"refused ({FORCE_HINT})"
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
                f"({FORCE_HINT})"
            )
    return None


def addition_guard(
    where: str,
    held: Collection[str],
    published: Collection[str],
    max_ratio: float,
    floor: Mapping[str, int],
) -> str | None:
    """A release may not open a target far beyond what it holds, per family."""
    for family in ("v4", "v6"):
        fam: Family = family
        now = _spans(held, fam)
        grown = _count(subtract(_spans(published, fam), now))
        allowed = max(int(max_ratio * _count(now)), floor.get(family, 0))
        if grown > allowed:
            return (
                f"{where}: would allow {grown} more {family_name(family)} addresses than the "
                f"{_count(now)} it holds (> max_add_ratio {max_ratio:.0%}, at least "
                f"{floor.get(family, 0)}); refused ({FORCE_HINT})"
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


# ----- release marks -----------------------------------------------------------------------


def split_mark(mark: str) -> tuple[str, int] | None:
    """``("api", 95)`` for ``api-95``, ``("", 373)`` for ``373``; None for a mark that is not
    ``[series-]number`` (such a held mark is never compared, so it cannot freeze a target)."""
    series, _, number = mark.rpartition("-")
    if not number.isdigit() or not number.isascii():
        return None
    return series, int(number)


def rollback_guard(
    where: str,
    held: Iterable[str],
    incoming: Iterable[str],
    steps: Mapping[str, int] | None = None,
) -> str | None:
    """Why writing releases ``incoming`` over a target that holds ``held`` is refused.

    Marks are compared within their series only. An older release would take published
    ranges away and bring retired ones back (a concurrent older run re-reads after its write
    is refused and meets this too, so the newer run wins). A mark further ahead than its
    feed ever steps is refused too: recorded, it would make every later real release look
    like a rollback.
    """
    known = [s for s in map(split_mark, held) if s is not None]
    for mark in incoming:
        parts = split_mark(mark)
        if parts is None:
            continue
        series, number = parts
        mine = [n for s, n in known if s == series]
        if not mine:
            continue
        newest = max(mine)
        if newest > number:
            shown = f"{series}-{newest}" if series else str(newest)
            return (
                f"{where}: release {mark} is older than release {shown} that it holds; refused "
                f"as a rollback ({FORCE_HINT})"
            )
        step = (steps or {}).get(series)
        if step is not None and number - newest > step:
            shown = f"{series}-{newest}" if series else str(newest)
            return (
                f"{where}: release {mark} is {number - newest} ahead of release {shown} that it "
                f"holds, more than its feed ever steps ({step}); refused as implausible "
                f"({FORCE_HINT})"
            )
    return None
