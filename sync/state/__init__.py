"""What ipsync keeps beside the allow-lists: ownership records and largest-selection records.

Both live in one registry (:mod:`sync.state.ownership`): a folder for the command line, the
Functions app's storage in Azure, or the place ``IPSYNC_STATE`` names. The engine opens one
:class:`State` per run and hands it to the gateways that need it; the registry itself is
opened on first use, so a run that has nothing to read or write there touches no storage.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from sync.state.ownership import Registry, open_registry
from sync.state.peaks import PeakBook

if TYPE_CHECKING:
    from sync.settings import Settings


class State:
    """One run's registry, opened once on first use, and the peak records kept in it."""

    def __init__(self, opener: Callable[[], Registry]) -> None:
        self._opener = opener
        self._registry: Registry | None = None
        self._lock = threading.Lock()  # resources are synced in parallel
        #: The largest selection of each target, in the same registry.
        self.peaks = PeakBook(lambda: self.registry)

    @classmethod
    def open(cls, settings: Settings) -> State:
        """The state the settings name (``IPSYNC_STATE``, see :func:`open_registry`)."""
        return cls(lambda: open_registry(settings))

    @property
    def registry(self) -> Registry:
        """The ownership records, by resource id."""
        with self._lock:
            if self._registry is None:
                self._registry = self._opener()
            return self._registry
