"""The run report: what the CLI prints with ``--json``, the HTTP body, the run history."""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field, model_validator

from sync.core.feed import DEFAULT_FEED

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


class SourceMark(BaseModel):
    """What a target takes from one feed, and the release its entries came from."""

    #: The feed (`azure`, `github`, `url:<name>`, ...).
    feed: str
    #: Its selectors as the target names them (empty: the feed's own selection).
    select: list[str] = Field(default_factory=list)
    #: The mark of the feed's release this run read; unset when it could not be read.
    mark: str | None = None


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
    #: The target's service tags (the azure feed's selectors), as given.
    service_tags: list[str] = Field(default_factory=list)
    #: Per feed the target takes from (the azure feed's `service_tags` among them): its
    #: selectors and the release mark its entries came from.
    sources: list[SourceMark] = Field(default_factory=list)
    fit: Fit | None = None
    #: Facts about the target worth knowing that are not writes or errors.
    notes: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _nsg_id(self) -> TargetReport:
        if self.kind == "nsg" and self.nsg is None:
            self.nsg = self.resource
        return self

    def selected(self, feed: str) -> list[str]:
        """Its selectors of ``feed`` as given; a report kept from before ``sources`` existed
        names the azure feed's as its service tags."""
        if not self.sources and feed == DEFAULT_FEED:
            return list(self.service_tags)
        return [name for source in self.sources if source.feed == feed for name in source.select]

    @property
    def selectors(self) -> list[str]:
        """Every selector as messages name it: a service tag by its name, another feed's as
        ``feed:selector``, a feed's own selection by the feed's name; a report kept from
        before ``sources`` existed names its service tags."""
        from sync.core.selection import label

        if not self.sources:
            return list(self.service_tags)
        found: list[str] = []
        for source in self.sources:
            found += [label(source.feed, n) for n in source.select] or [source.feed]
        return found


class SourceInfo(BaseModel):
    """One feed's release, as the run read it."""

    #: The feed: `azure`, `github`, `url:<name>`, ...
    feed: str = DEFAULT_FEED
    #: What the release is of: the Azure cloud (`Public`), or the feed's label
    #: (`api.github.com`, `AWS`, `Microsoft 365 Worldwide`).
    cloud: str
    #: The release's mark, as targets hold it (`373`, `github-1755851400`, `aws-1783099625`).
    mark: str = ""
    #: The release's own number (the Azure file's `changeNumber`, AWS's `syncToken`, ...).
    change_number: int | str | None
    origin: str
    #: SHA-256 over the parsed, normalised selections of the targets that take from this feed
    #: (not over the file's bytes).
    sha256: str

    @model_validator(mode="after")
    def _mark(self) -> SourceInfo:
        """A report kept before marks were told: the Azure file's mark is its number."""
        if not self.mark and self.change_number is not None:
            self.mark = str(self.change_number)
        return self


def primary(sources: Sequence[SourceInfo]) -> SourceInfo | None:
    """The release a report's ``source`` names: the azure feed's when read, else the first."""
    return next((s for s in sources if s.feed == DEFAULT_FEED), next(iter(sources), None))


class Report(BaseModel):
    ok: bool
    dry_run: bool
    #: The release of the run's first feed (the azure feed's when it read one): as the report
    #: always had it. ``sources`` holds every feed's.
    source: SourceInfo | None = None
    #: One entry per feed the run read, in the order first used (``source`` among them).
    sources: list[SourceInfo] = Field(default_factory=list)
    targets: list[TargetReport] = Field(default_factory=list)
    writes: int = 0
    duration_s: float = 0.0
    run_id: str | None = None
    started_at: str | None = None
    error: str | None = None
    #: Facts about the run as a whole worth knowing (a feed stale or unreachable for long).
    notes: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_and_all(self) -> Report:
        """``source`` is one of ``sources``: a report kept from before there were several
        feeds has ``source`` alone, one built from every feed's has ``sources``."""
        if not self.sources and self.source is not None:
            self.sources = [self.source]
        if self.source is None:
            self.source = primary(self.sources)
        return self

    @property
    def release(self) -> str | None:
        """The run's release marks as one text (``373``, ``373 github-1755851400``), or None."""
        return " ".join(s.mark for s in self.sources) or None

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
