"""A run fanned out over the Functions platform: one work item per subscription (or per part of
at most ``IPSYNC_PARTITION_SIZE`` of its resources) on the runs queue, so the host scales out
instances by itself.

The run that fans out holds the app's run lock while it plans: it lists every resource the run
would visit (named, discovered by tag, published lists), reads the release, divides the
resources into items and queues them. Each item is a queued invocation of its own: it holds a
lease of its subscription (``IPSYNC_SUBSCRIPTION_PARALLELISM`` slots per subscription, one by
default, so no two items ever write one subscription at once), syncs only its resources at the
release the run planned with, and stores its report. The item that completes the set assembles
the run's report (stored like any other), records the lists' outcome and notifies. Until then
``/api/runs/<id>`` answers the run's progress: ``running`` with ``items`` and ``items_done``. A
poisoned item (the host gave up on it) reports its resources failed, with the reason, so the
run is not ``ok``.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from pydantic import BaseModel, ConfigDict, Field

from sync.report import Report, TargetReport

if TYPE_CHECKING:
    from azure.storage.blob import ContainerClient

    from sync.core.feed import Release
    from sync.resourceplan import ResourcePlan
    from sync.settings import Settings

log = logging.getLogger(__name__)

#: Blobs of runs being fanned out: ``fanout/<run id>/plan.json`` and one per item's report.
PREFIX = "fanout/"
#: The item of resources outside any subscription (published lists, Graph objects).
OUTSIDE = "outside"


class WorkItem(BaseModel):
    """One queued part of a fanned-out run: its subscription and its range of resource ids."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: The subscription id, or ``outside`` for resources in none.
    subscription: str
    #: Its part within the subscription, and how many there are.
    part: int = Field(ge=0)
    parts: int = Field(ge=1)
    #: The first and last resource id (lower-case) of the part, as the plan sorted them.
    first: str
    last: str

    @property
    def key(self) -> str:
        return f"{self.subscription}-{self.part}"

    def holds(self, resource_id: str) -> bool:
        """Whether ``resource_id`` is this item's (resources new since the plan included)."""
        if subscription_of(resource_id) != self.subscription:
            return False
        low = resource_id.lower()
        first = "" if self.part == 0 else self.first
        last = self.last if self.part < self.parts - 1 else "\U0010ffff"
        return first <= low <= last


class FanoutPlan(BaseModel):
    """What the planning run decided, kept beside the items' reports."""

    model_config = ConfigDict(extra="forbid")

    run_id: str
    started_at: str
    dry_run: bool
    force: bool
    #: The release every item syncs at (the feed's mark); another is refused.
    release: str
    items: list[WorkItem]
    #: Per item key, ``[kind, resource id]`` of its resources: a poisoned item reports them.
    resources: dict[str, list[tuple[str, str]]]


def subscription_of(resource_id: str) -> str:
    parts = resource_id.split("/")
    if len(parts) > 2 and parts[1].lower() == "subscriptions" and parts[2]:
        return parts[2].lower()
    return OUTSIDE


def divide(
    resources: Sequence[tuple[str, str]], size: int
) -> dict[WorkItem, list[tuple[str, str]]]:
    """Items of at most ``size`` resources, none spanning two subscriptions."""
    by_subscription: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for kind, resource in resources:
        by_subscription[subscription_of(resource)].append((kind, resource))
    items: dict[WorkItem, list[tuple[str, str]]] = {}
    for subscription, found in sorted(by_subscription.items()):
        found.sort(key=lambda pair: pair[1].lower())
        parts = max(1, math.ceil(len(found) / size))
        for part in range(parts):
            chunk = found[part * size : (part + 1) * size]
            item = WorkItem(
                subscription=subscription,
                part=part,
                parts=parts,
                first=chunk[0][1].lower(),
                last=chunk[-1][1].lower(),
            )
            items[item] = chunk
    return items


def item_settings(settings: Settings, item: WorkItem) -> Settings:
    """The run's settings narrowed to what ``item`` can touch: discovery searches its own
    subscription only, and published lists are the outside item's."""
    if item.subscription == OUTSIDE:
        return settings.model_copy(update={"discover_tag": ""})
    narrowed: dict[str, object] = {
        "subscriptions": (item.subscription,),
        "management_group": None,
        "lists": {},
    }
    return settings.model_copy(update=narrowed)


