"""The table of resource types the emulator serves: those of armemu.resources and the app
platform's (armemu.web, armemu.containers, armemu.frontdoor), each module's ``KINDS``.

The app platform modules build on armemu.resources, so they join its table here rather than
there; whatever routes or renders a resource imports the table from this module.
"""

from __future__ import annotations

from armemu import containers, frontdoor, resources, web

KINDS = resources.KINDS
KINDS.update(
    (kind.type.lower(), kind) for module in (web, containers, frontdoor) for kind in module.KINDS
)
