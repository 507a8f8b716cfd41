"""One Container App through azure-mgmt-appcontainers: read its ingress IP restrictions, write
them whole with a JSON merge patch of the app.

The PATCH carries only ``properties.configuration.ingress.ipSecurityRestrictions`` (a merge
patch replaces an array whole and leaves every field it does not name: a PUT would have to send
the app's secrets, which a GET does not return), and is long-running: 202, then the writer polls
``Azure-AsyncOperation``. Apps carry no etag, so the list is read
again right before the PATCH and the run re-plans when it moved.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sync.azure.writes import Stale
from sync.kinds.base import Snapshot
from sync.kinds.containerapp.plan import Ingress, Restriction, RulesWrite

if TYPE_CHECKING:
    from azure.mgmt.appcontainers import ContainerAppsAPIClient

    from sync.azure.writes import ArmWriter
    from sync.core.plan import Write


def _text(value: Any) -> str:
    return str(getattr(value, "value", value) or "")


def _ingress(app: Any) -> Ingress | None:
    configuration = app.configuration
    ingress = configuration.ingress if configuration else None
    if ingress is None:
        return None
    return Ingress(
        tuple(
            Restriction(r.name or "", r.ip_address_range or "", _text(r.action), r.description)
            for r in ingress.ip_security_restrictions or ()
        )
    )


def _body(rules: tuple[Restriction, ...]) -> dict[str, Any]:
    restrictions = [
        {
            "name": r.name,
            **({"description": r.description} if r.description is not None else {}),
            "ipAddressRange": r.range,
            "action": r.action,
        }
        for r in rules
    ]
    return {"properties": {"configuration": {"ingress": {"ipSecurityRestrictions": restrictions}}}}


class ContainerAppGateway:
    """Reads an app's ingress IP restrictions; writes the whole list in one merge patch."""

    def __init__(
        self, client: ContainerAppsAPIClient, resource_group: str, name: str, writer: ArmWriter
    ) -> None:
        self._client = client
        self._rg = resource_group
        self._name = name
        self._writer = writer
        self._seen: Ingress | None = None
        self._location = ""

    def _get(self, what: str) -> Ingress | None:
        app = self._writer.read(what, lambda: self._client.container_apps.get(self._rg, self._name))
        self._location = str(app.location or "")
        return _ingress(app)

    def read(self) -> Snapshot:
        self._seen = self._get("read it")
        return Snapshot(etag=None, state=self._seen)

    def send(self, write: Write[RulesWrite], etag: str | None) -> str | None:
        """PATCH the list if it is still as planned from."""
        if self._get("read it again before writing") != self._seen:
            raise Stale("ingress.ipSecurityRestrictions changed since it was read")
        from azure.mgmt.appcontainers.models import ContainerApp

        # the mapping as is; the location as read, as the spec's example sends it
        body = ContainerApp({"location": self._location, **_body(write.payload.rules)})
        client = self._client

        def send(headers: dict[str, str]) -> Any:
            # the 202 has no body for the SDK to read: keep the answer as the pipeline saw it
            seen: list[Any] = []
            client.container_apps.begin_update(
                self._rg,
                self._name,
                body,
                headers=headers,
                polling=False,
                raw_response_hook=seen.append,
            )
            return seen[-1]

        what = f"PATCH ingress.ipSecurityRestrictions ({len(write.payload.rules)} rules)"
        try:
            self._writer.write(what, send, etag, client)
        except Stale as exc:
            after = self._get("read it after a lost answer")
            if not exc.maybe_written or after is None or after.rules != write.payload.rules:
                raise
        return None
