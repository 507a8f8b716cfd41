"""Just enough reading of Bicep text for the infra tests (no Bicep compiler exists here).

Handles the shapes our templates use: ``param name type = default``, ``var name = {...}``
object literals with one ``key: expression`` per line, and ``[...]`` lists of strings.
"""

from __future__ import annotations

import re
from pathlib import Path

INFRA = Path(__file__).resolve().parents[2] / "infra"

_PARAM = re.compile(r"^param\s+(\w+)\s+\w+(?:\s*=\s*(.+))?$", re.MULTILINE)
_KEY = re.compile(r"^\s*'?([A-Za-z_][\w.-]*)'?\s*:\s*(.+?)\s*$")
_STRING = re.compile(r"'((?:[^'\\]|\\.)*)'")


def read(relative: str) -> str:
    """A template under ``infra/`` with its ``//`` comments removed."""
    return strip_comments((INFRA / relative).read_text(encoding="utf-8"))


def strip_comments(text: str) -> str:
    """Drop ``//`` line comments, leaving ``//`` inside '...' strings (URLs) alone."""
    return "\n".join(_strip_line(line) for line in text.splitlines())


def _strip_line(line: str) -> str:
    quoted = False
    for pos, char in enumerate(line):
        if char == "'":
            quoted = not quoted
        elif not quoted and line.startswith("//", pos):
            return line[:pos]
    return line


def literal_after(text: str, marker: str) -> str:
    """The bracketed literal (``{...}`` or ``[...]``) that follows ``marker``, brackets included."""
    start = text.find(marker)
    if start < 0:
        raise LookupError(f"{marker!r} not found")
    open_at = min(i for i in (text.find("{", start), text.find("[", start)) if i >= 0)
    closer = {"{": "}", "[": "]"}[text[open_at]]
    depth = 0
    for pos in range(open_at, len(text)):
        char = text[pos]
        if char in "{[":
            depth += 1
        elif char in "}]":
            depth -= 1
            if depth == 0:
                if char != closer:
                    raise ValueError(f"unbalanced brackets after {marker!r}")
                return text[open_at : pos + 1]
    raise ValueError(f"unclosed literal after {marker!r}")


def object_entries(literal: str) -> dict[str, str]:
    """Top-level ``key: expression`` pairs of a one-entry-per-line object literal."""
    entries: dict[str, str] = {}
    depth = 0
    for line in literal.splitlines():
        if depth == 1 and (match := _KEY.match(line)):
            entries[match[1]] = match[2]
        depth += line.count("{") + line.count("[") - line.count("}") - line.count("]")
    return entries


def strings(literal: str) -> list[str]:
    """Every single-quoted string in a literal, in order."""
    return [s.replace("\\'", "'") for s in _STRING.findall(literal)]


def params(text: str) -> dict[str, str | None]:
    """``param`` names and their default expressions (None when the parameter is required)."""
    return {name: (default.strip() if default else None) for name, default in _PARAM.findall(text)}


def decorators(text: str, param: str) -> str:
    """The ``@...`` lines directly above ``param <param>``, joined."""
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if re.match(rf"param\s+{param}\b", line))
    above: list[str] = []
    for line in reversed(lines[:at]):
        if not line.startswith("@"):
            break
        above.insert(0, line)
    return "\n".join(above)


def assignments(text: str) -> dict[str, str]:
    """``param name = value`` lines of a ``.bicepparam`` file (value: the rest of the line)."""
    return dict(re.findall(r"^param\s+(\w+)\s*=\s*(.+?)\s*$", text, re.MULTILINE))
