"""Run history: every report as a JSON blob, a pointer to the latest, bounded retention.

Run ids start with their UTC start time, so blob names sort by time and a listing is the
history in order; a report is read by its run id without listing anything.
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import ContainerClient, ContentSettings

from sync.report import Report

RUNS = "runs/"
LATEST = "latest.json"
RUN_ID = re.compile(r"^\d{8}T\d{9}Z-[0-9a-f]{8}$")
_JSON = ContentSettings(content_type="application/json")


def new_run_id(now: datetime | None = None) -> str:
    """A sortable, unique run id: ``20251117T043000123Z-1a2b3c4d`` (UTC, milliseconds).

    Runs never start together (the lock serialises them), so milliseconds keep them in order.
    """
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%S}{now.microsecond // 1000:03d}Z-{secrets.token_hex(4)}"


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

    def run_ids(self) -> list[str]:
        """Stored run ids, oldest first."""
        try:
            names = list(self._container.list_blob_names(name_starts_with=RUNS))
        except ResourceNotFoundError:
            return []
        ids = (n.removeprefix(RUNS).removesuffix(".json") for n in names)
        return sorted(i for i in ids if RUN_ID.match(i))

    def prune(self) -> list[str]:
        """Delete all but the newest ``keep`` reports; returns the deleted run ids."""
        old = self.run_ids()[: -self.keep]
        for run_id in old:
            with contextlib.suppress(ResourceNotFoundError):  # already gone is fine
                self._container.delete_blob(f"{RUNS}{run_id}.json")
        return old

    def _put(self, name: str, body: bytes) -> None:
        self._container.upload_blob(name, body, overwrite=True, content_settings=_JSON)

    def _read(self, name: str) -> dict[str, Any] | None:
        try:
            data = self._container.download_blob(name).readall()
        except ResourceNotFoundError:
            return None
        value: dict[str, Any] = json.loads(data)
        return value
