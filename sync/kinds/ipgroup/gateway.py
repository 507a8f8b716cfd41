"""The IP Groups of one target through azure-mgmt-network: read the set, PUT whole groups.

An IP Group PUT is long-running (the firewall policies using the group are re-deployed, which
takes minutes); the writer polls it under the run's deadline and waits out the 409/429 a busy
group or policy answers. Every PUT carries the group's etag as read (``If-Match``), so a group
changed since the read is re-read and re-planned, never overwritten.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sync.azure.writes import raw
from sync.kinds.base import Snapshot
from sync.kinds.ipgroup.plan import Group, GroupWrite, held_releases

if TYPE_CHECKING:
    from azure.mgmt.network import NetworkManagementClient

    from sync.azure.writes import ArmWriter
    from sync.core.plan import Write


#: How a gateway's first read is made: given the listing, it may share one made already.
First = Callable[[Callable[[], tuple[Group, ...]]], tuple[Group, ...]]


class IpGroupGateway:
    """Reads the IP Groups of one resource group and writes one group at a time."""

    def __init__(
        self,
        client: NetworkManagementClient,
        resource_group: str,
        writer: ArmWriter,
        first: First | None = None,
    ) -> None:
        self._client = client
        self._rg = resource_group
        self._writer = writer
        self._first = first

    def read(self) -> Snapshot:
        """Every IP Group of the resource group: the plan picks the target's set by name.

        The first read may be a listing of the resource group the run made once for all its
        targets there (``first``): each would list the same groups, so a resource group of
        many handed-over groups would be read once per group. It was made before any of
        them was written in this run, and every write names the etag read (``If-Match``):
        a group written meanwhile is re-read, listed afresh, and re-planned.
        """
        first, self._first = self._first, None
        groups = self._list() if first is None else first(self._list)
        return Snapshot(etag=None, state=groups, releases=held_releases(groups))

    def _list(self) -> tuple[Group, ...]:
        found = self._writer.read(
            "list the IP Groups of its resource group",
            lambda: list(self._client.ip_groups.list_by_resource_group(self._rg)),
        )
        return tuple(
            Group(
                name=g.name or "",
                location=g.location or "",
                tags=dict(g.tags or {}),
                entries=tuple(g.ip_addresses or ()),
                etag=g.etag,
            )
            for g in found
        )

    def send(self, write: Write[GroupWrite], etag: str | None) -> str | None:
        """PUT one whole group with ``If-Match`` its etag as read; each group has its own."""
        from azure.mgmt.network.models import IpGroup, IpGroupPropertiesFormat

        change = write.payload
        body = IpGroup(
            location=change.location,
            tags=dict(change.tags),
            properties=IpGroupPropertiesFormat(ip_addresses=list(change.entries)),
        )
        client = self._client

        def send(headers: dict[str, str]) -> Any:
            return client.ip_groups.begin_create_or_update(
                self._rg, write.name, body, headers=headers, polling=False, cls=raw
            ).result()

        what = f"PUT IP Group {write.name} ({len(change.entries)} entries)"
        self._writer.write(what, send, change.etag, client)
        return None
