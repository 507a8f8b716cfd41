"""The Azure Resource Manager client: one place that decides endpoint, credential and TLS.

The SDK's own retries are switched off (``retry_total=0``): the engine retries writes itself so
that it can honour ``Retry-After`` within its time budget and count every request it sends.
Every request of every client is paced by ARM's remaining budget (:mod:`sync.azure.pacing`).
"""

from __future__ import annotations

import ipaddress
import logging
import re
import threading
import time
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any, TypeVar, cast
from urllib.parse import urlsplit

from sync.errors import SettingsError, SignInError
from sync.feedsettings import setting_label

if TYPE_CHECKING:
    from azure.core.credentials import AccessToken, TokenCredential
    from azure.mgmt.network import NetworkManagementClient
    from azure.mgmt.resourcegraph import ResourceGraphClient

    from sync.settings import Settings

C = TypeVar("C")
T = TypeVar("T")
log = logging.getLogger(__name__)

#: The token the emulator accepts; any non-empty bearer token passes there.
EMULATOR_TOKEN = "ipsync-emulator-token"


class StaticTokenCredential:
    """A fixed bearer token, for the local emulator only."""

    def __init__(self, token: str = EMULATOR_TOKEN) -> None:
        self._token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        from azure.core.credentials import AccessToken

        return AccessToken(self._token, int(time.time()) + 3600)


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def credential_for(settings: Settings) -> TokenCredential:
    if settings.credential == "emulator":
        if not is_loopback(settings.arm_base):
            raise SettingsError(
                f"{setting_label(settings, 'credential')}: 'emulator' is only allowed with a "
                f"loopback ARM endpoint ({setting_label(settings, 'arm_endpoint')}), not "
                f"{settings.arm_base}"
            )
        return StaticTokenCredential()
    return SignInCredential()


class SignInCredential:
    """``DefaultAzureCredential`` that fails once, in one short line saying what to do.

    The SDK's own message lists every credential of the chain over a dozen lines; the names
    tried go to the debug log (``-v``) instead. A failure is kept, so the run's other requests
    fail at once instead of probing the chain again, and tokens are kept until shortly before
    they expire, so signing in up front costs no second sign-in.
    """

    def __init__(self) -> None:
        from azure.identity import DefaultAzureCredential

        self._chain = DefaultAzureCredential()
        self._failed: str | None = None
        self._tokens: dict[tuple[str, ...], AccessToken] = {}
        self._lock = threading.Lock()

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        from azure.core.exceptions import ClientAuthenticationError

        with self._lock:
            if self._failed is None:
                kept = None if kwargs.get("claims") else self._tokens.get(scopes)
                if kept is not None and kept.expires_on - TOKEN_MARGIN_S > time.time():
                    return kept
                try:
                    token = self._chain.get_token(*scopes, **kwargs)
                except ClientAuthenticationError as exc:
                    self._failed = sign_in_problem(str(exc.message))
                else:
                    self._tokens[scopes] = token
                    return token
            raise SignInError(self._failed)


#: A kept token is fetched again this many seconds before it expires.
TOKEN_MARGIN_S = 300
#: Longest part of the SDK's message a sign-in failure repeats.
SIGN_IN_DETAIL_CHARS = 160


def sign_in_problem(message: str) -> str:
    """One short line for a failed Azure sign-in (from the SDK's message): what to do; the
    credentials tried go to the debug log."""
    tried = re.findall(r"^\s+(\w+Credential): ", message, re.M)
    if not tried:
        # One credential was found but refused (a wrong secret, an unknown identity): say so.
        first = message.strip().splitlines()[0] if message.strip() else "refused"
        return f"Azure sign-in failed: {first[:SIGN_IN_DETAIL_CHARS]}"
    log.debug("Azure sign-in: no credential worked; tried %s", ", ".join(tried))
    return (
        "not signed in to Azure: run `az login`, or give the host a managed identity, or set "
        "AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (-v lists what was tried)"
    )


def make_client(settings: Settings, subscription_id: str | None = None) -> NetworkManagementClient:
    """A NetworkManagementClient for the settings' cloud, endpoint and CA bundle."""
    from azure.mgmt.network import NetworkManagementClient

    return arm_client(settings, NetworkManagementClient, subscription_id)


