"""The settings that reading a release needs, and the ``IPSYNC_*`` environment rules of all.

``prefixes`` and ``tags`` need only the source, cloud, cache folder and prefix bounds; reading
them here costs no pydantic-settings import (about 0.15 s and 17 MB per run).
:class:`sync.settings.Settings` inherits these fields, so both paths validate them alike.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sync.core.clouds import Cloud
from sync.errors import SettingsError

PREFIX = "IPSYNC_"


class FeedSettings(BaseModel):
    """Where the release comes from and how strictly it is read."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    source: str = "download"
    cloud: Cloud = "Public"
    cache_dir: Path | None = None
    min_prefixlen_v4: int = Field(default=8, ge=1, le=32)
    min_prefixlen_v6: int = Field(default=16, ge=1, le=128)


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
        close = difflib.get_close_matches(upper, names, n=1, cutoff=0.75)
        hint = f"; did you mean {close[0]}?" if close else ""
        warnings.append(f"{key} is not a setting and is ignored{hint}")
    return warnings


def settings_error(exc: ValidationError) -> SettingsError:
    """A one-line error naming the setting at fault as ``IPSYNC_NAME``."""
    first = exc.errors()[0]
    name = str(first["loc"][0]).upper() if first["loc"] else "settings"
    return SettingsError(f"setting IPSYNC_{name}: {first['msg']}")


def load_feed_settings(**overrides: Any) -> FeedSettings:
    """Feed settings from the environment and explicit overrides (which win)."""
    values: dict[str, Any] = from_environ(FeedSettings.model_fields)
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return FeedSettings(**values)
    except ValidationError as exc:
        raise settings_error(exc) from None
