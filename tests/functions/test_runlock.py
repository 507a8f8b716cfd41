"""The run lock: a real blob lease in Azurite."""

from __future__ import annotations

import logging
import socket
import time
import uuid

import pytest
from azure.storage.blob import BlobClient, BlobLeaseClient, ContainerClient

from sync.app.runlock import Holder, Lease, RunBusy, RunLock


def test_first_acquire_creates_the_lock_and_records_the_holder(storage: ContainerClient) -> None:
    lock = RunLock(storage, duration_s=15)
    with lock.acquire("run-a"):
        props = storage.get_blob_client("lock").get_blob_properties()
        assert props.lease.state == "leased"
        assert props.metadata["run_id"] == "run-a"
        holder = lock.holder()
        assert (holder.run_id, holder.leased) == ("run-a", True)
    assert lock.holder().leased is False


def test_second_acquire_is_refused_naming_the_holder(storage: ContainerClient) -> None:
    first, second = RunLock(storage, duration_s=15), RunLock(storage, duration_s=15)
    with first.acquire("run-a"):
        with pytest.raises(RunBusy) as busy:
            second.acquire("run-b")
        assert busy.value.holder == "run-a"
    with second.acquire("run-b"):
        assert first.holder().run_id == "run-b"


def test_lease_duration_outside_azure_limits_is_rejected(storage: ContainerClient) -> None:
    with pytest.raises(ValueError, match=r"15\.\.60"):
        RunLock(storage, duration_s=10)


def test_renewed_lease_outlives_its_duration_and_a_dead_one_expires(
    storage: ContainerClient,
) -> None:
    """A live run keeps the lock past 15 s; a crashed one's lease frees it after 15 s."""
    storage.create_container()
    dead = storage.get_blob_client("dead")
    dead.upload_blob(b"")
    dead.acquire_lease(lease_duration=15)  # never renewed nor released: a crashed worker
    lock = RunLock(storage, blob="lock", duration_s=15)
    with lock.acquire("live"):
        deadline = time.monotonic() + 30
        while dead.get_blob_properties().lease.state == "leased":
            assert time.monotonic() < deadline, "a 15 s lease did not expire within 30 s"
            time.sleep(0.5)
        # the dead lease expired (15 s); the live one, taken later, is renewed every 5 s
        time.sleep(1)
        assert lock.holder().leased is True
        with pytest.raises(RunBusy):
            RunLock(storage, blob="lock", duration_s=15).acquire("other")
    dead_lock = RunLock(storage, blob="dead", duration_s=15)
    with dead_lock.acquire("next"):
        assert dead_lock.holder().run_id == "next"


def test_a_lease_taken_away_is_reported_and_release_does_not_raise(
    storage: ContainerClient, caplog: pytest.LogCaptureFixture
) -> None:
    storage.create_container()
    blob = storage.get_blob_client("lock")
    blob.upload_blob(b"")
    held = Lease(blob.acquire_lease(lease_duration=15), "run-a", duration_s=0.6)
    held.start()
    BlobLeaseClient(blob).break_lease(lease_break_period=0)  # e.g. an operator broke it
    assert held.lost.wait(10), "the lost lease did not stop the run"
    assert held.lost_reason is not None
    assert held.lost_reason.startswith("renewal refused")
    lost = next(r for r in caplog.records if "run lock lost" in r.getMessage())
    assert (lost.levelno, getattr(lost, "run_id", None)) == (logging.ERROR, "run-a")
    held.release()  # the lease is gone: nothing to give back, and no exception
    assert blob.get_blob_properties().lease.state != "leased"


def test_a_lease_not_renewed_for_its_duration_counts_as_lost() -> None:
    """Renewals that get no answer: past the lease's duration it has expired, so stop."""
    with socket.socket() as closed:  # a port nothing listens on: every renewal fails
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    unreachable = BlobClient.from_blob_url(
        f"http://127.0.0.1:{port}/devstoreaccount1/c/lock", retry_total=0
    )
    held = Lease(BlobLeaseClient(unreachable, lease_id=str(uuid.uuid4())), "run-a", duration_s=0.9)
    started = time.monotonic()
    held.start()
    assert held.lost.wait(10)
    assert time.monotonic() - started >= 0.9  # not at the first failed renewal
    assert held.lost_reason is not None
    assert "not renewed for 0.9 s" in held.lost_reason
    held.release()


def test_a_reservation_is_taken_over_by_its_run_only(storage: ContainerClient) -> None:
    lock = RunLock(storage, duration_s=15)
    lock.reserve("run-a")
    assert lock.holder() == Holder("run-a", lock.holder().started_at, leased=True)
    with pytest.raises(RunBusy) as busy:
        lock.acquire("run-b")
    assert busy.value.holder == "run-a"
    with lock.acquire("run-a") as held:
        assert held.lost.is_set() is False
        assert lock.holder().run_id == "run-a"
    assert lock.holder().leased is False
