"""What a client signing in to a custom cloud asks of it: the cloud's metadata and a token.

``GET /metadata/endpoints`` is ARM's own cloud description (the Azure CLI's ``az cloud register
--endpoint-resource-manager`` reads it): its login endpoint is the emulator itself, where the
OpenID Connect discovery document and a token endpoint stand in for Microsoft Entra ID. The
token endpoint grants any client any scope (the emulator's ARM takes any bearer token); its
token is shaped like Entra's (a JWT whose signature nobody checks). The tenant is
armemu.groups.TENANT_ID whatever tenant the client names.
"""

from __future__ import annotations

import base64
import json
import re
import time
from typing import Any
from urllib.parse import parse_qs

from armemu.groups import TENANT_ID
from armemu.state import Reply

OPENID = re.compile(r"^/(?P<tenant>[^/]+)/v2\.0/\.well-known/openid-configuration$")
TOKEN = re.compile(r"^/(?P<tenant>[^/]+)/oauth2/v2\.0/token$")
#: the first api-version whose metadata answer is the one cloud, not a list of clouds
SINGLE_CLOUD_SINCE = "2022-09-01"
TOKEN_LIFETIME_S = 3599


def answer(method: str, path: str, query: str, endpoint: str, body: bytes) -> Reply | None:
    """The answer to a sign-in request, or None when ``path`` is not one."""
    if method == "GET" and path == "/metadata/endpoints":
        version = (parse_qs(query).get("api-version") or [SINGLE_CLOUD_SINCE])[0]
        cloud = metadata(endpoint)
        return Reply(200, cloud if version >= SINGLE_CLOUD_SINCE else [cloud])
    match = OPENID.match(path)
    if method == "GET" and match is not None:
        return Reply(200, openid_configuration(endpoint, match["tenant"]))
    match = TOKEN.match(path)
    if method == "POST" and match is not None:
        return token(endpoint, parse_qs(body.decode("utf-8", "replace")))
    return None


def metadata(endpoint: str) -> dict[str, Any]:
    """The public cloud's description with the emulator as its ARM and login endpoint."""
    return {
        "portal": "https://portal.azure.com",
        "authentication": {
            "loginEndpoint": endpoint,
            "audiences": ["https://management.core.windows.net/", "https://management.azure.com/"],
            "tenant": "common",
            "identityProvider": "AAD",
        },
        "graphAudience": "https://graph.windows.net/",
        "graph": "https://graph.windows.net/",
        "name": "AzureCloud",
        "suffixes": {
            "acrLoginServer": "azurecr.io",
            "sqlServerHostname": "database.windows.net",
            "keyVaultDns": "vault.azure.net",
            "storage": "core.windows.net",
        },
        "resourceManager": endpoint + "/",
        "microsoftGraphResourceId": "https://graph.microsoft.com/",
    }


def openid_configuration(endpoint: str, tenant: str) -> dict[str, Any]:
    base = f"{endpoint}/{tenant}"
    return {
        "token_endpoint": f"{base}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt"],
        "jwks_uri": f"{endpoint}/{tenant}/discovery/v2.0/keys",
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "issuer": f"{endpoint}/{TENANT_ID}/v2.0",
        "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
        "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
        "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
        "tenant_region_scope": "WW",
    }


def token(endpoint: str, form: dict[str, list[str]]) -> Reply:
    """A client-credentials token for the first scope asked, to any client."""
    client = (form.get("client_id") or [""])[0]
    if not client:
        missing = (
            "AADSTS900144: The request body must contain the following parameter: 'client_id'."
        )
        return Reply(400, {"error": "invalid_request", "error_description": missing})
    scope = (form.get("scope") or ["https://management.azure.com/.default"])[0].split()[0]
    now = int(time.time())
    claims = {
        "aud": scope.removesuffix(".default").rstrip("/"),
        "iss": f"{endpoint}/{TENANT_ID}/",
        "iat": now,
        "nbf": now,
        "exp": now + TOKEN_LIFETIME_S,
        "appid": client,
        "idtyp": "app",
        "oid": client,
        "sub": client,
        "tid": TENANT_ID,
    }
    parts = [{"alg": "RS256", "typ": "JWT", "kid": "ipsync-emulator"}, claims]
    encoded = [base64.urlsafe_b64encode(json.dumps(p).encode()).rstrip(b"=") for p in parts]
    jwt = b".".join([*encoded, b"ZW11bGF0b3I"]).decode()
    return Reply(200, {"token_type": "Bearer", "expires_in": TOKEN_LIFETIME_S,
                       "ext_expires_in": TOKEN_LIFETIME_S, "access_token": jwt})  # fmt: skip
