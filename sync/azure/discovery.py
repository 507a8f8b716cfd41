"""Discovery with Azure Resource Graph: one query finds every opted-in resource of every kind.

The query filters by resource type only and the ``ipsync`` tag is matched here, because Azure
tag names are case-insensitive while Resource Graph's ``tags['ipsync']`` is not: a resource
tagged ``IPSync`` must opt in as well as one tagged ``ipsync``. Rows come in pages of
:data:`PAGE_SIZE`; throttling (429) waits for ``Retry-After`` like every other ARM request.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from functools import partial
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sync.azure.writes import ArmWriter

#: Rows asked for per request (Resource Graph's maximum).
PAGE_SIZE = 1000


def query(types: Collection[str]) -> str:
    """The KQL that lists ``id``, ``type`` and ``tags`` of every resource of ``types``."""
    listed = ", ".join(f"'{t.lower()}'" for t in sorted(types))
    return f"resources | where type in~ ({listed}) | project id, type, tags"


def opted_in(
    client: Any,
    reader: ArmWriter,
    types: Collection[str],
    tag: str,
    *,
    subscriptions: Collection[str] = (),
    management_group: str | None = None,
) -> Iterator[tuple[str, str, dict[str, str]]]:
    """(resource id, lower-case type, tags) of every resource of ``types`` carrying ``tag``."""
    from azure.mgmt.resourcegraph.models import QueryRequest, QueryRequestOptions

    wanted = tag.lower()
    scope: dict[str, Any] = (
        {"management_groups": [management_group]}
        if management_group
        else {"subscriptions": list(subscriptions)}
    )
    token: str | None = None
    while True:
        options = QueryRequestOptions(top=PAGE_SIZE, skip_token=token, result_format="objectArray")
        request = QueryRequest(query=query(types), options=options, **scope)
        page = reader.read("query Resource Graph", partial(client.resources, request))
        for row in page.data or []:
            tags = {str(k): str(v) for k, v in (row.get("tags") or {}).items()}
            if any(k.lower() == wanted for k in tags):
                yield str(row["id"]), str(row["type"]).lower(), tags
        token = page.skip_token
        if not token:
            return
