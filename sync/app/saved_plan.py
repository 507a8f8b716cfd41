"""Saved plans: ``plan --out FILE`` keeps what a plan saw and decided; ``apply FILE`` writes
exactly that plan, or nothing.

The file is versioned JSON (:class:`PlanFile`; the operators' guide says how to use it):
a digest of each setting (secrets left out), each release read (its feed, mark and a digest
of its content), and per resource a digest of what its kind read and the plan made from it,
per target. No secret and no address list beyond the planned changes is in it.

``apply FILE`` checks the file (its own digest, format, version), the settings, then plans
again as a dry run and compares: a resource read differently, another release, other changes
or refusals, a target that fails now, and nothing is written anywhere. Only then does it
apply; each resource is compared once more right before its writes, and one that moved in
between is not written (the others are: they are as planned). Guards decide as when the plan
was made: its ``--force`` is kept, and a target it refused stays refused.
"""

from __future__ import annotations

import json
import os
import threading
import typing
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from sync import __version__
from sync.core.digest import digest
from sync.errors import IpsyncError, SettingsError
from sync.report import Change, Report, TargetReport

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sync.core.feed import Release
    from sync.resourceplan import ResourcePlan
    from sync.settings import Settings

#: What the file says it is, and the version of its layout this ipsync reads and writes.
FORMAT: Literal["ipsync-plan"] = "ipsync-plan"
VERSION: Literal[1] = 1
#: Settings that say how a run goes, not what it writes: left out of the comparison.
HOW_IT_RUNS = frozenset({"dry_run", "time_budget_s", "parallelism", "poll_interval_s", "schedule"})
#: Problems named in the message before the rest is counted.
SHOWN_PROBLEMS = 5


class StalePlan(IpsyncError):
    """The saved plan no longer holds: nothing was written."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SavedRelease(_Model):
    """One release the plan was made from."""

    #: The feed it is of (`azure`, `github`, ...).
    feed: str
    #: The Azure cloud, or the feed's instance.
    cloud: str
    #: The release's mark (`372`: the Azure file's change number).
    mark: str
    #: SHA-256 of its content (the service-tag document ipsync reads it as).
    sha256: str


class SavedTarget(_Model):
    """One target's plan, as a dry run reports it."""

    #: SHA-256 of the target's settings (as given, or read from its Azure tags).
    target: str
    #: The tags it selects, for a reader of the file.
    service_tags: list[str]
    #: `unchanged`, `planned` (changes to write) or `refused` (a guard; stays refused).
    status: Literal["unchanged", "planned", "refused"]
    #: Why a guard refused it.
    refused: str | None = None
    #: The writes planned, as in the report (`changes[]`).
    changes: list[Change] = []
    #: Removals `policy: add-only` keeps back.
    held_back: list[Change] = []


class SavedResource(_Model):
    """One resource: what was read, and the plan of each of its targets."""

    #: The targets' kind.
    kind: str
    #: The resource's ARM id (`lists/<name>` for a published list).
    resource: str
    #: SHA-256 of the resource as read (its etag, entries and the releases it holds).
    snapshot: str
    #: The mark of the release planned from.
    release: str
    #: Its targets, in the order they were given.
    targets: list[SavedTarget]


class PlanFile(_Model):
    """A saved plan (`plan --out FILE`)."""

    #: Always `ipsync-plan`.
    format: Literal["ipsync-plan"] = FORMAT
    #: The layout's version (`1`); another is refused.
    version: Literal[1] = VERSION
    #: The ipsync version that made it; apply refuses a plan of another version.
    ipsync: str
    #: When it was made (UTC, ISO 8601).
    created_at: str
    #: Whether the plan was made with `--force` (apply keeps it).
    force: bool
    #: Every release read.
    releases: list[SavedRelease]
    #: Every resource planned, by id.
    resources: list[SavedResource]
    #: Per setting, a SHA-256 of its value; secrets and settings of how a run goes (dry run,
    #: time budget, parallelism, polling, schedule) left out.
    settings: dict[str, str]
    #: SHA-256 of the file's JSON without this field, keys sorted: an edit shows.
    digest: str = ""


