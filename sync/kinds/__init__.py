"""The registry of target kinds: ``kind`` names to implementations, loaded on first use.

Adding a kind is a sub-package here exposing ``KIND`` (see :mod:`sync.kinds.base`) and its
name in :data:`KIND_NAMES`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, cast

from pydantic import ValidationError

from sync.errors import TargetError

if TYPE_CHECKING:
    from sync.kinds.base import Kind, TargetSpec


#: Every kind ipsync can sync, by the ``kind`` value of a target: ``sync.kinds.<name>``
#: exposes it as ``KIND`` and is imported on first use.
KIND_NAMES = ("nsg", "storage", "keyvault", "acr", "sql", "ipgroup", "list")


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
    """Validate one raw target; the error names the target (``label``) and the field at fault."""
    name = kind_of(raw)
    if name not in KIND_NAMES:
        known = ", ".join(KIND_NAMES)
        problem = f"unknown kind {name!r}" if name else "no kind (or nsg) given"
        raise TargetError(
            f"target {label}: {problem}; kinds: {known}", resource=resource_of(raw), kind=name
        )
    kind = get_kind(name)
    try:
        return kind.target.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "target"
        raise TargetError(
            f"target {label}: {where}: {first['msg']}", resource=resource_of(raw), kind=name
        ) from None
