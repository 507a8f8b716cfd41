"""Where ipsync keeps its state: one folder, or one blob container, named by ``IPSYNC_STATE``.

Unset: the Functions app's own storage (``AzureWebJobsStorage``, container
``IPSYNC_CONTAINER``) when it runs there, else the folder ``<cache dir>/state``. A URL: that
blob container (``https://<account>.blob.../<container>[/<prefix>]``; plain http only on
loopback, e.g. Azurite). Anything else: a folder. The ownership and target records and the
published lists are kept there side by side (:mod:`sync.state`).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sync.azure.storage import StorageEnv, blob_service, storage_env
from sync.core.redact import mask_url
from sync.errors import SettingsError

if TYPE_CHECKING:
    from azure.storage.blob import ContainerClient

    from sync.settings import Settings

#: Where the records go in the Functions app's own container (its lists go under ``lists/``).
APP_RECORDS = "ownership/"


@dataclass(frozen=True)
class Place:
    """A folder, or a container and the name prefix of what ipsync keeps in it."""

    folder: Path | None = None
    container: ContainerClient | None = None
    #: Name prefix of the records in ``container``; the lists go under ``lists_prefix``.
    prefix: str = ""
    lists_prefix: str = "lists/"


def open_place(settings: Settings, env: Mapping[str, str] | None = None) -> Place:
    """The place ``IPSYNC_STATE`` names (see the module)."""
    env = os.environ if env is None else env
    state = (settings.state or "").strip()
    if not state:
        if any(value for _, value in storage_env(env)):
            return _app_place(storage_env(env), env.get("IPSYNC_CONTAINER") or "ipsync")
        from sync.feeds.cache import default_cache_dir

        return Place(folder=(settings.cache_dir or default_cache_dir()) / "state")
    if "://" not in state:
        return Place(folder=Path(state).expanduser())
    return _url_place(state, storage_env(env))


@functools.lru_cache(maxsize=8)
def _app_place(storage: StorageEnv, container: str) -> Place:
    service = blob_service(dict(storage))
    return Place(container=service.get_container_client(container), prefix=APP_RECORDS)


@functools.lru_cache(maxsize=8)
def _url_place(url: str, storage: StorageEnv) -> Place:
    """A container URL; a SAS in its query is the credential; else the app's own storage
    connection when it is that account, else the run's Azure identity. Messages show the URL
    masked (:func:`sync.core.redact.mask_url`)."""
    from azure.storage.blob import ContainerClient

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
    client: Any
    if parts.query:
        client = ContainerClient(account, container, credential=parts.query)
    elif storage and blob_service(dict(storage)).url.rstrip("/").lower() == account.lower():
        client = blob_service(dict(storage)).get_container_client(container)
    else:
        from azure.identity import DefaultAzureCredential

        client = ContainerClient(account, container, credential=DefaultAzureCredential())
    return Place(container=client, prefix=prefix, lists_prefix=f"{prefix}lists/")
