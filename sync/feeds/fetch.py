"""Fetching a feed's documents over HTTPS: bounded retries, a size cap, an on-disk cache.

Every feed fetches through here. A document is only downloaded again when it changed
(conditional GET against the cache, ``ETag``/``Last-Modified``), proxies come from the standard
``HTTPS_PROXY``/``NO_PROXY`` variables, every redirect must stay on https (and drops any
``Authorization`` header when it leaves the origin), and TLS is always verified. URLs are
masked in every message and log line. This module delivers bytes; parsing lives elsewhere.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import ssl
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from time import sleep
from urllib.parse import urlsplit

import httpx

from sync import __version__
from sync.core.redact import mask_url, mask_urls_in
from sync.errors import DownloadError
from sync.feeds.cache import default_cache_dir, private_dir, read_private, write_atomically
from sync.logs import get_logger

log = get_logger(__name__)

#: Largest body accepted (Azure's release, the largest feed, is about 4 MB in 2025).
MAX_BODY_BYTES = 32 * 1024 * 1024
#: Attempts per request; retried on connection errors, timeouts, 429 and 5xx.
MAX_ATTEMPTS = 4
#: First back-off delay in seconds; doubles with every retry.
BACKOFF_BASE_S = 1.0
#: Upper bound for one wait, whether from back-off or from a ``Retry-After`` header.
MAX_WAIT_S = 60.0
MAX_REDIRECTS = 10
TIMEOUT = httpx.Timeout(30.0, connect=10.0)
USER_AGENT = f"ipsync/{__version__} (+service-tag sync)"


@dataclass(frozen=True)
class Fetched:
    data: bytes  # the document's bytes, as downloaded or from the cache
    origin: str  # final URL of the document, after redirects, masked (:func:`mask_url`)
    from_cache: bool  # True when the server answered 304 and the cached copy was used
    #: When these exact bytes were first fetched (Unix seconds): a feed that publishes no
    #: serial marks its release with it, so unchanged content keeps its mark.
    seen: int = 0


def default_client() -> httpx.Client:
    """The client used when the caller passes none.

    ``trust_env`` makes ``HTTPS_PROXY``/``HTTP_PROXY``/``ALL_PROXY``/``NO_PROXY`` and
    ``SSL_CERT_FILE``/``SSL_CERT_DIR`` work: locked-down networks reach the internet through
    a proxy, often one that re-signs TLS with a company CA.
    """
    return httpx.Client(timeout=TIMEOUT, trust_env=True)


# --- public entry points -----------------------------------------------------------------


def fetch_url(
    url: str,
    *,
    cache_dir: Path | None = None,
    client: httpx.Client | None = None,
    headers: Mapping[str, str] | None = None,
    key: str | None = None,
) -> Fetched:
    """One document from an https URL, revalidated against the cache.

    ``headers`` are sent with every attempt (a token: never logged, never cached, dropped by
    a redirect to another origin); ``key`` names the cache entry when the URL alone does not
    (by default the URL).
    """
    if urlsplit(url).scheme.lower() != "https":
        raise DownloadError(f"URL {mask_url(url)}: only https:// URLs are accepted")
    with client_scope(client) as http:
        return fetch_cached(http, url, cache_dir, headers=headers, key=key)


def get_text(client: httpx.Client, url: str, *, name: str | None = None) -> str:
    """A small document that is never cached (a page, a version), as text."""
    return get(client, url, {}, name=name).body.decode("utf-8", errors="replace")


@contextmanager
def client_scope(client: httpx.Client | None) -> Iterator[httpx.Client]:
    """The caller's client as is; otherwise a default one that is closed afterwards."""
    if client is not None:
        yield client
        return
    with default_client() as owned:
        yield owned


# --- HTTP: retries, redirects, size cap ----------------------------------------------------


@dataclass(frozen=True)
class Answer:
    status: int  # 200 or 304
    url: str  # after redirects
    body: bytes
    headers: httpx.Headers


class _Retryable(Exception):
    """A failure worth another attempt; ``wait_s`` is the server's ``Retry-After``, if any."""

    def __init__(self, message: str, wait_s: float | None = None) -> None:
        super().__init__(message)
        self.wait_s = wait_s


class Unreachable(DownloadError):
    """No connection to the host at all (name not resolved, refused, no route): not retried.

    Offline or behind a firewall, retries with back-off only delay the same answer.
    """


