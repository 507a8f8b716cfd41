"""Where published lists are kept: each list in every format, and the JSON document they are
all rendered from (a blob container in the Functions app, a folder on the command line).

The app serves ``/api/lists/<name>`` from the JSON document; the other formats are there for
readers that fetch a blob or a file directly. The JSON is written last, so a reader of it
never sees a list whose other formats are older. Runs are one at a time (the run lock), so
writes are not conditional.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sync.core.formats import FORMATS, MEDIA_TYPES, Format, extension, render
from sync.state.ownership import StateError

if TYPE_CHECKING:
    from azure.storage.blob import ContainerClient

#: The last outcome of each list, for ``/api/health``.
STATUS = "list-status.json"


@dataclass(frozen=True)
class Published:
    """A list as it is published: its document and when it was written."""

    document: dict[str, Any]
    modified: datetime


class ListStore(Protocol):
    """The published lists of one place, by name."""

    #: Where they are, for messages.
    location: str

    def document(self, name: str) -> Published | None: ...

    def publish(self, name: str, document: dict[str, Any]) -> None:
        """Write every format of the list (the JSON document last)."""
        ...


def _formats() -> list[Format]:
    return sorted(FORMATS, key=lambda f: f == "json")


def _stamped(name: str, document: dict[str, Any]) -> dict[str, Any]:
    return {**document, "name": name,
            "published_at": datetime.now(UTC).isoformat(timespec="seconds")}  # fmt: skip


class BlobLists:
    """``<prefix><name>.<ext>`` in a container, and the status of the last run's lists."""

    def __init__(self, container: ContainerClient, prefix: str = "lists/") -> None:
        self._container = container
        self._prefix = prefix
        self.location = f"{container.url}/{prefix}"

    def document(self, name: str) -> Published | None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            downloader = self._container.download_blob(f"{self._prefix}{name}.json")
            data = downloader.readall()
        except ResourceNotFoundError:
            return None
        return Published(json.loads(data), downloader.properties.last_modified)

    def publish(self, name: str, document: dict[str, Any]) -> None:
        from azure.storage.blob import ContentSettings

        stamped = _stamped(name, document)
        for fmt in _formats():
            self._container.upload_blob(
                f"{self._prefix}{name}{extension(fmt)}",
                render(fmt, name, stamped),
                overwrite=True,
                content_settings=ContentSettings(content_type=MEDIA_TYPES[fmt]),
            )

    def status(self) -> dict[str, Any]:
        """``{name: {"status", "problem", "run_id", "release", "checked_at"}}`` of the last run."""
        from azure.core.exceptions import ResourceNotFoundError

        try:
            data = self._container.download_blob(STATUS).readall()
        except ResourceNotFoundError:
            return {}
        value: dict[str, Any] = json.loads(data)
        return value

    def record(self, status: dict[str, Any]) -> None:
        """Store what a run decided for each configured list (only those)."""
        from azure.storage.blob import ContentSettings

        self._container.upload_blob(
            STATUS,
            json.dumps(status, indent=2).encode(),
            overwrite=True,
            content_settings=ContentSettings(content_type="application/json"),
        )


class FolderLists:
    """``<folder>/<name>.<ext>``, each file replaced whole."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.location = str(folder)

    def document(self, name: str) -> Published | None:
        path = self.folder / f"{name}.json"
        try:
            data = path.read_bytes()
            modified = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StateError(f"published list {path}: {exc.strerror}") from None
        try:
            return Published(json.loads(data), modified)
        except ValueError as exc:
            raise StateError(f"published list {path} is not readable: {exc}") from None

    def publish(self, name: str, document: dict[str, Any]) -> None:
        stamped = _stamped(name, document)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            for fmt in _formats():
                path = self.folder / f"{name}{extension(fmt)}"
                temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
                temporary.write_bytes(render(fmt, name, stamped))
                os.replace(temporary, path)
        except OSError as exc:
            raise StateError(f"published list {name} in {self.folder}: {exc.strerror}") from None
