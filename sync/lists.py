"""Published lists: named prefix lists computed from each release and kept in blob storage.

A list (``IPSYNC_LISTS``: name -> service tags, families, extra/exclude prefixes, optional
``max_entries``, default ``format``) is for the firewalls and scripts that poll a URL instead of
being written to. Each run computes every list from its release and stores it under
``lists/<name>.<ext>`` in every format (:mod:`sync.core.formats`), where the Functions app
serves it and static readers fetch it. The guards of the allow-lists hold here too: a list
that would lose too much, a family, or everything, or whose tag came out empty, is not
replaced; the last good list stays published and ``list-status.json`` says why (for
``/api/health``).

A list is rewritten only when its prefixes change, so its ``published_at`` (served as
``Last-Modified``) is when its content last changed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from azure.core.exceptions import AzureError, ResourceNotFoundError
from pydantic import BaseModel, ConfigDict, Field, field_validator

from sync.core.fit import fit
from sync.core.formats import FORMATS, MEDIA_TYPES, Format, extension, render
from sync.core.plan import removal_guard
from sync.core.prefixes import FAMILIES, Family
from sync.core.selection import empty_tags, select
from sync.errors import IpsyncError
from sync.report import Change, TargetReport

if TYPE_CHECKING:
    from azure.storage.blob import ContainerClient

    from sync.core.feed import Release

log = logging.getLogger(__name__)

#: A list name: safe in a blob name and a URL path, and never ending like a format.
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$"
FOLDER = "lists/"
STATUS = "list-status.json"
#: The kind a list carries in a run's report.
KIND = "list"


class ListSpec(BaseModel):
    """One published list, as ``IPSYNC_LISTS`` gives it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    service_tags: tuple[str, ...] = Field(min_length=1)
    families: tuple[Family, ...] = FAMILIES
    extra_prefixes: tuple[str, ...] = ()
    exclude_prefixes: tuple[str, ...] = ()
    #: At most this many entries (both families together), fitted with the fewest extra
    #: addresses: for firewalls whose external lists have a size limit.
    max_entries: int | None = Field(default=None, ge=1)
    #: What ``/api/lists/<name>`` serves without an extension.
    format: Format = "plain"

    @field_validator("families")
    @classmethod
    def _families(cls, value: tuple[Family, ...]) -> tuple[Family, ...]:
        if not value:
            raise ValueError("families must name v4, v6 or both")
        return tuple(dict.fromkeys(value))


def check_names(lists: Mapping[str, ListSpec]) -> None:
    """Raise ValueError for a list name that cannot be a blob or URL name, or clashes."""
    import re

    seen: dict[str, str] = {}
    for name in lists:
        if not re.match(NAME_PATTERN, name):
            raise ValueError(
                f"list name {name!r}: use 1-63 letters, digits, '-' or '_', starting with a "
                "letter or digit"
            )
        if name.lower() in seen:
            raise ValueError(f"list names {seen[name.lower()]!r} and {name!r} differ only in case")
        seen[name.lower()] = name


@dataclass(frozen=True)
class Outcome:
    """What a run did with one list: its report entry, and the document now published."""

    name: str
    report: TargetReport
    document: dict[str, Any] | None


def compute(release: Release, spec: ListSpec) -> dict[str, Any]:
    """The list's JSON document from ``release``: selection, fitted when ``max_entries`` is set.

    Raises :class:`IpsyncError` (a missing tag, a bad prefix, a capacity too small).
    """
    selection = select(
        release,
        spec.service_tags,
        families=spec.families,
        extra=spec.extra_prefixes,
        exclude=spec.exclude_prefixes,
    )
    document = selection.as_dict()
    if spec.max_entries is not None:
        try:
            fitted = fit({f: selection.family(f) for f in spec.families}, spec.max_entries)
        except ValueError as exc:
            raise IpsyncError(f"max_entries {spec.max_entries}: {exc}") from None
        document.update({f: list(result.blocks) for f, result in fitted.items()})
        document["fit"] = {
            f: {"count": len(r.blocks), "extra_addresses": r.extra_addresses}
            for f, r in fitted.items()
        }
    document["cloud"] = release.cloud
    document["release"] = release.mark
    return document


def decide(
    name: str,
    spec: ListSpec,
    release: Release,
    old: Mapping[str, Any] | None,
    *,
    max_remove_ratio: float,
    force: bool,
) -> tuple[dict[str, Any] | None, TargetReport]:
    """The document to publish (None: keep the old one) and the list's report entry.

    Pure: the release and the published document in, the decision out.
    """
    where = f"list {name}"
    report = _report(name, spec)
    try:
        new = compute(release, spec)
    except IpsyncError as exc:
        report.status, report.error = "failed", f"{where}: {exc}"
        return None, report
    before = prefixes(old) if old is not None else []
    after = prefixes(new)
    if old is not None and before == after:
        return None, report
    added = [p for p in after if p not in set(before)]
    removed = [p for p in before if p not in set(after)]
    report.changes = [
        Change(rule=name, action="update" if old else "create", added=added, removed=removed)
    ]
    empty = empty_tags(release, spec.service_tags, spec.families)
    refusal = (
        f"{where}: service tag {', '.join(empty)} has no {'/'.join(spec.families)} prefix in "
        "this release; refused (use --force to apply)"
        if empty
        else removal_guard(
            where, before, after, max_remove_ratio=max_remove_ratio, families=spec.families
        )
    )
    if refusal is not None and not force:
        report.status, report.error = "refused", f"{refusal}; the last good list stays published"
        return None, report
    report.status = "applied"
    return new, report


