"""A readable text form of a report, for the CLI's ``plan``, ``apply`` and ``demo``, and of
a release diff, for ``diff``.

Like ``terraform plan``: each resource, each change with its sign (``+`` create, ``~`` update,
``-`` delete), a created entry's settings, the prefixes it adds and removes, and a last line
that counts the changes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sync.core.diff import amounts
from sync.core.feed import DEFAULT_FEED
from sync.core.prefixes import FAMILIES
from sync.report import Change, Report

if TYPE_CHECKING:
    from sync.core.diff import ReleaseDiff

#: Prefixes shown per list before the rest is summarised as "... and N more" (without --full).
SHOWN = 6
SIGNS = {"create": "+", "update": "~", "delete": "-"}


def render(report: Report, *, full: bool = False) -> str:
    """The report as text; ``full`` lists every prefix, one a line."""
    lines: list[str] = []
    for source in report.sources:
        what = source.cloud if source.feed == DEFAULT_FEED else f"{source.feed} ({source.cloud})"
        lines.append(f"source: {what} release {source.mark} from {source.origin}")
    if report.error:
        lines.append(f"error: {report.error}")
    counts: Counter[str] = Counter()
    for target in report.targets:
        name = target.resource.rsplit("/", 1)[-1]
        tags = ", ".join(target.selectors)
        lines.append(f"{name} [{tags}]: {target.status}, {target.writes} writes")
        if target.resource:
            lines.append(f"  {target.kind or 'resource'} {target.resource}")
        if target.status == "refused":
            lines.append(f"  refused: {target.error}")
        elif target.error:
            lines.append(f"  ! {target.error}")
        lines.extend(f"  note: {note}" for note in target.notes)
        if target.fit is not None and target.fit.extra_addresses:
            fit = target.fit
            lines.append(
                f"  fit: {fit.entries} of {fit.capacity} entries, "
                f"+{fit.extra_addresses} addresses beyond the published ranges"
            )
        lines.extend(_changes(target.changes, "  ", full))
        if target.status != "refused":
            counts.update(change.action for change in target.changes)
        if target.held_back:
            lines.append("  held back by policy add-only:")
            lines.extend(_changes(target.held_back, "    ", full))
    mode = "planned" if report.dry_run else "done"
    lines.append(
        f"{mode}: {len(report.targets)} targets, {report.writes} writes, "
        f"{report.duration_s:.2f} s, {'ok' if report.ok else 'NOT ok'}"
    )
    create, update, delete = counts["create"], counts["update"], counts["delete"]
    if report.dry_run:
        lines.append(f"Plan: {create} to create, {update} to update, {delete} to delete.")
    else:
        done = "complete" if report.ok else "incomplete"
        lines.append(f"Apply {done}: {create} created, {update} updated, {delete} deleted.")
    return "\n".join(lines)


def _changes(changes: Sequence[Change], indent: str, full: bool) -> list[str]:
    lines = []
    for change in changes:
        unconfirmed = "" if change.confirmed else " (sent, answer lost: unconfirmed)"
        lines.append(
            f"{indent}{SIGNS[change.action]} {change.action} {change.rule}: "
            f"+{len(change.added)} -{len(change.removed)}{unconfirmed}"
        )
        if change.details:
            lines.append(f"{indent}    " + ", ".join(f"{k} {v}" for k, v in change.details.items()))
        for sign, prefixes in (("+", change.added), ("-", change.removed)):
            if not prefixes:
                continue
            if full:
                lines.extend(f"{indent}    {sign} {prefix}" for prefix in prefixes)
            else:
                lines.append(f"{indent}    {sign} {_short(prefixes)}")
    return lines


def _short(prefixes: Sequence[str]) -> str:
    shown = " ".join(prefixes[:SHOWN])
    rest = len(prefixes) - SHOWN
    return f"{shown} ... and {rest} more (--full lists all)" if rest > 0 else shown


_FAMILY = {"v4": "IPv4", "v6": "IPv6"}


def render_diff(diff: ReleaseDiff) -> str:
    """Per tag: its addresses added and removed per family, then every CIDR, signed."""
    lines = [f"release {diff.old} -> {diff.new}"]
    for tag in diff.tags:
        status = "" if tag.status == "changed" else f" ({tag.status})"
        counts = [
            f"{_FAMILY[f]} {amounts(*tag.addresses(f), f)}"
            for f in FAMILIES
            if any(tag.addresses(f))
        ]
        where = f" [{tag.region}]" if tag.region else ""
        lines.append(f"{tag.name}{where}{status}: {'; '.join(counts)}")
        lines.extend(f"  + {prefix}" for prefix in tag.added)
        lines.extend(f"  - {prefix}" for prefix in tag.removed)
    totals = diff.totals()
    summed = "; ".join(f"{_FAMILY[f]} {amounts(*totals[f], f)}" for f in FAMILIES if any(totals[f]))
    count = len(diff.tags)
    lines.append(
        f"Diff: {count} tag{'s' * (count != 1)} changed" + (f"; {summed}." if summed else ".")
    )
    return "\n".join(lines)
