"""App Service (``Microsoft.Web/sites``, Web Apps and Function Apps) with its access restrictions
in the singleton ``config/web`` and deployment slots (``sites/{name}/slots/{slot}``), each slot
with a ``config/web`` of its own.

Shapes follow the REST spec examples of Microsoft.Web/AppService: 2025-03-01
``CreateOrUpdateWebApp.json`` and ``GetSiteConfig.json``, 2026-09-01 ``UpdateSiteConfig.json``
(config PUT 200, not long-running, no etag) and ``CreateOrUpdateWebAppSlot.json`` (slot name
``site/slot``). No example carries access restrictions; what GET answers follows the service as
public issue threads show it: rules come back with ``tag: Default``, and each list ends with the
rule the default action makes, ``{"ipAddress": "Any", "priority": 2147483647, "name": "Allow
all" | "Deny all"}``, which a PUT may send back (it is dropped). An unset default action is Deny
once a list has rules, Allow while it has none. Errors have App Service's shape (``details``
with an ``errorentity``); "Only IpAddress or VnetSubnetResourceId" and "is an invalid CIDR!" are
the service's words, the other messages and the limits' answers are unconfirmed.
"""

from __future__ import annotations

import copy
import dataclasses
import ipaddress
import re
from typing import Any

from armemu import mergepatch
from armemu.errors import ArmErrorReply
from armemu.resources import Extra, Kind, Resource, _props, resource_key
from armemu.state import Reply, ResourceStore, Write

#: access restriction rules per list (docs, app-service-ip-restrictions.md; per list: unconfirmed)
SITE_RULES = 512
#: IP ranges or service tags in one multi-source rule, values per header (same page)
RULE_SOURCES = 8
DEFAULT_PRIORITY = 2147483647
TAGS = ("Default", "XffProxy", "ServiceTag")
ACTIONS = ("Allow", "Deny")
TRAFFIC_TAGS = ("vnetTrafficTag", "subnetTrafficTag")
HEADERS = ("X-Forwarded-Host", "X-Forwarded-For", "X-Azure-FDID", "X-FD-HealthProbe")
SERVICE_TAG = re.compile(r"^[A-Za-z][A-Za-z0-9.]*$")
SUBNET = re.compile(r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Network/"
                    r"virtualNetworks/[^/]+/subnets/[^/]+$", re.IGNORECASE)  # fmt: skip
LISTS = {"ipSecurityRestrictions": "ipSecurityRestrictionsDefaultAction",
         "scmIpSecurityRestrictions": "scmIpSecurityRestrictionsDefaultAction"}  # fmt: skip
#: the config of a new site (GetSiteConfig.json), with the access restriction fields
DEFAULT_CONFIG: dict[str, Any] = {
    "numberOfWorkers": 1,
    "defaultDocuments": ["Default.htm", "Default.html", "Default.asp", "index.htm", "index.html",
                         "iisstart.htm", "default.aspx", "index.php", "hostingstart.html"],
    "netFrameworkVersion": "v4.0", "phpVersion": "5.6", "pythonVersion": "", "nodeVersion": "",
    "powerShellVersion": "", "linuxFxVersion": "", "requestTracingEnabled": False,
    "remoteDebuggingEnabled": False, "httpLoggingEnabled": False,
    "acrUseManagedIdentityCreds": False, "logsDirectorySizeLimit": 35,
    "detailedErrorLoggingEnabled": False, "use32BitWorkerProcess": True,
    "webSocketsEnabled": False, "alwaysOn": False, "appCommandLine": "",
    "managedPipelineMode": "Integrated",
    "virtualApplications": [{"virtualPath": "/", "physicalPath": "site\\wwwroot",
                             "preloadEnabled": False}],
    "loadBalancing": "LeastRequests", "autoHealEnabled": False, "vnetName": "",
    "vnetRouteAllEnabled": False, "vnetPrivatePortsCount": 0, "http20Enabled": False,
    "minTlsVersion": "1.2", "scmMinTlsVersion": "1.2", "ftpsState": "AllAllowed",
    "functionAppScaleLimit": 0, "functionsRuntimeScaleMonitoringEnabled": False,
    "minimumElasticInstanceCount": 0, "azureStorageAccounts": {},
    "ipSecurityRestrictions": [], "ipSecurityRestrictionsDefaultAction": None,
    "scmIpSecurityRestrictions": [], "scmIpSecurityRestrictionsDefaultAction": None,
    "scmIpSecurityRestrictionsUseMain": False,
}  # fmt: skip


