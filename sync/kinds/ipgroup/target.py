"""An IP Group target: which service tags fill one IP Group, or a numbered set of them."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from sync.kinds.base import Ipv4ResourceTarget


class IpGroupTarget(Ipv4ResourceTarget):
    """One allow-list kept as the whole address list of an IP Group (Azure Firewall).

    ``resource`` names the first group; with ``max_groups`` N > 1 a selection too large for
    one group spreads over ``<name>-2`` ... ``<name>-N`` in the same resource group.
    """

    kind: Literal["ipgroup"] = "ipgroup"
    #: ipsync owns the group's whole list: only the settings may hand a group over, never its
    #: own Azure tags alone (:func:`sync.targets.target_from_tags`).
    whole_list: ClassVar[bool] = True
    provider_type: ClassVar[str] = "Microsoft.Network/ipGroups"
    noun: ClassVar[str] = "IP Group"
    holds: ClassVar[str] = "addresses"
    name_pattern: ClassVar[str] = r"[\w][-\w.]{0,79}"
    #: The id of the set's first IP Group; it must exist (ipsync creates only the others).
    resource: str
    max_groups: int = Field(default=1, ge=1, le=100)

    @property
    def group_name(self) -> str:
        """The first group's name, which also names the set."""
        return self.resource.rsplit("/", 1)[-1]

    def member(self, number: int) -> str:
        """The name of group ``number`` of the set (1 is the named group)."""
        return self.group_name if number == 1 else f"{self.group_name}-{number}"
