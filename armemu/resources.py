"""The emulated firewalls beyond NSGs, one table row (:class:`Kind`) per ARM resource type.

A :class:`Resource` is the generic stored form: ARM's envelope (location, tags, sku, kind), the
normalised ``properties`` and, for SQL servers, named child rules. A Kind says how a PUT or
PATCH body becomes that form (validating as the service does), how ARM renders it, which of
its fields make the allow-list the history records, and how each write completes:

``sync``      the answer is final (200/201);
``async``     200/201 with ``provisioningState`` not final and ``Azure-AsyncOperation``;
``location``  202 with an empty body and ``Location``, which answers 202 until the operation
              ends and then 200 with the resource;
``body``      200/201 with a non-final ``provisioningState`` that later GETs of the resource
              advance (Key Vault's ``RegisteringDns``);
``located``   200/201 with the resource and a ``Location`` that ends as ``location`` does;
``accepted``  202 with an empty body, ``Azure-AsyncOperation`` and ``Location``; the client
              then reads the resource (Container Apps PATCH).

Shapes follow the examples in Microsoft's REST API specs (Storage 2025-06-01 StorageAccountCreate
and StorageAccountUpdate, Key Vault, Container Registry, SQL firewall rules).
"""

from __future__ import annotations

import copy
import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from armemu import addresses, errors
from armemu.errors import ArmErrorReply
from armemu.model import new_etag

Key = tuple[str, str, str, str]
STORAGE_IP_RULES = 400
KEYVAULT_IP_RULES = 1000
REGISTRY_IP_RULES = 100
SQL_FIREWALL_RULES = 256
#: characters a SQL firewall rule name may not hold (besides a trailing dot or space)
SQL_NAME_FORBIDDEN = set("<>*%&:\\/?#")


def resource_key(type_name: str, subscription: str, resource_group: str, name: str) -> Key:
    """ARM matches types and names case-insensitively."""
    return type_name.lower(), subscription.lower(), resource_group.lower(), name.lower()


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


