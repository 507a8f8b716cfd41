"""One run at a time: a lease on a blob in the app's storage account.

Timer runs are singletons per app, but an HTTP-started run can overlap a timer run, and
several instances may serve HTTP; a blob lease is the lock all of them can see. The lease is
short (60 s by default) and renewed by a background thread, so a worker that dies releases
it by expiry instead of blocking every later run. The blob's metadata names the holder.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType

from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
)
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

    def acquire(self, run_id: str) -> Lease:
        """Take the lease for ``run_id`` or raise :class:`RunBusy` naming the holder."""
        try:
            lease = self._take()
        except ResourceNotFoundError:
            self._create()
            lease = self._take()
        started_at = datetime.now(UTC).isoformat(timespec="seconds")
        self._blob.set_blob_metadata({"run_id": run_id, "started_at": started_at}, lease=lease)
        held = Lease(lease, run_id, renew_every_s=self.duration_s / 3)
        held.start()
        return held

    def holder(self) -> Holder:
        """The run id in the lock's metadata and whether its lease is still held."""
        try:
            props = self._blob.get_blob_properties()
        except ResourceNotFoundError:
            return Holder(None, None, leased=False)
        meta = props.metadata or {}
        return Holder(meta.get("run_id"), meta.get("started_at"), props.lease.state == "leased")

    def _take(self) -> BlobLeaseClient:
        try:
            return self._blob.acquire_lease(lease_duration=self.duration_s)
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


class Lease:
    """A held lease, renewed in the background until :meth:`release`."""

    def __init__(self, client: BlobLeaseClient, run_id: str, renew_every_s: float) -> None:
        self.run_id = run_id
        self._client = client
        self._every = renew_every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew, name=f"lease-{run_id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _renew(self) -> None:
        while not self._stop.wait(self._every):
            try:
                self._client.renew()
            except HttpResponseError as exc:
                if exc.status_code not in (409, 412):
                    log.warning("run lock renewal failed, retrying: %s", exc.reason or exc)
                    continue
                log.error(
                    "run lock lost (another run may start): %s",
                    exc.reason or exc,
                    extra={"run_id": self.run_id},
                )
                return
            except AzureError as exc:  # no answer: the lease may still be ours, try again
                log.warning("run lock renewal failed, retrying: %s", exc)

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
