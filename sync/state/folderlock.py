"""A lock file beside a record, for the folder registry's compare-and-replace.

The lock names its owner (``{"pid", "host", "created", "token"}``), so a lock left by a
killed save is broken as soon as its owner is known to be gone (same host, no such process),
not only once it is old. Breaking is itself safe against two breakers: the lock is first
renamed aside (only one rename can win) and removed only if it is still the lock that was
judged stale; a fresh lock moved aside by mistake is put back. A save checks it still holds
its lock right before replacing the record, and releases only its own lock.

A lock that cannot be taken is :class:`Busy`: the save did not happen, which the caller must
not read as "the record moved" (that is :class:`sync.state.ownership.Conflict`).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sync.errors import IpsyncError

#: A lock older than this is broken whoever holds it (a save holds it for milliseconds; an
#: owner on another host cannot be asked whether it still runs).
STALE_LOCK_S = 300.0
#: A lock whose content cannot be read (being written, or from an older version) is broken
#: once this old.
UNREADABLE_LOCK_S = 10.0
#: How long a save waits for a lock held by a live owner.
WAIT_S = 5.0
_POLL_S = 0.05


class Busy(IpsyncError):
    """The record's lock is held by a live owner: the save did not happen."""


@dataclass(frozen=True)
class Holder:
    """Who holds a lock, as its file says."""

    token: str
    pid: int | None
    host: str | None
    created: float


def _alive(pid: int) -> bool:
    """Whether a process of that id runs on this host (POSIX; elsewhere: assume it does)."""
    if os.name != "posix":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_holder(lock: Path) -> Holder | None:
    """The lock's holder; None when there is no lock. An unreadable lock is a holder with
    no pid whose ``created`` is the file's time."""
    try:
        data = lock.read_bytes()
        changed = lock.stat().st_mtime
    except FileNotFoundError:
        return None
    try:
        body = json.loads(data)
        pid, host, created, token = body["pid"], body["host"], body["created"], body["token"]
        if not (type(pid) is int and isinstance(host, str) and isinstance(token, str)):
            raise TypeError
        return Holder(token, pid, host, float(created))
    except (ValueError, KeyError, TypeError):
        return Holder(f"unreadable-{changed}", None, None, changed)


def stale(holder: Holder, now: float, alive: Callable[[int], bool] = _alive) -> bool:
    """Whether the lock's owner is gone: a dead process on this host, or a lock too old."""
    age = now - holder.created
    if holder.pid is None:
        return age > UNREADABLE_LOCK_S
    if holder.host == socket.gethostname() and not alive(holder.pid):
        return True
    return age > STALE_LOCK_S


def _write_new(lock: Path, body: bytes) -> bool:
    """Create ``lock`` holding ``body`` unless it exists."""
    try:
        handle = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(handle, "wb") as file:
        file.write(body)
    return True


def _break(lock: Path, holder: Holder) -> None:
    """Remove ``lock`` if it is still the one ``holder`` held."""
    aside = lock.with_name(f"{lock.name}.{uuid.uuid4().hex}.broken")
    try:
        os.rename(lock, aside)
    except FileNotFoundError:
        return  # released or broken by someone else meanwhile
    moved = read_holder(aside)
    if moved is not None and moved.token != holder.token:
        # A fresh lock was taken between the look and the rename: give it back.
        _write_new(lock, aside.read_bytes())
    aside.unlink(missing_ok=True)


def _holds(lock: Path, token: str) -> bool:
    holder = read_holder(lock)
    return holder is not None and holder.token == token


@contextlib.contextmanager
def locked(lock: Path, what: str) -> Iterator[Callable[[], bool]]:
    """Hold ``lock`` for the block; yields a check that the lock is still ours.

    Raises :class:`Busy` when a live owner keeps it for :data:`WAIT_S`.
    """
    token = uuid.uuid4().hex
    body = json.dumps(
        {"pid": os.getpid(), "host": socket.gethostname(), "created": time.time(), "token": token}
    ).encode()
    give_up = time.monotonic() + WAIT_S
    while not _write_new(lock, body):
        holder = read_holder(lock)
        if holder is not None and stale(holder, time.time()):
            _break(lock, holder)
            continue
        if time.monotonic() > give_up:
            owner = f"process {holder.pid} on {holder.host}" if holder and holder.pid else "?"
            raise Busy(f"{what} is locked by another save ({lock}, held by {owner}); not saved")
        time.sleep(_POLL_S)
    try:
        yield lambda: _holds(lock, token)
    finally:
        if _holds(lock, token):
            lock.unlink(missing_ok=True)