def lease_slot(item: WorkItem, slots: int) -> str:
    """The lock blob of the subscription slot ``item`` takes."""
    return f"{PREFIX}locks/{item.subscription}-{item.part % slots}"


class Parts:
    """The plan and the items' reports of fanned-out runs, in the app's container."""

    def __init__(self, container: ContainerClient) -> None:
        self._container = container

    def start(self, plan: FanoutPlan) -> None:
        self._put(f"{PREFIX}{plan.run_id}/plan.json", plan.model_dump_json().encode())

    def plan(self, run_id: str) -> FanoutPlan | None:
        data = self._get(f"{PREFIX}{run_id}/plan.json")
        return None if data is None else FanoutPlan.model_validate_json(data)

    def done(self, run_id: str, item: WorkItem) -> bool:
        return self._get(f"{PREFIX}{run_id}/items/{item.key}.json") is not None

    def finish(self, run_id: str, item: WorkItem, report: Report) -> None:
        self._put(f"{PREFIX}{run_id}/items/{item.key}.json", report.model_dump_json().encode())

    def results(self, plan: FanoutPlan) -> dict[str, Report]:
        found = {}
        for item in plan.items:
            data = self._get(f"{PREFIX}{plan.run_id}/items/{item.key}.json")
            if data is not None:
                found[item.key] = Report.model_validate_json(data)
        return found

    def claim(self, run_id: str) -> bool:
        """True for exactly one caller: the one that assembles the run's report."""
        try:
            self._container.upload_blob(f"{PREFIX}{run_id}/assembled", b"", overwrite=False)
        except ResourceExistsError:
            return False
        return True

    def drop(self, run_id: str) -> None:
        for name in list(self._container.list_blob_names(name_starts_with=f"{PREFIX}{run_id}/")):
            with contextlib.suppress(ResourceNotFoundError):
                self._container.delete_blob(name)

    def _put(self, name: str, body: bytes) -> None:
        self._container.upload_blob(name, body, overwrite=True)

    def _get(self, name: str) -> bytes | None:
        try:
            data: bytes = self._container.download_blob(name).readall()
        except ResourceNotFoundError:
            return None
        return data


def assemble(plan: FanoutPlan, results: dict[str, Report]) -> Report:
    """The run's report from its items' reports, in the items' order."""
    targets: list[TargetReport] = []
    errors = []
    for item in plan.items:
        part = results[item.key]
        targets += part.targets
        if part.error:
            errors.append(f"item {item.key}: {part.error}")
    started = datetime.fromisoformat(plan.started_at)
    source = next((r.source for r in results.values() if r.source is not None), None)
    return Report(
        ok=not errors and all(t.status not in ("failed", "refused") for t in targets),
        dry_run=plan.dry_run,
        source=source,
        targets=targets,
        writes=sum(t.writes for t in targets),
        duration_s=round((datetime.now(UTC) - started).total_seconds(), 3),
        run_id=plan.run_id,
        started_at=plan.started_at,
        error="; ".join(errors) or None,
    )


class Pinned:
    """A work item's watch: a resource is written only at the release its run planned with
    (a release that came out meanwhile is the next run's), read once by the item's run."""

    def __init__(self, mark: str) -> None:
        self._mark = mark

    def release(self, release: Release) -> None:
        """Every release the item reads; the plan of each resource says which it applies."""

    def planned(self, plan: ResourcePlan) -> str | None:
        if plan.release == self._mark:
            return None
        return (
            f"release {plan.release} was read, the run was fanned out at release {self._mark}: "
            "nothing written here, the next run syncs it"
        )


def given_up(plan: FanoutPlan, item: WorkItem, reason: str) -> Report:
    """The report of an item the host gave up on: each of its resources failed, saying why."""
    error = f"work item {item.key} given up: {reason}"
    rows = [
        TargetReport(kind=kind, resource=resource, status="failed", error=error)
        for kind, resource in plan.resources.get(item.key, [])
    ]
    return Report(ok=False, dry_run=plan.dry_run, targets=rows, run_id=plan.run_id, error=error)
