"""The run report: what the CLI prints with ``--json``, the HTTP body, the run history."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field, model_validator

if TYPE_CHECKING:
    from sync.core.budget import FitAccount
    from sync.core.headroom import Headroom

#: A run id: sortable by start time, unique (``20251117T043000123Z-1a2b3c4d``).
RUN_ID = re.compile(r"^\d{8}T\d{9}Z-[0-9a-f]{8}$")


def new_run_id(now: datetime | None = None) -> str:
    """A sortable, unique run id: ``20251117T043000123Z-1a2b3c4d`` (UTC, milliseconds).

    Runs never start together (the lock serialises them), so milliseconds keep them in order.
    """
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%S}{now.microsecond // 1000:03d}Z-{secrets.token_hex(4)}"


TargetStatus = Literal["unchanged", "planned", "applied", "refused", "failed"]


class Change(BaseModel):
    """One write, with the prefixes it adds and removes; ``rule`` names the rule or entry."""

    rule: str
    action: Literal["create", "update", "delete"]
    added: list[str] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)
    #: False when the write was sent but its answer was lost: it may or may not have happened.
    confirmed: bool = True
    #: What the entry is beyond its addresses, as the kind describes it (an NSG rule's
    #: priority, direction, access, protocol, ports, local side); None when it says nothing.
    details: dict[str, str] | None = None


class Fit(BaseModel):
    """A target's entries against its capacity, and the unpublished addresses a cover allows."""

    entries: int
    capacity: int
    extra_addresses: int
    #: The largest share, over the families, of addresses the cover allows that Microsoft did
    #: not publish; unset when not told.
    extra_ratio: float | None = None
    #: The target's ``max_extra_ratio``, beyond which a cover is refused; unset when not told.
    max_extra_ratio: float | None = None

    @classmethod
    def of(cls, account: FitAccount, max_extra_ratio: float | None = None) -> Fit:
        """The report's view of a fit's account (and of the target's ``max_extra_ratio``)."""
        ratios = [account.extra_ratio(family) for family in account.published]
        return cls(
            entries=account.entries,
            capacity=account.capacity,
            extra_addresses=account.extra_addresses,
            extra_ratio=float(max(ratios)) if ratios else None,
            max_extra_ratio=max_extra_ratio,
        )

    def headroom(self) -> Headroom:
        """What is left of the target's limits, for :func:`sync.core.headroom.headroom_notes`."""
        from sync.core.headroom import Headroom

        return Headroom(self.entries, self.capacity, self.extra_ratio, self.max_extra_ratio)


class TargetReport(BaseModel):
    #: The target's kind; empty when a target was refused before its kind was known.
    kind: str
    #: The ARM id of the resource holding the allow-list.
    resource: str
    #: The same id, for NSG targets only (kept for readers of earlier reports).
    nsg: str | None = None
    status: TargetStatus
    changes: list[Change] = Field(default_factory=list)
    #: Removals that ``policy: add-only`` kept back (reported, never written).
    held_back: list[Change] = Field(default_factory=list)
    writes: int = 0
    error: str | None = None
    service_tags: list[str] = Field(default_factory=list)
    fit: Fit | None = None
    #: Facts about the target worth knowing that are not writes or errors.
    notes: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _nsg_id(self) -> TargetReport:
        if self.kind == "nsg" and self.nsg is None:
            self.nsg = self.resource
        return self


class SourceInfo(BaseModel):
    cloud: str
    change_number: int | str | None
    origin: str
    #: SHA-256 over the parsed, normalised selection (not over the file's bytes).
    sha256: str


class Report(BaseModel):
    ok: bool
    dry_run: bool
    source: SourceInfo | None = None
    targets: list[TargetReport] = Field(default_factory=list)
    writes: int = 0
    duration_s: float = 0.0
    run_id: str | None = None
    started_at: str | None = None
    error: str | None = None
    #: Facts about the run as a whole worth knowing (a feed stale or unreachable for long).
    notes: list[str] = Field(default_factory=list)

    def exit_code(self) -> int:
        """0 done or nothing to change, 1 error, 2 changes pending (dry run), 3 refused."""
        statuses = {t.status for t in self.targets}
        if self.error is not None or "failed" in statuses:
            return 1
        if "refused" in statuses:
            return 3
        if self.dry_run and "planned" in statuses:
            return 2
        return 0
