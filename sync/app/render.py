"""A readable text form of a report, for the CLI's ``plan``, ``apply`` and ``demo``."""

from __future__ import annotations

from collections.abc import Sequence

from sync.report import Change, Report

#: Prefixes shown per list before the rest is summarised as "... and N more".
SHOWN = 6


def render(report: Report) -> str:
    lines: list[str] = []
    source = report.source
    if source is not None:
        lines.append(f"source: {source.cloud} release {source.change_number} from {source.origin}")
    if report.error:
        lines.append(f"error: {report.error}")
    for target in report.targets:
        name = target.resource.rsplit("/", 1)[-1]
        tags = ", ".join(target.service_tags)
        lines.append(f"{name} [{tags}]: {target.status}, {target.writes} writes")
        if target.error:
            lines.append(f"  ! {target.error}")
        lines.extend(f"  note: {note}" for note in target.notes)
        if target.fit is not None and target.fit.extra_addresses:
            fit = target.fit
            lines.append(
                f"  fit: {fit.entries} of {fit.capacity} entries, "
                f"+{fit.extra_addresses} addresses Microsoft did not publish"
            )
        lines.extend(_changes(target.changes, "  "))
        if target.held_back:
            lines.append("  held back by policy add-only:")
            lines.extend(_changes(target.held_back, "    "))
    mode = "planned" if report.dry_run else "done"
    lines.append(
        f"{mode}: {len(report.targets)} targets, {report.writes} writes, "
        f"{report.duration_s:.2f} s, {'ok' if report.ok else 'NOT ok'}"
    )
    return "\n".join(lines)


def _changes(changes: Sequence[Change], indent: str) -> list[str]:
    lines = []
    for change in changes:
        lines.append(
            f"{indent}{change.action} {change.rule}: +{len(change.added)} -{len(change.removed)}"
        )
        for sign, prefixes in (("+", change.added), ("-", change.removed)):
            if prefixes:
                lines.append(f"{indent}  {sign} {_short(prefixes)}")
    return lines


def _short(prefixes: Sequence[str]) -> str:
    shown = " ".join(prefixes[:SHOWN])
    rest = len(prefixes) - SHOWN
    return f"{shown} ... and {rest} more" if rest > 0 else shown
