"""``--source api``: the Service Tag Discovery API through azure-mgmt-network.

The raw JSON is taken from the response (``cls``) rather than the SDK model: azure-mgmt-network
31+ renamed ``values`` to ``values_property``, and the raw shape is the one the
feed parser validates anyway. ``location`` picks the data version, not a region filter.
"""

from __future__ import annotations

from typing import Any

from sync.core.feed import Release
from sync.core.redact import mask_urls_in
from sync.errors import FeedError
from sync.feeds.azure.parse import parse_discovery
from sync.settings import Settings


def fetch_discovery(settings: Settings) -> Release:
    from azure.core.exceptions import AzureError

    from sync.azure.client import make_client

    client = make_client(settings)
    location = settings.api_location
    try:
        payload: Any = client.service_tags.list(
            location, cls=lambda response, _model, _headers: response.http_response.json()
        )
    except AzureError as exc:
        message = mask_urls_in(str(exc)).splitlines()[0] if str(exc) else type(exc).__name__
        raise FeedError(
            f"Discovery API (IPSYNC_SOURCE=api, IPSYNC_API_LOCATION={location}): {message}"
        ) from None
    origin = f"{settings.arm_base}/subscriptions/{settings.subscription_id}/providers/"
    origin += f"Microsoft.Network/locations/{location}/serviceTags"
    return parse_discovery(
        payload,
        origin=origin,
        cloud=settings.cloud,
        min_prefixlen_v4=settings.min_prefixlen_v4,
        min_prefixlen_v6=settings.min_prefixlen_v6,
    )
