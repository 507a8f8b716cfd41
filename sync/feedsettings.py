"""The settings that reading a release needs, and the ``IPSYNC_*`` environment rules of all.

``prefixes`` and ``tags`` need only the feeds' settings (source, cloud, cache folder, prefix
bounds, and each feed's own: GitHub's URL and token, the Microsoft 365 instance, the ``url``
feeds); reading them here costs no pydantic import (about 0.15 s and 17 MB per run).
:class:`sync.settings.Settings` takes its defaults from :data:`FEED_DEFAULTS` and checks these
fields with :func:`check_feed_field`, so both paths accept and refuse the same values.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

from sync.core.clouds import CLOUDS, Cloud
from sync.errors import SettingsError

PREFIX = "IPSYNC_"

#: The shortest prefix a release may hold, per family: (lowest, highest) allowed bound.
PREFIXLEN_RANGES = {"min_prefixlen_v4": (1, 32), "min_prefixlen_v6": (1, 128)}


#: Instances of the Microsoft 365 IP and URL web service (``Germany`` was retired).
M365_INSTANCES = ("Worldwide", "USGovDoD", "USGovGCCHigh", "China")
#: A ``url`` feed's name: what ``url:<name>`` addresses.
URL_FEED_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
#: Formats a ``url`` feed's document may have.
URL_FORMATS = ("lines", "json")
#: Longest JMESPath expression a ``url`` feed may hold.
MAX_SELECT_CHARS = 500
GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


class Secret:
    """A setting never shown: its repr and str are masked (a token in a log line, a traceback
    or a printed settings object reads ``***``)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


class FeedSettings(NamedTuple):
    """Where each feed's release comes from and how strictly it is read."""

    source: str = "download"
    cloud: Cloud = "Public"
    cache_dir: Path | None = None
    min_prefixlen_v4: int = 8
    min_prefixlen_v6: int = 16
    github_url: str | None = None
    github_token: Secret | None = None
    m365_instance: str = "Worldwide"
    m365_client_request_id: str | None = None
    url_feeds: tuple[dict[str, str], ...] = ()
    #: Where settings not read from the environment were given (``{"source": "--source"}``).
    origins: Mapping[str, str] = MappingProxyType({})


FEED_DEFAULTS = FeedSettings()
FEED_FIELDS = tuple(name for name in FeedSettings._fields if name != "origins")


def label_of(origins: Mapping[str, str], name: str) -> str:
    """How a message names setting ``name``: as it was given (``--source``, ``config file
    ipsync.toml, line 2: source``), else as its variable (``setting IPSYNC_SOURCE``)."""
    where = origins.get(name)
    if where is None:
        return f"setting {PREFIX}{name.upper()}"
    return where if where.startswith("-") else f"{where}: {name}"


def setting_label(settings: Any, name: str) -> str:
    """:func:`label_of` the settings' own origins (:class:`FeedSettings` or ``Settings``)."""
    return label_of(getattr(settings, "origins", None) or {}, name)


#: How an App Service Key Vault reference reads when the platform could not resolve it.
KEY_VAULT_REFERENCE = "@microsoft.keyvault("


def unresolved_reference(setting: str, value: str, outcome: str) -> bool:
    """Whether ``value`` is a Key Vault reference the platform did not resolve; if so, say it
    once in the log, with what follows (``outcome``), instead of using its text as a secret."""
    if not value.strip().lower().startswith(KEY_VAULT_REFERENCE):
        return False
    import logging

    logging.getLogger(__name__).warning(
        "%s is a Key Vault reference the platform did not resolve (check the app's identity "
        "has 'Key Vault Secrets User' on the vault, and the secret URI); %s",
        setting,
        outcome,
    )
    return True


def check_feed_field(name: str, value: Any) -> Any:
    """A feed setting's value as the run uses it; raises ValueError saying what is wrong."""
    if name == "cloud" and value not in CLOUDS:
        raise ValueError(f"{value!r} is not a cloud; clouds: {', '.join(CLOUDS)}")
    if name in PREFIXLEN_RANGES:
        low, high = PREFIXLEN_RANGES[name]
        text = str(value).strip()
        if isinstance(value, bool) or not text.lstrip("-").isdigit():
            raise ValueError(f"{value!r} is not a whole number")
        if not low <= int(text) <= high:
            raise ValueError(f"{text} is outside {low}-{high}")
        return int(text)
    if name == "cache_dir" and value is not None:
        return Path(value)
    if name == "github_url" and value is not None:
        return https_url(str(value), query=False).rstrip("/")
    if name == "github_token" and isinstance(value, str):
        if unresolved_reference(f"{PREFIX}GITHUB_TOKEN", value, "the github feed goes without"):
            return None
        return Secret(value)
    if name == "m365_instance" and value not in M365_INSTANCES:
        raise ValueError(f"{value!r} is not an instance; instances: {', '.join(M365_INSTANCES)}")
    if name == "m365_client_request_id" and value is not None and not GUID.fullmatch(value):
        raise ValueError(f"{value!r} is not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)")
    if name == "url_feeds":
        return url_feeds(value)
    return value


