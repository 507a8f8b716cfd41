"""Subscriptions, resource groups and the generic resource lists (Microsoft.Resources).

Shapes follow the REST API spec examples (ResourceGroups_CreateOrUpdate, _Get, _Delete,
_CheckExistence, _List; Resources_ListByResourceGroup, _List; Subscriptions_List; Tenants_List;
Providers_Get). A group exists once created, and also while a resource lives in it: the
emulator lets writes into a group nobody created (the tests rely on it), where ARM answers 404
``ResourceGroupNotFound``. Deleting a group deletes every resource in it at once; its
operation answers 200 on the first poll.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from typing import Any

from armemu import apiversions, errors
from armemu.errors import ArmErrorReply
from armemu.state import Reply, ResourceStore

GroupKey = tuple[str, str]
#: the tenant every emulated subscription belongs to
TENANT_ID = "1e5e0000-0000-4000-8000-0000000000aa"
RESOURCE_FIELDS = ("id", "name", "type", "sku", "kind", "location", "extendedLocation", "tags")
_FILTER = re.compile(
    r"^\s*(resourceGroup|resourceType|tagName|tagValue|name)\s+eq\s+'([^']*)'\s*$", re.I
)


def _key(sub: str, rg: str) -> GroupKey:
    return sub.lower(), rg.lower()


def _group_id(sub: str, name: str) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{name}"


def render(sub: str, group: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": _group_id(sub, group["name"]),
        "name": group["name"],
        "type": "Microsoft.Resources/resourceGroups",
        "location": group["location"],
    }
    if group.get("tags"):
        body["tags"] = dict(group["tags"])
    body["properties"] = {"provisioningState": group.get("state", "Succeeded")}
    return body


def all_groups(store: ResourceStore, sub: str) -> dict[str, dict[str, Any]]:
    """The subscription's groups by lower-case name: created ones and those resources imply."""
    found: dict[str, dict[str, Any]] = {}
    for item in store.snapshot():
        if item.subscription.lower() == sub.lower():
            name = item.resource_group
            found.setdefault(name.lower(), {"name": name, "location": item.location})
    with store.lock:
        found.update({rg: dict(g) for (s, rg), g in store.groups.items() if s == sub.lower()})
    return found


def _existing(store: ResourceStore, sub: str, rg: str) -> dict[str, Any]:
    group = all_groups(store, sub).get(rg.lower())
    if group is None:
        raise errors.resource_group_not_found(rg)
    return group


def put(store: ResourceStore, sub: str, rg: str, body: Any) -> Reply:
    if not isinstance(body, dict) or not body.get("location"):
        raise errors.location_required()
    location = str(body["location"])
    with store.lock:
        old = all_groups(store, sub).get(rg.lower())
        if old is not None and _region(old["location"]) != _region(location):
            raise errors.group_location_conflict(location, old["location"])
        group = {
            "name": old["name"] if old else rg,
            "location": old["location"] if old else location,
            "tags": {str(k): str(v) for k, v in (body.get("tags") or {}).items()},
        }
        store.groups[_key(sub, rg)] = group
        store.save()
    return Reply(200 if old is not None else 201, render(sub, group))


def get(store: ResourceStore, sub: str, rg: str) -> Reply:
    return Reply(200, render(sub, _existing(store, sub, rg)))


def head(store: ResourceStore, sub: str, rg: str) -> Reply:
    return Reply(204 if rg.lower() in all_groups(store, sub) else 404)


def patch(store: ResourceStore, sub: str, rg: str, body: Any) -> Reply:
    with store.lock:
        group = _existing(store, sub, rg)
        if isinstance(body, dict) and isinstance(body.get("tags"), dict):
            group["tags"] = {str(k): str(v) for k, v in body["tags"].items()}
        store.groups[_key(sub, rg)] = group
        store.save()
    return Reply(200, render(sub, group))


def delete(store: ResourceStore, sub: str, rg: str, api_version: str) -> Reply:
    """202 + Location; the group and everything in it are gone at once."""
    with store.lock:
        _existing(store, sub, rg)
        store.groups.pop(_key(sub, rg), None)
        for key in [k for k in store.resources if k[1:3] == _key(sub, rg)]:
            del store.resources[key]
        op = str(uuid.uuid4())
        store.finished.add(op)
        store.save()
    location = (
        f"{store.endpoint}/subscriptions/{sub}/operationresults/{op}?api-version={api_version}"
    )
    return Reply(202, None, {"Location": location, "Retry-After": f"{store.retry_after:g}"})


def operation_result(store: ResourceStore, op: str) -> Reply:
    if op not in store.finished:
        raise errors.child_not_found(f"operationresults/{op}")
    return Reply(200)


def list_groups(store: ResourceStore, sub: str) -> Reply:
    groups = sorted(all_groups(store, sub).values(), key=lambda g: g["name"].lower())
    return Reply(200, {"value": [render(sub, g) for g in groups]})


