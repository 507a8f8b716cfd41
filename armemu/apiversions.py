"""The api-versions each emulated resource provider accepts.

Each list holds the provider's stable versions from 2021 on (from Microsoft's REST API specs)
and the version the installed Python SDK sends by default (azure-mgmt-network 33: 2026-03-01,
-storage 25: 2026-09-01, -keyvault 14: 2026-05-15, -containerregistry 15: 2025-11-01, -sql 4:
2025-01-01, -resourcegraph 8: 2021-03-01). Network also keeps 2019-07-01, the version of a
recorded real session the tests replay.

The data, AI and messaging providers list every version, stable and preview, from 2021 on that
their specs' readme tags name (private previews left out), and their SDKs' defaults:
-postgresqlflexibleservers 3: 2026-10-01, -mysqlflexibleservers 1: 2024-12-30, -cosmosdb 10:
2026-03-15, -cognitiveservices 14.1: 2025-09-01, -eventhub 12 and -servicebus 10: 2026-01-01.
recorded real session the tests replay. The app platform lists hold every version, preview
included, of the spec folders (from 2021 on) that carry the type: Microsoft.Web (sites; SDK
azure-mgmt-web 11: 2025-05-01), Microsoft.App (containerApps; -appcontainers 5: 2026-07-01),
Microsoft.ContainerService (managedClusters; -containerservice 41: 2026-08-01) and the Front
Door WAF policies, whose versions are not the network provider's (-frontdoor 2: 2025-10-01).
"""

from __future__ import annotations

import re

from armemu import errors

