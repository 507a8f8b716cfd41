"""Response fields that depend on the request's api-version.

The emulator renders every resource in its newest shape; a client that asks for an older
version gets it without the fields that version does not know, as ARM answers it.
"""

from __future__ import annotations

from typing import Any

#: ``networkSecurityGroups.properties.flushConnection``: the Azure CLI's network 2022-01-01
#: schema reads it, a recorded real 2021-08-01 answer has no such field
FLUSH_CONNECTION_SINCE = "2022-01-01"
NSG_ROUTES = frozenset({"nsg", "nsgs", "all_nsgs"})


def shape(route: str, api_version: str, body: Any) -> Any:
    """``body`` as ``api_version`` of the route's resource type renders it."""
    if route not in NSG_ROUTES or api_version >= FLUSH_CONNECTION_SINCE or not body:
        return body
    items = body.get("value", []) if "value" in body else [body]
    for item in items:
        item.get("properties", {}).pop("flushConnection", None)
    return body
