"""JSON Merge Patch (RFC 7396), the PATCH semantics Container Apps and App Service declare."""

from __future__ import annotations

import copy
from typing import Any


def merge(target: Any, patch: Any) -> Any:
    """``target`` with ``patch`` applied: objects merge key by key, ``null`` removes a key,
    anything else (arrays included) replaces the value whole."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    merged = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge(merged.get(key), value)
    return merged
