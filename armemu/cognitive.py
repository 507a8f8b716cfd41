"""Azure AI services / Azure OpenAI accounts (``Microsoft.CognitiveServices/accounts``).

Shapes from Microsoft's REST API spec examples (2026-09-01 ``CreateAccountMin`` and
``UpdateAccount``, 2025-09-01 ``GetAccount``): the account carries an ``etag``; PUT answers 201
(200 when replacing) and PATCH 200, each with the account still in progress,
``Azure-AsyncOperation`` and ``Location``. ``properties.networkAcls`` is ``{defaultAction,
bypass, ipRules[{value}], virtualNetworkRules}``, replaced whole.

Entries: a public IPv4 address or CIDR without host bits; at most 100 IP and 100 virtual network
rules (documented). Whether /31 and /32 CIDRs are refused is unconfirmed (an SDK issue reports
it): they are refused as Storage refuses them, so a client that passes here writes single
addresses. The spec documents no code for a bad entry or too many: 400 ``BadRequest``
(unconfirmed).
"""

from __future__ import annotations

import copy
from typing import Any

from armemu import addresses, errors
from armemu.resources import ACTIONS, Kind, Resource, enum_value, merge_patch

#: documented: IP rules, and virtual network rules, per account
COGNITIVE_IP_RULES = 100
COGNITIVE_VNET_RULES = 100


def network_acls(acls: Any, res: Resource) -> dict[str, Any]:
    """``networkAcls`` as the account stores it; any bad part refuses the whole write."""
    if not isinstance(acls, dict):
        raise errors.bad_request("properties.networkAcls must be an object.")
    rules, vnets = acls.get("ipRules") or [], acls.get("virtualNetworkRules") or []
    if not isinstance(rules, list) or len(rules) > COGNITIVE_IP_RULES:
        raise errors.bad_request(f"properties.networkAcls.ipRules holds at most "
                                 f"{COGNITIVE_IP_RULES} rules.")  # fmt: skip
    if not isinstance(vnets, list) or len(vnets) > COGNITIVE_VNET_RULES:
        raise errors.bad_request(f"properties.networkAcls.virtualNetworkRules holds at most "
                                 f"{COGNITIVE_VNET_RULES} rules.")  # fmt: skip
    default = enum_value(acls.get("defaultAction", "Allow"), ACTIONS, errors.bad_request(
        "properties.networkAcls.defaultAction must be Allow or Deny."))  # fmt: skip
    return {
        "defaultAction": default,
        "bypass": str(acls.get("bypass") or "AzureServices"),
        "ipRules": [{"value": _value(i, rule)} for i, rule in enumerate(rules)],
        "virtualNetworkRules": copy.deepcopy(vnets),
    }


def _value(index: int, rule: Any) -> str:
    value = rule.get("value") if isinstance(rule, dict) else None
    net = addresses.ipv4_network(value) if isinstance(value, str) else None
    if net is None or addresses.forbidden(net) or (net.prefixlen > 30 and "/" in str(value)):
        raise errors.bad_request(
            f"properties.networkAcls.ipRules[{index}].value '{value}' is not a public IPv4 "
            "address or a CIDR range of /30 or wider."
        )
    return str(value)


def _build(old: Resource | None, body: dict[str, Any], new: Resource) -> None:
    sku = body["sku"] if isinstance(body.get("sku"), dict) else {}
    if not body.get("kind"):
        raise errors.missing_property("kind")
    if not sku.get("name"):
        raise errors.missing_property("sku.name")
    new.kind, new.sku = str(body["kind"]), {"name": str(sku["name"])}
    props = body["properties"] if isinstance(body.get("properties"), dict) else {}
    new.properties = {k: copy.deepcopy(v) for k, v in props.items()
                      if k not in ("provisioningState", "endpoint", "networkAcls")}  # fmt: skip
    if props.get("networkAcls") is not None:
        new.properties["networkAcls"] = network_acls(props["networkAcls"], new)


def _render(res: Resource) -> dict[str, Any]:
    return {
        "endpoint": f"https://{res.name.lower()}.cognitiveservices.azure.com/",
        "provisioningState": res.state,
        "publicNetworkAccess": "Enabled",
        **copy.deepcopy(res.properties),
    }


def _entries(res: Resource) -> list[str]:
    return [r["value"] for r in (res.properties.get("networkAcls") or {}).get("ipRules", [])]


KINDS = (
    Kind("Microsoft.CognitiveServices/accounts", _build, merge_patch("networkAcls", network_acls),
         _render, _entries, create="async", update="async", patch_style="async",
         delete="async", etag=True, location=True, busy=("Creating", "Accepted")),
)  # fmt: skip
