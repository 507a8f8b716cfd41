"""A local Azure Resource Manager for network security groups and service tags.

The real azure-mgmt-network SDK talks to it over verified HTTPS; it serves the tests, the
offline demo and the benchmarks. See :mod:`armemu.state` for the semantics.
"""

from armemu.server import Emulator

__all__ = ["Emulator"]
