"""One published list in the list store: read its document, write the new one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sync.kinds.base import Snapshot, held_marks

if TYPE_CHECKING:
    from sync.core.plan import Write
    from sync.state.lists import ListStore


class ListGateway:
    """Reads and publishes the list ``name``."""

    def __init__(self, store: ListStore, name: str) -> None:
        self._store = store
        self._name = name

    def read(self) -> Snapshot:
        published = self._store.document(self._name)
        if published is None:
            return Snapshot(etag=None, state=None)
        release = published.document.get("release")
        return Snapshot(
            etag=None,
            state=published.document,
            releases=held_marks(str(release)) if release else (),
        )

    def send(self, write: Write[dict[str, Any]], etag: str | None) -> str | None:
        self._store.publish(self._name, write.payload)
        return None
