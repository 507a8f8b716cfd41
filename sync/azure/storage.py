"""Storage clients of the app's own account (``AzureWebJobsStorage``): blob and queue.

One place decides how ``AzureWebJobsStorage`` is read: a connection string (Azurite's
``UseDevelopmentStorage=true`` among them), or an identity (no keys, as on Flex Consumption).
The Functions app keeps its lock, history, queue and published lists there; the ownership
registry too, unless ``IPSYNC_STATE`` names another place. The storage SDK is imported on
first use, not when this module loads.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from sync.errors import SettingsError

if TYPE_CHECKING:
    from azure.storage.blob import BlobServiceClient
    from azure.storage.queue import QueueServiceClient

#: Azurite's well-known development account (public, documented; not a secret).
DEV_STORAGE = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
    "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
    "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"
    "QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;"
)
#: The app setting (and prefix of the identity-based settings) of the app's storage.
STORAGE = "AzureWebJobsStorage"
Service = Literal["blob", "queue"]

#: Storage client options by use. The SDK's defaults retry for over a minute with 20 s connect
#: and 60 s read timeouts; HTTP answers need a verdict within seconds, and a run's calls (its
#: lease renewals among them) must each end well inside a 60 s lease.
PROFILES: dict[str, dict[str, Any]] = {
    "quick": {"retry_total": 0, "connection_timeout": 2, "read_timeout": 3},
    "run": {
        "retry_total": 2,
        "initial_backoff": 1,
        "increment_base": 2,
        "random_jitter_range": 1,
        "connection_timeout": 3,
        "read_timeout": 6,
    },
}

StorageEnv = tuple[tuple[str, str], ...]


def storage_env(env: Mapping[str, str]) -> StorageEnv:
    """The ``AzureWebJobsStorage*`` settings of ``env``, sorted: a key for cached clients."""
    return tuple(sorted((k, v) for k, v in env.items() if k.startswith(STORAGE)))


def blob_service(env: Mapping[str, str], **options: Any) -> BlobServiceClient:
    """The blob client of ``AzureWebJobsStorage`` (see :func:`_storage_client`)."""
    client: BlobServiceClient = _storage_client("blob", env, options)
    return client


def queue_service(env: Mapping[str, str], **options: Any) -> QueueServiceClient:
    """The queue client of ``AzureWebJobsStorage`` (see :func:`_storage_client`)."""
    client: QueueServiceClient = _storage_client("queue", env, options)
    return client


@functools.lru_cache(maxsize=8)
def cached_service(kind: Service, env: StorageEnv, profile: str) -> Any:
    """One client (and connection pool, and token cache) per storage configuration and use
    (a :data:`PROFILES` name)."""
    return _storage_client(kind, dict(env), PROFILES[profile])


def _storage_client(kind: Service, env: Mapping[str, str], options: Mapping[str, Any]) -> Any:
    """A storage client of ``AzureWebJobsStorage``: a connection string or an identity.

    Identity-based (no keys, as on Flex Consumption): ``AzureWebJobsStorage__blobServiceUri``
    and ``__queueServiceUri``, or ``__accountName``, with ``__credential=managedidentity`` and
    ``__clientId`` for a user-assigned identity; otherwise ``DefaultAzureCredential``.
    """
    from azure.storage.blob import BlobServiceClient
    from azure.storage.queue import QueueServiceClient

    client_type: Any = BlobServiceClient if kind == "blob" else QueueServiceClient

    connection = env.get(STORAGE, "").strip()
    if connection:
        if connection.replace(" ", "").lower().rstrip(";") == "usedevelopmentstorage=true":
            connection = DEV_STORAGE
        try:
            return client_type.from_connection_string(connection, **options)
        except ValueError as exc:
            raise SettingsError(
                f"setting {STORAGE}: not a valid connection string: {exc}"
            ) from None
    uri = (
        env.get(f"{STORAGE}__blobServiceUri", "")
        if kind == "blob"
        else env.get(f"{STORAGE}__queueServiceUri", "")
    ).strip()
    account = env.get(f"{STORAGE}__accountName", "").strip()
    if not uri and account:
        uri = f"https://{account}.{kind}.core.windows.net"
    if not uri:
        raise SettingsError(
            f"setting {STORAGE}: missing; set a connection string, or "
            f"{STORAGE}__{kind}ServiceUri / {STORAGE}__accountName for a managed identity"
        )
    from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

    client_id = env.get(f"{STORAGE}__clientId", "").strip() or None
    credential: Any
    if env.get(f"{STORAGE}__credential", "").strip().lower() == "managedidentity":
        credential = ManagedIdentityCredential(client_id=client_id)
    else:
        credential = DefaultAzureCredential(managed_identity_client_id=client_id)
    return client_type(uri, credential=credential, **options)
