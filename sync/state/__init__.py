"""What ipsync keeps beside the allow-lists: ownership records, each target's record, and the
published lists.

All live in one place (:mod:`sync.state.place`): a folder for the command line, the Functions
app's storage in Azure, or the place ``IPSYNC_STATE`` names. The engine opens one
:class:`State` per run and hands it to the gateways that need it; the place itself is opened
on first use, so a run that has nothing to read or write there touches no storage.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from sync.state.lists import BlobLists, FolderLists, ListStore
from sync.state.ownership import BlobRegistry, FolderRegistry, Registry
from sync.state.place import Place, open_place
from sync.state.records import TargetRecords

if TYPE_CHECKING:
    from azure.storage.blob import ContainerClient

    from sync.settings import Settings


class State:
    """One run's place, opened once on first use, and what is kept in it."""

    def __init__(self, opener: Callable[[], Place]) -> None:
        self._opener = opener
        self._place: Place | None = None
        self._registry: Registry | None = None
        self._lists: ListStore | None = None
        self._lock = threading.Lock()  # resources are synced in parallel
        #: Each target's own record, in the same registry.
        self.records = TargetRecords(lambda: self.registry)

    @classmethod
    def open(cls, settings: Settings) -> State:
        """The state the settings name (``IPSYNC_STATE``, see :mod:`sync.state.place`)."""
        return cls(lambda: open_place(settings))

    def _opened(self) -> Place:
        if self._place is None:
            self._place = self._opener()
        return self._place

    @property
    def registry(self) -> Registry:
        """The ownership records, by resource id."""
        with self._lock:
            if self._registry is None:
                place = self._opened()
                self._registry = (
                    FolderRegistry(place.folder)
                    if place.folder is not None
                    else BlobRegistry(_container(place), place.prefix)
                )
            return self._registry

    @property
    def lists(self) -> ListStore:
        """The published lists, by name."""
        with self._lock:
            if self._lists is None:
                place = self._opened()
                self._lists = (
                    FolderLists(place.folder / "lists")
                    if place.folder is not None
                    else BlobLists(_container(place), place.lists_prefix)
                )
            return self._lists


def _container(place: Place) -> ContainerClient:
    assert place.container is not None, "a place is a folder or a container"
    return place.container
