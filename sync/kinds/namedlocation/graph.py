"""Microsoft Graph for one run: the run's credential, a token for Graph's own scope, the
settings' Graph endpoint and CA bundle.

Requests go through an azure-core pipeline (already a dependency of every Azure SDK ipsync
uses) rather than a Graph SDK: the same credential, TLS trust and error type as the ARM
clients, so the one writer (:class:`sync.azure.writes.ArmWriter`) retries Graph's 429 after
its ``Retry-After``, re-reads after a lost answer and counts every write, as for ARM. Graph's
errors (``{"error": {"code", "message"}}``) are OData v4's, which azure-core parses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sync.azure.client import StaticTokenCredential, is_loopback
from sync.errors import SettingsError
from sync.feedsettings import setting_label

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from azure.core.rest import HttpResponse

    from sync.settings import Settings

#: The Graph version ipsync speaks.
VERSION = "v1.0"


@dataclass(frozen=True)
class Sent:
    """A write's answer as :meth:`sync.azure.writes.ArmWriter.write` reads it (Graph's writes
    are never long-running: no status URL to poll)."""

    http_response: HttpResponse


class Graph:
    """Requests to ``<graph endpoint>/v1.0/...`` with the run's credential."""

    def __init__(self, settings: Settings, credential: TokenCredential) -> None:
        from azure.core import PipelineClient
        from azure.core.pipeline.policies import (
            BearerTokenCredentialPolicy,
            HeadersPolicy,
            UserAgentPolicy,
        )
        from azure.core.pipeline.transport import RequestsTransport

        base = settings.graph_base
        if not base.startswith("https://"):
            raise SettingsError(
                f"{setting_label(settings, 'graph_endpoint')}: must be https://, not {base}"
            )
        if isinstance(credential, StaticTokenCredential) and not is_loopback(base):
            raise SettingsError(
                f"{setting_label(settings, 'credential')}: 'emulator' is only allowed with a "
                f"loopback Graph endpoint ({setting_label(settings, 'graph_endpoint')}), not "
                f"{base}"
            )
        verify: Any = str(settings.ca_bundle) if settings.ca_bundle is not None else True
        self.base = f"{base}/{VERSION}"
        self._client: Any = PipelineClient(
            self.base,
            policies=[
                HeadersPolicy(),
                UserAgentPolicy("ipsync"),
                BearerTokenCredentialPolicy(credential, f"{base}/.default"),
            ],
            transport=RequestsTransport(connection_verify=verify),
        )

    def send(self, method: str, path: str, body: Any = None) -> HttpResponse:
        """One request; raises ``HttpResponseError`` (Graph's code and message) from 400 up."""
        from azure.core.exceptions import HttpResponseError, ODataV4Format
        from azure.core.rest import HttpRequest

        request = HttpRequest(method, f"{self.base}/{path.lstrip('/')}", json=body)
        response: HttpResponse = self._client.send_request(request)
        if response.status_code >= 400:
            response.read()
            raise HttpResponseError(response=response, error_format=ODataV4Format)
        return response
