"""The largest selection each target has held, kept beside the ownership records.

The erosion guard (:func:`sync.core.plan.erosion_guard`) compares a target's selection with
it, so that several releases that each remove a little cannot shrink an allow-list unnoticed.
One small record per target, in the same registry as the ownership records (a folder for the
command line, the app's storage in Azure), opened only when a run has something to write
(:class:`sync.state.State`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from sync.core.selection import Selection, addresses
from sync.kinds.naming import tags_key
from sync.state.ownership import Conflict, Registry, StateError

if TYPE_CHECKING:
    from sync.kinds.base import TargetSpec

#: How often a save is retried when another run saved the same record meanwhile.
SAVE_TRIES = 3


def sizes(target: TargetSpec, selection: Selection) -> dict[str, int]:
    """Addresses per family of the target's selection."""
    return {family: addresses(selection.family(family)) for family in target.families}


class PeakBook:
    """Reads and raises the peaks of targets, in the registry ``registry()`` returns (opened
    on first use)."""

    def __init__(self, registry: Callable[[], Registry]) -> None:
        self._registry_of = registry

    @property
    def _registry(self) -> Registry:
        return self._registry_of()

    @staticmethod
    def key(target: TargetSpec) -> str:
        return f"{target.resource_id}#peak-{target.kind}-{tags_key(target.service_tags)}"

    def peaks(self, target: TargetSpec) -> Mapping[str, int]:
        return self._registry.load(self.key(target)).peaks

    def record(self, target: TargetSpec, now: Mapping[str, int], *, reset: bool) -> None:
        """Keep the larger of the peak and ``now`` per family (``now`` itself when forced)."""
        key = self.key(target)
        for _ in range(SAVE_TRIES):
            record = self._registry.load(key)
            merged = (
                dict(now)
                if reset
                else {f: max(record.peaks.get(f, 0), now.get(f, 0)) for f in {*record.peaks, *now}}
            )
            if merged == dict(record.peaks):
                return
            try:
                self._registry.save(key, frozenset(), record.etag, peaks=merged)
                return
            except Conflict:
                continue
        raise StateError(f"{key}: the peak record kept changing")