@dataclass
class Resource:
    type: str
    subscription: str
    resource_group: str
    name: str
    location: str
    tags: dict[str, str] = field(default_factory=dict)
    properties: dict[str, Any] = field(default_factory=dict)
    sku: dict[str, Any] | None = None
    kind: str | None = None
    children: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: ``extendedLocation`` (an Edge Zone) as created; ARM keeps and returns it
    extended_location: dict[str, Any] | None = None
    etag: str = field(default_factory=new_etag)
    state: str = "Succeeded"
    created: str = field(default_factory=_now)

    @property
    def id(self) -> str:
        """A nested type's segments interleave with its name's (``sites/app/slots/staging``)."""
        namespace, *collections = self.type.split("/")
        path = "/".join(f"{c}/{n}" for c, n in zip(collections, self.name.split("/"), strict=True))
        return (
            f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
            f"/providers/{namespace}/{path}"
        )

    @property
    def key(self) -> Key:
        return resource_key(self.type, self.subscription, self.resource_group, self.name)

    @property
    def spec(self) -> Kind:
        return KINDS[self.type.lower()]

    def render(self) -> dict[str, Any]:
        spec = self.spec
        body: dict[str, Any] = {"id": self.id, "name": self.name, "type": spec.label or self.type}
        if spec.etag:
            body[spec.etag_key] = self.etag
        body["location"] = self.location
        if self.extended_location is not None:
            body["extendedLocation"] = dict(self.extended_location)
        if self.tags or spec.empty_tags:
            body["tags"] = dict(self.tags)
        if self.sku is not None:
            body["sku"] = dict(self.sku)
        if self.kind is not None:
            body["kind"] = self.kind
        body["properties"] = spec.render(self)
        return body

    def find_child(self, name: str) -> str | None:
        return next((n for n in self.children if n.lower() == name.lower()), None)

    def render_child(self, name: str) -> dict[str, Any]:
        child = self.spec.child
        assert child is not None
        stored = self.children.get(name)
        return {
            "id": f"{self.id}/{child.collection}/{name}",
            "name": name,
            "type": child.type or f"{self.type}/{child.collection}",
            "properties": copy.deepcopy(stored if stored is not None else child.blank(self)),
        }

    def history_entry(self) -> Any:
        return self.spec.entries(self)

    def settled(self) -> Resource:
        done = self.copy()
        done.etag, done.state = new_etag(), "Succeeded"
        return done

    def to_json(self) -> dict[str, Any]:
        return {k: copy.deepcopy(v) for k, v in self.__dict__.items()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Resource:
        return cls(**data)

    def copy(self) -> Resource:
        return copy.deepcopy(self)


@dataclass(frozen=True)
class Child:
    """Named child rules of a resource: SQL ``firewallRules`` (``sync``), flexible servers'
    ``firewallRules`` (``accepted``: 202 and an operation per rule, see armemu.children) or a
    singleton such as Event Hubs' ``networkRuleSets/default`` (``blank`` set: its value before
    any write; PUT answers 200 and replaces it, there is no DELETE)."""

    collection: str
    validate: Callable[[str, Any], dict[str, Any]]
    check: Callable[[Resource], None]
    style: str = "sync"
    #: ARM's ``type`` of a child when it is not ``{parent type}/{collection}``
    type: str | None = None
    blank: Callable[[Resource], dict[str, Any]] = lambda res: {}
    singleton: str | None = None


@dataclass(frozen=True)
class Extra:
    """A route below ``.../{collection}/{name}``: ``pattern`` continues the path, ``serve``
    answers ``(store, method, match, body, write)``."""

    name: str
    pattern: str
    #: the type ARM names in an api-version error (``sites/config``)
    type_name: str
    serve: Callable[[Any, str, dict[str, str], Any, Any], Any]


@dataclass(frozen=True)
class Kind:
    type: str
    #: fill a new version from a PUT body (the old one, or None on create), or raise ArmErrorReply
    build: Callable[[Resource | None, dict[str, Any], Resource], None]
    #: apply a PATCH body to a copy, or raise ArmErrorReply
    patch: Callable[[Resource, dict[str, Any]], None]
    render: Callable[[Resource], dict[str, Any]]
    #: the allow-list as the history records it
    entries: Callable[[Resource], Any]
    create: str
    update: str
    patch_style: str = "sync"
    delete: str = "sync"
    etag: bool = False
    #: provisioningState while a create / an update runs
    busy: tuple[str, str] = ("Creating", "Updating")
    child: Child | None = None
    #: ``type`` as rendered when it differs (Front Door WAF answers in lower case)
    label: str | None = None
    etag_key: str = "etag"
    #: status of a create that is answered at once (App Service and Cosmos DB: 200)
    created: int = 201
    #: status of a PUT that updates, answered with the resource while it runs (Front Door
    #: WAF: 202, as the spec's 200 carries no ``Location``)
    updated: int = 200
    #: ``async`` answers carry ``Location`` too; the segment of their ``Azure-AsyncOperation``
    location: bool = False
    poll: str = "operations"
    #: the refusal of a write while an operation runs when it is not ARM's 409 (AKS, Cosmos
    #: DB), given the resource and the running operation's id
    conflict: Callable[[Resource, str], ArmErrorReply] | None = None
    #: routes below an item that the kind's module serves itself (App Service config, slots)
    extras: tuple[Extra, ...] = ()
    #: answers ``tags: {}`` for a resource without tags (Key Vault) instead of leaving it out
    empty_tags: bool = False

    @property
    def namespace(self) -> str:
        return self.type.split("/")[0]

    @property
    def collection(self) -> str:
        return self.type.split("/")[1]


# ----- shared helpers ------------------------------------------------------------------------
def _props(body: dict[str, Any]) -> dict[str, Any]:
    props = body.get("properties")
    if props is None:
        return {}
    if not isinstance(props, dict):
        raise errors.bad_request_format("'properties' must be an object.")
    return props


def _user_props(props: dict[str, Any], *own: str) -> dict[str, Any]:
    """Properties the emulator keeps as sent: everything but read-only and handled fields."""
    skip = {"provisioningState", *own}
    return {k: copy.deepcopy(v) for k, v in props.items() if k not in skip}


def enum_value(value: Any, allowed: tuple[str, ...], error: ArmErrorReply) -> str:
    for option in allowed:
        if isinstance(value, str) and value.lower() == option.lower():
            return option
    raise error


def _tags_only(res: Resource, body: dict[str, Any]) -> None:
    """A PATCH that only updates tags (the handler has applied them already)."""


def merge_patch(
    handled: str, normalise: Callable[[Any, Resource], Any]
) -> Callable[[Resource, dict[str, Any]], None]:
    """PATCH semantics of Storage, Key Vault and ACR: given properties replace stored ones."""

    def patch(res: Resource, body: dict[str, Any]) -> None:
        props = _props(body)
        if isinstance(body.get("sku"), dict):
            res.sku = _sku_of(res, body["sku"])
        res.properties.update(_user_props(props, handled))
        if handled in props:
            res.properties[handled] = normalise(props[handled], res)

    return patch


def _sku_of(res: Resource, sku: dict[str, Any]) -> dict[str, Any]:
    return SKUS.get(res.type.lower(), dict)(sku)


# ----- Storage accounts ----------------------------------------------------------------------
def _storage_sku(sku: Any) -> dict[str, Any]:
    name = str((sku or {}).get("name") or "")
    if not name:
        raise errors.missing_property("sku.name")
    return {"name": name, "tier": "Premium" if name.lower().startswith("premium") else "Standard"}


def _storage_acls(acls: Any, res: Resource) -> dict[str, Any]:
    """``networkAcls`` as Storage stores it; any bad part is the one 400 Storage answers."""
    if not isinstance(acls, dict):
        raise errors.storage_invalid("networkAcls")
    default = enum_value(acls.get("defaultAction"), ACTIONS,
                    errors.storage_invalid("networkAcls.defaultAction"))  # fmt: skip
    rules = acls.get("ipRules") or []
    if not isinstance(rules, list):
        raise errors.storage_invalid("networkAcls.ipRules[]")
    if len(rules) > STORAGE_IP_RULES:
        raise errors.storage_invalid("networkAcls.ipRules[]")
    ip_rules = [{"value": _storage_value(rule), "action": "Allow"} for rule in rules]
    out: dict[str, Any] = {
        "bypass": str(acls.get("bypass") or "AzureServices"),
        "virtualNetworkRules": copy.deepcopy(acls.get("virtualNetworkRules") or []),
        "ipRules": ip_rules,
    }
    if acls.get("ipv6Rules") is not None:
        out["ipv6Rules"] = _storage_v6(acls["ipv6Rules"], res)
    if acls.get("resourceAccessRules") is not None:
        out["resourceAccessRules"] = copy.deepcopy(acls["resourceAccessRules"])
    out["defaultAction"] = default
    return out


def _storage_value(rule: Any) -> str:
    """A public IPv4 address, or a CIDR of /30 or wider: Storage refuses /31 and /32."""
    bad = errors.storage_invalid("networkAcls.ipRule[*].value")
    if not isinstance(rule, dict) or str(rule.get("action") or "Allow") != "Allow":
        raise errors.storage_invalid("networkAcls.ipRule[*].action")
    value = str(rule.get("value") or "")
    net = addresses.ipv4_network(value)
    if net is None or ("/" in value and net.prefixlen > 30) or addresses.forbidden(net):
        raise bad
    return value


def _storage_v6(rules: Any, res: Resource) -> list[dict[str, Any]]:
    """``ipv6Rules`` where the account publishes IPv6 endpoints; a public IPv6 address or a
    CIDR of /126 or wider, at most 400 (syntax and limit are the IPv4 rules' by analogy:
    unconfirmed, see armemu/README.md)."""
    if not isinstance(rules, list) or len(rules) > STORAGE_IP_RULES:
        raise errors.storage_invalid("networkAcls.ipv6Rules[]")
    if (
        rules
        and (res.properties.get("dualStackEndpointPreference") or {}).get("publishIpv6Endpoint")
        is not True
    ):
        raise errors.storage_invalid("networkAcls.ipv6Rules")
    values = [str(rule.get("value") or "") if isinstance(rule, dict) else "" for rule in rules]
    if any(addresses.public_ipv6(value) is None for value in values):
        raise errors.storage_invalid("networkAcls.ipv6Rules[*].value")
    return [{"value": value, "action": "Allow"} for value in values]


def _storage_build(old: Resource | None, body: dict[str, Any], new: Resource) -> None:
    if not body.get("kind"):
        raise errors.missing_property("kind")
    new.sku, new.kind = _storage_sku(body.get("sku")), str(body["kind"])
    props = _props(body)
    acls = props.get("networkAcls")
    new.properties = _user_props(props, "networkAcls")
    if acls is not None:
        new.properties["networkAcls"] = _storage_acls(acls, new)
    elif old is not None:
        new.properties["networkAcls"] = old.properties["networkAcls"]
    else:
        new.properties["networkAcls"] = _storage_acls({"defaultAction": "Allow"}, new)


def _storage_render(res: Resource) -> dict[str, Any]:
    endpoints: dict[str, Any] = {
        service: f"https://{res.name}.{service}.core.windows.net/"
        for service in ("blob", "queue", "table", "file", "web", "dfs")
    }
    if (res.properties.get("dualStackEndpointPreference") or {}).get("publishIpv6Endpoint"):
        endpoints["ipv6Endpoints"] = {
            service: url.replace(f"//{res.name}.", f"//{res.name}-ipv6.")
            for service, url in endpoints.items()
        }
    return {
        "provisioningState": res.state,
        "creationTime": res.created,
        "primaryEndpoints": endpoints,
        "primaryLocation": res.location,
        "statusOfPrimary": "available",
        "supportsHttpsTrafficOnly": True,
        **copy.deepcopy(res.properties),
    }


def _storage_entries(res: Resource) -> list[str]:
    acls = res.properties["networkAcls"]
    return [r["value"] for r in acls["ipRules"]] + [r["value"] for r in acls.get("ipv6Rules", [])]


# ----- Key Vault -----------------------------------------------------------------------------
def _vault_acls(acls: Any, res: Resource) -> dict[str, Any]:
    if not isinstance(acls, dict):
        raise errors.keyvault_bad_request("Invalid value found at properties.networkAcls.")
    rules = acls.get("ipRules") or []
    if len(rules) > KEYVAULT_IP_RULES:
        # unverified wording; the limit of 1,000 IP rules is documented
        raise errors.keyvault_bad_request(
            f"Invalid value found at properties.networkAcls.ipRules: {len(rules)} rules exceed "
            f"the maximum of {KEYVAULT_IP_RULES}."
        )
    bad_default = errors.keyvault_bad_request(
        "Invalid value found at properties.networkAcls.defaultAction."
    )
    return {
        "bypass": str(acls.get("bypass") or "AzureServices"),
        "defaultAction": enum_value(acls.get("defaultAction") or "Allow", ACTIONS, bad_default),
        "ipRules": [{"value": _vault_value(i, rule)} for i, rule in enumerate(rules)],
        "virtualNetworkRules": copy.deepcopy(acls.get("virtualNetworkRules") or []),
    }


def _vault_value(index: int, rule: Any) -> str:
    """A bare address comes back as ``a.b.c.d/32``, as Key Vault stores it."""
    value = str(rule.get("value") or "") if isinstance(rule, dict) else ""
    where = f"Invalid value found at properties.networkAcls.ipRules[{index}].value: {value}"
    net = addresses.ipv4_network(value)
    if net is None:
        raise errors.keyvault_bad_request(f"{where} is not a valid IPv4 address or range")
    hit = addresses.forbidden(net)
    if hit is not None:
        forbidden, label = hit
        raise errors.keyvault_bad_request(
            f"{where} belongs to forbidden range {forbidden[0]}\u2013{forbidden[-1]} ({label})"
        )
    return str(net)


def _vault_build(old: Resource | None, body: dict[str, Any], new: Resource) -> None:
    props = _props(body)
    for required in ("tenantId", "sku"):
        if not props.get(required):
            raise errors.missing_property(f"properties.{required}")
    if not isinstance(props["sku"], dict) or not props["sku"].get("name"):
        raise errors.missing_property("properties.sku.name")
    new.properties = {"accessPolicies": [], **_user_props(props, "networkAcls", "vaultUri")}
    if props.get("networkAcls") is not None:
        new.properties["networkAcls"] = _vault_acls(props["networkAcls"], new)


def _vault_render(res: Resource) -> dict[str, Any]:
    return {
        **copy.deepcopy(res.properties),
        "vaultUri": f"https://{res.name}.vault.azure.net/",
        "provisioningState": res.state,
    }


def _vault_entries(res: Resource) -> list[str]:
    return [r["value"] for r in (res.properties.get("networkAcls") or {}).get("ipRules", [])]


# ----- Container Registry --------------------------------------------------------------------
REGISTRY_SKUS = ("Basic", "Standard", "Premium")
ACTIONS = ("Allow", "Deny")


def _registry_sku(sku: Any) -> dict[str, Any]:
    name = enum_value((sku or {}).get("name") if isinstance(sku, dict) else None, REGISTRY_SKUS,
                 errors.missing_property("sku.name"))  # fmt: skip
    return {"name": name, "tier": name}


def _rule_set(rules: Any, res: Resource) -> dict[str, Any]:
    if not isinstance(rules, dict):
        raise errors.registry_error("InvalidNetworkRuleSet", "networkRuleSet must be an object.")
    default = enum_value(rules.get("defaultAction"), ACTIONS, errors.registry_error(
        "InvalidNetworkRuleSet", "networkRuleSet.defaultAction is required."))  # fmt: skip
    ip_rules = rules.get("ipRules") or []
    sku = (res.sku or {}).get("name", "")
    if sku != "Premium" and (ip_rules or default == "Deny"):
        # unverified code; shaped like ACR's DisablingPublicNetworkAccessNotSupported
        raise errors.registry_error(
            "NetworkRuleSetNotSupported",
            f"Network rule set is not supported for the SKU {sku}. For more information, "
            "please visit https://aka.ms/acr/firewall.",
        )
    if len(ip_rules) > REGISTRY_IP_RULES:
        raise errors.registry_error(
            "TooManyIpRules",
            f"The number of IP rules ({len(ip_rules)}) exceeds the limit of {REGISTRY_IP_RULES}.",
        )
    return {
        "defaultAction": default,
        "ipRules": [{"action": "Allow", "value": _registry_value(r)} for r in ip_rules],
    }


def _registry_value(rule: Any) -> str:
    value = str(rule.get("value") or "") if isinstance(rule, dict) else ""
    net = addresses.ipv4_network(value)
    if net is None or addresses.forbidden(net):
        raise errors.registry_error(
            "InvalidIpRule", f"The IP rule value '{value}' is not a public IPv4 address or range."
        )
    return value


def _registry_build(old: Resource | None, body: dict[str, Any], new: Resource) -> None:
    new.sku = _registry_sku(body.get("sku"))
    props = _props(body)
    new.properties = _user_props(props, "networkRuleSet", "loginServer", "creationDate")
    if props.get("networkRuleSet") is not None:
        new.properties["networkRuleSet"] = _rule_set(props["networkRuleSet"], new)
    elif new.sku["name"] == "Premium":
        new.properties["networkRuleSet"] = {"defaultAction": "Allow", "ipRules": []}


def _registry_render(res: Resource) -> dict[str, Any]:
    return {
        "loginServer": f"{res.name.lower()}.azurecr.io",
        "creationDate": res.created,
        "provisioningState": res.state,
        "adminUserEnabled": False,
        "publicNetworkAccess": "Enabled",
        "networkRuleBypassOptions": "AzureServices",
        "zoneRedundancy": "Disabled",
        **copy.deepcopy(res.properties),
    }


def _registry_entries(res: Resource) -> list[str]:
    return [r["value"] for r in (res.properties.get("networkRuleSet") or {}).get("ipRules", [])]


# ----- SQL servers and their firewall rules ------------------------------------------------
def _sql_build(old: Resource | None, body: dict[str, Any], new: Resource) -> None:
    props = _props(body)
    new.kind = "v12.0"
    new.properties = {"version": "12.0", **_user_props(
        props, "administratorLoginPassword", "state", "fullyQualifiedDomainName")}  # fmt: skip


def _sql_patch(res: Resource, body: dict[str, Any]) -> None:
    res.properties.update(_user_props(_props(body), "administratorLoginPassword"))


def _sql_render(res: Resource) -> dict[str, Any]:
    return {
        **copy.deepcopy(res.properties),
        "state": "Ready",
        "fullyQualifiedDomainName": f"{res.name}.database.windows.net",
        "publicNetworkAccess": res.properties.get("publicNetworkAccess", "Enabled"),
    }


def _firewall_rule(name: str, body: Any) -> dict[str, Any]:
    """A rule's ``{startIpAddress, endIpAddress}``; ``0.0.0.0``-``0.0.0.0`` is valid (Azure)."""
    if (not name or len(name) > 128 or name[-1] in ". "
            or any(c in SQL_NAME_FORBIDDEN or ord(c) < 32 for c in name)):  # fmt: skip
        raise errors.sql_error(
            "FirewallRuleNameInvalid", f"Firewall rule name '{name}' is not valid."
        )
    props = body.get("properties") if isinstance(body, dict) else None
    props = props if isinstance(props, dict) else {}
    start, end = str(props.get("startIpAddress") or ""), str(props.get("endIpAddress") or "")
    low, high = addresses.ipv4_address(start), addresses.ipv4_address(end)
    if low is None or high is None:
        raise errors.sql_error(
            "FirewallRuleNotIPv4Address",
            f"The firewall rule '{name}' must use IPv4 addresses for its start and end.",
        )
    if low > high:
        raise errors.sql_error(
            "FirewallRuleInvalidRange",
            f"The start IP address '{start}' of firewall rule '{name}' is greater than its end "
            f"IP address '{end}'.",
        )
    return {"startIpAddress": start, "endIpAddress": end}


def _firewall_limit(res: Resource) -> None:
    if len(res.children) > SQL_FIREWALL_RULES:
        raise errors.sql_error(
            "TooManyFirewallRules",
            f"The server '{res.name}' cannot have more than {SQL_FIREWALL_RULES} firewall rules.",
        )


def rule_ranges(res: Resource) -> dict[str, str]:
    """Named start-end rules as the history records them (SQL and flexible servers)."""
    return {n: f"{p['startIpAddress']}-{p['endIpAddress']}" for n, p in res.children.items()}


KINDS: dict[str, Kind] = {
    kind.type.lower(): kind
    for kind in (
        Kind("Microsoft.Storage/storageAccounts", _storage_build,
             merge_patch("networkAcls", _storage_acls), _storage_render, _storage_entries,
             create="location", update="sync", busy=("Creating", "Succeeded")),
        Kind("Microsoft.KeyVault/vaults", _vault_build,
             merge_patch("networkAcls", _vault_acls), _vault_render, _vault_entries,
             create="body", update="sync", busy=("RegisteringDns", "Succeeded"),
             empty_tags=True),
        Kind("Microsoft.ContainerRegistry/registries", _registry_build,
             merge_patch("networkRuleSet", _rule_set), _registry_render, _registry_entries,
             create="async", update="async", patch_style="async"),
        Kind("Microsoft.Sql/servers", _sql_build, _sql_patch, _sql_render, rule_ranges,
             create="location", update="sync",
             child=Child("firewallRules", _firewall_rule, _firewall_limit)),
    )
}  # fmt: skip
SKUS: dict[str, Callable[[Any], dict[str, Any]]] = {
    "microsoft.storage/storageaccounts": _storage_sku,
    "microsoft.containerregistry/registries": _registry_sku,
}
