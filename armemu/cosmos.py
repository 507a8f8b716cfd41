"""Azure Cosmos DB accounts (``Microsoft.DocumentDB/databaseAccounts``) and their IP firewall.

Shapes from Microsoft's REST API spec examples (2025-04-15 ``CosmosDBDatabaseAccountPatch``,
``CosmosDBDatabaseAccountCreateMin``, ``CosmosDBDatabaseAccountGet``): ``properties.ipRules[]``
of ``{ipAddressOrRange}``, a single IPv4 address or an IPv4 CIDR range, host bits allowed (the
Patch example sends ``110.12.240.0/12``). A range inside 10.0.0.0/8, 100.64.0.0/10,
172.16.0.0/12 or 192.168.0.0/16 is refused ("not enforceable by the IP address filter", spec);
``0.0.0.0`` admits Azure's datacenters and is valid.

PUT and PATCH answer 200 with the account ``Updating`` (``Creating``), ``Azure-AsyncOperation``
(under ``operationsStatus``, as seen in public logs: unconfirmed) and ``Location``; the update
takes minutes in Azure, which ``slow={"databaseAccounts": N}`` reproduces. While it runs, another
write gets the 412 Cosmos DB answers. The spec documents no code for a bad entry: 400
``BadRequest`` (unconfirmed).
"""

from __future__ import annotations

import copy
import ipaddress
from typing import Any

from armemu import errors
from armemu.errors import ArmErrorReply
from armemu.resources import Kind, Resource, merge_patch

#: the ranges the spec says the IP filter cannot enforce
UNENFORCEABLE = tuple(
    ipaddress.IPv4Network(net)
    for net in ("10.0.0.0/8", "100.64.0.0/10", "172.16.0.0/12", "192.168.0.0/16")
)


def ip_rules(rules: Any, res: Resource) -> list[dict[str, str]]:
    if not isinstance(rules, list):
        raise errors.bad_request("properties.ipRules must be an array.")
    return [{"ipAddressOrRange": _entry(i, rule)} for i, rule in enumerate(rules)]


def _entry(index: int, rule: Any) -> str:
    value = rule.get("ipAddressOrRange") if isinstance(rule, dict) else None
    where = f"properties.ipRules[{index}].ipAddressOrRange '{value}'"
    try:
        if not isinstance(value, str) or value.split("/")[0].count(".") != 3:
            raise ValueError(value)
        net = ipaddress.IPv4Network(value, strict=False)
    except ValueError:
        raise errors.bad_request(f"{where} is not an IPv4 address or CIDR range.") from None
    hit = next((f for f in UNENFORCEABLE if net.subnet_of(f)), None)
    if hit is not None:
        raise errors.bad_request(f"{where} lies in {hit}, which the IP address filter cannot "
                                 "enforce.")  # fmt: skip
    return value


def busy(res: Resource, operation_id: str) -> ArmErrorReply:
    """Cosmos DB's answer to a write while another runs (seen verbatim in public issue threads,
    there for another write to the account)."""
    return ArmErrorReply(
        412,
        "PreconditionFailed",
        f"There is another user operation in progress which requires an exclusive lock on "
        f"[{res.name}]. Please retry after sometime.",
    )


def _build(old: Resource | None, body: dict[str, Any], new: Resource) -> None:
    props = body["properties"] if isinstance(body.get("properties"), dict) else {}
    for required in ("databaseAccountOfferType", "locations"):
        if not props.get(required):
            raise errors.missing_property(f"properties.{required}")
    new.kind = str(body.get("kind") or "GlobalDocumentDB")
    new.properties = {k: copy.deepcopy(v) for k, v in props.items() if k != "provisioningState"}
    new.properties["ipRules"] = ip_rules(props.get("ipRules") or [], new)


def _render(res: Resource) -> dict[str, Any]:
    return {
        "provisioningState": res.state,
        "documentEndpoint": f"https://{res.name}.documents.azure.com:443/",
        "isVirtualNetworkFilterEnabled": False,
        "virtualNetworkRules": [],
        "publicNetworkAccess": "Enabled",
        **copy.deepcopy(res.properties),
    }


KINDS = (
    Kind("Microsoft.DocumentDB/databaseAccounts", _build, merge_patch("ipRules", ip_rules),
         _render, lambda res: [r["ipAddressOrRange"] for r in res.properties["ipRules"]],
         create="async", update="async", patch_style="async", delete="async",
         created=200, location=True, poll="operationsStatus", conflict=busy),
)  # fmt: skip
