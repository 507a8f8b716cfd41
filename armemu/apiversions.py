"""The api-versions each emulated resource type accepts: one table, from the REST API specs.

Real ARM serves every version a provider registers for a type, previews included, and clients
send them (the Azure CLI's SDKs default to previews). Each list below is the version folders
(``stable/`` and ``preview/``) of ``specification/<service>/resource-manager`` in
Azure/azure-rest-api-specs whose swagger holds the type, checked against the readme tags and the
Bicep type index generated from those specs. It includes the versions the installed SDKs send
by default (azure-mgmt-network 33: 2026-03-01, -storage 25: 2026-09-01, -keyvault 14:
2026-05-15, -containerregistry 15: 2025-11-01, -sql 4: 2025-01-01, -resourcegraph 8:
2021-03-01) and those the Azure CLI 2.91 sends (network 2022-01-01, storage 2025-08-01,
keyvault 2026-02-01, containerregistry 2026-09-01-preview, sql 2024-11-01-preview, resources
2024-11-01, subscriptions 2022-12-01).

A key is a provider namespace (every type the emulator serves there) or ``namespace/type`` for
a type that starts later than its provider (IP Groups first appear in network 2019-09-01).

The data, AI and messaging providers and the app platform types list every version, stable and
preview, from 2021 on that their spec folders carry, with their SDKs' defaults
(-postgresqlflexibleservers 3: 2026-10-01, -mysqlflexibleservers 1: 2024-12-30, -cosmosdb 10:
2026-03-15, -cognitiveservices 14.1: 2025-09-01, -eventhub 12 and -servicebus 10: 2026-01-01,
-web 11: 2025-05-01, -appcontainers 5: 2026-07-01, -containerservice 41: 2026-08-01, -frontdoor
2: 2025-10-01; the Front Door WAF policies' versions are not the network provider's).
"""

from __future__ import annotations

import re

from armemu import errors

