"""A service tags document checked field by field, in the order and with the messages pydantic
gave when it did this: :func:`tag_of` makes one entry of ``values`` a tag. Apart from
:mod:`sync.feeds.azure.parse` so that a release read as kept, which decodes the tags it uses
and nothing else, loads this alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from itertools import repeat
from typing import Any, cast

from sync.core.feed import ServiceTag


class Wrong(Exception):
    """A value of the wrong type; ``suffix`` locates it inside the field (a list index)."""

    def __init__(self, message: str, suffix: str = "") -> None:
        super().__init__(message)
        self.message, self.suffix = message, suffix


class Invalid(ValueError):
    """A structural fault: the field's dotted path, and what is wrong (``None``: missing)."""

    def __init__(self, field: str, message: str | None) -> None:
        self.field, self.message = field, message
        super().__init__(
            f"missing field {field!r}" if message is None else f"field {field!r}: {message}"
        )


_MISSING: Any = object()


def read_field(
    mapping: dict[str, Any], key: str, check: Callable[[Any], Any], path: str = ""
) -> Any:
    """``mapping[key]`` checked; a missing key is an error unless ``check`` allows None."""
    value = mapping.get(key, _MISSING)
    if value is _MISSING:
        if check in _OPTIONAL:
            return None
        raise Invalid(path + key, None)
    try:
        return check(value)
    except Wrong as exc:
        raise Invalid(path + key + exc.suffix, exc.message) from None


def tag_of(entry: Any) -> ServiceTag:
    """One ``{"name", "properties": {...}}`` entry as a tag (its lists are kept, not copied).

    An entry of exactly the published types is taken in one step; any other goes through
    :func:`_checked_tag`, which converts what it may and names what is wrong.
    """
    try:
        props = entry["properties"]
        tag = ServiceTag(
            entry["name"],
            props["region"],
            props["systemService"],
            props["changeNumber"],
            props["addressPrefixes"],
            props.get("regionId"),
            props.get("networkFeatures"),
            props.get("state"),
        )
    except (KeyError, TypeError, AttributeError):
        return _checked_tag(entry)
    if (
        type(tag.name) is str
        and tag.name
        and type(tag.region) is str
        and type(tag.system_service) is str
        and type(tag.change_number) in (int, str)  # not bool: pydantic's rules make it 1
        and _all_str(tag.address_prefixes)
        and (tag.region_id is None or type(tag.region_id) is int)
        and (tag.network_features is None or _all_str(tag.network_features))
        and (tag.state is None or type(tag.state) is str)
    ):
        return tag
    return _checked_tag(entry)


def _all_str(value: Any) -> bool:
    return type(value) is list and all(map(isinstance, value, repeat(str)))


def _checked_tag(entry: Any) -> ServiceTag:
    """:func:`tag_of` field by field, in the order and with the messages pydantic gave."""
    if not isinstance(entry, dict):
        raise Invalid("entry", "Input should be a valid dictionary or instance of ServiceTag")
    props = entry.get("properties")
    if not isinstance(props, dict):
        props = {}
    p = "properties."
    return ServiceTag(
        name=read_field(entry, "name", _name),
        region=read_field(props, "region", string, p),
        system_service=read_field(props, "systemService", string, p),
        change_number=read_field(props, "changeNumber", _int_or_str, p),
        address_prefixes=read_field(props, "addressPrefixes", _strings, p),
        region_id=read_field(props, "regionId", _optional_int, p),
        network_features=read_field(props, "networkFeatures", _optional_strings, p),
        state=read_field(props, "state", _optional_str, p),
    )


def string(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise Wrong("Input should be a valid string")


def _name(value: Any) -> str:
    if not string(value):
        raise Wrong("String should have at least 1 character")
    return cast(str, value)


def _int(value: Any) -> int:
    """An integer as JSON or a form writes it: ``7``, ``7.0``, ``"7"`` (``true`` is 1)."""
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise Wrong("Input should be a valid integer, got a number with a fractional part")
    if isinstance(value, str):
        if re.fullmatch(_INTEGER, value):
            return int(value)
        raise Wrong("Input should be a valid integer, unable to parse string as an integer")
    raise Wrong("Input should be a valid integer")


#: Compiled on first use (by ``re``): the files' numbers are JSON integers.
_INTEGER = r"\s*[+-]?[0-9]+(?:_[0-9]+)*\s*"


def _int_or_str(value: Any) -> int | str:
    """A change number: an integer in the files, a string in the Discovery API."""
    if isinstance(value, str):
        return value
    try:
        return _int(value)
    except Wrong as exc:
        raise Wrong(exc.message, ".int") from None  # named as the integer reading failed


def present(value: Any) -> Any:
    return value


def listed(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    raise Wrong("Input should be a valid list")


def _strings(value: Any) -> list[str]:
    if not all(map(isinstance, listed(value), repeat(str))):
        index = next(i for i, item in enumerate(value) if not isinstance(item, str))
        raise Wrong("Input should be a valid string", f".{index}")
    return cast(list[str], value)


def _optional_str(value: Any) -> str | None:
    return None if value is None else string(value)


def _optional_int(value: Any) -> int | None:
    return None if value is None else _int(value)


def _optional_strings(value: Any) -> list[str] | None:
    return None if value is None else _strings(value)


#: Checks of fields that may be missing or null.
_OPTIONAL = frozenset({_optional_str, _optional_int, _optional_strings})