def list_resources(
    store: ResourceStore, sub: str, rg: str | None, query: dict[str, list[str]]
) -> Reply:
    """``.../resources``: every top-level resource, optionally of one group, with ``$filter``."""
    if rg is not None:
        _existing(store, sub, rg)
    wanted = _filter((query.get("$filter") or [""])[0])
    rows = []
    for item in store.snapshot():
        if item.subscription.lower() != sub.lower():
            continue
        if rg is not None and item.resource_group.lower() != rg.lower():
            continue
        rendered = item.render()
        row = {k: rendered[k] for k in RESOURCE_FIELDS if k in rendered}
        if all(test(row) for test in wanted):
            rows.append(row)
    rows.sort(key=lambda r: str(r["id"]).lower())
    return Reply(200, {"value": rows})


def _filter(text: str) -> list[Any]:
    """``resourceGroup eq 'g'``, ``resourceType eq 'T'``, ``name eq 'n'``, ``tagName eq 'k'
    [and tagValue eq 'v']``, joined by ``and``."""
    if not text.strip():
        return []
    tests: list[Any] = []
    tag = ""
    for part in re.split(r"\s+and\s+", text.strip(), flags=re.I):
        match = _FILTER.match(part)
        if match is None:
            raise errors.invalid_filter(text)
        field, value = match.group(1).lower(), match.group(2)
        if field == "resourcegroup":
            tests.append(lambda r, v=value: r["id"].split("/")[4].lower() == v.lower())
        elif field == "resourcetype":
            tests.append(lambda r, v=value: r["type"].lower() == v.lower())
        elif field == "name":
            tests.append(lambda r, v=value: r["name"].lower() == v.lower())
        elif field == "tagname":
            tag = value
            tests.append(lambda r, v=value: v in (r.get("tags") or {}))
        else:
            tests.append(lambda r, k=tag, v=value: (r.get("tags") or {}).get(k) == v)
    return tests


def subscriptions(store: ResourceStore) -> list[str]:
    """The configured subscriptions and every one that holds a group or a resource."""
    with store.lock:
        known = {s.lower(): s for s in store.subscriptions}
        known.update({s: s for s, _ in store.groups})
    for item in store.snapshot():
        known.setdefault(item.subscription.lower(), item.subscription)
    return sorted(known.values())


def render_subscription(sub: str) -> dict[str, Any]:
    return {
        "id": f"/subscriptions/{sub}",
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "subscriptionId": sub,
        "tenantId": TENANT_ID,
        "displayName": f"ipsync emulator {sub[:8]}",
        "state": "Enabled",
        "subscriptionPolicies": {
            "locationPlacementId": "Public_2014-09-01",
            "quotaId": "PayAsYouGo_2014-09-01",
            "spendingLimit": "Off",
        },
    }


def get_subscription(store: ResourceStore, sub: str) -> Reply:
    if sub.lower() not in {s.lower() for s in subscriptions(store)}:
        raise ArmErrorReply(
            404, "SubscriptionNotFound", f"The subscription '{sub}' could not be found."
        )
    return Reply(200, render_subscription(sub))


def list_subscriptions(store: ResourceStore) -> Reply:
    found = [render_subscription(s) for s in subscriptions(store)]
    return Reply(200, {"value": found, "count": {"type": "Total", "value": len(found)}})


def list_tenants() -> Reply:
    tenant = {"id": f"/tenants/{TENANT_ID}", "tenantId": TENANT_ID, "tenantCategory": "Home",
              "displayName": "ipsync emulator", "defaultDomain": "emulator.invalid",
              "domains": ["emulator.invalid"]}  # fmt: skip
    return Reply(200, {"value": [tenant]})


def provider(sub: str, namespace: str, types: Iterable[tuple[str, str]]) -> Reply:
    """``Providers_Get``: the namespace's emulated types with the versions each accepts."""
    served = sorted({t for ns, t in types if ns.lower() == namespace.lower()})
    if not served:
        raise ArmErrorReply(404, "InvalidResourceNamespace",
                            f"The resource namespace '{namespace}' is invalid.")  # fmt: skip
    spelled = next(ns for ns, _ in types if ns.lower() == namespace.lower())
    resource_types = [
        {"resourceType": t, "locations": [], "apiVersions": sorted(
            apiversions.versions(spelled, t), reverse=True), "capabilities": "None"}
        for t in served
    ]  # fmt: skip
    return Reply(200, {"id": f"/subscriptions/{sub}/providers/{spelled}", "namespace": spelled,
                       "registrationState": "Registered",
                       "registrationPolicy": "RegistrationRequired",
                       "resourceTypes": resource_types})  # fmt: skip


def _region(name: str) -> str:
    return name.replace(" ", "").lower()
