"""Masking secrets out of URLs and text before they reach a message, a log line or a report.

A URL may carry credentials: a storage SAS (``?sv=...&sig=...``), a token parameter,
``user:password@`` in front of the host, or (a webhook's) a token in its path. Which query
parameters are secret cannot be known in general, so every value is masked; the scheme, host,
port, path and parameter names stay, which is what a reader needs to tell one source from
another. A URL whose path is itself a secret is masked down to its host.

URLs are parsed and written back the way httpx does (:func:`url_key`), so one URL written
differently (``HTTPS://Hooks.Example.com:443/x`` and ``https://hooks.example.com/x``, as httpx
logs it) is recognised as the same secret; text that httpx cannot parse as a URL is masked
whole after its scheme. Pure: httpx is used as a parser only (imported on the first URL).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    import httpx

MASK = "***"
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
#: An absolute URL inside free text (an exception's message), up to whitespace or a quote.
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")
#: ``name=value`` pairs that are secrets wherever they stand, in a URL or not: a SAS's
#: signature or a token (a request line logged without its host, ``GET /c/b?sv=...&sig=...``)...
_SECRET_PAIR = re.compile(
    r"(?i)\b(sig|signature|access_token|refresh_token|client_secret|password|code)"
    r"=([^&;\s'\"<>]+)"
)
#: ...and a connection string's key or SAS (``AccountKey=...;``), up to the next ``;``.
_SECRET_SETTING = re.compile(
    r"(?i)\b(accountkey|sharedaccesskey|sharedaccesssignature)=([^;\s'\"<>]+)"
)
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


class UrlKey(NamedTuple):
    """A URL as httpx sends it, without query or fragment: equal keys are the same endpoint."""

    scheme: str
    host: str
    port: int | None
    path: str


def _parse(url: str) -> httpx.URL | None:
    import httpx

    try:
        return httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        return None


def url_key(url: str) -> UrlKey | None:
    """The endpoint ``url`` names once httpx has parsed it (scheme and host lower-case, a
    default port dropped, dot segments resolved), or None when httpx cannot parse it."""
    parsed = _parse(url)
    return None if parsed is None else _key(parsed)


def _key(parsed: httpx.URL) -> UrlKey:
    scheme = parsed.scheme.lower()
    port = parsed.port
    if port == _DEFAULT_PORTS.get(scheme):
        port = None
    path = parsed.raw_path.split(b"?", 1)[0].decode("ascii")
    return UrlKey(scheme, parsed.host.lower(), port, path or "/")


def _netloc(key: UrlKey, userinfo: bool) -> str:
    host = f"[{key.host}]" if ":" in key.host else key.host
    port = f":{key.port}" if key.port is not None else ""
    return f"{MASK}@{host}{port}" if userinfo else f"{host}{port}"


def _is_secret(key: UrlKey, secrets: Collection[UrlKey]) -> bool:
    """A URL at or below a secret endpoint (``/hooks/T/B/token`` or a path under it)."""
    return any(
        key[:3] == secret[:3]
        and (key.path == secret.path or key.path.startswith(secret.path.rstrip("/") + "/"))
        for secret in secrets
    )


def mask_url(url: str, secrets: Collection[UrlKey] = ()) -> str:
    """``url`` with user info, every query value and any fragment replaced by ``***``; a URL
    at one of ``secrets`` becomes ``<scheme>://<host>/***``.

    Text that is not an absolute URL (a file path) comes back unchanged; one that httpx cannot
    parse keeps only its scheme.
    """
    if not _SCHEME.match(url):
        return url
    parsed = _parse(url)
    if parsed is None:
        return f"{url.split('://', 1)[0].lower()}://{MASK}"
    key = _key(parsed)
    head = f"{key.scheme}://{_netloc(key, bool(parsed.userinfo))}"
    if _is_secret(key, secrets):
        return f"{head}/{MASK}"
    query = parsed.query.decode("ascii")
    if query:
        query = "?" + "&".join(map(_mask_parameter, query.split("&")))
    return f"{head}{key.path}{query}{'#' + MASK if parsed.fragment else ''}"


def mask_urls_in(text: str, secrets: Collection[UrlKey] = ()) -> str:
    """Every absolute URL in ``text`` masked as :func:`mask_url` does."""
    return _URL_IN_TEXT.sub(lambda match: mask_url(match[0], secrets), text)


def mask_secrets_in(text: str, secrets: Collection[UrlKey] = ()) -> str:
    """``text`` with its URLs masked, secret ``name=value`` pairs masked wherever they stand,
    and the path of each of ``secrets`` masked where it appears without its host."""
    masked = mask_urls_in(text, secrets)
    for pattern in (_SECRET_SETTING, _SECRET_PAIR):
        masked = pattern.sub(lambda match: f"{match[1]}={MASK}", masked)
    for secret in secrets:
        if len(secret.path) > 1:
            masked = masked.replace(secret.path, f"/{MASK}")
    return masked


def _mask_parameter(item: str) -> str:
    """``name=value`` becomes ``name=***``; a bare item may itself be a secret token."""
    if not item:
        return item
    name, equals, _ = item.partition("=")
    return f"{name}={MASK}" if equals else MASK
