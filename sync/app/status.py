"""The operators' status page: one server-rendered HTML page from the kept run reports.

What an operator asks first: did the last runs work, what state is every target in (kind,
resource, entries used of its capacity, extra addresses of its fit, when it last changed, a
guard's refusal and its reason, a limit it is near), where the published lists are, and what
the latest release changed. It loads nothing from elsewhere and runs no script: the style is
inline, the chart inline SVG (:mod:`sync.app.chart`), and a Content-Security-Policy meta tag
forbids anything else. Every value is escaped. Pure: reports and list data in, HTML out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from html import escape
from typing import Any, NamedTuple

from sync.app.changefeed import summary as change_summary
from sync.app.changefeed import tag_text
from sync.app.chart import colour, line_chart
from sync.changes import ChangeEntry
from sync.core.headroom import DEFAULT, Thresholds, headroom_notes
from sync.report import Report, TargetReport

#: What the page allows itself: its own inline style and nothing else (no script at all).
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
    "form-action 'none'"
)
#: Runs shown in the table of last runs (the newest).
RUNS_SHOWN = 20
STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:1.5rem;color:#1b1b1b;background:#fff}
h1{font-size:1.4rem;margin:0 0 .2rem}h2{font-size:1.1rem;margin:1.6rem 0 .5rem}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3rem .5rem;
border-bottom:1px solid #ddd;vertical-align:top}th{background:#f4f4f4}
code{font-size:.92em;word-break:break-all}.muted{color:#666}
.state{font-weight:600;padding:.05rem .4rem;border-radius:.3rem;white-space:nowrap}
.ok,.applied,.unchanged{background:#e3f4e8;color:#14532d}.planned{background:#e8eefc;color:#1e3a8a}
.refused{background:#fdecc8;color:#7a3e00}.failed,.not-ok{background:#fde2e1;color:#7f1d1d}
.bar{display:inline-block;width:6rem;height:.6rem;background:#eee;margin-right:.4rem}
.bar span{display:block;height:100%;background:#0072B2}.bar .near{background:#D55E00}
.note{color:#7a3e00}.reason{color:#7f1d1d}
.chart .grid{stroke:#e5e5e5}.chart text{font-size:11px;fill:#444}
.legend{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.3rem 1.2rem}
.swatch{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;vertical-align:middle}
"""


class PublishedList(NamedTuple):
    """A published list as the page shows it: where to fetch it and its last outcome."""

    name: str
    url: str
    #: The list's record of the last run (``status``, ``problem``, ``release``, ...).
    status: Mapping[str, Any]
    published_at: str | None = None
    entries: int | None = None


def target_key(target: TargetReport) -> tuple[str, str, tuple[str, ...]]:
    """The same target across runs: kind, resource and service tags (any case)."""
    tags = tuple(sorted(t.lower() for t in target.selectors))
    return target.kind, target.resource.lower(), tags


def render_status(
    reports: Sequence[Report],
    *,
    lists: Sequence[PublishedList] = (),
    change: ChangeEntry | None = None,
    thresholds: Thresholds = DEFAULT,
    generated_at: datetime,
) -> str:
    """The page for ``reports`` (oldest first), the published ``lists`` and the last change."""
    latest = reports[-1] if reports else None
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{escape(CSP)}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>ipsync status</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>ipsync status</h1>",
        f'<p class="muted">Generated {escape(_when(generated_at.isoformat()))}; '
        f"{len(reports)} runs kept.</p>",
    ]
    if latest is None:
        parts.append("<p>No run has been stored yet.</p>")
    else:
        parts.append(_latest(latest))
        parts.append(_targets(latest, reports, thresholds))
        parts.append(_chart(reports))
    parts.append(_lists(lists))
    parts.append(_change(change))
    parts.append(_runs(reports))
    parts.append("</body></html>")
    return "\n".join(parts)