def save(settings: Settings, path: Path, *, force: bool = False) -> tuple[Report, bool]:
    """Plan (a dry run) and save the plan to ``path``; not saved when the run failed."""
    from sync.engine import run

    seen = _Recorder()
    report = run(settings.model_copy(update={"dry_run": True}), force=force, watch=seen)
    if report.error is not None or any(t.status == "failed" for t in report.targets):
        return report, False
    plan = PlanFile(
        ipsync=__version__,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        force=force,
        settings=setting_digests(settings),
        releases=seen.releases,
        resources=sorted(seen.resources, key=lambda r: r.resource.lower()),
    )
    _write(path, plan)
    return report, True


def apply(settings: Settings, path: Path) -> Report:
    """Apply the plan saved in ``path`` if it still holds; :class:`StalePlan` if not."""
    from sync.engine import run

    saved = read(path)
    now = setting_digests(settings)
    changed = sorted(
        k for k in saved.settings.keys() | now.keys() if saved.settings.get(k) != now.get(k)
    )
    if changed:
        raise StalePlan(
            f"{path}: the settings differ from the plan's: {', '.join(changed)}; nothing was "
            "written (give apply the settings file and options plan had, or plan again)"
        )
    seen = _Recorder()
    check = run(settings.model_copy(update={"dry_run": True}), force=saved.force, watch=seen)
    problems = _problems(saved, seen, check)
    if problems:
        shown = "; ".join(problems[:SHOWN_PROBLEMS])
        more = len(problems) - SHOWN_PROBLEMS
        shown += f"; and {more} more" if more > 0 else ""
        raise StalePlan(f"{path} no longer holds, nothing was written: {shown}. Plan again")
    if settings.dry_run:
        return check
    return run(settings, force=saved.force, watch=_Gate(saved))


def setting_digests(settings: Settings) -> dict[str, str]:
    """A SHA-256 per setting that decides what is written (no secret among them)."""
    return {
        name: digest(value)
        for name, value in settings
        if name not in HOW_IT_RUNS and not _secret(type(settings).model_fields[name].annotation)
    }


def _secret(annotation: Any) -> bool:
    return annotation is SecretStr or SecretStr in typing.get_args(annotation)


