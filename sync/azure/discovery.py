"""Discovery with Azure Resource Graph: one query finds every opted-in resource of every kind.

Azure tag names are case-insensitive while Resource Graph's ``tags['ipsync']`` is not, so the
query only narrows the rows (``tostring(tags) contains 'ipsync'``, which ignores case and also
matches a value holding the word) and the tag is matched here exactly: a resource tagged
``IPSync`` opts in as well as one tagged ``ipsync``.

At scale: subscriptions go :data:`SUBSCRIPTIONS_PER_QUERY` to a query (Resource Graph takes at
most 1,000, and its throttling guidance asks for groups under 300); each query's rows come in
pages of :data:`PAGE_SIZE` by ``$skipToken`` (``limit``/``take`` would cut the rows and do not
page, so the query holds neither); queries go one after another, as the guidance prefers to
parallel ones, and each is paced by the user's quota (:mod:`sync.azure.pacing`) and retried on
429 like every other ARM request. A management group holding more subscriptions than Resource
Graph searches (``x-ms-tenant-subscription-limit-hit``) is reported, not silently cut.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Iterator
from functools import partial
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sync.azure.writes import ArmWriter

log = logging.getLogger(__name__)

#: Rows asked for per request (Resource Graph's maximum per page).
PAGE_SIZE = 1000
#: Subscriptions named in one query: Resource Graph refuses more than 1,000 ("Troubleshoot
#: errors": too many subscriptions) and its "Guidance for throttled requests" recommends groups
#: of less than 300.
SUBSCRIPTIONS_PER_QUERY = 250
#: A tag name the query may quote as it is (others are matched here only).
_PLAIN_TAG = re.compile(r"[A-Za-z0-9_.-]{1,128}")


def query(types: Collection[str], tag: str = "") -> str:
    """The KQL that lists ``id``, ``type`` and ``tags`` of the resources of ``types`` whose
    tags mention ``tag`` (in any case; every resource of ``types`` when it cannot be quoted)."""
    listed = ", ".join(f"'{t.lower()}'" for t in sorted(types))
    mention = f" | where tostring(tags) contains '{tag}'" if _PLAIN_TAG.fullmatch(tag) else ""
    return f"resources | where type in~ ({listed}){mention} | project id, type, tags"


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
    text, wanted = query(types, tag), tag.lower()
    named, step = list(subscriptions), SUBSCRIPTIONS_PER_QUERY
    scopes: list[dict[str, Any]] = (
        [{"management_groups": [management_group]}]
        if management_group
        else [{"subscriptions": named[at : at + step]} for at in range(0, len(named), step)]
    )
    for scope in scopes:
        for row in _rows(client, reader, text, scope):
            tags = {str(k): str(v) for k, v in (row.get("tags") or {}).items()}
            if any(k.lower() == wanted for k in tags):
                yield str(row["id"]), str(row["type"]).lower(), tags


def _rows(client: Any, reader: ArmWriter, text: str, scope: dict[str, Any]) -> Iterator[Any]:
    """Every row of one query, page after page."""
    from azure.mgmt.resourcegraph.models import QueryRequest, QueryRequestOptions

    token: str | None = None
    while True:
        options = QueryRequestOptions(top=PAGE_SIZE, skip_token=token, result_format="objectArray")
        request = QueryRequest(query=text, options=options, **scope)
        page, headers = reader.read(
            "query Resource Graph", partial(client.resources, request, cls=_with_headers)
        )
        if str(headers.get("x-ms-tenant-subscription-limit-hit", "")).lower() == "true":
            log.warning(
                "Resource Graph searched only part of management group %s (it holds more "
                "subscriptions than one query covers): name the subscriptions "
                "(IPSYNC_SUBSCRIPTIONS) to discover in all of them",
                scope.get("management_groups", ["?"])[0],
            )
        yield from page.data or []
        token = page.skip_token
        if not token:
            return


def _with_headers(pipeline_response: Any, deserialized: Any, _headers: Any) -> tuple[Any, Any]:
    """``cls=`` for the query: the page and the answer's headers."""
    return deserialized, pipeline_response.http_response.headers
