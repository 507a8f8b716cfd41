"""One run at a time: a lease on a blob in the app's storage account.

Timer runs are singletons per app, but an HTTP-started run can overlap a timer run, and
several instances may serve HTTP; a blob lease is the lock all of them can see. The lease is
short (60 s by default) and renewed by a background thread, so a worker that dies releases
it by expiry instead of blocking every later run. The blob's metadata names the holder.

A run's lease id is derived from its run id: an HTTP request reserves the lock for the run it
queues (a lease nobody renews, so it lapses if the run never starts), and the queued run then
takes that same lease over, so no other run can slip in between.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING

from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
)

if TYPE_CHECKING:
    from azure.storage.blob import BlobClient, BlobLeaseClient, ContainerClient

log = logging.getLogger(__name__)

#: Azure accepts fixed leases of 15 to 60 seconds.
LEASE_MIN_S, LEASE_MAX_S = 15, 60


class RunBusy(Exception):
    """Another run holds the lease."""

    def __init__(self, holder: str | None) -> None:
        super().__init__(f"another run is in progress (run id {holder or 'unknown'})")
        self.holder = holder


@dataclass(frozen=True)
class Holder:
    """Who holds (or last held) the lock, as read from the lock blob."""

    run_id: str | None
    started_at: str | None
    leased: bool


class RunLock:
    """The lock blob; :meth:`acquire` returns a held :class:`Lease`."""

    def __init__(
        self, container: ContainerClient, blob: str = "lock", duration_s: int = LEASE_MAX_S
    ) -> None:
        if not LEASE_MIN_S <= duration_s <= LEASE_MAX_S:
            raise ValueError(f"lease duration must be {LEASE_MIN_S}..{LEASE_MAX_S} s")
        self._container = container
        self._blob: BlobClient = container.get_blob_client(blob)
        self.duration_s = duration_s

    def beside(self, blob: str) -> RunLock:
        """Another lock in the same container, as long (a work item's subscription slot)."""
        return RunLock(self._container, blob, self.duration_s)

    def acquire(self, run_id: str) -> Lease:
        """Take the lease for ``run_id`` (free, or reserved for it) or raise :class:`RunBusy`."""
        held = Lease(self._take(run_id), run_id, self.duration_s)
        held.start()
        return held

    def reserve(self, run_id: str) -> None:
        """Hold the lock for ``run_id`` until its run takes it over, or ``duration_s`` passes."""
        self._take(run_id)

    def _take(self, run_id: str) -> BlobLeaseClient:
        try:
            lease = self._lease(run_id)
        except ResourceNotFoundError:
            self._create()
            lease = self._lease(run_id)
        started_at = datetime.now(UTC).isoformat(timespec="seconds")
        self._blob.set_blob_metadata({"run_id": run_id, "started_at": started_at}, lease=lease)
        return lease

    def holder(self) -> Holder:
        """The run id in the lock's metadata and whether its lease is still held."""
        try:
            props = self._blob.get_blob_properties()
        except ResourceNotFoundError:
            return Holder(None, None, leased=False)
        meta = props.metadata or {}
        return Holder(meta.get("run_id"), meta.get("started_at"), props.lease.state == "leased")

    def _lease(self, run_id: str) -> BlobLeaseClient:
        try:
            return self._blob.acquire_lease(
                lease_duration=self.duration_s, lease_id=lease_id(run_id)
            )
        except ResourceNotFoundError:
            raise
        except HttpResponseError as exc:
            if exc.status_code != 409:  # LeaseAlreadyPresent
                raise
        raise RunBusy(self.holder().run_id)

    def _create(self) -> None:
        """First use of a storage account: create the container and the empty lock blob."""
        with contextlib.suppress(ResourceExistsError):
            self._container.create_container()
        try:
            self._blob.upload_blob(b"", overwrite=False)
        except HttpResponseError as exc:
            # Another instance created (and maybe leased) it meanwhile: 409 or 412.
            if exc.status_code not in (409, 412):
                raise


def lease_id(run_id: str) -> str:
    """The lease id (a GUID, as Azure requires) that run ``run_id`` holds the lock with."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"ipsync:run:{run_id}"))


class Lease:
    """A held lease, renewed in the background until :meth:`release`.

    When it is lost (renewal refused, or not renewed for a whole lease period), :attr:`lost` is
    set: the run must start no further write, since another run may now hold the lock.
    """

    def __init__(self, client: BlobLeaseClient, run_id: str, duration_s: float) -> None:
        self.run_id = run_id
        self.lost = threading.Event()
        self.lost_reason: str | None = None
        self._client = client
        self._duration = duration_s
        self._every = duration_s / 3
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew, name=f"lease-{run_id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _renew(self) -> None:
        renewed = time.monotonic()
        while not self._stop.wait(self._every):
            try:
                self._client.renew()
                renewed = time.monotonic()
                continue
            except HttpResponseError as exc:
                if exc.status_code in (409, 412):  # the lease is gone or someone else's
                    self._lose(f"renewal refused: {exc.reason or exc}")
                    return
                problem = str(exc.reason or exc)
            except AzureError as exc:  # no answer: the lease may still be ours
                problem = str(exc).splitlines()[0]
            if time.monotonic() - renewed >= self._duration:
                self._lose(f"not renewed for {self._duration:g} s, so expired: {problem}")
                return
            log.warning("run lock renewal failed, retrying: %s", problem)

    def _lose(self, reason: str) -> None:
        self.lost_reason = reason
        log.error(
            "run lock lost (writing stops; another run may start): %s",
            reason,
            extra={"run_id": self.run_id},
        )
        self.lost.set()

    def release(self) -> None:
        """Stop renewing and give the lease back (if that fails, it expires by itself)."""
        self._stop.set()
        self._thread.join()
        try:
            self._client.release()
        except AzureError as exc:
            log.warning("run lock release failed; it expires by itself: %s", exc)

    def __enter__(self) -> Lease:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
