"""What ipsync wrote into allow-lists whose entries carry no name: the ownership registry.

Storage, Key Vault and Container Registry IP rules are bare values, so nothing on the
resource says who added one. ipsync records, per resource, the entries it added itself, and
only ever removes an entry that the record holds. Each record is one small JSON document
(``{"resource", "owned", "release", "peaks", "updated_at", ...}``) with an etag:
:meth:`Registry.save` succeeds only over the version :meth:`Registry.load` returned, so two
writers never lose each other's update silently. The same registry keeps each target's own
record (what ipsync last wrote into it, from which releases, and its largest selection:
:mod:`sync.state.records`). A record also says which generation of the list it describes
(:mod:`sync.kinds.marks`), and a write is announced in it before it is sent
(:class:`Claim`), so two runs never write one target from the same read. A record is read
strictly: a field of the wrong type, or a record
stored for another resource, is refused naming the record and field.

Two backends: a folder (one JSON file per resource, replaced atomically under a lock that
names its owner, :mod:`sync.state.folderlock`; the CLI's default, ``<cache dir>/state``) and
an Azure Blob container (the Functions app's default: its own storage account; or any
container URL in ``IPSYNC_STATE``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeGuard

from sync.core.redact import mask_secrets_in
from sync.errors import IpsyncError
from sync.state.folderlock import Busy, locked

if TYPE_CHECKING:
    from azure.storage.blob import ContainerClient


#: How long a write waits for another run's unsettled claim on the same record (seconds).
CLAIM_WAIT_S = 30
#: A claim this old is another run's that died: taken over (no run lives longer than its
#: time budget, at most 540 s in the Functions app).
CLAIM_STALE_S = 600


class StateError(IpsyncError):
    """The ownership registry cannot be read or written."""


class Conflict(StateError):
    """The record changed since it was loaded: load it again and redo the update."""


@dataclass(frozen=True)
class Claim:
    """A write one run has announced before sending it: which generation of the list it
    makes, what ipsync owns once it lands, and whose it is.

    Saved over the record's etag before the write, so of two runs that read the same record
    only one may write; kept until the write's outcome is saved, so a write whose record
    could not be saved is still known by the generation it left on the resource.
    """

    generation: int
    owned: frozenset[str]
    #: The run's own token (a claim of this run is no other run's).
    token: str
    #: When it was made (ISO 8601, UTC): a claim older than a run may live is taken over.
    at: str


@dataclass(frozen=True)
class Record:
    """The entries ipsync wrote into one resource, and the version they were read at.

    A target's own record (:mod:`sync.state.records`) uses the fields after ``release``.
    """

    owned: frozenset[str] = frozenset()
    #: None when there is no record (first run, or the registry was lost); a save succeeds
    #: only over this version.
    etag: str | None = None
    #: The release (its mark) the list was last written from, so an older one is refused.
    release: str | None = None
    #: Addresses per family a target's selection held at its largest (the erosion guard's
    #: reference).
    peaks: Mapping[str, int] = field(default_factory=dict)
    #: The CIDRs ipsync last wrote into the target (None: unknown).
    written: frozenset[str] | None = None
    #: The release marks the target was last written from.
    marks: tuple[str, ...] = ()
    #: The target's address settings those writes were made for.
    fingerprint: str | None = None
    #: The generation of the list ``owned`` describes: the number ipsync left on the resource
    #: with its write (None: written before generations were kept, or never).
    generation: int | None = None
    #: A write announced and not yet settled (:class:`Claim`).
    pending: Claim | None = None

    @property
    def exists(self) -> bool:
        return self.etag is not None


class Registry(Protocol):
    """Load and save the record of one resource (by ARM id, any case)."""

    #: Where the records are, for messages.
    location: str

    def load(self, resource_id: str) -> Record: ...

    def save(self, resource_id: str, record: Record) -> str:
        """Store ``record`` if the stored one is still at ``record.etag`` (None: if there is
        none yet). Returns the new etag; raises :class:`Conflict` when the record moved."""
        ...


def record_name(resource_id: str) -> str:
    """``<resource name>-<hash of the id>.json``: readable, unique, safe as a file or blob name."""
    key = resource_id.lower()
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in key.rsplit("/", 1)[-1])
    return f"{name[:60]}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.json"


def _document(resource_id: str, record: Record) -> bytes:
    body: dict[str, Any] = {
        "resource": resource_id,
        "owned": sorted(record.owned),
        "release": record.release,
        "peaks": dict(record.peaks),
    }
    if record.written is not None:
        body["written"] = sorted(record.written)
    if record.marks:
        body["marks"] = list(record.marks)
    if record.fingerprint is not None:
        body["fingerprint"] = record.fingerprint
    if record.generation is not None:
        body["generation"] = record.generation
    if record.pending is not None:
        claim = record.pending
        body["pending"] = {
            "generation": claim.generation,
            "owned": sorted(claim.owned),
            "token": claim.token,
            "at": claim.at,
        }
    body["updated_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    return json.dumps(body, indent=1).encode()


def _record(data: bytes, where: str, etag: str, resource_id: str) -> Record:
    """The record as stored, every field of the type :func:`_document` writes; anything else
    is refused naming the record and the field (a record read loosely could make ipsync own,
    or delete, what it never wrote)."""
    try:
        body = json.loads(data)
    except ValueError as exc:
        raise StateError(f"ownership record {where} is not readable: {exc}") from None
    if not isinstance(body, dict):
        raise StateError(f"ownership record {where} is not readable: not a JSON object")

    def wrong(name: str, expected: str) -> StateError:
        return StateError(
            f"ownership record {where}: field {name!r} must be {expected}, "
            f"not {json.dumps(body.get(name))[:80]}"
        )

    def strings(value: object) -> TypeGuard[list[str]]:
        return isinstance(value, list) and all(isinstance(v, str) for v in value)

    resource, owned, release = body.get("resource"), body.get("owned"), body.get("release")
    peaks, written = body.get("peaks", {}), body.get("written")
    marks, fingerprint = body.get("marks", []), body.get("fingerprint")
    if not isinstance(resource, str) or resource.lower() != resource_id.lower():
        raise wrong("resource", f"the id it is stored for ({resource_id})")
    if not strings(owned):
        raise wrong("owned", "a list of strings")
    if release is not None and not isinstance(release, str):
        raise wrong("release", "a string (a release mark) or null")
    if not isinstance(peaks, dict) or not all(_count(v) for v in peaks.values()):
        raise wrong("peaks", "an object of address counts (integers)")
    if written is not None and not strings(written):
        raise wrong("written", "a list of CIDRs (strings)")
    if not strings(marks):
        raise wrong("marks", "a list of release marks (strings)")
    if fingerprint is not None and not isinstance(fingerprint, str):
        raise wrong("fingerprint", "a string or absent")
    generation, pending = body.get("generation"), body.get("pending")
    if generation is not None and not _count(generation):
        raise wrong("generation", "a whole number of 0 or more, or absent")
    claim = None
    if pending is not None:
        if not isinstance(pending, dict) or not (
            _count(pending.get("generation"))
            and strings(pending.get("owned"))
            and isinstance(pending.get("token"), str)
            and isinstance(pending.get("at"), str)
        ):
            raise wrong("pending", "an object of generation, owned, token and at, or absent")
        claim = Claim(
            pending["generation"], frozenset(pending["owned"]), pending["token"], pending["at"]
        )
    return Record(
        frozenset(owned),
        etag,
        release,
        dict(peaks),
        frozenset(written) if written is not None else None,
        tuple(marks),
        fingerprint,
        generation,
        claim,
    )


def claim_age(claim: Claim) -> float:
    """Seconds since the claim was made; an unreadable time counts as long ago."""
    try:
        return (datetime.now(UTC) - datetime.fromisoformat(claim.at)).total_seconds()
    except (ValueError, TypeError):
        return float("inf")


def new_claim(generation: int, owned: frozenset[str], token: str) -> Claim:
    return Claim(generation, owned, token, datetime.now(UTC).isoformat(timespec="seconds"))


def await_claim(
    registry: Registry, key: str, record: Record, token: str, pause: Callable[[float], bool]
) -> None:
    """If another run's claim on ``record`` is alive, wait for its record to move: then raise
    :class:`Conflict` (read again). A claim of this run's ``token``, or one older than
    ``CLAIM_STALE_S``, is no reason to wait."""
    claim = record.pending
    if claim is None or claim.token == token or claim_age(claim) >= CLAIM_STALE_S:
        return
    for _ in range(CLAIM_WAIT_S):
        if not pause(1.0):
            break
        if registry.load(key).etag != record.etag:
            raise Conflict(f"record {key}: another run settled its write")
    raise StateError(
        f"{key}: another run announced a write at {claim.at} in {registry.location} and has "
        f"not settled it; nothing written (a claim older than {CLAIM_STALE_S} s is taken over)"
    )


def _count(value: object) -> bool:
    """A whole number of 0 or more (a JSON ``true`` is no number)."""
    return type(value) is int and value >= 0


class FolderRegistry:
    """One JSON file per resource; a lock file makes compare-and-replace atomic."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.location = str(folder)

    def _path(self, resource_id: str) -> Path:
        return self.folder / record_name(resource_id)

    def load(self, resource_id: str) -> Record:
        path = self._path(resource_id)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return Record()
        except OSError as exc:
            raise StateError(f"ownership record {path}: {exc.strerror}") from None
        return _record(data, str(path), _etag(data), resource_id)

    def save(self, resource_id: str, record: Record) -> str:
        path = self._path(resource_id)
        data, etag = _document(resource_id, record), record.etag
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with locked(path.with_suffix(".lock"), f"ownership record {path}") as still_ours:
                try:
                    current: str | None = _etag(path.read_bytes())
                except FileNotFoundError:
                    current = None
                if current != etag:
                    raise Conflict(f"ownership record {path} changed since it was read")
                temporary = path.with_suffix(f".{os.getpid()}.tmp")
                with open(temporary, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                if not still_ours():
                    temporary.unlink(missing_ok=True)
                    raise Busy(f"ownership record {path}: its lock was broken meanwhile; not saved")
                os.replace(temporary, path)
        except OSError as exc:
            raise StateError(f"ownership record {path}: {exc.strerror or exc}") from None
        return _etag(data)


def _etag(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:32]


class BlobRegistry:
    """One blob per resource; the blob's ETag with ``If-Match``/``If-None-Match`` guards saves."""

    def __init__(self, container: ContainerClient, prefix: str = "") -> None:
        self._container = container
        self._prefix = prefix
        # The client's URL holds its SAS, if it has one: never in a message.
        self.location = f"{container.url.split('?', 1)[0]}/{prefix}"

    def load(self, resource_id: str) -> Record:
        from azure.core.exceptions import AzureError, ResourceNotFoundError

        name = self._prefix + record_name(resource_id)
        try:
            download = self._container.download_blob(name)
            data = download.readall()
        except ResourceNotFoundError:
            return Record()
        except AzureError as exc:
            raise StateError(f"ownership record {name} in {self.location}: {_said(exc)}") from None
        return _record(data, name, str(download.properties.etag), resource_id)

    def save(self, resource_id: str, record: Record) -> str:
        from azure.core import MatchConditions
        from azure.core.exceptions import (
            AzureError,
            ResourceExistsError,
            ResourceModifiedError,
            ResourceNotFoundError,
        )
        from azure.storage.blob import ContentSettings

        name = self._prefix + record_name(resource_id)
        data, etag = _document(resource_id, record), record.etag
        condition: dict[str, Any] = (
            {"etag": etag, "match_condition": MatchConditions.IfNotModified}
            if etag is not None
            else {"match_condition": MatchConditions.IfMissing}
        )
        settings = ContentSettings(content_type="application/json")
        for _ in range(2):
            try:
                answer = self._container.get_blob_client(name).upload_blob(
                    data, overwrite=True, content_settings=settings, **condition
                )
                return str(answer["etag"])
            except (ResourceModifiedError, ResourceExistsError):
                raise Conflict(f"ownership record {name} changed since it was read") from None
            except ResourceNotFoundError:
                if etag is not None:  # the record vanished since it was read
                    raise Conflict(f"ownership record {name} was deleted meanwhile") from None
                with contextlib.suppress(ResourceExistsError):
                    self._container.create_container()
            except AzureError as exc:
                raise StateError(
                    f"ownership record {name} in {self.location}: {_said(exc)}"
                ) from None
        raise StateError(f"ownership record {name}: cannot create container {self.location}")


def _said(error: BaseException) -> str:
    """An SDK error's message with any SAS or key in it masked."""
    return mask_secrets_in(str(error))
