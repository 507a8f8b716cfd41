"""A published list: a named prefix list that firewalls and scripts fetch, configured in
``IPSYNC_LISTS`` (name -> the list's fields)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from sync.core.budget import FitMode
from sync.core.formats import Format
from sync.kinds.base import Family, TargetSpec

#: A list name: safe in a blob name and a URL path, and never ending like a format.
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$"


class ListTarget(TargetSpec):
    """One published list; ``max_entries`` fits it for firewalls whose lists have a limit."""

    kind: Literal["list"] = "list"
    #: The list's name (the key in ``IPSYNC_LISTS``): 1-63 letters, digits, ``-`` or ``_``.
    name: str = Field(pattern=NAME_PATTERN)
    families: tuple[Family, ...] = ("v4", "v6")
    #: A list larger than ``max_entries`` is fitted with the fewest extra addresses.
    fit: FitMode = "cover"
    #: What ``/api/lists/<name>`` serves without an extension.
    format: Format = "plain"

    @property
    def resource_id(self) -> str:
        return f"lists/{self.name}"

    @property
    def where(self) -> str:
        return f"list {self.name} ({', '.join(self.selectors)})"
