"""Container Apps (``Microsoft.App/containerApps``) and AKS (``Microsoft.ContainerService/
managedClusters``): their IP allow-lists live inside the resource, so every write is the whole
resource (PUT) or a merge patch of it, and both run as long operations.

Shapes follow the REST spec examples: Microsoft.App ContainerApps stable/2026-07-01
``ContainerApps_CreateOrUpdate.json`` (PUT 200/201 with ``Azure-AsyncOperation``) and
``ContainerApps_Patch.json`` (PATCH 202 with ``azure-asyncoperation``, or 200), with
``provisioningState`` ``InProgress`` while a write runs (the 201 example, and the
ContainerAppProvisioningState enum) and the status under ``containerappOperationResults`` (the
202 example's URL); AKS
stable/2026-08-01 ``ManagedClustersGet.json`` (``eTag``) and stable/2026-07-01
``ManagedClustersCreate_Update.json`` (PUT 200/201 with ``Azure-AsyncOperation``). No spec names
the error codes for a bad entry; the AKS code ``InvalidParameter`` and the 409
``OperationNotAllowed`` are the ones the service answers in public issue threads.
"""

from __future__ import annotations

import copy
import datetime
import ipaddress
from typing import Any

from armemu import addresses, mergepatch
from armemu.errors import ArmErrorReply
from armemu.resources import Kind, Resource, _props, _tags_only

#: AKS: ``apiServerAccessProfile.authorizedIPRanges`` (docs: api-server-authorized-ip-ranges)
AKS_AUTHORIZED_RANGES = 200
ACTIONS = ("Allow", "Deny")


# ----- Container Apps ------------------------------------------------------------------------
def app_error(message: str) -> ArmErrorReply:
    # unconfirmed code: the spec documents none for a bad ipSecurityRestrictions entry
    return ArmErrorReply(400, "ContainerAppInvalidIpSecurityRestrictions", message, details=[])


def _restriction(index: int, rule: Any) -> dict[str, Any]:
    """One ``IpSecurityRestrictionRule``: a name, an IPv4 CIDR (host bits kept, as the
    examples echo ``192.168.1.1/8``), Allow or Deny."""
    where = f"properties.configuration.ingress.ipSecurityRestrictions[{index}]"
    if not isinstance(rule, dict) or not str(rule.get("name") or "").strip():
        raise app_error(f"{where}.name is required.")
    value = str(rule.get("ipAddressRange") or "")
    address, slash, length = value.partition("/")
    try:
        ipaddress.IPv4Network(value, strict=False)
        valid = bool(slash) and length.isdigit() and addresses.ipv4_address(address) is not None
    except ValueError:
        valid = False
    if not valid:
        raise app_error(
            f"{where}.ipAddressRange '{value}' is not an IPv4 address range in CIDR notation."
        )
    action = next((a for a in ACTIONS if str(rule.get("action") or "").lower() == a.lower()), "")
    if not action:
        raise app_error(f"{where}.action must be Allow or Deny, not '{rule.get('action')}'.")
    out = {"name": str(rule["name"])}
    if rule.get("description") is not None:
        out["description"] = str(rule["description"])
    return {**out, "ipAddressRange": value, "action": action}


def _check_app(props: dict[str, Any]) -> dict[str, Any]:
    """The properties with their ingress restrictions validated: all Allow or all Deny."""
    ingress = (props.get("configuration") or {}).get("ingress")
    if not isinstance(ingress, dict) or ingress.get("ipSecurityRestrictions") is None:
        return props
    rules = ingress["ipSecurityRestrictions"]
    if not isinstance(rules, list):
        raise app_error("properties.configuration.ingress.ipSecurityRestrictions must be an array.")
    ingress["ipSecurityRestrictions"] = [_restriction(i, r) for i, r in enumerate(rules)]
    if len({r["action"] for r in ingress["ipSecurityRestrictions"]}) > 1:
        raise app_error(
            "IP security restrictions must all be Allow or all be Deny: rules can only consist "
            "of ALL Allow or ALL Deny."
        )
    return props


def _app_build(old: Resource | None, body: dict[str, Any], new: Resource) -> None:
    new.properties = _check_app(copy.deepcopy(_props(body)))
    new.kind = str(body["kind"]) if body.get("kind") else None


def _app_patch(res: Resource, body: dict[str, Any]) -> None:
    """JSON Merge Patch of the properties: a sent ``ipSecurityRestrictions`` replaces the list."""
    if "properties" in body:
        res.properties = _check_app(mergepatch.merge(res.properties, _props(body)))


def _app_render(res: Resource) -> dict[str, Any]:
    props = copy.deepcopy(res.properties)
    environment = props.get("managedEnvironmentId") or props.get("environmentId")
    ingress = (props.get("configuration") or {}).get("ingress")
    if isinstance(ingress, dict):
        ingress.setdefault("fqdn", f"{res.name}.emulated.{_region(res)}.azurecontainerapps.io")
        ingress.setdefault("transport", "auto")
    return {
        **props,
        **({"managedEnvironmentId": environment} if environment else {}),
        "provisioningState": res.state,
        "runningStatus": "Running",
    }


