"""A SQL server's own limits on its firewall rules; :mod:`sync.kinds.rangerules` plans them."""

from __future__ import annotations

from sync.kinds.rangerules import FirewallRule, RuleChange

__all__ = ["MAX_RULES", "NAME_MAX", "FirewallRule", "RuleChange"]

#: Firewall rules per SQL server, whoever owns them.
MAX_RULES = 256
#: Rule names: 1..128 characters, none of ``<>*%&:\/?`` or control characters, and no
#: trailing dot or space; ipsync's names use letters, digits and ``-`` only.
NAME_MAX = 128
