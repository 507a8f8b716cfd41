"""What ipsync wrote into allow-lists whose entries carry no name: the ownership registry.

Storage, Key Vault and Container Registry IP rules are bare values, so nothing on the
resource says who added one. ipsync records, per resource, the entries it added itself, and
only ever removes an entry that the record holds. Each record is one small JSON document
(``{"resource", "owned", "release", "peaks", "updated_at"}``) with an etag:
:meth:`Registry.save` succeeds only over the version :meth:`Registry.load` returned, so two
writers never lose each other's update silently. A record is read strictly: a field of the
wrong type, or a record stored for another resource, is refused naming the record and field.

Two backends: a folder (one JSON file per resource, replaced atomically under a lock that
names its owner, :mod:`sync.state.folderlock`; the CLI's default, ``<cache dir>/state``) and
an Azure Blob container (the Functions app's default: its own storage account; or any
container URL in ``IPSYNC_STATE``).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from sync.azure.storage import StorageEnv, blob_service, storage_env
from sync.core.redact import mask_secrets_in, mask_url
from sync.errors import IpsyncError, SettingsError
from sync.state.folderlock import Busy, locked

if TYPE_CHECKING:
    from azure.storage.blob import ContainerClient

    from sync.settings import Settings

#: Blob name prefix of the records in the Functions app's own container.
BLOB_PREFIX = "ownership/"


class StateError(IpsyncError):
    """The ownership registry cannot be read or written."""


class Conflict(StateError):
    """The record changed since it was loaded: load it again and redo the update."""


@dataclass(frozen=True)
class Record:
    """The entries ipsync wrote into one resource, and the version they were read at."""

    owned: frozenset[str] = frozenset()
    #: None when there is no record (first run, or the registry was lost).
    etag: str | None = None
    #: The release (its mark) the list was last written from, so an older one is refused.
    release: str | None = None
    #: Addresses per family a target's selection held at its largest (the erosion guard's
    #: reference; kept in a record of its own per target).
    peaks: Mapping[str, int] = field(default_factory=dict)

    @property
    def exists(self) -> bool:
        return self.etag is not None


class Registry(Protocol):
    """Load and save the record of one resource (by ARM id, any case)."""

    #: Where the records are, for messages.
    location: str

    def load(self, resource_id: str) -> Record: ...

    def save(
        self,
        resource_id: str,
        owned: frozenset[str],
        etag: str | None,
        release: str | None = None,
        peaks: Mapping[str, int] | None = None,
    ) -> str:
        """Store ``owned`` if the record is still at ``etag`` (None: if there is none yet).

        Returns the new etag; raises :class:`Conflict` when the record moved.
        """
        ...


def record_name(resource_id: str) -> str:
    """``<resource name>-<hash of the id>.json``: readable, unique, safe as a file or blob name."""
    key = resource_id.lower()
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in key.rsplit("/", 1)[-1])
    return f"{name[:60]}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.json"


def _document(
    resource_id: str,
    owned: frozenset[str],
    release: str | None,
    peaks: Mapping[str, int] | None = None,
) -> bytes:
    body = {
        "resource": resource_id,
        "owned": sorted(owned),
        "release": release,
        "peaks": dict(peaks or {}),
        "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
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

    resource, owned, release = body.get("resource"), body.get("owned"), body.get("release")
    peaks = body.get("peaks", {})
    if not isinstance(resource, str) or resource.lower() != resource_id.lower():
        raise wrong("resource", f"the id it is stored for ({resource_id})")
    if not isinstance(owned, list) or not all(isinstance(v, str) for v in owned):
        raise wrong("owned", "a list of strings")
    if release is not None and not isinstance(release, str):
        raise wrong("release", "a string (a release mark) or null")
    if not isinstance(peaks, dict) or not all(type(v) is int and v >= 0 for v in peaks.values()):
        raise wrong("peaks", "an object of address counts (integers)")
    return Record(frozenset(owned), etag, release, dict(peaks))


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

    def save(
        self,
        resource_id: str,
        owned: frozenset[str],
        etag: str | None,
        release: str | None = None,
        peaks: Mapping[str, int] | None = None,
    ) -> str:
        path = self._path(resource_id)
        data = _document(resource_id, owned, release, peaks)
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

    def save(
        self,
        resource_id: str,
        owned: frozenset[str],
        etag: str | None,
        release: str | None = None,
        peaks: Mapping[str, int] | None = None,
    ) -> str:
        from azure.core import MatchConditions
        from azure.core.exceptions import (
            AzureError,
            ResourceExistsError,
            ResourceModifiedError,
            ResourceNotFoundError,
        )
        from azure.storage.blob import ContentSettings

        name = self._prefix + record_name(resource_id)
        data = _document(resource_id, owned, release, peaks)
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


def note_release(registry: Registry, resource_id: str, release: str, tries: int = 3) -> None:
    """Record the release a resource was last written from, keeping what the record owns."""
    for _ in range(tries):
        record = registry.load(resource_id)
        try:
            registry.save(resource_id, record.owned, record.etag, release)
            return
        except Conflict:
            continue
    raise StateError(f"{resource_id}: the record in {registry.location} kept changing")


def open_registry(settings: Settings, env: Mapping[str, str] | None = None) -> Registry:
    """The registry ``IPSYNC_STATE`` names.

    Unset: the Functions app's own storage (``AzureWebJobsStorage``, container
    ``IPSYNC_CONTAINER``, blobs under ``ownership/``) when it runs there, else the folder
    ``<cache dir>/state``. A URL: that blob container (``https://<account>.blob.../<container>
    [/<prefix>]``; plain http only on loopback, e.g. Azurite). Anything else: a folder.
    """
    env = os.environ if env is None else env
    state = (settings.state or "").strip()
    if not state:
        if any(value for _, value in storage_env(env)):
            return _app_registry(storage_env(env), env.get("IPSYNC_CONTAINER") or "ipsync")
        from sync.feeds.cache import default_cache_dir

        return FolderRegistry((settings.cache_dir or default_cache_dir()) / "state")
    if "://" not in state:
        return FolderRegistry(Path(state).expanduser())
    return _url_registry(state, storage_env(env))


@functools.lru_cache(maxsize=8)
def _app_registry(storage: StorageEnv, container: str) -> Registry:
    service = blob_service(dict(storage))
    return BlobRegistry(service.get_container_client(container), BLOB_PREFIX)


@functools.lru_cache(maxsize=8)
def _url_registry(url: str, storage: StorageEnv) -> Registry:
    """A container URL; a SAS in its query is the credential; else the app's own storage
    connection when it is that account, else the run's Azure identity. Messages show the URL
    masked (:func:`sync.core.redact.mask_url`)."""
    from sync.azure.client import is_loopback

    parts = urlsplit(url)
    shown = mask_url(url)
    if parts.scheme != "https" and not (parts.scheme == "http" and is_loopback(url)):
        raise SettingsError(f"setting IPSYNC_STATE: must be https:// (or a folder), not {shown}")
    if "@" in parts.netloc:
        raise SettingsError(f"setting IPSYNC_STATE: {shown} must not hold a user name")
    segments = [s for s in parts.path.split("/") if s]
    account = f"{parts.scheme}://{parts.netloc}"
    if is_loopback(url) and segments:  # Azurite puts the account name in the path
        account, segments = f"{account}/{segments[0]}", segments[1:]
    if not segments:
        raise SettingsError(f"setting IPSYNC_STATE: {shown} names no container")
    container, prefix = segments[0], "/".join(segments[1:])
    prefix = f"{prefix}/" if prefix else ""
    from azure.storage.blob import ContainerClient

    if parts.query:
        return BlobRegistry(ContainerClient(account, container, credential=parts.query), prefix)
    if storage:
        service = blob_service(dict(storage))
        if service.url.rstrip("/").lower() == account.lower():
            return BlobRegistry(service.get_container_client(container), prefix)
    from azure.identity import DefaultAzureCredential

    client = ContainerClient(account, container, credential=DefaultAzureCredential())
    return BlobRegistry(client, prefix)
