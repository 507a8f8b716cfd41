"""GitHub's meta API (``https://api.github.com/meta``, or an Enterprise Server's
``<url>/api/v3/meta``): the address ranges of each GitHub service, one list per key.

Selectors are the keys (``actions``, ``hooks``, ``web``, ``api``, ``git``, ``packages``,
``pages``, ``importer``, ``dependabot``, ``copilot``, ...). The API publishes no serial, so
the mark is the time its bytes were first fetched (``github-<Unix seconds>``, kept while an
``ETag`` revalidation answers 304 or the bytes stay the same), with the document's SHA-256 as
:attr:`~sync.core.feed.Release.digest`. An optional token (``IPSYNC_GITHUB_TOKEN``) is sent as
``Authorization: Bearer``; it is never logged, cached or shown, and is not sent on a redirect
to another host.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sync.core.feed import Release, decode_json, decompress
from sync.core.prefixes import parse_prefix
from sync.core.redact import mask_url
from sync.errors import FeedError
from sync.feeds.base import TWO_YEARS_S, Feed, Group, build_release, fetcher, load_document
from sync.logs import get_logger

if TYPE_CHECKING:
    import httpx

    from sync.feeds.base import AnySettings

log = get_logger(__name__)

URL = "https://api.github.com/meta"
#: Keys the meta API documents as lists of address ranges: a malformed entry in one of them
#: refuses the release. Any other key is a selector only when every entry is a prefix.
ADDRESS_KEYS = frozenset(
    {
        "hooks",
        "web",
        "api",
        "git",
        "github_enterprise_importer",
        "packages",
        "pages",
        "importer",
        "actions",
        "actions_macos",
        "codespaces",
        "dependabot",
        "copilot",
    }
)
#: The mark counts seconds from the first fetch of the bytes.
PLAUSIBLE_STEP = TWO_YEARS_S
API_VERSION = "2022-11-28"


class GithubFeed(Feed):
    name = "github"
    title = "GitHub's meta API (github.com or a GitHub Enterprise Server)"
    selectors = "a key of the meta API: actions, hooks, web, api, git, packages, pages, ..."

    step = PLAUSIBLE_STEP

    def read(
        self, settings: AnySettings, source: str | None, client: httpx.Client | None
    ) -> Release:
        url = meta_url(settings.github_url)
        headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION}
        if settings.github_token is not None:
            headers["Authorization"] = f"Bearer {settings.github_token.get_secret_value()}"
        fetch = fetcher(url, settings, headers=headers, remember=True)
        data, origin, seen = load_document(settings, source, client, fetch)
        return parse(data, origin, seen, settings)


def meta_url(base: str | None) -> str:
    """github.com's meta API, or an Enterprise Server's (``IPSYNC_GITHUB_URL``)."""
    return URL if base is None else f"{base.rstrip('/')}/api/v3/meta"


def parse(data: bytes, origin: str, seen: int, settings: AnySettings) -> Release:
    """The meta document's address keys as selectors; ``seen`` (when its bytes were first
    fetched, Unix seconds) is the release's number."""
    origin = mask_url(origin)
    text = decompress(data, origin)
    payload = decode_json(text, origin, "GitHub's meta API document")
    if not isinstance(payload, dict):
        raise FeedError(f"{origin}: not GitHub's meta API document (expected a JSON object)")
    groups: dict[str, Group] = {}
    for key, value in payload.items():
        if isinstance(value, list) and _addresses(key, value, origin):
            groups[key] = Group("", key, value)
    if not groups:
        raise FeedError(f"{origin}: no list of address ranges (hooks, web, actions, ...)")
    host = urlsplit(meta_url(settings.github_url)).hostname or "github"
    return build_release(
        "github", host, groups, origin=origin, settings=settings, number=seen, data=text
    )


def _addresses(key: str, value: list[Any], origin: str) -> bool:
    """Whether a list is one of address ranges; a documented address key holding anything
    else refuses the release, naming the key and the entry."""
    for index, item in enumerate(value):
        try:
            if not isinstance(item, str):
                raise ValueError("not a string")
            parse_prefix(item)
        except ValueError as exc:
            if key in ADDRESS_KEYS:
                raise FeedError(
                    f"{origin}: github selector {key!r}: entry {index} {item!r} is not a prefix "
                    f"({exc}); refusing the release"
                ) from None
            log.debug("%s: key %r is not a list of address ranges; skipped", origin, key)
            return False
    return True


FEED = GithubFeed()