class WebError(ArmErrorReply):
    """App Service's error: the message again in ``details``, with its ``errorentity``."""

    def __init__(self, status: int, code: str, template: str, *parameters: str,
                 extended: str = "51021") -> None:  # fmt: skip
        super().__init__(status, code, template.format(*parameters))
        self.template, self.parameters, self.extended = template, list(parameters), extended

    def body(self) -> dict[str, Any]:
        entity = {"code": self.code, "message": self.message, "extendedCode": self.extended,
                  "messageTemplate": self.template, "parameters": self.parameters,
                  "innerErrors": None}  # fmt: skip
        return {"error": {
            "code": self.code, "message": self.message, "target": None,
            "details": [{"message": self.message}, {"code": self.code}, {"errorentity": entity}],
            "innererror": None,
        }}  # fmt: skip


def invalid(subject: str, reason: str) -> WebError:
    return WebError(400, "BadRequest", "{0} is invalid.  {1}", subject, reason)


def not_found(what: str, name: str) -> WebError:
    """Unconfirmed: App Service's own 404 for what lies below a missing app."""
    return WebError(404, "NotFound", "Cannot find {0} with name {1}.", what, name, extended="51004")


def _choice(value: Any, allowed: tuple[str, ...], subject: str) -> str:
    found = next((a for a in allowed if str(value).lower() == a.lower()), None)
    if found is None:
        raise invalid(subject, f"'{value}' is not one of {', '.join(allowed)}.")
    return found


# ----- access restriction rules --------------------------------------------------------------
def _ip_sources(value: str, mask: Any) -> None:
    """IPv4 or IPv6 CIDRs (leading bit match: host bits allowed), up to 8 comma-separated; a
    bare IPv4 address only with ``subnetMask``."""
    parts = [p.strip() for p in value.split(",")]
    if len(parts) > RULE_SOURCES:
        raise invalid("IpSecurityRestriction.IpAddress",
                      f"A rule can hold at most {RULE_SOURCES} IP ranges; '{value}' has "
                      f"{len(parts)}.")  # fmt: skip
    for part in parts:
        try:
            net = ipaddress.ip_network(part, strict=False)
        except ValueError:
            net = None
        bare_with_mask = "/" not in part and len(parts) == 1 and mask and net and net.version == 4
        if net is None or ("/" not in part and not bare_with_mask):
            raise invalid("IpSecurityRestriction.IpAddress", f"'{part}' is an invalid CIDR!")


def _service_tags(value: str) -> None:
    parts = [p.strip() for p in value.split(",")]
    if len(parts) > RULE_SOURCES or not all(SERVICE_TAG.match(p) for p in parts):
        raise invalid("IpSecurityRestriction.IpAddress",
                      f"'{value}' is not a service tag or a list of at most {RULE_SOURCES} "
                      "service tags.")  # fmt: skip


def _headers(raw: Any) -> dict[str, list[str]]:
    if not isinstance(raw, dict):
        raise invalid("IpSecurityRestriction.Headers", "Headers must map a name to values.")
    out = {}
    for name, values in raw.items():
        _choice(name, HEADERS, "IpSecurityRestriction.Headers")
        if not isinstance(values, list) or len(values) > RULE_SOURCES:
            raise invalid(
                "IpSecurityRestriction.Headers",
                f"Header {name} takes a list of at most {RULE_SOURCES} values.",
            )
        out[str(name)] = [str(v) for v in values]
    return out


