"""``--source`` and ``--feed``: which feed a command reads, and from where.

``prefixes``, ``tags`` and ``diff`` read one feed (``--feed``), from ``--source`` when given.
For ``plan`` and ``apply`` a bare ``--source FILE`` (or ``download``, ``api``, an https URL)
is the azure feed's, as it always was; ``--source github=meta.json`` points one other feed at
a local file, over what ``IPSYNC_SOURCES`` says of it. The option may be given once per feed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sync.errors import SettingsError

#: What a feed's name looks like before ``=`` (``github``, ``url:atlassian``); anything else
#: before an ``=`` is part of a file name.
_FEED = re.compile(r"[a-z0-9]+(?::[a-z0-9_-]+)?")
#: ``--source`` of the commands that read one feed.
SOURCE_HELP = "download (default), api, a file path (.json/.xml, optionally .gz/.xz) or https URL"
FEED_HELP = (
    "the published feed to read (default azure): azure, github, m365, aws, google, "
    "cloudflare, or url:<name> (a url feed of IPSYNC_URL_FEEDS); with --source, a local file "
    "of that feed's document"
)
#: ``--source`` of ``plan`` and ``apply``.
SOURCES_HELP = (
    "the azure feed's release: download (default), api, a file (.json/.xml, optionally "
    ".gz/.xz) or https URL; NAME=FILE reads feed NAME (github, aws, m365, url:<name>, ...) "
    "from a local file; repeat for more feeds"
)


def split_sources(values: Sequence[str] | None) -> tuple[str | None, dict[str, str]]:
    """The azure feed's source (None: the settings') and a file per other feed."""
    from sync.feeds import DEFAULT_FEED, canonical

    source: str | None = None
    files: dict[str, str] = {}
    for value in values or ():
        name, equals, path = value.partition("=")
        feed, path = (name, path) if equals and _FEED.fullmatch(name) else (DEFAULT_FEED, value)
        try:
            feed = canonical(feed)
        except SettingsError as exc:
            raise SettingsError(f"--source {value}: {exc}") from None
        if feed in files or (feed == DEFAULT_FEED and source is not None):
            raise SettingsError(f"--source {value}: feed {feed} is given twice")
        if not path:
            raise SettingsError(f"--source {value}: name the file after '='")
        if feed == DEFAULT_FEED:
            source = path
        else:
            files[feed] = path
    return source, files
