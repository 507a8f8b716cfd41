"""One NSG through azure-mgmt-network: read its rules, write them one at a time.

Retries, polling, the deadline and the write count belong to :class:`ArmWriter`; this module
only knows which SDK calls read and write an NSG's rules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sync.azure.writes import raw
from sync.kinds.base import Snapshot
from sync.kinds.nsg.plan import held_releases
from sync.kinds.nsg.rules import Rule, rule_from_sdk, rule_to_sdk

if TYPE_CHECKING:
    from azure.mgmt.network import NetworkManagementClient

    from sync.azure.writes import ArmWriter
    from sync.core.plan import Write


class NsgGateway:
    """Reads and writes the rules of one NSG."""

    def __init__(
        self,
        client: NetworkManagementClient,
        resource_group: str,
        name: str,
        writer: ArmWriter,
    ) -> None:
        self._client = client
        self._rg = resource_group
        self._name = name
        self._writer = writer

    def read(self) -> Snapshot:
        """The NSG's etag and rules (default rules excluded: they are not writable)."""
        nsg = self._writer.read(
            "read it", lambda: self._client.network_security_groups.get(self._rg, self._name)
        )
        rules = [rule_from_sdk(r) for r in (nsg.security_rules or [])]
        return Snapshot(etag=nsg.etag, state=rules, releases=held_releases(rules))

    def send(self, write: Write[Rule], etag: str | None) -> str | None:
        """PUT or DELETE one rule; rules share the NSG's etag, so the new one is read back."""
        client = self._client
        if write.action == "delete":

            def send(headers: dict[str, str]) -> Any:
                return client.security_rules.begin_delete(
                    self._rg, self._name, write.name, headers=headers, polling=False, cls=raw
                ).result()

            what = f"DELETE rule {write.name}"
        else:

            def send(headers: dict[str, str]) -> Any:
                return client.security_rules.begin_create_or_update(
                    self._rg,
                    self._name,
                    write.name,
                    rule_to_sdk(write.payload),
                    headers=headers,
                    polling=False,
                    cls=raw,
                ).result()

            what = f"PUT rule {write.name}"
        self._writer.write(what, send, etag, self._client)
        return self.read().etag