def arm_client(
    settings: Settings,
    factory: Callable[..., C],
    subscription_id: str | None = None,
    credential: TokenCredential | None = None,
) -> C:
    """A management client of any Azure SDK (``factory``) for the settings' cloud, endpoint
    and CA bundle, with the SDK's own retries off (``credential``: one shared by a run)."""
    subscription = subscription_id or settings.subscription_id
    if not subscription:
        raise SettingsError(
            f"{setting_label(settings, 'subscription_id')}: required for work on Azure resources"
        )
    credential = credential or credential_for(settings)
    return factory(credential, subscription, **client_options(settings))


def client_options(settings: Settings) -> dict[str, Any]:
    """Endpoint, token scope, TLS trust, polling and pacing every client of a run shares."""
    from sync.azure.pacing import pacing_policy

    if not settings.arm_base.startswith("https://"):
        raise SettingsError(
            f"{setting_label(settings, 'arm_endpoint')}: must be https://, not {settings.arm_base}"
        )
    options: dict[str, Any] = {
        "base_url": settings.arm_base,
        "credential_scopes": [settings.arm_base + "/.default"],
        "retry_total": 0,
        "polling_interval": settings.poll_interval_s,
        "per_retry_policies": [pacing_policy()],
    }
    if settings.ca_bundle is not None:
        if not settings.ca_bundle.is_file():
            raise SettingsError(
                f"{setting_label(settings, 'ca_bundle')}: no such file {settings.ca_bundle}"
            )
        options["connection_verify"] = str(settings.ca_bundle)
    return options


class Clients:
    """Management clients of one run, made once per (SDK, subscription) and shared, with one
    credential; and the reads several resources of the run share (:meth:`shared`).

    :meth:`sign_in` signs in once: the engine asks it before any target when the run has
    Azure work, so a run without a working credential stops with one line
    (:class:`SignInError`) instead of failing every target alike; a run without Azure work
    (published lists only) needs no sign-in.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._made: dict[tuple[Callable[..., Any], str], Any] = {}
        self._lock = threading.Lock()
        self._shared: dict[Hashable, _Once] = {}
        self.credential = credential_for(settings)

    def shared(self, key: Hashable, read: Callable[[], T]) -> T:
        """``read()`` once in this run for ``key``: a read that several resources would each
        make alike (the IP Groups of one resource group), made by the first to ask while the
        others wait for it. A read that fails is not kept: the next to ask reads again."""
        with self._lock:
            once = self._shared.setdefault(key, _Once())
        return cast(T, once.get(read))

    def sign_in(self) -> None:
        """Get the run's ARM token now (kept for the run's clients), or raise
        :class:`SignInError` in one line."""
        self.credential.get_token(self.settings.arm_base + "/.default")

    def get(self, factory: Callable[..., C], subscription: str) -> C:
        key = (factory, subscription.lower())
        with self._lock:
            if key not in self._made:
                self._made[key] = arm_client(self.settings, factory, subscription, self.credential)
            return cast(C, self._made[key])

    def for_resource(self, factory: Callable[..., C], resource_id: str) -> tuple[C, str, str]:
        """The client of the resource's subscription, its resource group and its name."""
        from azure.mgmt.core.tools import parse_resource_id

        parts = parse_resource_id(resource_id)
        client = self.get(factory, str(parts["subscription"]))
        return client, str(parts["resource_group"]), str(parts["name"])

    def graph(self) -> ResourceGraphClient:
        """The Resource Graph client (tenant-wide: it takes no subscription)."""
        from azure.mgmt.resourcegraph import ResourceGraphClient

        with self._lock:
            key = (ResourceGraphClient, "")
            if key not in self._made:
                options = client_options(self.settings)
                self._made[key] = ResourceGraphClient(self.credential, **options)
            return cast(ResourceGraphClient, self._made[key])


class _Once:
    """A value made by the first caller that succeeds; callers meanwhile wait for it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._made = False
        self._value: Any = None

    def get(self, make: Callable[[], Any]) -> Any:
        with self._lock:
            if not self._made:
                self._value = make()
                self._made = True
            return self._value
