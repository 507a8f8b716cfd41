"""Azure Firewall IP Groups (``Microsoft.Network/ipGroups``): a whole list of addresses, CIDRs
and ``a-b`` ranges per group, written by a long-running PUT with weak etags."""

from __future__ import annotations

from typing import Any

from armemu import addresses, errors
from armemu.resources import Kind, Resource, _props, _tags_only

IP_GROUP_ADDRESSES = 5000


def _build(old: Resource | None, body: dict[str, Any], new: Resource) -> None:
    entries = _props(body).get("ipAddresses") or []
    if not isinstance(entries, list):
        raise errors.bad_request_format("'properties.ipAddresses' must be an array.")
    if len(entries) > IP_GROUP_ADDRESSES:
        raise errors.ip_group_error(
            "IpGroupIpAddressesLimitReached",
            f"IP Group {new.id} has {len(entries)} IP addresses; the limit is "
            f"{IP_GROUP_ADDRESSES}.",
        )
    for entry in entries:
        text = str(entry)
        if addresses.ipv4_network(text) is None and not addresses.ipv4_range(text):
            raise errors.ip_group_error(
                "InvalidIpAddressInIpGroup",
                f"IP Group {new.id} has an invalid IP address, range or prefix: {text}. Only "
                "IPv4 addresses, CIDR prefixes and a-b ranges are allowed.",
            )
    new.properties = {"ipAddresses": [str(e) for e in entries]}


def _render(res: Resource) -> dict[str, Any]:
    return {
        "provisioningState": res.state,
        "ipAddresses": list(res.properties["ipAddresses"]),
        "firewalls": [],
        "firewallPolicies": [],
    }


KINDS = (
    Kind("Microsoft.Network/ipGroups", _build, _tags_only, _render,
         lambda res: list(res.properties["ipAddresses"]),
         create="async", update="async", delete="async", etag=True,
         busy=("Updating", "Updating")),
)  # fmt: skip
