"""The registry of target kinds: ``kind`` names to implementations, loaded on first use.

Adding a kind is a sub-package here exposing ``KIND`` (see :mod:`sync.kinds.base`) and one
loader below. The imports are explicit so that what the deployed app can run (and so the
ARM actions its role needs) is visible in the code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from sync.errors import TargetError

if TYPE_CHECKING:
    from sync.kinds.base import Kind, TargetSpec


def _nsg() -> Kind:
    from sync.kinds.nsg import KIND

    return KIND


def _sql() -> Kind:
    from sync.kinds.sql import KIND

    return KIND


def _ipgroup() -> Kind:
    from sync.kinds.ipgroup import KIND

    return KIND


#: Every kind ipsync can sync, by the ``kind`` value of a target; loaded on first use.
_LOADERS: dict[str, Callable[[], Kind]] = {"nsg": _nsg, "sql": _sql, "ipgroup": _ipgroup}
KIND_NAMES = tuple(_LOADERS)


def get_kind(name: str) -> Kind:
    return _LOADERS[name]()


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
