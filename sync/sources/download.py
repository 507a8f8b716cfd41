"""Fetching the published service-tag release: download page, file, on-disk cache.

There is no stable URL for the latest release: the download page has to be read to find it,
and how the page carries the link changed several times (2020 ``confirmation.aspx`` with a
failover link, 2024+ ``details.aspx`` with inline ``window.__DLCDetails__`` JSON and buttons).
So the whole page text is searched for release URLs rather than any one element.

Releases are only re-downloaded when they changed (conditional GET against a cache), proxies
come from the standard ``HTTPS_PROXY``/``NO_PROXY`` variables, and TLS is always verified.
This module delivers bytes; parsing lives elsewhere.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import json
import logging
import os
import re
import ssl
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from time import sleep
from urllib.parse import urlsplit

import httpx

from sync import __version__
from sync.core.clouds import CLOUDS
from sync.core.redact import mask_url, mask_urls_in
from sync.errors import DownloadError
from sync.sources.release import default_cache_dir, private_dir, read_private

log = logging.getLogger(__name__)

DETAILS_URL = "https://www.microsoft.com/download/details.aspx?id={id}"
CONFIRMATION_URL = "https://www.microsoft.com/download/confirmation.aspx?id={id}"
#: The only host a release link found on a page may point to.
RELEASE_HOST = "download.microsoft.com"

#: Largest body accepted (a release is about 4 MB in 2025).
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


class _MaskedUrls(logging.Filter):
    """Masks URLs in httpx's own log lines ("HTTP Request: GET <url>" at INFO)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = mask_urls_in(record.getMessage()), None
        return True


logging.getLogger("httpx").addFilter(_MaskedUrls())


@dataclass(frozen=True)
class Fetched:
    data: bytes  # the file's bytes, as downloaded or from the cache
    origin: str  # final URL of the file, after redirects, masked (:func:`mask_url`)
    from_cache: bool  # True when the server answered 304 and the cached copy was used


def default_client() -> httpx.Client:
    """The client used when the caller passes none.

    ``trust_env`` makes ``HTTPS_PROXY``/``HTTP_PROXY``/``ALL_PROXY``/``NO_PROXY`` and
    ``SSL_CERT_FILE``/``SSL_CERT_DIR`` work: locked-down networks reach the internet through
    a proxy, often one that re-signs TLS with a company CA.
    """
    return httpx.Client(timeout=TIMEOUT, trust_env=True)


# --- finding the release link on a download page (pure) -----------------------------------


def _release_pattern(cloud: str) -> re.Pattern[str]:
    return re.compile(
        r"https?://[^\s\"'<>()\\]*?/ServiceTags_" + re.escape(cloud) + r"_(\d{8})\.json\b",
        re.IGNORECASE,
    )


def find_release_links(html_text: str, cloud: str) -> list[tuple[str, str]]:
    """All release links for ``cloud`` anywhere in a page, as ``(YYYYMMDD, url)``, newest first.

    Searches markup and inline script alike (JSON may escape ``/`` as ``\\/`` or ``\\u002F``).
    Only https links on download.microsoft.com with a real calendar date count.
    """
    text = html.unescape(html_text)
    text = re.sub(r"\\u002f", "/", text, flags=re.IGNORECASE).replace("\\/", "/")
    seen: set[str] = set()
    links: list[tuple[str, str]] = []
    for match in _release_pattern(cloud).finditer(text):
        url, date = match.group(0), match.group(1)
        if url.lower() in seen or not _is_release_url(url) or not _is_date(date):
            continue
        seen.add(url.lower())
        links.append((date, url))
    links.sort(key=lambda link: link[0], reverse=True)
    return links


def _is_release_url(url: str) -> bool:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:  # e.g. "host:abc"
        return False
    return (
        parts.scheme.lower() == "https"
        and parts.hostname == RELEASE_HOST
        and port in (None, 443)
        and parts.path.lower().startswith("/download/")
    )


def _is_date(yyyymmdd: str) -> bool:
    try:
        dt.datetime.strptime(yyyymmdd, "%Y%m%d")
    except ValueError:
        return False
    return True


# --- public entry points -----------------------------------------------------------------


def fetch_latest(
    cloud: str, *, cache_dir: Path | None = None, client: httpx.Client | None = None
) -> Fetched:
    """The newest release of ``cloud`` as linked from its download page."""
    if cloud not in CLOUDS:
        raise DownloadError(f"unknown cloud {cloud!r}; known clouds: {', '.join(CLOUDS)}")
    with _client_scope(client) as http:
        url = _latest_release_url(http, cloud)
        return _fetch_cached(http, url, cache_dir)


def fetch_url(
    url: str, *, cache_dir: Path | None = None, client: httpx.Client | None = None
) -> Fetched:
    """One release file from an https URL, revalidated against the cache."""
    if urlsplit(url).scheme.lower() != "https":
        raise DownloadError(f"release URL {mask_url(url)}: only https:// URLs are accepted")
    with _client_scope(client) as http:
        return _fetch_cached(http, url, cache_dir)


@contextmanager
def _client_scope(client: httpx.Client | None) -> Iterator[httpx.Client]:
    """The caller's client as is; otherwise a default one that is closed afterwards."""
    if client is not None:
        yield client
        return
    with default_client() as owned:
        yield owned


