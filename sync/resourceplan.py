"""What a run shows of each resource's plan before any write, and who may look.

A run handed a :class:`PlanWatch` tells it every release it reads and, per resource, the plan
it made and a digest of the resource as read; the watch may object, and the resource is then
not written. Saved plans (:mod:`sync.app.saved_plan`) are built on this: the plan run records
what it sees, the apply run objects to anything that differs. Kind-neutral: the digest covers
whatever the kind read (:attr:`Snapshot.state`), its etag and the releases it holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Protocol

from sync.core.digest import digest

if TYPE_CHECKING:
    from sync.core.feed import Release
    from sync.kinds.base import Snapshot, TargetSpec
    from sync.report import TargetReport


@dataclass(frozen=True)
class ResourcePlan:
    """One resource as planned: its targets' reports as a dry run gives them (status, changes,
    refusal), made from the resource as read (``read``) and the release marked ``release``.

    The digests are made when a watch first asks for them: a saved plan keeps them, while a
    fan-out item's watch looks at the release alone, and digesting every resource as read
    (thousands of entries) would cost it more than planning does.
    """

    kind: str
    resource_id: str
    #: The resource as the plan read it.
    read: Snapshot
    release: str
    #: Its targets, in order (given, or read from their Azure tags).
    given: tuple[TargetSpec, ...]
    targets: tuple[TargetReport, ...]

    @cached_property
    def snapshot(self) -> str:
        """:func:`snapshot_digest` of the resource as the plan read it."""
        return snapshot_digest(self.read)

    @cached_property
    def specs(self) -> tuple[str, ...]:
        """Per target, in order: a digest of its settings."""
        return tuple(spec_digest(target) for target in self.given)


class PlanWatch(Protocol):
    """Sees a run's releases and each resource's plan before its writes."""

    def release(self, release: Release) -> None:
        """A release the run reads (once per release)."""
        ...

    def planned(self, plan: ResourcePlan) -> str | None:
        """Why the resource must not be written (its targets fail with it), or None."""
        ...


def snapshot_digest(snapshot: Snapshot) -> str:
    """SHA-256 of a resource as read: its etag, what its kind read, the releases it holds."""
    return digest([snapshot.etag, snapshot.state, list(snapshot.releases)])


def spec_digest(target: TargetSpec) -> str:
    """SHA-256 of a target's settings."""
    return digest(target.model_dump(mode="json"))
