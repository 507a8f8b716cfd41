"""Azure Database for PostgreSQL and MySQL flexible servers and their ``firewallRules``.

Shapes from Microsoft's REST API spec examples: PostgreSQL 2025-08-01
``FirewallRulesCreateOrUpdate`` (202, ``Azure-AsyncOperation`` under ``azureAsyncOperation``
and ``Location`` under ``operationResults``), ``FirewallRulesDelete`` (202 or 204),
``FirewallRulesGet``, ``FirewallRulesListByServer``, ``ServersGet`` and
``ServersCreateWith...`` (202, no body); MySQL 2024-12-30 ``FirewallRuleCreate``
(200/201/202), ``FirewallRuleDelete`` (202 with both headers), ``FirewallRuleGet``,
``FirewallRulesListByServer`` and ``ServerCreate``.

Both services answer every rule write with 202 and an operation (armemu.children); the server is
created the same way. A rule is ``{startIpAddress, endIpAddress}``, an inclusive IPv4 range
(``0.0.0.0``-``0.0.0.0`` is Azure's "allow Azure services" rule and valid); IPv6 is refused. The
spec documents no error codes for a bad rule or too many: the emulator answers 400
``InvalidParameterValue`` and ``FirewallRuleLimitExceeded``, both unconfirmed.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from armemu import addresses
from armemu.errors import ArmErrorReply
from armemu.resources import Child, Kind, Resource, rule_ranges

#: MySQL's documented limit
MYSQL_FIREWALL_RULES = 500
#: PostgreSQL documents none; a generous bound (unconfirmed)
POSTGRESQL_FIREWALL_RULES = 1000
#: the rule name of both specs
RULE_NAME = re.compile(r"^[a-zA-Z0-9][-_a-zA-Z0-9]{0,79}(?<!-)$")


def invalid(parameter: str, value: Any) -> ArmErrorReply:
    # unconfirmed code and wording: the specs document only the common ErrorResponse
    return ArmErrorReply(
        400,
        "InvalidParameterValue",
        f"Invalid value given for parameter {parameter}: '{value}'. Specify a valid parameter "
        "value.",
    )


def firewall_rule(name: str, body: Any) -> dict[str, Any]:
    """A rule's ``{startIpAddress, endIpAddress}``: IPv4 addresses, start not above end."""
    if not RULE_NAME.match(name):
        raise invalid("firewallRuleName", name)
    props = body.get("properties") if isinstance(body, dict) else None
    props = props if isinstance(props, dict) else {}
    bounds = []
    for field in ("startIpAddress", "endIpAddress"):
        value = str(props.get(field) or "")
        address = addresses.ipv4_address(value)
        if address is None or value != str(address):
            raise invalid(field, value)
        bounds.append(address)
    if bounds[0] > bounds[1]:
        raise invalid("endIpAddress", props["endIpAddress"])
    return {"startIpAddress": props["startIpAddress"], "endIpAddress": props["endIpAddress"]}


def _limit(bound: int) -> Any:
    def check(res: Resource) -> None:
        if len(res.children) > bound:
            # unconfirmed code and wording
            raise ArmErrorReply(
                400,
                "FirewallRuleLimitExceeded",
                f"The server '{res.name}' cannot have more than {bound} firewall rules.",
            )

    return check


def _build(old: Resource | None, body: dict[str, Any], new: Resource) -> None:
    props = body["properties"] if isinstance(body.get("properties"), dict) else {}
    skip = ("administratorLoginPassword", "state", "fullyQualifiedDomainName")
    new.properties = {k: copy.deepcopy(v) for k, v in props.items() if k not in skip}
    if isinstance(body.get("sku"), dict):
        new.sku = copy.deepcopy(body["sku"])


def _render(domain: str) -> Any:
    def render(res: Resource) -> dict[str, Any]:
        return {
            "state": "Ready" if res.state == "Succeeded" else "Updating",
            "fullyQualifiedDomainName": f"{res.name}.{domain}",
            "network": {"publicNetworkAccess": "Enabled"},
            **copy.deepcopy(res.properties),
        }

    return render


def _tags_only(res: Resource, body: dict[str, Any]) -> None:
    """PATCH of a server: the emulator applies tags only (done by the store)."""


def _flexible(type_name: str, domain: str, bound: int) -> Kind:
    return Kind(
        type_name, _build, _tags_only, _render(domain), rule_ranges,
        create="accepted", update="accepted", patch_style="accepted", delete="async",
        busy=("Provisioning", "Updating"), poll="azureAsyncOperation",
        child=Child("firewallRules", firewall_rule, _limit(bound), style="accepted"),
    )  # fmt: skip


KINDS = (
    _flexible("Microsoft.DBforPostgreSQL/flexibleServers", "postgres.database.azure.com",
              POSTGRESQL_FIREWALL_RULES),
    _flexible("Microsoft.DBforMySQL/flexibleServers", "mysql.database.azure.com",
              MYSQL_FIREWALL_RULES),
)  # fmt: skip
