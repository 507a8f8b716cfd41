"""Address syntax shared by the firewalls: public IPv4 addresses, CIDRs and ranges."""

from __future__ import annotations

import ipaddress

#: ranges no firewall of a public endpoint accepts, with the label Key Vault names them by
FORBIDDEN: tuple[tuple[ipaddress.IPv4Network, str], ...] = tuple(
    (ipaddress.IPv4Network(net), label)
    for net, label in (
        ("0.0.0.0/8", "current network"),
        ("10.0.0.0/8", "private IP addresses"),
        ("100.64.0.0/10", "shared address space"),
        ("127.0.0.0/8", "loopback addresses"),
        ("169.254.0.0/16", "link-local addresses"),
        ("172.16.0.0/12", "private IP addresses"),
        ("192.168.0.0/16", "private IP addresses"),
        ("224.0.0.0/4", "multicast addresses"),
        ("240.0.0.0/4", "reserved addresses"),
    )
)


def ipv4_network(value: str) -> ipaddress.IPv4Network | None:
    """An IPv4 address or CIDR without host bits, or None when it is anything else."""
    parts = value.split("/")
    if len(parts) > 2 or parts[0].count(".") != 3:
        return None
    try:
        return ipaddress.IPv4Network(value, strict=True)
    except ValueError:
        return None


#: IPv6 ranges that are not a public endpoint's clients (loopback and unspecified are inside ::/8)
FORBIDDEN_V6 = tuple(
    ipaddress.IPv6Network(net)
    for net in ("::/8", "::ffff:0:0/96", "64:ff9b::/96", "fc00::/7", "fe80::/10", "ff00::/8")
)


def public_ipv6(value: str) -> ipaddress.IPv6Network | None:
    """A public IPv6 address, or a CIDR of /126 or wider without host bits; else None."""
    try:
        net = ipaddress.IPv6Network(value, strict=True)
    except ValueError:
        return None
    if ("/" in value and net.prefixlen > 126) or any(net.overlaps(f) for f in FORBIDDEN_V6):
        return None
    return net


def ipv4_address(value: str) -> ipaddress.IPv4Address | None:
    if value.count(".") != 3:
        return None
    try:
        return ipaddress.IPv4Address(value)
    except ValueError:
        return None


def forbidden(net: ipaddress.IPv4Network) -> tuple[ipaddress.IPv4Network, str] | None:
    """The forbidden range ``net`` overlaps, if any."""
    return next(((f, label) for f, label in FORBIDDEN if net.overlaps(f)), None)


def ipv4_range(value: str) -> bool:
    """``a.b.c.d-e.f.g.h`` with start <= end."""
    start, sep, end = value.partition("-")
    low, high = ipv4_address(start.strip()), ipv4_address(end.strip())
    return bool(sep) and low is not None and high is not None and low <= high
