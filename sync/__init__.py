"""ipsync: keep Azure NSG allow-lists in step with the published service-tag ranges."""

__version__ = "0.1.0"