def _region(res: Resource) -> str:
    return res.location.replace(" ", "").lower()


def _app_entries(res: Resource) -> list[str]:
    """The ranges the Allow rules admit; ``Any`` when there are none (no rules, or Deny rules
    only: all but the denied ranges is admitted)."""
    ingress = (res.properties.get("configuration") or {}).get("ingress") or {}
    rules = ingress.get("ipSecurityRestrictions") or []
    return [r["ipAddressRange"] for r in rules if r["action"] == "Allow"] or ["Any"]


# ----- AKS managed clusters ------------------------------------------------------------------
def aks_error(message: str) -> ArmErrorReply:
    # InvalidParameter is what AKS answers for a bad authorized range (public issue threads)
    return ArmErrorReply(400, "InvalidParameter", message)


def _authorized_range(value: Any) -> str:
    """A network address (``137.117.106.88/29``, not ``.90/29``) or a bare IPv4 address, which
    is kept as ``/32`` (unconfirmed); IPv6 is refused (unconfirmed)."""
    text = str(value)
    net = addresses.ipv4_network(text)
    if net is None:
        raise aks_error(
            "The value of parameter apiServerAccessProfile.authorizedIPRanges is invalid. Error "
            f"details: '{text}' is not an IPv4 address or a CIDR that starts at its network "
            "address. Refer to https://aka.ms/aks/auth-ip-ranges for more details"
        )
    return str(net)


def _check_cluster(props: dict[str, Any]) -> dict[str, Any]:
    profile = props.get("apiServerAccessProfile")
    if not isinstance(profile, dict) or profile.get("authorizedIPRanges") is None:
        return props
    ranges = profile["authorizedIPRanges"]
    if not isinstance(ranges, list):
        raise aks_error("apiServerAccessProfile.authorizedIPRanges must be an array of strings.")
    if len(ranges) > AKS_AUTHORIZED_RANGES:
        raise aks_error(  # unconfirmed wording; the limit of 200 is documented
            f"apiServerAccessProfile.authorizedIPRanges has {len(ranges)} ranges; at most "
            f"{AKS_AUTHORIZED_RANGES} are allowed. Refer to https://aka.ms/aks/auth-ip-ranges "
            "for more details"
        )
    profile["authorizedIPRanges"] = [_authorized_range(r) for r in ranges]
    if "0.0.0.0/32" in profile["authorizedIPRanges"] and len(ranges) > 1:
        raise aks_error(
            "Setting apiServerAuthorizedIPRange to 0.0.0.0/32 is not allowed with other IP "
            "ranges. Refer to https://aka.ms/aks/auth-ip-ranges for more details"
        )
    if profile.get("enablePrivateCluster") and ranges:
        raise aks_error(  # unconfirmed wording; the docs say private clusters take no ranges
            "API server authorized IP ranges are not supported for private clusters. Refer to "
            "https://aka.ms/aks/auth-ip-ranges for more details"
        )
    return props


def _cluster_build(old: Resource | None, body: dict[str, Any], new: Resource) -> None:
    new.properties = _check_cluster(copy.deepcopy(_props(body)))
    new.sku = copy.deepcopy(body["sku"]) if isinstance(body.get("sku"), dict) else None


def _cluster_render(res: Resource) -> dict[str, Any]:
    props = copy.deepcopy(res.properties)
    prefix = props.get("dnsPrefix") or res.name
    return {
        "provisioningState": res.state,
        "powerState": {"code": "Running"},
        "fqdn": f"{prefix}-emulated.hcp.{_region(res)}.azmk8s.io",
        **props,
    }


def _cluster_entries(res: Resource) -> list[str]:
    profile = res.properties.get("apiServerAccessProfile") or {}
    return list(profile.get("authorizedIPRanges") or [])


def cluster_busy(res: Resource, operation_id: str) -> ArmErrorReply:
    """AKS's 409 for a write while the cluster's last operation runs (public issue threads)."""
    started = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return ArmErrorReply(
        409,
        "OperationNotAllowed",
        "Operation is not allowed because there's an in progress update managed cluster "
        f"operation (operation ID: {operation_id}) on the managed cluster started on UTC "
        f"{started}. Please wait for it to finish before starting a new operation. You can also "
        "use 'az aks operation-abort ...' to abort the ongoing operation.",
    )


KINDS = (
    Kind("Microsoft.App/containerApps", _app_build, _app_patch, _app_render, _app_entries,
         create="async", update="async", patch_style="accepted", delete="async",
         busy=("InProgress", "InProgress"), poll="containerappOperationResults"),
    Kind("Microsoft.ContainerService/managedClusters", _cluster_build, _tags_only,
         _cluster_render, _cluster_entries, create="async", update="async",
         patch_style="async", delete="async", etag=True, etag_key="eTag",
         conflict=cluster_busy),
)  # fmt: skip