def _latest(report: Report) -> str:
    outcome = "ok" if report.ok else "not ok"
    releases = ", ".join(f"{source.cloud} release {source.mark}" for source in report.sources)
    release = f" with {escape(releases)}" if releases else ""
    error = f' <span class="reason">{escape(report.error)}</span>' if report.error else ""
    mode = " (dry run)" if report.dry_run else ""
    notes = "".join(f'<div class="note">{escape(n)}</div>' for n in report.notes)
    return (
        f"<p>Last run <code>{escape(report.run_id or '-')}</code>{mode}, "
        f"{escape(_when(report.started_at))}{release}: "
        f'<span class="state {_css(outcome)}">{outcome}</span>{error}</p>{notes}'
    )


def _targets(latest: Report, reports: Sequence[Report], thresholds: Thresholds) -> str:
    changed_at = _last_changes(reports)
    rows = []
    for target in latest.targets:
        fit = target.fit
        if fit is not None:
            room = fit.headroom()
            near = headroom_notes(room, thresholds)
            share = min(room.capacity_used, 1.0)
            bar = (
                f'<span class="bar"><span class="{"near" if near else ""}" '
                f'style="width:{share:.0%}"></span></span>'
            )
            entries = f"{bar}{fit.entries:,} of {fit.capacity:,}"
            extra = f"{fit.extra_addresses:,}"
        else:
            near, entries, extra = [], "-", "-"
        # A report keeps its headroom notes since they are judged in the run; older ones
        # have them from here, by the same thresholds.
        told = dict.fromkeys([*target.notes, *near])
        notes = [f'<div class="note">{escape(n)}</div>' for n in told]
        if target.error:
            label = "refused: " if target.status == "refused" else ""
            notes.insert(0, f'<div class="reason">{escape(label + target.error)}</div>')
        rows.append(
            "<tr>"
            f"<td>{escape(target.kind or '-')}</td>"
            f'<td><code title="{escape(target.resource)}">{escape(_short(target.resource))}</code>'
            f'<div class="muted">{escape(", ".join(target.selectors) or "-")}</div></td>'
            f'<td><span class="state {_css(target.status)}">{escape(target.status)}</span></td>'
            f"<td>{entries}</td><td>{extra}</td>"
            f"<td>{escape(changed_at.get(target_key(target), 'not in the kept runs'))}</td>"
            f"<td>{''.join(notes)}</td>"
            "</tr>"
        )
    head = (
        "<tr><th>kind</th><th>resource</th><th>state</th><th>entries used</th>"
        "<th>extra addresses</th><th>last change</th><th>reason and notes</th></tr>"
    )
    return (
        f'<h2 id="targets">Targets ({len(latest.targets)})</h2><table>{head}{"".join(rows)}</table>'
    )


def _last_changes(reports: Sequence[Report]) -> dict[tuple[str, str, tuple[str, ...]], str]:
    """When each target was last written: the start of the newest run that applied to it."""
    found: dict[tuple[str, str, tuple[str, ...]], str] = {}
    for report in reports:
        for target in report.targets:
            if target.status == "applied":
                found[target_key(target)] = _when(report.started_at)
    return found


def _chart(reports: Sequence[Report]) -> str:
    """Entries per target over the releases of the kept runs (the last run of each)."""
    by_release: dict[str, Report] = {}
    for report in reports:
        if report.release is not None and not report.dry_run:
            mark = report.release
            by_release.pop(mark, None)
            by_release[mark] = report
    if not by_release:
        return ""
    names: dict[tuple[str, str, tuple[str, ...]], str] = {}
    for report in by_release.values():
        for target in report.targets:
            if target.fit is not None:
                names.setdefault(target_key(target), _series_name(target))
    if not names:
        return ""
    series: dict[str, list[int | None]] = {name: [] for name in names.values()}
    for report in by_release.values():
        entries = {target_key(t): t.fit.entries for t in report.targets if t.fit is not None}
        for key, name in names.items():
            series[name].append(entries.get(key))
    svg = line_chart(list(by_release), series, label="Entries per target over the releases")
    legend = "".join(
        f'<li><span class="swatch" style="background:{colour(i)}"></span>{escape(name)}</li>'
        for i, name in enumerate(series)
    )
    return (
        '<h2 id="chart">Entries per target over the releases</h2>'
        f'{svg}<ul class="legend">{legend}</ul>'
    )


def _series_name(target: TargetReport) -> str:
    return f"{target.kind} {_short(target.resource)} [{', '.join(target.selectors)}]"


