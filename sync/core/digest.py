"""A content digest of plain values: the same content gives the same SHA-256 in every process.

A saved plan compares a resource as read when the plan was made with the same resource read
again before it is applied, in another process, maybe under another Python version. Neither
``hash()`` (salted per process) nor ``repr`` of a set (its order follows the salt) can say
that, so values are first written as canonical JSON: mappings by key, sets sorted, dataclasses
and models by field. Pure: no I/O.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from enum import Enum
from pathlib import PurePath
from typing import Any


def canonical(value: Any) -> Any:
    """``value`` as JSON values whose text is the same wherever it is made.

    Takes None, bools, numbers, text, bytes, enums, paths, dataclasses, pydantic models,
    objects with ``as_dict()`` (the Azure SDK's models), mappings, sets, lists and tuples;
    anything else is a :class:`TypeError` naming its type (a digest that silently skipped it
    would miss a change).
    """
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, Enum):
        return canonical(value.value)
    if isinstance(value, PurePath):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: canonical(getattr(value, f.name)) for f in dataclasses.fields(value)}
    dump = getattr(value, "model_dump", None) or getattr(value, "as_dict", None)
    if callable(dump):
        return canonical(dump())
    if isinstance(value, Mapping):
        return {str(key): canonical(item) for key, item in value.items()}
    if isinstance(value, set | frozenset):
        return sorted((canonical(item) for item in value), key=text)
    if isinstance(value, list | tuple):
        return [canonical(item) for item in value]
    raise TypeError(f"no canonical form for a {type(value).__name__}")


def text(value: Any) -> str:
    """Canonical JSON of JSON values: keys sorted, no spaces, UTF-8 kept as it is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest(value: Any) -> str:
    """SHA-256 (hex) of ``value``'s canonical JSON."""
    return hashlib.sha256(text(canonical(value)).encode()).hexdigest()