def read(path: Path) -> PlanFile:
    """The plan saved in ``path``; a :class:`SettingsError` says why it cannot be applied."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(f"{path}: no such plan file (plan --out {path} makes one)") from None
    except OSError as exc:
        raise SettingsError(f"{path}: {exc.strerror}") from None
    except ValueError:
        hint = " (a settings file goes after --config)" if path.suffix != ".json" else ""
        raise SettingsError(f"{path}: not a saved plan: not JSON{hint}") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise SettingsError(f'{path}: not a saved plan (no "format": "{FORMAT}")')
    if raw.get("version") != VERSION:
        raise SettingsError(
            f"{path}: a plan of layout version {raw.get('version')!r}; this ipsync reads "
            f"version {VERSION}: plan again"
        )
    if raw.get("ipsync") != __version__:
        raise SettingsError(
            f"{path}: made by ipsync {raw.get('ipsync')}, this is {__version__}: plan again"
        )
    if raw.get("digest") != digest({k: v for k, v in raw.items() if k != "digest"}):
        raise SettingsError(
            f"{path}: changed after it was saved (its digest does not match): plan again"
        )
    try:
        return PlanFile.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise SettingsError(f"{path}: not a saved plan: {where}: {first['msg']}") from None


def _write(path: Path, plan: PlanFile) -> None:
    body = plan.model_dump(mode="json", exclude={"digest"})
    text = json.dumps({**body, "digest": digest(body)}, indent=2, ensure_ascii=False)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(text + "\n", encoding="utf-8")
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise SettingsError(f"--out {path}: {exc.strerror}") from None


def saved_release(release: Release) -> SavedRelease:
    from sync.feeds.archive import content_key

    return SavedRelease(
        feed=release.feed, cloud=release.cloud, mark=release.mark, sha256=content_key(release)
    )


def saved_resource(plan: ResourcePlan) -> SavedResource:
    return SavedResource(
        kind=plan.kind,
        resource=plan.resource_id,
        snapshot=plan.snapshot,
        release=plan.release,
        targets=[_target(s, t) for s, t in zip(plan.specs, plan.targets, strict=True)],
    )


def _target(spec: str, report: TargetReport) -> SavedTarget:
    refused = report.status == "refused"
    return SavedTarget(
        target=spec,
        service_tags=list(report.service_tags),
        status=report.status,  # a plan's: never applied or failed
        refused=report.error if refused else None,
        changes=report.changes,
        held_back=report.held_back,
    )


class _Recorder:
    """The watch of a plan run: keeps every release and resource plan it is shown."""

    def __init__(self) -> None:
        self.releases: list[SavedRelease] = []
        self.resources: list[SavedResource] = []
        self._lock = threading.Lock()

    def release(self, release: Release) -> None:
        saved = saved_release(release)
        with self._lock:
            self.releases.append(saved)

    def planned(self, plan: ResourcePlan) -> str | None:
        saved = saved_resource(plan)
        with self._lock:
            self.resources.append(saved)
        return None


class _Gate:
    """The watch of the applying run: a resource is written only as the saved plan says."""

    def __init__(self, saved: PlanFile) -> None:
        self._saved = saved
        self._resources = {r.resource.lower(): r for r in saved.resources}
        self._moved: list[str] = []

    def release(self, release: Release) -> None:
        self._moved += release_problems(
            self._saved.releases, [saved_release(release)], all_read=False
        )

    def planned(self, plan: ResourcePlan) -> str | None:
        if self._moved:
            return f"{self._moved[0]}; not written: plan again"
        old = self._resources.get(plan.resource_id.lower())
        if old is None:
            return f"{_name(plan.kind, plan.resource_id)}: not in the saved plan; not written"
        problem = resource_problem(old, saved_resource(plan))
        return f"{problem}; not written: plan again" if problem else None


def _name(kind: str, resource_id: str) -> str:
    return f"{kind} {resource_id.rsplit('/', 1)[-1]}"


def release_problems(
    saved: Sequence[SavedRelease], seen: Sequence[SavedRelease], *, all_read: bool = True
) -> list[str]:
    """How the releases read now differ from the plan's, naming each feed; with ``all_read``
    ``seen`` is every release of the run (so one the plan read and this run did not counts)."""
    problems = []
    now = {(r.feed, r.cloud): r for r in seen}
    for old in saved:
        where = f"feed {old.feed} ({old.cloud})"
        new = now.pop((old.feed, old.cloud), None)
        if new is None:
            if all_read:
                problems.append(f"{where}: not read now, the plan read release {old.mark}")
        elif new.mark != old.mark:
            problems.append(f"{where}: release {new.mark} is out, the plan is of {old.mark}")
        elif new.sha256 != old.sha256:
            problems.append(f"{where}: release {old.mark} reads otherwise than for the plan")
    problems += [f"feed {r.feed} ({r.cloud}): read now, not by the plan" for r in now.values()]
    return problems


def resource_problem(old: SavedResource, new: SavedResource) -> str | None:
    """How a resource and its plan differ from the saved ones, or None."""
    name = _name(old.kind, old.resource)
    if new.snapshot != old.snapshot:
        return f"{name} changed since the plan was made"
    if [t.target for t in new.targets] != [t.target for t in old.targets]:
        return f"{name}: its targets changed since the plan (settings or Azure tags)"
    for was, now in zip(old.targets, new.targets, strict=True):
        if was == now:
            continue
        tags = ", ".join(was.service_tags)
        if was.status != now.status:
            return f"{name} [{tags}]: {now.status} now, {was.status} in the plan"
        return f"{name} [{tags}]: the changes planned now are not the file's"
    return None


def _problems(saved: PlanFile, seen: _Recorder, check: Report) -> list[str]:
    """Everything that differs between the saved plan and the dry run just made."""
    problems = release_problems(saved.releases, seen.releases)
    if check.error is not None:
        problems.append(check.error)
    failed = [t for t in check.targets if t.status == "failed"]
    problems += [f"{_name(t.kind, t.resource)}: {t.error or 'failed'}" for t in failed]
    gone = {t.resource.lower() for t in failed}
    old = {r.resource.lower(): r for r in saved.resources}
    new = {r.resource.lower(): r for r in seen.resources}
    for key in sorted(old.keys() - new.keys() - gone):
        problems.append(f"{_name(old[key].kind, old[key].resource)}: in the plan, not found now")
    for key in sorted(new.keys() - old.keys()):
        problems.append(f"{_name(new[key].kind, new[key].resource)}: found now, not in the plan")
    for key in sorted(old.keys() & new.keys()):
        problem = resource_problem(old[key], new[key])
        if problem:
            problems.append(problem)
    return problems