#: every full Microsoft.Network release (networkSecurityGroup.json and serviceTags.json in each)
_NETWORK = (
    "2015-05-01-preview", "2015-06-15", "2016-03-30", "2016-06-01", "2016-09-01", "2016-12-01",
    "2017-03-01", "2017-06-01", "2017-08-01", "2017-09-01", "2017-10-01", "2017-11-01",
    "2018-01-01", "2018-02-01", "2018-04-01", "2018-06-01", "2018-07-01", "2018-08-01",
    "2018-10-01", "2018-11-01", "2018-12-01", "2019-02-01", "2019-04-01", "2019-06-01",
    "2019-07-01", "2019-08-01", "2019-09-01", "2019-11-01", "2019-12-01", "2020-03-01",
    "2020-04-01", "2020-05-01", "2020-06-01", "2020-07-01", "2020-08-01", "2020-11-01",
    "2021-02-01", "2021-03-01", "2021-05-01", "2021-08-01", "2022-01-01", "2022-05-01",
    "2022-07-01", "2022-09-01", "2022-11-01", "2023-02-01", "2023-04-01", "2023-05-01",
    "2023-06-01", "2023-09-01", "2023-11-01", "2024-01-01", "2024-03-01", "2024-05-01",
    "2024-07-01", "2024-10-01", "2025-01-01", "2025-03-01", "2025-05-01", "2025-07-01",
    "2025-09-01", "2026-01-01", "2026-03-01",
)  # fmt: skip
#: Microsoft.Resources' resources.json: resource groups and the generic resource lists
_RESOURCES = (
    "2015-11-01", "2016-02-01", "2016-07-01", "2016-09-01", "2017-05-10", "2018-02-01",
    "2018-05-01", "2019-03-01", "2019-05-01", "2019-05-10", "2019-07-01", "2019-08-01",
    "2019-10-01", "2020-06-01", "2020-08-01", "2020-10-01", "2021-01-01", "2021-04-01",
    "2022-09-01", "2023-07-01", "2024-03-01", "2024-07-01", "2024-11-01", "2025-03-01",
    "2025-04-01",
)  # fmt: skip
#: subscriptions.json: the subscription and tenant lists
_SUBSCRIPTIONS = (
    "2015-11-01", "2016-06-01", "2018-06-01", "2019-06-01", "2019-11-01", "2020-01-01",
    "2021-01-01", "2022-12-01",
)  # fmt: skip
SUPPORTED: dict[str, tuple[str, ...]] = {
    "microsoft.network": _NETWORK,
    "microsoft.network/ipgroups": _NETWORK[_NETWORK.index("2019-09-01"):],
    "microsoft.storage": (
        "2015-05-01-preview", "2015-06-15", "2016-01-01", "2016-05-01", "2016-12-01",
        "2017-06-01", "2017-10-01", "2018-02-01", "2018-03-01-preview", "2018-07-01",
        "2018-11-01", "2019-04-01", "2019-06-01", "2020-08-01-preview", "2021-01-01",
        "2021-02-01", "2021-04-01", "2021-06-01", "2021-08-01", "2021-09-01", "2022-05-01",
        "2022-09-01", "2023-01-01", "2023-04-01", "2023-05-01", "2024-01-01", "2025-01-01",
        "2025-06-01", "2025-08-01", "2026-04-01", "2026-06-01", "2026-09-01",
    ),
    "microsoft.keyvault": (
        "2015-06-01", "2016-10-01", "2018-02-14-preview", "2018-02-14", "2019-09-01",
        "2020-04-01-preview", "2021-04-01-preview", "2021-06-01-preview", "2021-10-01",
        "2021-11-01-preview", "2022-02-01-preview", "2022-07-01", "2022-11-01", "2023-02-01",
        "2023-07-01", "2024-04-01-preview", "2024-11-01", "2024-12-01-preview", "2025-05-01",
        "2026-02-01", "2026-03-01-preview", "2026-05-15", "2026-06-01-preview",
    ),
    "microsoft.containerregistry": (
        "2016-06-27-preview", "2017-03-01", "2017-06-01-preview", "2017-10-01", "2019-05-01",
        "2019-12-01-preview", "2020-11-01-preview", "2021-06-01-preview", "2021-08-01-preview",
        "2021-09-01", "2021-12-01-preview", "2022-02-01-preview", "2022-12-01",
        "2023-01-01-preview", "2023-06-01-preview", "2023-07-01", "2023-08-01-preview",
        "2023-11-01-preview", "2024-11-01-preview", "2025-03-01-preview", "2025-04-01",
        "2025-05-01-preview", "2025-11-01", "2026-09-01-preview",
    ),
    "microsoft.sql": (
        "2014-04-01", "2015-05-01-preview", "2019-06-01-preview", "2020-02-02-preview",
        "2020-08-01-preview",
        "2020-11-01-preview", "2021-02-01-preview", "2021-05-01-preview", "2021-08-01-preview",
        "2021-11-01-preview", "2021-11-01", "2022-02-01-preview", "2022-05-01-preview",
        "2022-08-01-preview", "2022-11-01-preview", "2023-02-01-preview", "2023-05-01-preview",
        "2023-08-01-preview", "2023-08-01", "2024-05-01-preview", "2024-11-01-preview",
        "2025-01-01",
    ),
    "microsoft.resourcegraph": (
        "2018-09-01-preview", "2019-04-01", "2020-04-01-preview", "2021-03-01",
        "2021-06-01-preview", "2022-10-01", "2023-09-01-preview", "2024-04-01",
    ),
    "microsoft.resources": _RESOURCES,
    #: subscriptions.json: the subscription and tenant lists
    "microsoft.resources/subscriptions": _SUBSCRIPTIONS,
    "microsoft.resources/tenants": _SUBSCRIPTIONS,
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
    """Raise ARM's 400 unless ``version`` is one the resource type serves.

    ARM answers a malformed version with ``InvalidApiVersionParameter`` and a well-formed one
    the resource type does not serve with ``NoRegisteredProviderFound``; both list the
    supported versions, newest first.
    """
    supported = versions(namespace, type_name)
    if version in supported:
        return
    newest_first = tuple(sorted(supported, reverse=True))
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
