"""pydantic's validation errors told in the words of a settings file.

pydantic says ``Input should be a valid tuple``; a user wrote a TOML or JSON value, so the
message says what to write instead (``must be a list ["..."]``) and what was written.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

#: Longest shown copy of the value at fault.
SHOWN_CHARS = 60

_KINDS = {
    **dict.fromkeys(("tuple_type", "list_type", "set_type", "frozen_set_type"), 'a list ["..."]'),
    **dict.fromkeys(("dict_type", "model_type", "model_attributes_type"), "a table {...}"),
    "string_type": "text in quotes",
    **dict.fromkeys(("int_type", "int_parsing", "int_from_float"), "a whole number"),
    **dict.fromkeys(("float_type", "float_parsing", "finite_number"), "a number"),
    **dict.fromkeys(("bool_type", "bool_parsing"), "true or false"),
}
_BOUNDS = {
    "greater_than_equal": ("at least", "ge"),
    "greater_than": ("more than", "gt"),
    "less_than_equal": ("at most", "le"),
    "less_than": ("less than", "lt"),
}


def shown(value: Any) -> str:
    """A value as a settings file writes it (JSON), cut short."""
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except ValueError:
        text = repr(value)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 3] + "..."


def location(loc: Sequence[int | str]) -> str:
    """``priority_range[1]`` for pydantic's ``("priority_range", 1)``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text


def problem(error: Mapping[str, Any]) -> str:
    """What is wrong with the value, and the value: ``must be at most 1, not 2``."""
    kind = str(error.get("type", ""))
    ctx: Mapping[str, Any] = error.get("ctx") or {}
    value = error.get("input")
    if kind == "missing":
        return "required"
    if kind == "extra_forbidden":
        return "unknown field"
    if kind in ("value_error", "assertion_error"):
        return str(ctx.get("error", error.get("msg", "")))
    if kind in _KINDS:
        return f"must be {_KINDS[kind]}, not {shown(value)}"
    if kind in _BOUNDS:
        words, key = _BOUNDS[kind]
        return f"must be {words} {ctx.get(key)}, not {shown(value)}"
    if kind == "literal_error":
        return f"must be {ctx.get('expected')}, not {shown(value)}"
    if kind == "too_short":
        least = ctx.get("min_length", 1)
        return "must not be empty" if least == 1 else f"needs at least {least} items"
    if kind == "too_long":
        return f"takes at most {ctx.get('max_length')} items"
    message = str(error.get("msg", kind)).removeprefix("Value error, ")
    return message.replace("Input should be", "must be")
