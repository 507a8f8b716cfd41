"""Names of the entries ipsync writes where entries have names (NSG rules, SQL rules).

A name says whose it is (the target's prefix) and what it holds (its service tags), so that
it is deterministic from run to run and distinct between targets.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

_HASH_LEN = 8


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def tags_key(service_tags: Iterable[str]) -> str:
    """Short, order-independent key of a target's tags, e.g. ``azuremonitor_storage-westeurope``."""
    return "_".join(sorted({_slug(tag) for tag in service_tags}))


def entry_name(prefix: str, service_tags: Iterable[str], suffix: str, max_len: int) -> str:
    """``<prefix>-<tags key><suffix>`` in at most ``max_len`` characters.

    A tags key too long is cut and ends with 8 hex digits of its SHA-256, which keeps the name
    deterministic and distinct from other long tag lists.
    """
    key = tags_key(service_tags)
    room = max_len - len(prefix) - 1 - len(suffix)
    if len(key) > room:
        digest = hashlib.sha256(key.encode()).hexdigest()[:_HASH_LEN]
        key = key[: room - _HASH_LEN - 1].rstrip("-_") + "-" + digest
    return f"{prefix}-{key}{suffix}"
