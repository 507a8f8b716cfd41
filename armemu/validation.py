"""What the network provider refuses in a security rule or an NSG.

Rules are checked one by one when they are written, then the whole NSG is checked as it would
be after the write; any failure is a 400 and changes nothing.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from armemu import errors
from armemu.errors import LIMIT_PREFIXES, LIMIT_RULES, ArmErrorReply

NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,78}[A-Za-z0-9_])?$")
#: A name that stands for addresses: "*", VirtualNetwork, Internet, Storage.WestEurope, ...
TAG = re.compile(r"^(\*|[A-Za-z][A-Za-z0-9._-]*)$")
ENUMS: dict[str, tuple[str, ...]] = {
    "protocol": ("Tcp", "Udp", "Icmp", "Esp", "Ah", "*"),
    "access": ("Allow", "Deny"),
    "direction": ("Inbound", "Outbound"),
}
PRIORITY_MIN, PRIORITY_MAX = 100, 4096
DESCRIPTION_MAX = 140
SIDES = ("source", "destination")


def check_name(name: str) -> None:
    if not NAME.match(name):
        raise errors.invalid_name(name)


def normalise_rule(name: str, properties: Any, rule_id: str) -> dict[str, Any]:
    """The rule's stored properties in ARM's field order and defaults, or an ArmErrorReply."""
    check_name(name)
    if not isinstance(properties, dict):
        raise errors.bad_request_format(f"Required property 'properties' not found for {name}.")
    rule: dict[str, Any] = {}
    description = properties.get("description")
    if description is not None:
        if len(str(description)) > DESCRIPTION_MAX:
            raise errors.description_too_long(rule_id, len(str(description)))
        rule["description"] = str(description)
    rule["protocol"] = _enum(properties, "protocol")
    for side in SIDES:
        _port_fields(properties, side, rule)
    for side in SIDES:
        single = properties.get(f"{side}AddressPrefix")
        if single not in (None, ""):
            rule[f"{side}AddressPrefix"] = str(single)
    rule["access"] = _enum(properties, "access")
    rule["priority"] = _priority(properties.get("priority"))
    rule["direction"] = _enum(properties, "direction")
    for side in SIDES:
        rule[f"{side}PortRanges"] = [str(p) for p in properties.get(f"{side}PortRanges") or []]
    for side in SIDES:
        rule[f"{side}AddressPrefixes"] = [
            str(p) for p in properties.get(f"{side}AddressPrefixes") or []
        ]
    _check_addresses(rule, rule_id)
    return rule


def check_nsg(nsg_id: str, rules: dict[str, dict[str, Any]], written: str | None) -> None:
    """Limits across the NSG's rules after a write of rule ``written`` (None: whole NSG)."""
    if len(rules) > LIMIT_RULES:
        raise errors.too_many_rules()
    seen: dict[tuple[str, int], str] = {}
    order = sorted(rules, key=lambda n: (n.lower() == (written or "").lower(), n.lower()))
    for name in order:
        props = rules[name]
        key = (props["direction"], props["priority"])
        if key in seen:
            raise errors.priority_conflict(seen[key], name)
        seen[key] = name
    for side in SIDES:
        count = sum(_address_count(props, side) for props in rules.values())
        if count > LIMIT_PREFIXES:
            raise errors.too_many_prefixes(nsg_id, count, f"{side.capitalize()}AddressPrefixes")


def _enum(properties: dict[str, Any], field: str) -> str:
    value = properties.get(field)
    if value is None:
        raise errors.bad_request_format(
            f"Required property '{field}' not found in JSON. Path 'properties'."
        )
    for allowed in ENUMS[field]:
        if str(value).lower() == allowed.lower():
            return allowed
    raise errors.bad_request_format(
        f"Error converting value \"{value}\" to type 'SecurityRule{field.capitalize()}'. "
        f"Path 'properties.{field}'."
    )


def _priority(value: Any) -> int:
    if value is None:
        raise errors.invalid_priority(0)
    if isinstance(value, bool) or not isinstance(value, int):
        raise errors.bad_request_format(
            f"Could not convert {value!r} to integer. Path 'properties.priority'."
        )
    if not PRIORITY_MIN <= value <= PRIORITY_MAX:
        raise errors.invalid_priority(value)
    return value


def _port_fields(properties: dict[str, Any], side: str, rule: dict[str, Any]) -> None:
    single = properties.get(f"{side}PortRange")
    many = properties.get(f"{side}PortRanges") or []
    for port in [single, *many] if single is not None else many:
        _check_port(str(port))
    if single is not None:
        rule[f"{side}PortRange"] = str(single)
    elif not many:
        rule[f"{side}PortRange"] = "*"


def _check_port(port: str) -> None:
    bounds = port.split("-")
    valid = port == "*" or (
        len(bounds) <= 2
        and all(b.isdigit() and 0 <= int(b) <= 65535 for b in bounds)
        and int(bounds[0]) <= int(bounds[-1])
    )
    if not valid:
        raise ArmErrorReply(
            400,
            "SecurityRuleInvalidPortRange",
            f"Security rule has invalid Port range. Value provided: {port}. Value should be an "
            "integer OR integer range with '-' delimiter. Valid range 0-65535.",
            details=[],
        )


def _check_addresses(rule: dict[str, Any], rule_id: str) -> None:
    families: set[int] = set()
    for side in SIDES:
        single = rule.get(f"{side}AddressPrefix")
        many: list[str] = rule[f"{side}AddressPrefixes"]
        if single is None and not many:
            raise errors.parameters_missing(rule_id, side.capitalize())
        if single is not None:
            family = _family(single, rule_id, tag_allowed=True)
            if family:
                families.add(family)
        for prefix in many:
            if TAG.match(prefix):
                raise errors.tag_in_list(f"{side.capitalize()}AddressPrefix", rule_id, prefix)
            families.add(_family(prefix, rule_id, tag_allowed=False))
    if len(families) > 1:
        raise errors.mixed_families(rule_id)


def _family(value: str, rule_id: str, *, tag_allowed: bool) -> int:
    """4 or 6 for an address or prefix, 0 for a tag; host bits set is an invalid prefix."""
    if tag_allowed and TAG.match(value):
        return 0
    if value.isdigit() and int(value) < 2**32:
        return 4  # ARM reads a bare number as an IPv4 address (recording 01: "789")
    try:
        return ipaddress.ip_network(value, strict=True).version
    except ValueError:
        raise errors.invalid_prefix(rule_id, value) from None


def _address_count(props: dict[str, Any], side: str) -> int:
    return len(props[f"{side}AddressPrefixes"]) + (f"{side}AddressPrefix" in props)
