"""The Azure download page: where the newest service-tags release of a cloud is linked.

There is no stable URL for the latest release: the download page has to be read to find it,
and how the page carries the link changed several times (2020 ``confirmation.aspx`` with a
failover link, 2024+ ``details.aspx`` with inline ``window.__DLCDetails__`` JSON and buttons).
So the whole page text is searched for release URLs rather than any one element. The pages
themselves are never cached; the release is fetched through :mod:`sync.feeds.fetch`.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from sync.core.clouds import CLOUDS
from sync.errors import DownloadError
from sync.feeds.fetch import Fetched, Unreachable, client_scope, fetch_cached, get_text

DETAILS_URL = "https://www.microsoft.com/download/details.aspx?id={id}"
CONFIRMATION_URL = "https://www.microsoft.com/download/confirmation.aspx?id={id}"
#: The only host a release link found on a page may point to.
RELEASE_HOST = "download.microsoft.com"


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


def fetch_latest(
    cloud: str, *, cache_dir: Path | None = None, client: httpx.Client | None = None
) -> Fetched:
    """The newest release of ``cloud`` as linked from its download page."""
    if cloud not in CLOUDS:
        raise DownloadError(f"unknown cloud {cloud!r}; known clouds: {', '.join(CLOUDS)}")
    with client_scope(client) as http:
        url = _latest_release_url(http, cloud)
        return fetch_cached(http, url, cache_dir)


def _latest_release_url(client: httpx.Client, cloud: str) -> str:
    """Details page first; the confirmation page when that fails or carries no link.

    A host that cannot be reached fails at once: the second page is on the same host.
    """
    problems: list[str] = []
    for template in (DETAILS_URL, CONFIRMATION_URL):
        page = template.format(id=CLOUDS[cloud].page_id)
        try:
            text = get_text(client, page, name=page)  # Microsoft's own URLs hold no secret
        except Unreachable:
            raise
        except DownloadError as error:
            problems.append(str(error))
            continue
        links = find_release_links(text, cloud)
        if links:
            return links[0][1]
        problems.append(f"{page}: no https://{RELEASE_HOST}/... link to a release in the page")
    raise DownloadError(f"no ServiceTags_{cloud}_YYYYMMDD.json link found: " + "; ".join(problems))
