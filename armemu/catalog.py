"""The table of resource types the emulator serves: those of armemu.resources, IP Groups
(armemu.ipgroups), the app platform's (armemu.web, .containers, .frontdoor) and the data, AI
and messaging services' (armemu.databases, .cosmos, .cognitive, .messaging).

These modules build on armemu.resources, so they join its table here rather than there;
whatever routes or renders a resource imports the table from this module.
"""

from __future__ import annotations

from armemu import (
    cognitive,
    containers,
    cosmos,
    databases,
    frontdoor,
    ipgroups,
    messaging,
    resources,
    web,
)

KINDS = resources.KINDS
KINDS.update(
    (kind.type.lower(), kind)
    for module in (ipgroups, web, containers, frontdoor, databases, cosmos, cognitive, messaging)
    for kind in module.KINDS
)