def get(
    client: httpx.Client, url: str, headers: Mapping[str, str], *, name: str | None = None
) -> Answer:
    """GET with bounded retries and exponential back-off honouring ``Retry-After``.

    ``name`` shows the URL in messages; by default it is masked (:func:`mask_url`).
    """
    name = name or mask_url(url)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            return _attempt(client, url, headers, name)
        except _Retryable as failure:
            if attempt == MAX_ATTEMPTS:
                raise DownloadError(
                    f"GET {name}: {failure} (gave up after {MAX_ATTEMPTS} attempts)"
                ) from failure
            backoff = BACKOFF_BASE_S * 2 ** (attempt - 1)
            wait = failure.wait_s if failure.wait_s is not None else backoff
            log.warning("GET %s: %s; retrying in %.1f s", name, failure, min(wait, MAX_WAIT_S))
            sleep(min(wait, MAX_WAIT_S))
    raise AssertionError("unreachable")  # pragma: no cover


def _attempt(client: httpx.Client, url: str, headers: Mapping[str, str], name: str) -> Answer:
    """One GET, following redirects by hand so that every hop must stay on https; a hop to
    another origin goes without the caller's ``Authorization`` header."""
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        if headers and _origin(current) != _origin(url):
            headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
        request = client.build_request(
            "GET", current, headers={"User-Agent": USER_AGENT, **headers}
        )
        try:
            response = client.send(request, stream=True, follow_redirects=False)
        except httpx.HTTPError as error:
            raise _http_failure(name, error, request.url) from error
        try:
            if response.has_redirect_location:
                current = _redirect_target(name, response)
                continue
            if response.status_code == 304:
                return Answer(304, current, b"", response.headers)
            _check_status(name, response)
            return Answer(200, current, _read_capped(name, response), response.headers)
        except httpx.HTTPError as error:
            raise _http_failure(name, error, request.url) from error
        finally:
            response.close()
    raise DownloadError(f"GET {name}: more than {MAX_REDIRECTS} redirects")


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = httpx.URL(url)
    return parts.scheme, parts.host, parts.port


def _redirect_target(name: str, response: httpx.Response) -> str:
    target = response.next_request.url if response.next_request else None
    if target is None or target.scheme != "https":
        where = mask_url(str(target)) if target else "nowhere"
        raise DownloadError(f"GET {name}: redirected to non-https URL {where}; refused")
    return str(target)


def _check_status(name: str, response: httpx.Response) -> None:
    status = response.status_code
    if status == 200:
        return
    message = f"HTTP {status} {response.reason_phrase}".rstrip()
    if status == 429 or status >= 500:
        raise _Retryable(message, _retry_after_s(response.headers.get("Retry-After")))
    raise DownloadError(f"GET {name}: {message}")


def _retry_after_s(value: str | None) -> float | None:
    """``Retry-After`` as seconds (it may be a number or an HTTP date); None when absent."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def _read_capped(name: str, response: httpx.Response) -> bytes:
    """The body, refused beyond ``MAX_BODY_BYTES`` (checked again after decompression)."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise DownloadError(_too_large(name, f"Content-Length {declared}"))
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise DownloadError(_too_large(name, f"more than {size} bytes received"))
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(name: str, what: str) -> str:
    return f"GET {name}: body too large ({what}; limit MAX_BODY_BYTES = {MAX_BODY_BYTES} bytes)"


def _http_failure(name: str, error: httpx.HTTPError, url: httpx.URL) -> Exception:
    """Timeouts and broken transfers are retried; certificate and proxy refusals, and a host
    that cannot be connected to at all, are not."""
    if _caused_by(error, ssl.SSLCertVerificationError):
        return DownloadError(
            f"GET {name}: TLS certificate verification failed ({_said(error)}); behind a TLS-"
            "inspecting proxy, point SSL_CERT_FILE at a bundle that includes its CA"
        )
    if isinstance(error, httpx.ProxyError):
        return DownloadError(f"GET {name}: proxy refused the request ({_said(error)})")
    if isinstance(error, httpx.ConnectError | httpx.ConnectTimeout):
        host = url.host if url.port is None else f"{url.host}:{url.port}"
        return Unreachable(f"network error reaching {host}: {_said(error) or type(error).__name__}")
    if isinstance(error, httpx.TimeoutException):
        return _Retryable(f"timed out ({type(error).__name__})")
    if isinstance(error, httpx.NetworkError | httpx.RemoteProtocolError):
        return _Retryable(f"{type(error).__name__}: {_said(error)}")
    return DownloadError(f"GET {name}: {type(error).__name__}: {_said(error)}")


def _said(error: BaseException) -> str:
    """An exception's message with any URL in it masked."""
    return mask_urls_in(str(error))