def _lists(lists: Sequence[PublishedList]) -> str:
    if not lists:
        return ""
    rows = []
    for item in lists:
        status = str(item.status.get("status") or "not published yet")
        problem = item.status.get("problem")
        url = escape(item.url)
        link = f'<a href="{url}">{url}</a>' if _linkable(item.url) else url
        count = "-" if item.entries is None else f"{item.entries:,}"
        reason = f'<div class="reason">{escape(str(problem))}</div>' if problem else ""
        rows.append(
            f"<tr><td>{escape(item.name)}</td><td><code>{link}</code></td>"
            f'<td><span class="state {_css(status)}">{escape(status)}</span>{reason}</td>'
            f"<td>{count}</td><td>{escape(_when(item.published_at))}</td>"
            f"<td>{escape(str(item.status.get('release') or '-'))}</td></tr>"
        )
    head = (
        "<tr><th>list</th><th>URL</th><th>last outcome</th><th>entries</th>"
        "<th>content changed</th><th>release</th></tr>"
    )
    return f'<h2 id="lists">Published lists</h2><table>{head}{"".join(rows)}</table>'


def _change(change: ChangeEntry | None) -> str:
    if change is None:
        return '<h2 id="change">Latest change</h2><p>No kept release changed a selected tag.</p>'
    items = "".join(
        f"<li><b>{escape(name)}</b>: {escape(tag_text(delta))}</li>"
        for name, delta in change.tags.items()
    )
    touched = "".join(
        f"<li>{escape(t.kind)} <code>{escape(_short(t.resource))}</code>: {escape(t.status)}, "
        f"+{t.added} -{t.removed} prefixes</li>"
        for t in change.targets
    )
    more = f"<p>Targets and lists touched:</p><ul>{touched}</ul>" if touched else ""
    return (
        '<h2 id="change">Latest change</h2>'
        f"<p>{escape(change.cloud)} {escape(change_summary(change))} "
        f'<span class="muted">(seen {escape(_when(change.seen_at))})</span></p>'
        f"<ul>{items}</ul>{more}"
    )


def _runs(reports: Sequence[Report]) -> str:
    rows = []
    for report in list(reversed(reports))[:RUNS_SHOWN]:
        statuses = [t.status for t in report.targets]
        counts = ", ".join(
            f"{statuses.count(s)} {s}"
            for s in ("applied", "planned", "refused", "failed")
            if statuses.count(s)
        )
        outcome = "ok" if report.ok else "not ok"
        rows.append(
            f"<tr><td><code>{escape(report.run_id or '-')}</code></td>"
            f"<td>{escape(_when(report.started_at))}</td>"
            f"<td>{'dry run' if report.dry_run else 'sync'}</td>"
            f'<td><span class="state {_css(outcome)}">{outcome}</span></td>'
            f"<td>{escape(counts or 'nothing to do')}</td><td>{report.writes}</td>"
            f"<td>{escape(report.error or '')}</td></tr>"
        )
    head = (
        "<tr><th>run</th><th>started</th><th>mode</th><th>outcome</th><th>targets</th>"
        "<th>writes</th><th>error</th></tr>"
    )
    return f'<h2 id="runs">Last runs</h2><table>{head}{"".join(rows)}</table>'


def _short(resource: str) -> str:
    """``rg/name`` of an ARM id (the rest is in the title); other names as they are."""
    parts = resource.strip("/").split("/")
    if len(parts) >= 8 and parts[0].lower() == "subscriptions":
        return f"{parts[3]}/{parts[-1]}"
    return resource


def _when(iso: str | None) -> str:
    """An ISO time as ``2025-10-17 04:30 UTC``; ``-`` when unknown."""
    if not iso:
        return "-"
    try:
        value = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    return value.strftime("%Y-%m-%d %H:%M") + (" UTC" if value.utcoffset() is not None else "")


def _css(word: str) -> str:
    return word.replace(" ", "-") if word in _STATES else ""


_STATES = frozenset({"ok", "not ok", "applied", "unchanged", "planned", "refused", "failed"})


def _linkable(url: str) -> bool:
    """Only web links and paths of this app become links (never ``javascript:`` and such)."""
    return url.startswith(("https://", "http://", "/")) and not url.startswith("//")
