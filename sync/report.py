"""The run report (architecture contract 3): CLI ``--json``, HTTP body and run history."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

TargetStatus = Literal["unchanged", "planned", "applied", "refused", "failed"]


class Change(BaseModel):
    """One rule write, with the prefixes it adds and removes."""

    rule: str
    action: Literal["create", "update", "delete"]
    added: list[str] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)


class TargetReport(BaseModel):
    nsg: str
    status: TargetStatus
    changes: list[Change] = Field(default_factory=list)
    #: Removals that ``policy: add-only`` kept back (reported, never written).
    held_back: list[Change] = Field(default_factory=list)
    writes: int = 0
    error: str | None = None
    service_tags: list[str] = Field(default_factory=list)


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

    def exit_code(self) -> int:
        """Exit codes of contract 1: 0 done/no change, 1 error, 2 changes pending, 3 refused."""
        statuses = {t.status for t in self.targets}
        if self.error is not None or "failed" in statuses:
            return 1
        if "refused" in statuses:
            return 3
        if self.dry_run and "planned" in statuses:
            return 2
        return 0