def _caused_by(error: BaseException, kind: type[BaseException]) -> bool:
    current: BaseException | None = error
    while current is not None:
        if isinstance(current, kind):
            return True
        current = current.__cause__ or current.__context__
    return False


# --- conditional GET against the on-disk cache ---------------------------------------------


@dataclass(frozen=True)
class Entry:
    """A cached document: body plus the validators the server sent with it."""

    origin: str  # masked: the cache holds no secret of the URL
    etag: str | None
    last_modified: str | None
    body: bytes
    seen: int = 0  # when these bytes were first fetched (Unix seconds)

    def conditional_headers(self) -> dict[str, str]:
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers


class Cache:
    """Per-key body + metadata files; the metadata holds the body's sha256.

    Both files are replaced atomically and the body is checked against the hash on load, so a
    crash, a full disk or a concurrent writer can cost a download but never yield a truncated
    document. A body is served as the document when the server answers 304 to its ETag, so the
    folder and both files must be this user's alone (:func:`read_private`), or the entry is not
    used: anyone else able to write there could plant a body under the server's current ETag.
    A key is usually the URL; only its SHA-256 is written down.
    """

    def __init__(self, directory: Path | None) -> None:
        self._dir = directory if directory is not None else default_cache_dir()

    def _paths(self, key: str) -> tuple[Path, Path]:
        name = _url_key(key)[:32]
        return self._dir / f"{name}.body", self._dir / f"{name}.json"

    def load(self, key: str) -> Entry | None:
        body_path, meta_path = self._paths(key)
        raw_meta, body = read_private(meta_path), read_private(body_path)
        if raw_meta is None or body is None:
            return None
        try:
            meta = json.loads(raw_meta)
        except ValueError:
            meta = None
        if not (
            isinstance(meta, dict)
            and meta.get("url_sha256") == _url_key(key)
            and isinstance(meta.get("origin"), str)
            and meta.get("sha256") == hashlib.sha256(body).hexdigest()
        ):
            log.info(
                "cache entry for %s is incomplete or corrupt; downloading again", mask_url(key)
            )
            return None
        etag, modified, seen = meta.get("etag"), meta.get("last_modified"), meta.get("seen")
        return Entry(
            origin=meta["origin"],
            etag=etag if isinstance(etag, str) else None,
            last_modified=modified if isinstance(modified, str) else None,
            body=body,
            seen=seen if type(seen) is int else 0,
        )

    def store(self, key: str, entry: Entry) -> None:
        body_path, meta_path = self._paths(key)
        meta = {
            "url_sha256": _url_key(key),
            "origin": entry.origin,
            "etag": entry.etag,
            "last_modified": entry.last_modified,
            "sha256": hashlib.sha256(entry.body).hexdigest(),
            "seen": entry.seen,
        }
        if not private_dir(self._dir):
            return
        try:
            write_atomically(body_path, entry.body)
            write_atomically(meta_path, json.dumps(meta, indent=1).encode())
        except OSError as error:
            log.warning("could not cache %s in %s: %s", mask_url(key), self._dir, error)


def _url_key(url: str) -> str:
    """The cache's name for a URL: its SHA-256, so that no secret in it is written down."""
    return hashlib.sha256(url.encode()).hexdigest()


def fetch_cached(
    client: httpx.Client,
    url: str,
    cache_dir: Path | None,
    *,
    headers: Mapping[str, str] | None = None,
    key: str | None = None,
    remember: bool = False,
) -> Fetched:
    """GET ``url`` conditionally against its cache entry; keep the answer when it carries
    validators, or always with ``remember`` (a feed that marks its release by when its bytes
    were first seen must remember them even from a server that sends no validators)."""
    cache, key = Cache(cache_dir), key or url
    entry = cache.load(key)
    sent = {**(headers or {}), **(entry.conditional_headers() if entry else {})}
    answer = get(client, url, sent)
    if answer.status == 304:
        if entry is None:
            raise DownloadError(
                f"GET {mask_url(url)}: HTTP 304 Not Modified to an unconditional request"
            )
        return Fetched(entry.body, entry.origin, from_cache=True, seen=entry.seen or now())
    etag, modified = answer.headers.get("ETag"), answer.headers.get("Last-Modified")
    origin = mask_url(answer.url)
    kept = entry is not None and entry.seen and entry.body == answer.body
    seen = entry.seen if kept and entry is not None else now()
    if etag or modified or remember:
        cache.store(key, Entry(origin, etag, modified, answer.body, seen))
    return Fetched(answer.body, origin, from_cache=False, seen=seen)


def now() -> int:
    """The time in Unix seconds, as fetch times are kept."""
    return int(time.time())
