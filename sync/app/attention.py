"""What of a run needs an operator's eye beyond its writes: entries someone else changed
(drift), targets near a limit (headroom), feeds stale or unreachable for long.

The engine puts drift and headroom in each target's notes and the app puts the feeds' in the
run's (:mod:`sync.app.feedwatch`); notifications, ``/api/health`` and the status page pick
them from there with the same words.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sync.core.drift import is_drift
from sync.core.freshness import Watch, problems
from sync.core.headroom import is_headroom
from sync.report import Report


def attention(report: Report) -> list[dict[str, Any]]:
    """``[{"kind", "resource", "notes"}]``: each target with drift or headroom notes, then the
    run's own notes (``kind`` and ``resource`` empty)."""
    rows = []
    for target in report.targets:
        notes = [n for n in target.notes if is_drift(n) or is_headroom(n)]
        if notes:
            rows.append({"kind": target.kind, "resource": target.resource, "notes": notes})
    if report.notes:
        rows.append({"kind": "", "resource": "", "notes": list(report.notes)})
    return rows


def needs_look(report: Report) -> bool:
    """Whether someone else changed entries ipsync wrote, or a feed needs looking at."""
    return bool(report.notes) or any(is_drift(n) for t in report.targets for n in t.notes)


def feed_health(
    watch: Mapping[str, Watch], stale_after_h: float, now: datetime | None = None
) -> dict[str, Any]:
    """Per feed: its release, since when, the last read, and the problem (None when fresh)."""
    found = problems(watch, now or datetime.now(UTC), stale_after_h)
    return {
        feed: {
            "release": seen.mark,
            "since": seen.since,
            "read_at": seen.read_at,
            "problem": found.get(feed),
        }
        for feed, seen in sorted(watch.items())
    }
