"""Run history: every report as a JSON blob, a pointer to the latest, bounded retention.

Run ids start with their UTC start time, so blob names sort by time and a listing is the
history in order; a report is read by its run id without listing anything. A queued run also
has a progress record (queued, running, retrying, refused, failed) until its report is stored.
"""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from azure.core.exceptions import ResourceNotFoundError

from sync.report import RUN_ID, Report

if TYPE_CHECKING:
    from azure.storage.blob import ContainerClient

RUNS = "runs/"
PROGRESS = "progress/"
LATEST = "latest.json"


def run_time(run_id: str) -> datetime:
    """The UTC start time a run id carries."""
    start = datetime.strptime(run_id[:15], "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
    return start + timedelta(milliseconds=int(run_id[15:18]))


class History:
    """Reports stored under ``runs/<run id>.json`` in one container."""

    def __init__(self, container: ContainerClient, keep: int = 200) -> None:
        if keep < 1:
            raise ValueError("history must keep at least one run")
        self._container = container
        self.keep = keep

    def save(self, report: Report) -> None:
        """Store a finished run's report (it must carry its run id) and point ``latest`` at it."""
        if report.run_id is None or not RUN_ID.match(report.run_id):
            raise ValueError(f"report has no valid run id: {report.run_id!r}")
        body = report.model_dump_json(indent=2).encode()
        self._put(f"{RUNS}{report.run_id}.json", body)
        pointer = {
            "run_id": report.run_id,
            "ok": report.ok,
            "dry_run": report.dry_run,
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        self._put(LATEST, json.dumps(pointer).encode())
        with contextlib.suppress(ResourceNotFoundError):  # the report supersedes it
            self._container.delete_blob(f"{PROGRESS}{report.run_id}.json")

    def mark(self, run_id: str, status: str, **fields: Any) -> None:
        """Record how a run that has no report yet is getting on (``status`` and details)."""
        if not RUN_ID.match(run_id):
            raise ValueError(f"not a valid run id: {run_id!r}")
        record = {
            "run_id": run_id,
            "status": status,
            **fields,
            "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        self._put(f"{PROGRESS}{run_id}.json", json.dumps(record).encode())

    def progress(self, run_id: str) -> dict[str, Any] | None:
        """The progress record of ``run_id``, or None (none kept, or its report is stored)."""
        if not RUN_ID.match(run_id):
            return None
        return self._read(f"{PROGRESS}{run_id}.json")

    def get(self, run_id: str) -> dict[str, Any] | None:
        """The stored report of ``run_id`` as JSON, or None when there is none."""
        if not RUN_ID.match(run_id):
            return None
        return self._read(f"{RUNS}{run_id}.json")

    def latest_pointer(self) -> dict[str, Any] | None:
        """``{"run_id", "ok", "dry_run", "finished_at"}`` of the last stored run, if any."""
        return self._read(LATEST)

    def latest(self) -> dict[str, Any] | None:
        pointer = self.latest_pointer()
        return None if pointer is None else self.get(str(pointer["run_id"]))

    def run_ids(self, prefix: str = RUNS) -> list[str]:
        """Run ids with a report (or with a progress record, for ``PROGRESS``), oldest first."""
        try:
            names = list(self._container.list_blob_names(name_starts_with=prefix))
        except ResourceNotFoundError:
            return []
        ids = (n.removeprefix(prefix).removesuffix(".json") for n in names)
        return sorted(i for i in ids if RUN_ID.match(i))

    def prune(self) -> list[str]:
        """Keep the newest ``keep`` reports and progress records; returns the reports dropped."""
        self._drop_old(PROGRESS)
        return self._drop_old(RUNS)

    def _drop_old(self, prefix: str) -> list[str]:
        old = self.run_ids(prefix)[: -self.keep]
        for run_id in old:
            with contextlib.suppress(ResourceNotFoundError):  # already gone is fine
                self._container.delete_blob(f"{prefix}{run_id}.json")
        return old

    def _put(self, name: str, body: bytes) -> None:
        from azure.storage.blob import ContentSettings

        json_type = ContentSettings(content_type="application/json")
        self._container.upload_blob(name, body, overwrite=True, content_settings=json_type)

    def _read(self, name: str) -> dict[str, Any] | None:
        try:
            data = self._container.download_blob(name).readall()
        except ResourceNotFoundError:
            return None
        value: dict[str, Any] = json.loads(data)
        return value
