"""One app (or slot) through azure-mgmt-web: GET its ``config/web``, PATCH its rule lists.

``config/web`` carries no etag (its spec defines none), so nothing makes the PATCH conditional.
The lists are read again right before it and the run re-plans when they moved; an answer lost
in transit is checked by reading the lists back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sync.azure.writes import Stale, raw
from sync.kinds.appservice.plan import ConfigWrite, SiteConfig
from sync.kinds.appservice.rules import FIELDS, USE_MAIN, read_list
from sync.kinds.base import Snapshot

if TYPE_CHECKING:
    from azure.mgmt.web import WebSiteManagementClient

    from sync.azure.writes import ArmWriter
    from sync.core.plan import Write


def site_config(properties: dict[str, Any]) -> SiteConfig:
    """``config/web``'s properties as the plan sees them."""
    lists = {site: read_list(properties.get(field)) for site, field in FIELDS.items()}
    return SiteConfig(lists, bool(properties.get(USE_MAIN)))


class AppServiceGateway:
    """Reads and writes the access restrictions of one app or deployment slot."""

    def __init__(
        self,
        client: WebSiteManagementClient,
        resource_group: str,
        name: str,
        slot: str | None,
        writer: ArmWriter,
    ) -> None:
        self._client = client
        self._rg = resource_group
        self._name = name
        self._slot = slot
        self._writer = writer
        self._seen: SiteConfig | None = None

    def _get(self, what: str) -> SiteConfig:
        apps = self._client.web_apps

        def get() -> Any:
            if self._slot:
                return apps.get_configuration_slot(self._rg, self._name, self._slot)
            return apps.get_configuration(self._rg, self._name)

        found = self._writer.read(what, get).as_dict()
        return site_config(found.get("properties") or {})

    def read(self) -> Snapshot:
        self._seen = self._get("read its config/web")
        return Snapshot(etag=None, state=self._seen)

    def send(self, write: Write[ConfigWrite], etag: str | None) -> str | None:
        """PATCH the changed lists if they are still as planned from."""
        seen = self._seen
        assert seen is not None, "read() comes before send()"
        now = self._get("read its config/web again before writing")
        if now != seen:
            raise Stale("config/web's access restrictions changed since they were read")
        apps = self._client.web_apps
        # the lists alone, as JSON: the SDK's typed overloads would take the whole config
        body: Any = {"properties": dict(write.payload.lists)}

        def send(headers: dict[str, str]) -> Any:
            if self._slot:
                return apps.update_configuration_slot(
                    self._rg, self._name, self._slot, body, headers=headers, cls=raw
                )
            return apps.update_configuration(self._rg, self._name, body, headers=headers, cls=raw)

        try:
            self._writer.write(f"PATCH config/web {write.name}", send, etag, self._client)
        except Stale as exc:
            if not exc.maybe_written or not self._landed(write.payload):
                raise
        return None

    def _landed(self, payload: ConfigWrite) -> bool:
        """Whether a write whose answer was lost is in place: each list holds what was sent."""
        after = self._get("read its config/web after a lost answer")
        sites = {field: site for site, field in FIELDS.items()}
        return all(
            frozenset(r.content for r in after.lists[sites[field]]) == wanted
            for field, wanted in payload.wanted.items()
        )