def _report(name: str, spec: ListSpec) -> TargetReport:
    return TargetReport(
        kind=KIND,
        resource=f"{FOLDER}{name}",
        status="unchanged",
        service_tags=list(spec.service_tags),
    )


def prefixes(document: Mapping[str, Any]) -> list[str]:
    return [*document.get("v4", ()), *document.get("v6", ())]


class ListStore:
    """The published lists in the app's container: ``lists/<name>.<ext>`` and their status."""

    def __init__(self, container: ContainerClient) -> None:
        self._container = container

    def document(self, name: str) -> tuple[dict[str, Any], datetime] | None:
        """The published document of ``name`` and when it was written, or None."""
        try:
            downloader = self._container.download_blob(f"{FOLDER}{name}.json")
            data = downloader.readall()
        except ResourceNotFoundError:
            return None
        modified = downloader.properties.last_modified
        document: dict[str, Any] = json.loads(data)
        return document, modified

    def publish(self, name: str, document: dict[str, Any], run_id: str | None) -> dict[str, Any]:
        """Write every format of the list (JSON last: it is what the app serves from)."""
        from azure.storage.blob import ContentSettings

        document = {
            **document,
            "name": name,
            "published_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "run_id": run_id,
        }
        order: list[Format] = sorted(FORMATS, key=lambda f: f == "json")
        for fmt in order:
            self._container.upload_blob(
                f"{FOLDER}{name}{extension(fmt)}",
                render(fmt, name, document),
                overwrite=True,
                content_settings=ContentSettings(content_type=MEDIA_TYPES[fmt]),
            )
        return document

    def status(self) -> dict[str, Any]:
        """``{name: {"status", "problem", "run_id", "release", "checked_at"}}`` of the last run."""
        try:
            data = self._container.download_blob(STATUS).readall()
        except ResourceNotFoundError:
            return {}
        value: dict[str, Any] = json.loads(data)
        return value

    def record(self, outcomes: Sequence[Outcome], release: str | None, run_id: str | None) -> None:
        """Store what the run decided for each configured list (only those)."""
        from azure.storage.blob import ContentSettings

        now = datetime.now(UTC).isoformat(timespec="seconds")
        status = {
            o.name: {
                "status": o.report.status,
                "problem": o.report.error,
                "run_id": run_id,
                "release": release,
                "checked_at": now,
            }
            for o in outcomes
        }
        self._container.upload_blob(
            STATUS,
            json.dumps(status, indent=2).encode(),
            overwrite=True,
            content_settings=ContentSettings(content_type="application/json"),
        )


def publish_all(
    store: ListStore,
    lists: Mapping[str, ListSpec],
    release: Release | IpsyncError,
    *,
    max_remove_ratio: float,
    force: bool,
    dry_run: bool,
    run_id: str | None,
) -> list[Outcome]:
    """Decide and (unless ``dry_run``) publish every list; a failure is contained to its list.

    ``release`` is the error that kept the run from reading one, when it could not: then every
    list fails, and the last good ones stay published.
    """
    outcomes: list[Outcome] = []
    for name, spec in lists.items():
        try:
            outcomes.append(
                _publish_one(store, name, spec, release, max_remove_ratio, force, dry_run, run_id)
            )
        except AzureError as exc:
            report = _report(name, spec)
            report.status, report.error = "failed", f"list {name}: storage: {exc}".splitlines()[0]
            outcomes.append(Outcome(name, report, None))
    if not dry_run:
        mark = None if isinstance(release, IpsyncError) else release.mark
        store.record(outcomes, mark, run_id)
    return outcomes


def _publish_one(
    store: ListStore,
    name: str,
    spec: ListSpec,
    release: Release | IpsyncError,
    max_remove_ratio: float,
    force: bool,
    dry_run: bool,
    run_id: str | None,
) -> Outcome:
    stored = store.document(name)
    old = stored[0] if stored else None
    if isinstance(release, IpsyncError):
        report = _report(name, spec)
        report.status, report.error = "failed", f"list {name}: no release: {release}"
        return Outcome(name, report, old)
    new, report = decide(name, spec, release, old, max_remove_ratio=max_remove_ratio, force=force)
    document = old
    if new is not None:
        if dry_run:
            report.status = "planned"
        else:
            document = store.publish(name, new, run_id)
    if report.error:
        log.warning("%s", report.error)
    return Outcome(name, report, document)
