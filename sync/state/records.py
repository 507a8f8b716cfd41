"""Each target's own record, kept beside the ownership records: what ipsync last wrote into
it, from which releases, for which settings, and the largest selection it has held.

The guard stage reads it: the erosion guard compares the selection with its largest, the
removal and addition guards measure against what ipsync wrote (an entry widened by hand
counts as ipsync wrote it), the rollback guard compares release marks. One small record per
target, in the same registry as the ownership records (a folder for the command line, the
app's storage in Azure), read only for targets that have something to write.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Collection, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from sync.core.selection import Selection, addresses
from sync.kinds.naming import tags_key
from sync.state.ownership import Conflict, Record, Registry, StateError

if TYPE_CHECKING:
    from sync.kinds.base import TargetSpec

#: How often a save is retried when another run saved the same record meanwhile.
SAVE_TRIES = 3


def sizes(target: TargetSpec, selection: Selection) -> dict[str, int]:
    """Addresses per family of the target's selection."""
    return {family: addresses(selection.family(family)) for family in target.families}


def fingerprint(target: TargetSpec) -> str:
    """The target's settings that decide which addresses it holds: when they change, what it
    wrote before is no reference for what it holds now."""
    fields = ("kind", "families", "extra_prefixes", "exclude_prefixes", "fit", "max_entries")
    body = json.dumps(target.model_dump(include=set(fields)), sort_keys=True, default=list)
    return hashlib.sha256(body.encode()).hexdigest()[:16]


class TargetRecords:
    """Reads and writes targets' records in the registry ``registry()`` returns (opened on
    first use)."""

    def __init__(self, registry: Callable[[], Registry]) -> None:
        self._registry_of = registry

    @property
    def _registry(self) -> Registry:
        return self._registry_of()

    @staticmethod
    def key(target: TargetSpec) -> str:
        return f"{target.resource_id}#peak-{target.kind}-{tags_key(target.selectors)}"

    def load(self, target: TargetSpec) -> Record:
        return self._registry.load(self.key(target))

    def written(self, target: TargetSpec, record: Record) -> frozenset[str] | None:
        """What ipsync last wrote into the target, if it was written for its settings now."""
        return record.written if record.fingerprint == fingerprint(target) else None

    def record(
        self,
        target: TargetSpec,
        *,
        written: Collection[str],
        marks: tuple[str, ...],
        now: Mapping[str, int],
        reset: bool,
    ) -> None:
        """After a write: what was written and from which releases; the peak per family
        raised to ``now`` (``now`` itself when forced)."""
        key = self.key(target)
        for _ in range(SAVE_TRIES):
            record = self._registry.load(key)
            peaks = (
                dict(now)
                if reset
                else {f: max(record.peaks.get(f, 0), now.get(f, 0)) for f in {*record.peaks, *now}}
            )
            new = replace(
                record,
                peaks=peaks,
                written=frozenset(written),
                marks=marks,
                fingerprint=fingerprint(target),
            )
            if new == record:
                return
            try:
                self._registry.save(key, new)
                return
            except Conflict:
                continue
        raise StateError(f"{key}: the target's record kept changing")
