"""A settings file (TOML or JSON) read into setting values, and where each one was written.

Messages about a setting name it as its user wrote it: a key of this file with the file and
the line (``config file ipsync.toml, line 3: max_remove_ratio``), not the environment variable
of the same setting. TOML and JSON parsers give no line for a key they read well, so the line
is found in the text: a top-level key at the start of a line, or the ``[[targets]]`` header of
a target.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from pathlib import Path
from typing import Any

from sync.errors import SettingsError

_TOML_KEY = re.compile(r"""^[ \t]*(?:"([^"]+)"|'([^']+)'|([A-Za-z0-9_-]+))[ \t]*=""")
_TOML_TABLE = re.compile(r"""^[ \t]*\[(\[?)[ \t]*["']?([A-Za-z0-9_-]+)""")
_TOML_AT = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")
#: Target fields: a key like these at the top of a file belongs under ``[[targets]]``.
_TARGET_FIELDS = frozenset({"kind", "nsg", "resource", "service_tags", "sources", "families"})


def read_config(path: Path, known: Collection[str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The settings of a file (keys lower-case, ``IPSYNC_`` prefix dropped) and, per setting
    (and per target, as ``targets.<index>``), where it was written."""
    where = f"config file {path}"
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".json"):
        raise SettingsError(f"{where}: must be a .toml or .json file")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(f"{where}: {exc.strerror}") from None
    data = _parse(text, suffix, where)
    if not isinstance(data, dict):
        raise SettingsError(f"{where}: must hold a table/object of settings")
    lines = _toml_lines(text) if suffix == ".toml" else _json_lines(text)
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for key, value in data.items():
        name = key.lower().removeprefix("ipsync_")
        line = lines.get(key)
        at = f"{where}, line {line}" if line else where
        if name not in known:
            raise SettingsError(f"{at}: unknown setting {key!r}{_hint(name, known)}")
        values[name] = value
        origins[name] = at
    for index, line in enumerate(lines.get("[[targets]]", ())):
        origins[f"targets.{index}"] = f"{where}, line {line}"
    return values, origins


def _parse(text: str, suffix: str, where: str) -> Any:
    import tomllib  # only a settings file needs it; ``prefixes`` starts without

    try:
        return tomllib.loads(text) if suffix == ".toml" else json.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        at = _TOML_AT.search(message)
        if at is None:
            raise SettingsError(f"{where}: not valid TOML: {message}") from None
        problem = f"{message[: at.start()]} (column {at[2]})"
        raise SettingsError(f"{where}, line {at[1]}: not valid TOML: {problem}") from None
    except json.JSONDecodeError as exc:
        problem = f"{exc.msg} (column {exc.colno})"
        raise SettingsError(f"{where}, line {exc.lineno}: not valid JSON: {problem}") from None


def _hint(name: str, known: Collection[str]) -> str:
    if name in _TARGET_FIELDS:
        return "; it is a target's field: write it under a [[targets]] header"
    import difflib  # only a miss needs it

    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.75)
    return f"; did you mean {close[0]!r}?" if close else ""


def _toml_lines(text: str) -> dict[str, Any]:
    """Line of each top-level key (a ``[table]`` header counts as its key's line), and the
    lines of the ``[[targets]]`` headers under ``"[[targets]]"``."""
    lines: dict[str, Any] = {}
    headers: list[int] = []
    in_table = False
    for number, line in enumerate(text.splitlines(), start=1):
        table = _TOML_TABLE.match(line)
        if table is not None:
            in_table = True
            lines.setdefault(table[2], number)
            if table[1] and table[2] == "targets":
                headers.append(number)
            continue
        key = _TOML_KEY.match(line)
        if key is not None and not in_table:
            lines.setdefault(key[1] or key[2] or key[3], number)
    lines["[[targets]]"] = headers
    return lines


def _json_lines(text: str) -> dict[str, Any]:
    """Line of the first ``"key":`` of each key (top-level keys come first in most files)."""
    lines: dict[str, Any] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        for key in re.findall(r'"([^"\\]+)"\s*:', line):
            lines.setdefault(key, number)
    return lines