def _rule(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise invalid("IpSecurityRestriction", "A rule must be an object.")
    address, subnet = raw.get("ipAddress"), raw.get("vnetSubnetResourceId")
    if (address is None) == (subnet is None):
        raise invalid(
            "IpSecurityRestriction",
            "Only IpAddress or VnetSubnetResourceId property must be specified.",
        )
    tag = _choice(raw.get("tag") or "Default", TAGS, "IpSecurityRestriction.Tag")
    rule: dict[str, Any] = {}
    if subnet is not None:
        if not SUBNET.match(str(subnet)):
            raise invalid(
                "IpSecurityRestriction.VnetSubnetResourceId",
                f"'{subnet}' is not a subnet resource id.",
            )
        rule["vnetSubnetResourceId"] = str(subnet)
    elif tag == "ServiceTag":
        _service_tags(str(address))
        rule["ipAddress"] = str(address)
    else:
        _ip_sources(str(address), raw.get("subnetMask"))
        rule["ipAddress"] = str(address)
        if raw.get("subnetMask"):
            rule["subnetMask"] = str(raw["subnetMask"])
    priority = raw.get("priority")
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise invalid("IpSecurityRestriction.Priority", f"'{priority}' is not an integer.")
    rule |= {
        "action": _choice(raw.get("action") or "Allow", ACTIONS, "IpSecurityRestriction.Action"),
        "tag": tag,
        "priority": priority,
    }
    rule |= {k: str(raw[k]) for k in ("name", "description") if raw.get(k) is not None}
    for key in TRAFFIC_TAGS:  # int32 fields of IpSecurityRestriction in the spec
        value = raw.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise invalid(f"IpSecurityRestriction.{key}", f"'{value}' is not an integer.")
        if value is not None:
            rule[key] = value
    if raw.get("headers") is not None:
        rule["headers"] = _headers(raw["headers"])
    return rule


def _rules(field: str, raw: Any) -> list[dict[str, Any]]:
    """A list as stored: the synthetic Any rule a GET shows is dropped, the rest checked."""
    if not isinstance(raw, list):
        raise invalid(field, "It must be an array of rules.")
    kept = [r for r in raw if not isinstance(r, dict) or str(r.get("ipAddress")).lower() != "any"]
    if len(kept) > SITE_RULES:
        raise invalid(field, f"{len(kept)} rules exceed the limit of {SITE_RULES}.")
    return [_rule(r) for r in kept]


def _config(config: dict[str, Any]) -> dict[str, Any]:
    """A config/web as stored, its access restrictions validated."""
    for field, default_field in LISTS.items():
        config[field] = _rules(field, config.get(field) or [])
        if config.get(default_field) is not None:
            config[default_field] = _choice(config[default_field], ACTIONS, default_field)
    use_main = "scmIpSecurityRestrictionsUseMain"
    config[use_main] = bool(config.get(use_main))
    return config


def _effective(config: dict[str, Any], field: str) -> str:
    return config.get(LISTS[field]) or ("Deny" if config[field] else "Allow")


def _shown(config: dict[str, Any]) -> dict[str, Any]:
    """config/web's properties as GET answers them: each list ends with its default rule."""
    shown = copy.deepcopy(config)
    for field in LISTS:
        action = _effective(config, field)
        shown[field].append(
            {
                "ipAddress": "Any",
                "action": action,
                "priority": DEFAULT_PRIORITY,
                "name": f"{action} all",
                "description": f"{action} all access",
            }
        )
    return shown


def _source(rule: dict[str, Any]) -> str:
    """What a rule admits: its ranges, service tags or subnet; an address with ``subnetMask``
    as the CIDR it stands for."""
    if rule.get("subnetMask"):
        mask = str(rule["subnetMask"])
        return str(ipaddress.ip_network(f"{rule['ipAddress']}/{mask}", strict=False))
    return str(rule.get("ipAddress") or rule.get("vnetSubnetResourceId"))


def _allowed(config: dict[str, Any], field: str) -> list[str]:
    """The sources a list's Allow rules admit, ``Any`` when the default action allows."""
    sources = [_source(rule) for rule in config[field] if rule["action"] == "Allow"]
    ranges = [part.strip() for source in sources for part in source.split(",")]
    return ranges + (["Any"] if _effective(config, field) == "Allow" else [])


# ----- sites and slots -----------------------------------------------------------------------
def _site_build(old: Resource | None, body: dict[str, Any], new: Resource) -> None:
    props = _props(body)
    new.kind = str(body.get("kind") or (old.kind if old else None) or "app")
    new.properties = {k: copy.deepcopy(v) for k, v in props.items() if k not in _SITE_READ_ONLY}
    new.children["web"] = _site_config(old, props.get("siteConfig"))


def _site_config(old: Resource | None, site_config: Any) -> dict[str, Any]:
    """A site PUT or PATCH may carry ``siteConfig``: it merges into the config/web."""
    config = copy.deepcopy(old.children["web"]) if old else copy.deepcopy(DEFAULT_CONFIG)
    if isinstance(site_config, dict):
        config = _config(mergepatch.merge(config, site_config))
    return config


def _site_patch(res: Resource, body: dict[str, Any]) -> None:
    props = _props(body)
    res.properties.update({k: copy.deepcopy(v) for k, v in props.items()
                           if k not in _SITE_READ_ONLY})  # fmt: skip
    res.children["web"] = _site_config(res, props.get("siteConfig"))


_SITE_READ_ONLY = {
    "siteConfig",
    "state",
    "hostNames",
    "defaultHostName",
    "resourceGroup",
    "enabledHostNames",
    "repositorySiteName",
    "usageState",
    "availabilityState",
}


def _site_render(res: Resource) -> dict[str, Any]:
    host = res.name.replace("/", "-").lower()
    names = [f"{host}.azurewebsites.net", f"{host}.scm.azurewebsites.net"]
    site_config = {k: copy.deepcopy(v) for k, v in res.children["web"].items()
                   if k not in LISTS and not k.startswith("scm")}  # fmt: skip
    return {
        "state": "Running", "hostNames": names[:1], "repositorySiteName": res.name.split("/")[0],
        "usageState": "Normal", "enabled": True, "enabledHostNames": names,
        "availabilityState": "Normal",
        "hostNameSslStates": [{"name": n, "sslState": "Disabled", "hostType": t}
                              for n, t in zip(names, ("Standard", "Repository"), strict=True)],
        "reserved": False, "isXenon": False, "hyperV": False, "scmSiteAlsoStopped": False,
        "clientAffinityEnabled": True, "clientCertEnabled": False, "hostNamesDisabled": False,
        "containerSize": 0, "dailyMemoryTimeQuota": 0, "httpsOnly": False,
        "redundancyMode": "None", "storageAccountRequired": False,
        **copy.deepcopy(res.properties),
        "resourceGroup": res.resource_group, "defaultHostName": names[0],
        "siteConfig": site_config,
    }  # fmt: skip


def _site_entries(res: Resource) -> dict[str, list[str]]:
    """What main and SCM admit; SCM follows main when ``scmIpSecurityRestrictionsUseMain``."""
    config = res.children["web"]
    scm = "ipSecurityRestrictions" if config["scmIpSecurityRestrictionsUseMain"] else \
        "scmIpSecurityRestrictions"  # fmt: skip
    return {"main": _allowed(config, "ipSecurityRestrictions"), "scm": _allowed(config, scm)}


# ----- routes below a site -------------------------------------------------------------------
def _no_method(method: str) -> ArmErrorReply:
    return ArmErrorReply(
        405, "MethodNotAllowed", f"The requested resource does not support http method '{method}'."
    )


def _site(store: ResourceStore, kind: Kind, m: dict[str, str], name: str) -> Resource:
    found = store.resources.get(resource_key(kind.type, m["sub"], m["rg"], name))
    if not isinstance(found, Resource):
        raise not_found("Web App", name)
    return found


def _serve_config(store: ResourceStore, kind: Kind, name: str, method: str, m: dict[str, str],
                  body: Any, write: Write) -> Reply:  # fmt: skip
    """config/web: GET; PUT replaces the config (what is not sent returns to its default,
    unconfirmed); PATCH merges into it. Both answer 200 at once."""
    if m["config"].lower() != "web":
        raise not_found("config", m["config"])
    if method not in ("GET", "PUT", "PATCH"):
        raise _no_method(method)
    with store.lock:
        res = _site(store, kind, m, name)
        if method != "GET":
            props = body.get("properties") if isinstance(body, dict) else None
            if not isinstance(props, dict):
                raise invalid("SiteConfig", "The request needs a 'properties' object.")
            base = DEFAULT_CONFIG if method == "PUT" else res.children["web"]
            writer = dataclasses.replace(kind, patch=_write_config(mergepatch.merge(base, props)),
                                         patch_style="sync")  # fmt: skip
            store.patch(writer, m["sub"], m["rg"], name, {}, write)
            res = _site(store, kind, m, name)
        return Reply(200, {"id": f"{res.id}/config/web", "name": "web",
                           "type": f"{kind.type}/config", "kind": res.kind,
                           "properties": _shown(res.children["web"])})  # fmt: skip


def _write_config(config: dict[str, Any]) -> Any:
    checked = _config(config)

    def patch(res: Resource, body: dict[str, Any]) -> None:
        res.children["web"] = copy.deepcopy(checked)

    return patch


def _site_web(store: ResourceStore, method: str, m: dict[str, str], body: Any,
              write: Write) -> Reply:  # fmt: skip
    return _serve_config(store, SITE, m["name"], method, m, body, write)


def _slot_web(store: ResourceStore, method: str, m: dict[str, str], body: Any,
              write: Write) -> Reply:  # fmt: skip
    _site(store, SITE, m, m["name"])
    return _serve_config(store, SLOT, f"{m['name']}/{m['slot']}", method, m, body, write)


def _slot(store: ResourceStore, method: str, m: dict[str, str], body: Any,
          write: Write) -> Reply:  # fmt: skip
    """A slot is a resource of its own, named ``site/slot``; it needs its site."""
    _site(store, SITE, m, m["name"])
    name = f"{m['name']}/{m['slot']}"
    actions = {
        "GET": lambda: store.get(SLOT, m["sub"], m["rg"], name),
        "PUT": lambda: store.put(SLOT, m["sub"], m["rg"], name, body, write),
        "PATCH": lambda: store.patch(SLOT, m["sub"], m["rg"], name, body, write),
        "DELETE": lambda: store.delete(SLOT, m["sub"], m["rg"], name, write),
    }
    if method not in actions:
        raise _no_method(method)
    reply: Reply = actions[method]()
    return reply


def _slots(store: ResourceStore, method: str, m: dict[str, str], body: Any,
           write: Write) -> Reply:  # fmt: skip
    if method != "GET":
        raise _no_method(method)
    _site(store, SITE, m, m["name"])
    found = store.list(SLOT, m["sub"], m["rg"]).body["value"]
    prefix = f"{m['name']}/".lower()
    return Reply(200, {"value": [s for s in found if s["name"].lower().startswith(prefix)]})


SITE = Kind("Microsoft.Web/sites", _site_build, _site_patch, _site_render, _site_entries,
            create="sync", update="sync", created=200, extras=(
                Extra("config", r"/config/(?P<config>[^/]+)", "sites/config", _site_web),
                Extra("slots", r"/slots", "sites/slots", _slots),
                Extra("slot", r"/slots/(?P<slot>[^/]+)", "sites/slots", _slot),
                Extra("slot_config", r"/slots/(?P<slot>[^/]+)/config/(?P<config>[^/]+)",
                      "sites/slots/config", _slot_web),
            ))  # fmt: skip
SLOT = dataclasses.replace(SITE, type="Microsoft.Web/sites/slots", extras=())
KINDS = (SITE, SLOT)
