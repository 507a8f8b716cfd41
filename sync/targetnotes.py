"""What a target's report says beside its writes: its fit against its own limits, the entries
someone else changed since ipsync wrote them (drift), and the limits it is near (headroom).

Kept out of the engine, which only calls it: drift on the first read of a run (a later read
would count the run's own writes), the rest when the plan is reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sync.core.drift import drift, drift_notes
from sync.core.headroom import Thresholds, headroom_notes
from sync.report import Fit

if TYPE_CHECKING:
    from sync.core.plan import TargetPlan
    from sync.kinds.base import Kind, Snapshot, TargetSpec
    from sync.report import TargetReport


def drift_of(
    target: TargetSpec, kind: Kind, snapshot: Snapshot, written: frozenset[str] | None
) -> tuple[str, ...]:
    """How the target's own entries differ from what ipsync last wrote into them
    (``written``, from its record; none: nothing to compare with)."""
    if not written:
        return ()
    return tuple(drift_notes(drift(written, kind.owned(target, snapshot))))


def describe(
    report: TargetReport,
    target: TargetSpec,
    plan: TargetPlan[Any],
    drifted: Sequence[str] | None,
    thresholds: Thresholds,
) -> None:
    """The report's fit and notes: the drift, the kind's notes, then the limits it is near."""
    ratio = target.max_extra_ratio if target.fit == "cover" else None
    report.fit = Fit.of(plan.fit, ratio) if plan.fit is not None else None
    near = headroom_notes(report.fit.headroom(), thresholds) if report.fit is not None else []
    report.notes = [*(drifted or ()), *plan.notes, *near]
