"""The settings that reading a release needs, and the ``IPSYNC_*`` environment rules of all.

``prefixes`` and ``tags`` need only the source, cloud, cache folder and prefix bounds; reading
them here costs no pydantic import (about 0.15 s and 17 MB per run). :class:`sync.settings.
Settings` takes its defaults from :data:`FEED_DEFAULTS` and checks these fields with
:func:`check_feed_field`, so both paths accept and refuse the same values.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from sync.core.clouds import CLOUDS, Cloud
from sync.errors import SettingsError

PREFIX = "IPSYNC_"

#: The shortest prefix a release may hold, per family: (lowest, highest) allowed bound.
PREFIXLEN_RANGES = {"min_prefixlen_v4": (1, 32), "min_prefixlen_v6": (1, 128)}


class FeedSettings(NamedTuple):
    """Where the release comes from and how strictly it is read."""

    source: str = "download"
    cloud: Cloud = "Public"
    cache_dir: Path | None = None
    min_prefixlen_v4: int = 8
    min_prefixlen_v6: int = 16


FEED_DEFAULTS = FeedSettings()
FEED_FIELDS = FeedSettings._fields


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
    return value


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


def load_feed_settings(**overrides: Any) -> FeedSettings:
    """Feed settings from the environment and explicit overrides (which win)."""
    values: dict[str, Any] = from_environ(FEED_FIELDS)
    values.update({k: v for k, v in overrides.items() if v is not None})
    checked = {}
    for name, value in values.items():
        try:
            checked[name] = check_feed_field(name, value)
        except ValueError as exc:
            raise SettingsError(f"setting IPSYNC_{name.upper()}: {exc}") from None
    return FeedSettings(**checked)
