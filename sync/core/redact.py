"""Masking secrets out of URLs before they reach a message, a log line or a report.

A release URL may carry credentials: a storage SAS (``?sv=...&sig=...``), a token parameter,
or ``user:password@`` in front of the host. Which query parameters are secret cannot be known
in general, so every value is masked; the scheme, host, port, path and parameter names stay,
which is what a reader needs to tell one source from another.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

MASK = "***"
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
#: An absolute URL inside free text (an exception's message), up to whitespace or a quote.
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")


def mask_url(url: str) -> str:
    """``url`` with user info, every query value and any fragment replaced by ``***``.

    Text that is not an absolute URL (a file path) comes back unchanged.
    """
    if not _SCHEME.match(url):
        return url
    scheme, netloc, path, query, fragment = urlsplit(url)
    _, at, host = netloc.rpartition("@")
    if at:
        netloc = f"{MASK}@{host}"
    if query:
        query = "&".join(map(_mask_parameter, query.split("&")))
    return urlunsplit((scheme, netloc, path, query, MASK if fragment else ""))


def mask_urls_in(text: str) -> str:
    """Every absolute URL in ``text`` masked as :func:`mask_url` does."""
    return _URL_IN_TEXT.sub(lambda match: mask_url(match[0]), text)


def _mask_parameter(item: str) -> str:
    """``name=value`` becomes ``name=***``; a bare item may itself be a secret token."""
    if not item:
        return item
    name, equals, _ = item.partition("=")
    return f"{name}={MASK}" if equals else MASK
