"""Each target's own record, kept beside the ownership records: what ipsync last wrote into
it, from which releases, for which settings, and the largest selection it has held.

The guard stage reads it: the erosion guard compares the selection with its largest, the
removal and addition guards measure against what ipsync wrote (an entry widened by hand
counts as ipsync wrote it), the rollback guard compares release marks. One small record per
target, in the same registry as the ownership records (a folder for the command line, the
app's storage in Azure), read only for targets that have something to write.

Before its writes a run claims the record over the etag its plan read, with the release it
writes (:meth:`TargetRecords.claim`): of two runs that planned from the same record only one
writes; the other reads again and meets the release the first holds, so an older release
never lands after a newer one. A claim another run has not settled is waited for.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from sync.core.selection import Selection, addresses
from sync.kinds.naming import tags_key
from sync.state import ownership
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
        #: This run's claims carry it: a claim of its own is never waited for.
        self.token = uuid.uuid4().hex

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

    def claim(
        self, target: TargetSpec, record: Record, release: str, pause: Callable[[float], bool]
    ) -> Record:
        """Announce a write of ``release`` over ``record`` as the plan read it; raises
        :class:`Conflict` when the record moved meanwhile (plan again)."""
        key = self.key(target)
        ownership.await_claim(self._registry, key, record, self.token, pause)
        claimed = replace(
            record, marks=(release,), pending=ownership.new_claim(0, frozenset(), self.token)
        )
        return replace(claimed, etag=self._registry.save(key, claimed))

    def withdraw(self, target: TargetSpec, claimed: Record, before: Record) -> None:
        """Nothing was written: the record as it was (unless another run moved it on)."""
        ours = claimed.pending is not None and claimed.pending.token == self.token
        if ours:
            with contextlib.suppress(Conflict):
                self._registry.save(self.key(target), replace(before, etag=claimed.etag))

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
            mine = record.pending is not None and record.pending.token == self.token
            new = replace(
                record,
                peaks=peaks,
                written=frozenset(written),
                marks=marks,
                fingerprint=fingerprint(target),
                pending=None if mine else record.pending,
            )
            if new == record:
                return
            try:
                self._registry.save(key, new)
                return
            except Conflict:
                continue
        raise StateError(f"{key}: the target's record kept changing")