SUPPORTED: dict[str, tuple[str, ...]] = {
    "microsoft.network": (
        "2019-07-01", "2021-02-01", "2021-03-01", "2021-05-01", "2021-08-01", "2022-01-01",
        "2022-05-01", "2022-07-01", "2022-09-01", "2022-11-01", "2023-02-01", "2023-04-01",
        "2023-05-01", "2023-06-01", "2023-09-01", "2023-11-01", "2024-01-01", "2024-03-01",
        "2024-05-01", "2024-07-01", "2024-10-01", "2025-01-01", "2025-03-01", "2025-05-01",
        "2025-07-01", "2025-09-01", "2026-01-01", "2026-03-01",
    ),
    "microsoft.storage": (
        "2021-01-01", "2021-02-01", "2021-04-01", "2021-06-01", "2021-08-01", "2021-09-01",
        "2022-05-01", "2022-09-01", "2023-01-01", "2023-04-01", "2023-05-01", "2024-01-01",
        "2025-01-01", "2025-06-01", "2025-08-01", "2026-04-01", "2026-06-01", "2026-09-01",
    ),
    "microsoft.keyvault": (
        "2021-10-01", "2022-07-01", "2022-11-01", "2023-02-01", "2023-07-01", "2024-11-01",
        "2025-05-01", "2026-02-01", "2026-05-15",
    ),
    "microsoft.containerregistry": (
        "2021-09-01", "2022-12-01", "2023-07-01", "2025-04-01", "2025-11-01",
    ),
    "microsoft.sql": ("2021-11-01", "2023-08-01", "2025-01-01"),
    "microsoft.resourcegraph": ("2021-03-01", "2022-10-01", "2024-04-01"),
    "microsoft.dbforpostgresql": (
        "2021-06-01", "2021-06-01-preview", "2022-01-20-preview", "2022-03-08-preview",
        "2022-12-01", "2023-03-01-preview", "2023-06-01-preview", "2023-12-01-preview",
        "2024-03-01-preview", "2024-08-01", "2024-11-01-preview", "2025-01-01-preview",
        "2025-06-01-preview", "2025-08-01", "2026-01-01-preview", "2026-10-01",
    ),
    "microsoft.dbformysql": (
        "2021-05-01", "2021-05-01-preview", "2021-12-01-preview", "2022-01-01",
        "2022-09-30-preview", "2023-06-01-preview", "2023-06-30", "2023-10-01-preview",
        "2023-12-01-preview", "2023-12-30", "2024-02-01-preview", "2024-06-01-preview",
        "2024-10-01-preview", "2024-12-01-preview", "2024-12-30", "2025-06-01-preview",
        "2025-12-01-preview",
    ),
    "microsoft.documentdb": (
        "2021-01-15", "2021-03-01-preview", "2021-03-15", "2021-04-01-preview", "2021-04-15",
        "2021-05-15", "2021-06-15", "2021-07-01-preview", "2021-10-15", "2021-10-15-preview",
        "2021-11-15-preview", "2022-02-15-preview", "2022-05-15", "2022-05-15-preview",
        "2022-08-15", "2022-08-15-preview", "2022-11-15", "2022-11-15-preview",
        "2023-03-01-preview", "2023-03-15", "2023-03-15-preview", "2023-04-15", "2023-09-15",
        "2023-09-15-preview", "2023-11-15", "2023-11-15-preview", "2024-02-15-preview",
        "2024-05-15", "2024-05-15-preview", "2024-08-15", "2024-09-01-preview", "2024-11-15",
        "2024-12-01-preview", "2025-04-15", "2025-05-01-preview", "2025-10-15",
        "2025-11-01-preview", "2026-03-15", "2026-04-01-preview", "2026-07-15",
    ),
    "microsoft.cognitiveservices": (
        "2021-04-30", "2021-10-01", "2022-03-01", "2022-10-01", "2022-12-01", "2023-05-01",
        "2023-06-01-preview", "2023-10-01-preview", "2024-04-01-preview", "2024-06-01-preview",
        "2024-10-01", "2025-04-01-preview", "2025-06-01", "2025-07-01-preview", "2025-09-01",
        "2025-10-01-preview", "2026-09-01", "2026-09-15-preview",
    ),
    "microsoft.eventhub": (
        "2021-01-01-preview", "2021-06-01-preview", "2021-11-01", "2022-01-01-preview",
        "2022-10-01-preview", "2023-01-01-preview", "2024-01-01", "2024-05-01-preview",
        "2025-05-01-preview", "2026-01-01",
    ),
    "microsoft.servicebus": (
        "2021-01-01-preview", "2021-06-01-preview", "2021-11-01", "2022-01-01-preview",
        "2022-10-01-preview", "2023-01-01-preview", "2024-01-01", "2025-05-01-preview",
        "2026-01-01",
    ),
    "microsoft.web": (
        "2021-01-01", "2021-01-15", "2021-02-01", "2021-03-01", "2022-03-01", "2022-09-01",
        "2023-01-01", "2023-12-01", "2024-04-01", "2024-11-01", "2025-03-01", "2025-05-01",
        "2026-03-01-preview", "2026-03-15", "2026-07-15", "2026-09-01",
    ),
    "microsoft.app": (
        "2022-01-01-preview", "2022-03-01", "2022-06-01-preview", "2022-10-01",
        "2022-11-01-preview", "2023-04-01-preview", "2023-05-01", "2023-05-02-preview",
        "2023-08-01-preview", "2023-11-02-preview", "2024-02-02-preview", "2024-03-01",
        "2024-08-02-preview", "2024-10-02-preview", "2025-01-01", "2025-02-02-preview",
        "2025-07-01", "2025-10-02-preview", "2026-01-01", "2026-07-01",
    ),
    "microsoft.containerservice": (
        "2021-02-01", "2021-03-01", "2021-05-01", "2021-07-01", "2021-08-01", "2021-09-01",
        "2021-10-01", "2021-11-01-preview", "2022-01-01", "2022-01-02-preview", "2022-02-01",
        "2022-02-02-preview", "2022-03-01", "2022-03-02-preview", "2022-04-01",
        "2022-04-02-preview", "2022-05-02-preview", "2022-06-01", "2022-06-02-preview",
        "2022-07-01", "2022-07-02-preview", "2022-08-02-preview", "2022-08-03-preview",
        "2022-09-01", "2022-09-02-preview", "2022-10-02-preview", "2022-11-01",
        "2022-11-02-preview", "2023-01-01", "2023-01-02-preview", "2023-02-01",
        "2023-02-02-preview", "2023-03-01", "2023-03-02-preview", "2023-04-01",
        "2023-04-02-preview", "2023-05-01", "2023-05-02-preview", "2023-06-01",
        "2023-06-02-preview", "2023-07-01", "2023-07-02-preview", "2023-08-01",
        "2023-08-02-preview", "2023-09-01", "2023-09-02-preview", "2023-10-01",
        "2023-10-02-preview", "2023-11-01", "2023-11-02-preview", "2024-01-01",
        "2024-01-02-preview", "2024-02-01", "2024-02-02-preview", "2024-03-02-preview",
        "2024-04-02-preview", "2024-05-01", "2024-05-02-preview", "2024-06-02-preview",
        "2024-07-01", "2024-07-02-preview", "2024-08-01", "2024-09-01", "2024-09-02-preview",
        "2024-10-01", "2024-10-02-preview", "2025-01-01", "2025-01-02-preview", "2025-02-01",
        "2025-02-02-preview", "2025-03-01", "2025-03-02-preview", "2025-04-01",
        "2025-04-02-preview", "2025-05-01", "2025-05-02-preview", "2025-06-01",
        "2025-06-02-preview", "2025-07-01", "2025-07-02-preview", "2025-08-01",
        "2025-08-02-preview", "2025-09-01", "2025-09-02-preview", "2025-10-01",
        "2025-10-02-preview", "2026-01-01", "2026-01-02-preview", "2026-02-01",
        "2026-02-02-preview", "2026-03-02-preview", "2026-04-01", "2026-05-01", "2026-07-01",
        "2026-07-02-preview", "2026-08-01",
    ),
    "microsoft.network/frontdoorwebapplicationfirewallpolicies": (
        "2021-06-01", "2022-05-01", "2024-02-01", "2025-03-01", "2025-10-01", "2025-11-01",
    ),
}  # fmt: skip
WELL_FORMED = re.compile(r"^\d{4}-\d{2}-\d{2}(-[a-z]+)?$", re.IGNORECASE)


def check(namespace: str, version: str, type_name: str, location: str) -> None:
    """Raise ARM's 400 unless ``version`` is one the provider serves.

    ARM answers a malformed version with ``InvalidApiVersionParameter`` and a well-formed one
    the resource type does not serve with ``NoRegisteredProviderFound``; both list the
    supported versions, newest first.
    """
    supported = versions(namespace, type_name)
    if version in supported:
        return
    newest_first = tuple(reversed(supported))
    if not WELL_FORMED.match(version):
        raise errors.invalid_api_version(version, newest_first)
    raise errors.no_registered_provider(version, type_name, location, newest_first)


def versions(namespace: str, type_name: str) -> tuple[str, ...]:
    """A type's own list (``namespace/type``) before its provider's; the operations of a
    provider take every version one of its types takes."""
    ns = namespace.lower()
    own = SUPPORTED.get(f"{ns}/{type_name.split('/', maxsplit=1)[0].lower()}")
    if own is not None:
        return own
    if type_name.startswith("locations/operation"):
        family = (vs for k, vs in SUPPORTED.items() if k.split("/", maxsplit=1)[0] == ns)
        return tuple(sorted({v for vs in family for v in vs}))
    return SUPPORTED[ns]