def https_url(url: str, *, query: bool) -> str:
    """``url`` stripped, when it is ``https://host[:port]/...`` without credentials (and
    without a query unless ``query``); a message naming it (masked) when not."""
    from urllib.parse import urlsplit

    from sync.core.redact import mask_url

    url = url.strip()
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise ValueError(f"{mask_url(url)!r} has a port that is not a number") from None
    if parts.scheme != "https" or not parts.hostname or parts.username is not None:
        raise ValueError(f"{mask_url(url)!r} is not an https://HOST/... URL without credentials")
    if parts.query and not query:
        raise ValueError(f"{mask_url(url)!r} must have no query")
    return url


def url_feeds(value: Any) -> tuple[dict[str, str], ...]:
    """The ``url`` feeds: a JSON list (or a list) of ``{name, url, format, select}``, checked
    one by one; the message names the feed and the field at fault."""
    if isinstance(value, str):
        import json

        try:
            value = json.loads(value)
        except ValueError as exc:
            raise ValueError(f"not a JSON list of url feeds ({exc})") from None
    if not isinstance(value, list | tuple):
        raise ValueError("must be a list of {name, url, format, select} tables")
    feeds: dict[str, dict[str, str]] = {}
    for index, raw in enumerate(value):
        feed = _url_feed(raw, index)
        if feed["name"] in feeds:
            raise ValueError(f"url feed {feed['name']!r} is named twice")
        feeds[feed["name"]] = feed
    return tuple(feeds.values())


def _url_feed(raw: Any, index: int) -> dict[str, str]:
    where = f"url feed #{index + 1}"
    if not isinstance(raw, Mapping) or not all(isinstance(v, str) for v in raw.values()):
        raise ValueError(f"{where}: must be a table of strings (name, url, format, select)")
    unknown = sorted(set(raw) - {"name", "url", "format", "select"})
    if unknown:
        raise ValueError(f"{where}: unknown field {unknown[0]!r} (name, url, format, select)")
    name = raw.get("name", "")
    if not URL_FEED_NAME.fullmatch(name):
        raise ValueError(f"{where}: name {name!r} must be 1-40 of a-z, 0-9, '-', '_'")
    where = f"url feed {name!r}"
    fmt = raw.get("format", "lines")
    if fmt not in URL_FORMATS:
        raise ValueError(f"{where}: format {fmt!r} is not one of {', '.join(URL_FORMATS)}")
    try:
        url = https_url(raw.get("url", ""), query=True)
    except ValueError as exc:
        raise ValueError(f"{where}: url: {exc}") from None
    select = raw.get("select", "")
    if fmt == "json":
        _check_select(select, where)
    elif select:
        raise ValueError(f"{where}: select is for format json only")
    return {"name": name, "url": url, "format": fmt, "select": select}


def _check_select(select: str, where: str) -> None:
    """A JMESPath expression that compiles (the jmespath package, imported only here)."""
    if not select or len(select) > MAX_SELECT_CHARS:
        raise ValueError(f"{where}: select must be a JMESPath expression of 1-500 characters")
    import jmespath
    from jmespath.exceptions import JMESPathError

    try:
        jmespath.compile(select)
    except JMESPathError as exc:
        message = str(exc).splitlines()[0]
        raise ValueError(f"{where}: select {select!r} is not JMESPath: {message}") from None


def from_environ(
    names: Collection[str], environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The ``IPSYNC_<NAME>`` variables of ``names`` (any case), leaving out empty ones.

    Empty means unset: a Function App often holds a setting with no value.
    """
    environ = os.environ if environ is None else environ
    wanted = {name.lower() for name in names}
    values: dict[str, str] = {}
    for key, value in environ.items():
        name = key.lower().removeprefix(PREFIX.lower())
        if key.upper().startswith(PREFIX) and name in wanted and value != "":
            values[name] = value
    return values


def unknown_variables(
    known: Collection[str], environ: Mapping[str, str] | None = None
) -> list[str]:
    """A warning per ``IPSYNC_*`` variable that names no setting, with the closest setting."""
    environ = os.environ if environ is None else environ
    names = [f"{PREFIX}{name.upper()}" for name in known]
    warnings = []
    for key in sorted(environ):
        upper = key.upper()
        if not upper.startswith(PREFIX) or upper in names:
            continue
        import difflib  # only a stray variable needs it

        close = difflib.get_close_matches(upper, names, n=1, cutoff=0.75)
        hint = f"; did you mean {close[0]}?" if close else ""
        warnings.append(f"{key} is not a setting and is ignored{hint}")
    return warnings


def load_feed_settings(origins: Mapping[str, str] | None = None, **overrides: Any) -> FeedSettings:
    """Feed settings from the environment and explicit overrides (which win); ``origins``
    names where overrides came from (``{"source": "--source"}``)."""
    values: dict[str, Any] = from_environ(FEED_FIELDS)
    given = {k: v for k, v in overrides.items() if v is not None}
    values.update(given)
    where = {k: v for k, v in (origins or {}).items() if k in given}
    checked = {}
    for name, value in values.items():
        try:
            checked[name] = check_feed_field(name, value)
        except ValueError as exc:
            raise SettingsError(f"{label_of(where, name)}: {exc}") from None
    return FeedSettings(**checked, origins=MappingProxyType(where))
