"""The registry of target kinds: ``kind`` names to implementations, loaded on first use.

A kind is a sub-package here, named after it, exposing ``KIND`` (see :mod:`sync.kinds.base`):
the registry finds it by its folder, and tests tie what it declares (``KIND.needs``) to the
role table, the dependencies, the docs, the schema and the emulator.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from pydantic import ValidationError

from sync.errors import TargetError

if TYPE_CHECKING:
    from sync.kinds.base import Kind, TargetSpec


#: Every kind ipsync can sync, by the ``kind`` value of a target: each folder here is one,
#: ``sync.kinds.<name>`` exposes it as ``KIND`` and is imported on first use.
KIND_NAMES = tuple(sorted(p.parent.name for p in Path(__file__).parent.glob("*/__init__.py")))


def get_kind(name: str) -> Kind:
    if name not in KIND_NAMES:
        raise KeyError(name)
    return cast("Kind", importlib.import_module(f"sync.kinds.{name}").KIND)


def kind_of(raw: Any) -> str:
    """The kind a raw target asks for: ``kind``, or ``nsg`` when it names an ``nsg``."""
    if isinstance(raw, dict):
        if "kind" in raw:
            return str(raw["kind"])
        if "nsg" in raw:
            return "nsg"
    return ""


def resource_of(raw: Any) -> str:
    """The resource id a raw target names, for messages about a target that does not parse."""
    if not isinstance(raw, dict):
        return ""
    if raw.get("kind") == "list":
        return f"lists/{raw.get('name', '')}"
    return str(raw.get("resource") or raw.get("nsg") or "")


def parse_target(raw: Any, label: str) -> TargetSpec:
    """Validate one raw target; the error names the target (``label``) and the field at fault,
    in the words of a settings file."""
    from sync.validation import location, problem

    name = kind_of(raw)
    if name not in KIND_NAMES:
        raise TargetError(
            f"target {label}: {_no_kind(raw, name)}", resource=resource_of(raw), kind=name
        )
    kind = get_kind(name)
    try:
        return kind.target.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = location(first["loc"]) or "target"
        what = problem(first)
        if first["type"] == "extra_forbidden":
            fields = [f for f in kind.target.model_fields if f != "kind"]
            what = f"not a field of {name} targets{_did_you_mean(where, fields)}"
        raise TargetError(
            f"target {label}: {where}: {what}", resource=resource_of(raw), kind=name
        ) from None


def _no_kind(raw: Any, name: str) -> str:
    """Why a raw target names no kind ipsync knows, and what to write instead."""
    from sync.validation import shown

    known = ", ".join(KIND_NAMES)
    if not isinstance(raw, dict):
        return f"must be a table (kind, resource, service_tags, ...), not {shown(raw)}"
    if name:
        return f"unknown kind {name!r}{_did_you_mean(name, KIND_NAMES)}; kinds: {known}"
    named = [key for key in raw if key in KIND_NAMES]
    if named:
        # ``storage = "<id>"`` by analogy with ``nsg = "<id>"``, which alone names its kind
        return (
            f'no kind given; write kind = "{named[0]}" and resource = "<its id>" '
            '(only an NSG may be named by nsg = "<its id>")'
        )
    return f'no kind given: write kind = "<kind>" and resource = "<its id>"; kinds: {known}'


def _did_you_mean(word: str, choices: Sequence[str]) -> str:
    import difflib

    # [*...], not list(): the package's own names may shadow builtins (a kind named list)
    close = difflib.get_close_matches(word, [*choices], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