def _latest_release_url(client: httpx.Client, cloud: str) -> str:
    """Details page first; the confirmation page when that fails or carries no link.

    A host that cannot be reached fails at once: the second page is on the same host.
    """
    problems: list[str] = []
    for template in (DETAILS_URL, CONFIRMATION_URL):
        page = template.format(id=CLOUDS[cloud].page_id)
        try:
            answer = _get(client, page, {}, name=page)  # Microsoft's own URLs hold no secret
        except _Unreachable:
            raise
        except DownloadError as error:
            problems.append(str(error))
            continue
        links = find_release_links(answer.body.decode("utf-8", errors="replace"), cloud)
        if links:
            return links[0][1]
        problems.append(f"{page}: no https://{RELEASE_HOST}/... link to a release in the page")
    raise DownloadError(f"no ServiceTags_{cloud}_YYYYMMDD.json link found: " + "; ".join(problems))


# --- HTTP: retries, redirects, size cap ----------------------------------------------------


@dataclass(frozen=True)
class _Answer:
    status: int  # 200 or 304
    url: str  # after redirects
    body: bytes
    headers: httpx.Headers


class _Retryable(Exception):
    """A failure worth another attempt; ``wait_s`` is the server's ``Retry-After``, if any."""

    def __init__(self, message: str, wait_s: float | None = None) -> None:
        super().__init__(message)
        self.wait_s = wait_s


class _Unreachable(DownloadError):
    """No connection to the host at all (name not resolved, refused, no route): not retried.

    Offline or behind a firewall, retries with back-off only delay the same answer.
    """


def _get(
    client: httpx.Client, url: str, headers: dict[str, str], *, name: str | None = None
) -> _Answer:
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


def _attempt(client: httpx.Client, url: str, headers: dict[str, str], name: str) -> _Answer:
    """One GET, following redirects by hand so that every hop must stay on https."""
    current = url
    for _ in range(MAX_REDIRECTS + 1):
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
                return _Answer(304, current, b"", response.headers)
            _check_status(name, response)
            return _Answer(200, current, _read_capped(name, response), response.headers)
        except httpx.HTTPError as error:
            raise _http_failure(name, error, request.url) from error
        finally:
            response.close()
    raise DownloadError(f"GET {name}: more than {MAX_REDIRECTS} redirects")


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
        return _Unreachable(
            f"network error reaching {host}: {_said(error) or type(error).__name__}"
        )
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
class _Entry:
    """A cached release: body plus the validators the server sent with it."""

    origin: str  # masked: the cache holds no secret of the URL
    etag: str | None
    last_modified: str | None
    body: bytes

    def conditional_headers(self) -> dict[str, str]:
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers


class _Cache:
    """Per-URL body + metadata files; the metadata holds the body's sha256.

    Both files are replaced atomically and the body is checked against the hash on load, so a
    crash, a full disk or a concurrent writer can cost a download but never yield a truncated
    release. A body is served as the release when the server answers 304 to its ETag, so the
    folder and both files must be this user's alone (:func:`read_private`), or the entry is not
    used: anyone else able to write there could plant a body under the server's current ETag.
    """

    def __init__(self, directory: Path) -> None:
        self._dir = directory

    def _paths(self, url: str) -> tuple[Path, Path]:
        key = _url_key(url)[:32]
        return self._dir / f"{key}.body", self._dir / f"{key}.json"

    def load(self, url: str) -> _Entry | None:
        body_path, meta_path = self._paths(url)
        raw_meta, body = read_private(meta_path), read_private(body_path)
        if raw_meta is None or body is None:
            return None
        try:
            meta = json.loads(raw_meta)
        except ValueError:
            meta = None
        if not (
            isinstance(meta, dict)
            and meta.get("url_sha256") == _url_key(url)
            and isinstance(meta.get("origin"), str)
            and meta.get("sha256") == hashlib.sha256(body).hexdigest()
        ):
            log.info(
                "cache entry for %s is incomplete or corrupt; downloading again", mask_url(url)
            )
            return None
        etag, modified = meta.get("etag"), meta.get("last_modified")
        return _Entry(
            origin=meta["origin"],
            etag=etag if isinstance(etag, str) else None,
            last_modified=modified if isinstance(modified, str) else None,
            body=body,
        )

    def store(self, url: str, entry: _Entry) -> None:
        body_path, meta_path = self._paths(url)
        meta = {
            "url_sha256": _url_key(url),
            "origin": entry.origin,
            "etag": entry.etag,
            "last_modified": entry.last_modified,
            "sha256": hashlib.sha256(entry.body).hexdigest(),
        }
        if not private_dir(self._dir):
            return
        try:
            _write_atomically(body_path, entry.body)
            _write_atomically(meta_path, json.dumps(meta, indent=1).encode())
        except OSError as error:
            log.warning("could not cache %s in %s: %s", mask_url(url), self._dir, error)


def _url_key(url: str) -> str:
    """The cache's name for a URL: its SHA-256, so that no secret in it is written down."""
    return hashlib.sha256(url.encode()).hexdigest()


def _write_atomically(path: Path, data: bytes) -> None:
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _fetch_cached(client: httpx.Client, url: str, cache_dir: Path | None) -> Fetched:
    cache = _Cache(cache_dir if cache_dir is not None else default_cache_dir())
    entry = cache.load(url)
    answer = _get(client, url, entry.conditional_headers() if entry else {})
    if answer.status == 304:
        if entry is None:
            raise DownloadError(
                f"GET {mask_url(url)}: HTTP 304 Not Modified to an unconditional request"
            )
        return Fetched(data=entry.body, origin=entry.origin, from_cache=True)
    etag, modified = answer.headers.get("ETag"), answer.headers.get("Last-Modified")
    origin = mask_url(answer.url)
    if etag or modified:
        cache.store(url, _Entry(origin, etag, modified, answer.body))
    return Fetched(data=answer.body, origin=origin, from_cache=False)
