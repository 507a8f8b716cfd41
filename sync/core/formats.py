"""Renderers of a prefix list for the firewalls and scripts that read one: pure, no I/O.

Every format is rendered from the same JSON document (the ``json`` format itself: the tags,
their change numbers, ``v4`` and ``v6``, and what else is known, like the list's name and the
release), so a stored list can be served in any format without being computed again.

- ``plain``: one CIDR per line, the external dynamic list (EDL) format of Palo Alto Networks,
  FortiGate threat feeds and most firewalls that poll a URL.
- ``json``: the document.
- ``csv``: ``prefix,family`` with a header line.
- ``checkpoint``: Check Point's Generic Data Center file (R81+): ``version``, ``description``
  and ``objects``, each with ``name``, ``id`` (a UUID), ``description`` and ``ranges``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, get_args

from sync.core.prefixes import family_of

Format = Literal["plain", "json", "csv", "checkpoint"]
FORMATS: tuple[Format, ...] = get_args(Format)

#: The media type each format is served as.
MEDIA_TYPES: dict[Format, str] = {
    "plain": "text/plain; charset=utf-8",
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "checkpoint": "application/json",
}

#: File name endings, longest first so that ``.checkpoint.json`` wins over ``.json``.
EXTENSIONS: tuple[tuple[str, Format], ...] = (
    (".checkpoint.json", "checkpoint"),
    (".json", "json"),
    (".csv", "csv"),
    (".txt", "plain"),
)

#: The namespace of the Check Point object ids: one list name always gets the same id, so the
#: gateway sees the same object, updated, and not a new one on every change.
_CHECKPOINT_IDS = "5d1f6b1e-6c0b-4b8e-9a55-0f4d2c9a7e31"


def extension(fmt: Format) -> str:
    """The file name ending of a format (``.txt`` for plain)."""
    return next(ending for ending, known in EXTENSIONS if known == fmt)


def split_name(text: str) -> tuple[str, Format | None]:
    """``edl.csv`` -> (``edl``, ``csv``); a name without a known ending has no format."""
    lowered = text.lower()
    for ending, fmt in EXTENSIONS:
        if lowered.endswith(ending) and len(text) > len(ending):
            return text[: -len(ending)], fmt
    return text, None


def prefixes_of(document: Mapping[str, Any]) -> list[str]:
    """The list's prefixes: IPv4 first, then IPv6, in the document's order."""
    return [*document.get("v4", ()), *document.get("v6", ())]


def describe(name: str, document: Mapping[str, Any]) -> str:
    """One line saying where a list comes from: its tags and the release."""
    tags = ", ".join(document.get("tags", ())) or "no service tag"
    release = document.get("release")
    source = f"{document.get('cloud') or 'Azure'} release {release}" if release else "Azure"
    return f"{name}: service tags {tags} ({source}), published by ipsync"


def render(fmt: Format, name: str, document: Mapping[str, Any]) -> bytes:
    """The list ``name`` in format ``fmt``, as bytes to serve or store (UTF-8, final newline)."""
    prefixes = prefixes_of(document)
    if fmt == "plain":
        return "".join(f"{prefix}\n" for prefix in prefixes).encode()
    if fmt == "csv":
        rows = ["prefix,family", *(f"{p},{family_of(p)}" for p in prefixes)]
        return "".join(f"{row}\r\n" for row in rows).encode()
    if fmt == "json":
        return _json(document)
    if fmt == "checkpoint":
        return _json(checkpoint(name, describe(name, document), prefixes))
    raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")


def checkpoint(name: str, description: str, prefixes: Sequence[str]) -> dict[str, Any]:
    """A Generic Data Center file holding one object: the list (both IP families)."""
    import uuid  # only this format needs it; the command line imports this module at start

    return {
        "version": "1.0",
        "description": description,
        "objects": [
            {
                "name": name,
                "id": str(uuid.uuid5(uuid.UUID(_CHECKPOINT_IDS), name)),
                "description": description,
                "ranges": list(prefixes),
            }
        ],
    }


def _json(value: Any) -> bytes:
    import json

    return (json.dumps(value, indent=2) + "\n").encode()
