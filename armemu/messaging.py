"""Event Hubs and Service Bus namespaces and their singleton ``networkRuleSets/default``.

Shapes from Microsoft's REST API spec examples: Event Hubs 2026-01-01
``NameSpaces/VirtualNetworkRule/EHNetworkRuleSetGet`` and ``EHNetworkRuleSetList``, Service Bus
2021-11-01 ``NameSpaces/VirtualNetworkRule/SBNetworkRuleSetCreate``, and
``NameSpaces/EHNameSpaceCreate`` for the namespace. The rule set always exists (open: ``Allow``
and no rules until written); PUT answers 200 at once and replaces the whole set, so every field
a client does not send falls back to its default. ``ipRules`` are ``{ipMask, action: Allow}``
with an IPv4 address or CIDR.

Limits: Event Hubs takes 128 IP and virtual network rules together and none in the Basic tier;
Service Bus takes them in the Premium tier only and documents no limit, so the emulator stops at
128 as for Event Hubs (unconfirmed). The specs document no error codes: the emulator answers 400
``BadRequest`` naming what is wrong (unconfirmed).
"""

from __future__ import annotations

import copy
from typing import Any

from armemu import addresses, errors
from armemu.errors import bad_request
from armemu.resources import Child, Kind, Resource, enum_value

#: Event Hubs' documented limit of IP and virtual network rules together
EVENTHUB_NETWORK_RULES = 128
#: Service Bus documents none: the Event Hubs figure (unconfirmed)
SERVICEBUS_NETWORK_RULES = 128
SKUS = ("Basic", "Standard", "Premium")
ACCESS = ("Enabled", "Disabled", "SecuredByPerimeter")
ACTIONS = ("Allow", "Deny")


def blank(res: Resource) -> dict[str, Any]:
    """The rule set of a namespace nobody has restricted."""
    return {"publicNetworkAccess": "Enabled", "defaultAction": "Allow", "ipRules": [],
            "virtualNetworkRules": [], "trustedServiceAccessEnabled": False}  # fmt: skip


def _choice(props: dict[str, Any], field: str, allowed: tuple[str, ...], default: str) -> str:
    value = props.get(field, default)
    wrong = bad_request(f"The value '{value}' of properties.{field} is not one of "
                        f"{', '.join(allowed)}.")  # fmt: skip
    return enum_value(value, allowed, wrong)


def rule_set(name: str, body: Any) -> dict[str, Any]:
    """A PUT body as the whole new rule set: what it omits takes its default."""
    props = body.get("properties") if isinstance(body, dict) else None
    if not isinstance(props, dict):
        raise errors.missing_property("properties")
    rules, vnets = props.get("ipRules") or [], props.get("virtualNetworkRules") or []
    if not isinstance(rules, list) or not isinstance(vnets, list):
        raise bad_request("properties.ipRules and properties.virtualNetworkRules must be arrays.")
    trusted = props.get("trustedServiceAccessEnabled", False)
    if not isinstance(trusted, bool):
        raise bad_request("properties.trustedServiceAccessEnabled must be true or false.")
    return {
        "publicNetworkAccess": _choice(props, "publicNetworkAccess", ACCESS, "Enabled"),
        "defaultAction": _choice(props, "defaultAction", ACTIONS, "Allow"),
        "virtualNetworkRules": copy.deepcopy(vnets),
        "ipRules": [{"ipMask": _mask(i, rule), "action": "Allow"} for i, rule in enumerate(rules)],
        "trustedServiceAccessEnabled": trusted,
    }


def _mask(index: int, rule: Any) -> str:
    value = rule.get("ipMask") if isinstance(rule, dict) else None
    action = rule.get("action", "Allow") if isinstance(rule, dict) else None
    if action != "Allow":
        raise bad_request(f"properties.ipRules[{index}].action must be 'Allow', not '{action}'.")
    if not isinstance(value, str) or addresses.ipv4_network(value) is None:
        raise bad_request(f"properties.ipRules[{index}].ipMask '{value}' is not an IPv4 address "
                          "or an IPv4 CIDR range.")  # fmt: skip
    return value


def _check(premium_only: bool, bound: int) -> Any:
    def check(res: Resource) -> None:
        current = res.children["default"]
        count = len(current["ipRules"]) + len(current["virtualNetworkRules"])
        restricted = count > 0 or current["defaultAction"] == "Deny"
        tier = str((res.sku or {}).get("tier") or (res.sku or {}).get("name") or "")
        if restricted and (tier != "Premium" if premium_only else tier == "Basic"):
            raise bad_request(
                f"IP and virtual network rules are not supported in the {tier} tier of "
                f"namespace '{res.name}'"
                + (": they need the Premium tier." if premium_only else ".")
            )
        if count > bound:
            raise bad_request(f"The namespace '{res.name}' has {count} IP and virtual network "
                              f"rules; at most {bound} are allowed.")  # fmt: skip

    return check


def _sku(body: dict[str, Any]) -> dict[str, Any]:
    sku = body["sku"] if isinstance(body.get("sku"), dict) else {}
    match = enum_value(sku.get("name"), SKUS, errors.missing_property("sku.name"))
    return {"name": match, "tier": match, "capacity": int(sku.get("capacity") or 1)}


def _build(old: Resource | None, body: dict[str, Any], new: Resource) -> None:
    new.sku = _sku(body)
    props = body["properties"] if isinstance(body.get("properties"), dict) else {}
    new.properties = {k: copy.deepcopy(v) for k, v in props.items() if k != "provisioningState"}


def _patch(res: Resource, body: dict[str, Any]) -> None:
    if body.get("sku") is not None:
        res.sku = _sku(body)


def _render(res: Resource) -> dict[str, Any]:
    return {
        "provisioningState": res.state,
        "status": "Active",
        "createdAt": res.created,
        "serviceBusEndpoint": f"https://{res.name}.servicebus.windows.net:443/",
        "metricId": f"{res.subscription}:{res.name.lower()}",
        **copy.deepcopy(res.properties),
    }


def _entries(res: Resource) -> list[str]:
    return [r["ipMask"] for r in (res.children.get("default") or blank(res))["ipRules"]]


def _namespace(provider: str, premium_only: bool, bound: int) -> Kind:
    return Kind(
        f"{provider}/namespaces", _build, _patch, _render, _entries,
        create="sync", update="sync",
        child=Child("networkRuleSets", rule_set, _check(premium_only, bound),
                    type=f"{provider}/Namespaces/NetworkRuleSet", blank=blank,
                    singleton="default"),
    )  # fmt: skip


KINDS = (
    _namespace("Microsoft.EventHub", False, EVENTHUB_NETWORK_RULES),
    _namespace("Microsoft.ServiceBus", True, SERVICEBUS_NETWORK_RULES),
)
