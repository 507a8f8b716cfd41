"""Entra ID IP named locations: a named location's ``ipRanges``, through Microsoft Graph.

A named location is no ARM resource: it is read and written in Microsoft Graph v1.0
(``/identity/conditionalAccess/namedLocations/{id}``) with a token of the run's credential
for Graph, and named in the settings only (Resource Graph does not see it, so no tag
discovers it). A range is an IPv4 or IPv6 CIDR with its ``@odata.type``; at most 2,000 per
location. A PATCH sends the whole ``ipRanges`` list and replaces it (204, not long-running, no
etag). The list is read again right before the PATCH, as for every IP rule list.

Ownership is by entry, through the ownership registry, as for Storage: a location is often
made by hand and used by Conditional Access policies, so the ranges someone else put there
stay. Graph refuses an empty ``ipRanges``, so a write that would leave it empty is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from sync.kinds.base import Needs, TargetSpec
from sync.kinds.iprules import IpRuleKind, IpRuleTarget, Listed
from sync.kinds.namedlocation.graph import Graph, Sent
from sync.kinds.namedlocation.target import NamedLocationTarget

if TYPE_CHECKING:
    from sync.azure.client import Clients

IP_LOCATION = "#microsoft.graph.ipNamedLocation"
#: Where Graph keeps named locations (below ``<endpoint>/v1.0``).
COLLECTION = "identity/conditionalAccess/namedLocations"
RANGE_TYPES = {4: "#microsoft.graph.iPv4CidrRange", 6: "#microsoft.graph.iPv6CidrRange"}


class NamedLocationApi:
    """One named location's reads and PATCH."""

    def __init__(self, client: Graph, location_id: str) -> None:
        self.client = client
        self._path = f"{COLLECTION}/{location_id}"

    def get(self) -> Listed:
        location: dict[str, Any] = self.client.send("GET", self._path).json()
        ranges = location.get("ipRanges") or []
        values = tuple(str(r.get("cidrAddress") or "") for r in ranges if isinstance(r, dict))
        return Listed(values, location)

    def put(self, listed: Listed, values: Sequence[str], headers: dict[str, str]) -> Any:
        ranges = [
            {"@odata.type": RANGE_TYPES[6 if ":" in v else 4], "cidrAddress": v} for v in values
        ]
        body = {"@odata.type": IP_LOCATION, "ipRanges": ranges}
        return Sent(self.client.send("PATCH", self._path, body))


class NamedLocationKind(IpRuleKind):
    name: ClassVar[str] = "namedlocation"
    #: No ARM resource: Resource Graph does not see it, so no Azure tag discovers it.
    arm_type: ClassVar[str] = ""
    target: ClassVar[type[TargetSpec]] = NamedLocationTarget
    cidrs_only: ClassVar[bool] = True
    limit: ClassVar[int] = 2000
    field: ClassVar[str] = "ipRanges"
    not_empty: ClassVar[str | None] = "which Graph refuses; refused before any write"
    needs: ClassVar[Needs] = Needs(
        docs="kinds/namedlocation.md",
        # Reading named locations needs Policy.Read.All; writing them both (Graph reference).
        graph=frozenset({"Policy.Read.All", "Policy.ReadWrite.ConditionalAccess"}),
        emulated=(f"graph:/{COLLECTION}",),
    )

    def api(self, clients: Clients, resource_id: str) -> NamedLocationApi:
        return NamedLocationApi(Graph(clients.settings, clients.credential), resource_id)

    def check(self, target: IpRuleTarget, listed: Listed) -> str | None:
        kind = listed.rules.get("@odata.type")
        if kind == IP_LOCATION:
            return None
        return (
            f"{target.where}: it is a {str(kind).removeprefix('#microsoft.graph.')} named "
            "location, not an IP one (ipNamedLocation): it holds no IP ranges"
        )


KIND = NamedLocationKind()
