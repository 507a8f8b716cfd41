"""HTTP plumbing: ARM routes, authentication, api-version, faults and the admin API."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from armemu import (
    apiversions,
    errors,
    graph,
    groups,
    msgraph,
    names,
    service_tags,
    signin,
    versioned,
)
from armemu.catalog import KINDS
from armemu.errors import ArmErrorReply
from armemu.faults import Fault, parse_faults
from armemu.model import NSG_TYPE
from armemu.resources import Kind
from armemu.state import Reply, ResourceStore, Write
from armemu.stats import WRITES
from armemu.throttle import Throttle

_SUB = r"^/subscriptions/(?P<sub>[^/]+)"
_RG = _SUB + r"/resourceGroups/(?P<rg>[^/]+)"
_NSGS = _RG + r"/providers/Microsoft\.Network/networkSecurityGroups"
_NSG = _NSGS + r"/(?P<nsg>[^/]+)"
_LOC = _SUB + r"/providers/(?P<ns>[^/]+)/locations/(?P<loc>[^/]+)"
#: the segments providers poll operations under (flexible servers, Cosmos DB, the rest)
_POLL = r"/(?:operations|azureAsyncOperation|operationsStatus|containerappOperationResults)"
NETWORK = "Microsoft.Network"
RESOURCES = "Microsoft.Resources"
#: Resource Graph's query route (its own quota besides ARM's buckets: armemu.throttle)
GRAPH_PATH = re.compile(r"^/providers/Microsoft\.ResourceGraph/resources/?$", re.IGNORECASE)


@dataclass(frozen=True)
class Route:
    """One URL pattern: the provider whose api-versions it takes, and its resource kind."""

    name: str
    pattern: re.Pattern[str]
    namespace: str
    #: the type ARM names in an api-version error (``networkSecurityGroups/securityRules``)
    type_name: str
    kind: Kind | None = None


def _route(name: str, pattern: str, namespace: str, type_name: str,
           kind: Kind | None = None) -> Route:  # fmt: skip
    return Route(name, re.compile(pattern + "/?$", re.IGNORECASE), namespace, type_name, kind)


def _kind_routes(kind: Kind) -> list[Route]:
    """A nested type (``sites/slots``) has no routes of its own: its parent's extras serve it."""
    if kind.type.count("/") > 1:
        return []
    ns, coll = re.escape(kind.namespace), re.escape(kind.collection)
    base = _RG + rf"/providers/{ns}/{coll}"
    routes = [
        _route(f"extra:{extra.name}", base + r"/(?P<name>[^/]+)" + extra.pattern, kind.namespace,
               extra.type_name, kind)
        for extra in kind.extras
    ]  # fmt: skip
    routes += [
        _route("list", base, kind.namespace, kind.collection, kind),
        _route("item", base + r"/(?P<name>[^/]+)", kind.namespace, kind.collection, kind),
        _route("list_all", _SUB + rf"/providers/{ns}/{coll}", kind.namespace, kind.collection,
               kind),
    ]  # fmt: skip
    if kind.child is not None:
        child = kind.child.collection
        kids = base + rf"/(?P<name>[^/]+)/{re.escape(child)}"
        type_name = f"{kind.collection}/{child}"
        routes += [
            _route("children", kids, kind.namespace, type_name, kind),
            _route("child", kids + r"/(?P<child>[^/]+)", kind.namespace, type_name, kind),
        ]
    return routes


ROUTES: list[Route] = [
    _route("nsgs", _NSGS, NETWORK, "networkSecurityGroups"),
    _route("nsg", _NSG, NETWORK, "networkSecurityGroups"),
    _route("rules", _NSG + "/securityRules", NETWORK, "networkSecurityGroups/securityRules"),
    _route("rule", _NSG + r"/securityRules/(?P<rule>[^/]+)", NETWORK,
           "networkSecurityGroups/securityRules"),
    _route("default_rules", _NSG + "/defaultSecurityRules", NETWORK,
           "networkSecurityGroups/defaultSecurityRules"),
    _route("default_rule", _NSG + r"/defaultSecurityRules/(?P<rule>[^/]+)", NETWORK,
           "networkSecurityGroups/defaultSecurityRules"),
    _route("all_nsgs", _SUB + r"/providers/Microsoft\.Network/networkSecurityGroups", NETWORK,
           "networkSecurityGroups"),
    _route("service_tags", _LOC + "/serviceTags", NETWORK, "locations/serviceTags"),
    _route("service_tag_details", _LOC + "/serviceTagDetails", NETWORK,
           "locations/serviceTagDetails"),
    _route("operation", _LOC + _POLL + r"/(?P<op>[^/]+)", NETWORK, "locations/operations"),
    _route("operation_result", _LOC + r"/operationResults/(?P<op>[^/]+)", NETWORK,
           "locations/operationResults"),
    _route("graph", r"^/providers/Microsoft\.ResourceGraph/resources", "Microsoft.ResourceGraph",
           "resources"),
    *[route for kind in KINDS.values() for route in _kind_routes(kind)],
    _route("subscriptions", r"^/subscriptions", RESOURCES, "subscriptions"),
    _route("subscription", _SUB, RESOURCES, "subscriptions"),
    _route("tenants", r"^/tenants", RESOURCES, "tenants"),
    _route("groups", _SUB + "/resourceGroups", RESOURCES, "resourceGroups"),
    _route("group", _RG, RESOURCES, "resourceGroups"),
    _route("group_resources", _RG + "/resources", RESOURCES, "resources"),
    _route("resources", _SUB + "/resources", RESOURCES, "resources"),
    _route("group_operation", _SUB + r"/operationresults/(?P<op>[^/]+)", RESOURCES,
           "operationresults"),
    _route("provider", _SUB + r"/providers/(?P<provider>[^/]+)", RESOURCES, "providers"),
    _route("storage_names", _SUB + r"/providers/Microsoft\.Storage/checkNameAvailability",
           "Microsoft.Storage", "checkNameAvailability"),
]  # fmt: skip
LONG_RUNNING = {("PUT", "nsg"), ("DELETE", "nsg"), ("PUT", "rule"), ("DELETE", "rule")}


def long_running(method: str, route: Route) -> bool:
    """Whether the write can answer with an operation (fault ``lro`` applies to it)."""
    kind = route.kind
    if kind is not None and kind.child is not None and route.name == "child":
        return method in ("PUT", "DELETE") and kind.child.style != "sync"
    if kind is None or route.name != "item":
        return (method, route.name) in LONG_RUNNING
    style = {"PUT": kind.create, "PATCH": kind.patch_style, "DELETE": kind.delete}.get(method)
    return style is not None and style != "sync"


class Feed:
    """The release behind the serviceTags route, read once on first use."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._release: dict[str, Any] | None = None

    def response(self, subscription: str) -> dict[str, Any]:
        if self.path is None:
            raise ArmErrorReply(404, "NotFound", "No service tags feed is loaded in this emulator.")
        if self._release is None:
            self._release = service_tags.read_release(self.path)
        return service_tags.discovery_response(self._release, subscription)

    def details(self, subscription: str, query: dict[str, list[str]]) -> dict[str, Any]:
        """``serviceTagDetails``: the same tags, optionally one (``tagName``) or no prefixes."""
        name = (query.get("tagName") or [""])[0].lower()
        bare = (query.get("noAddressPrefixes") or ["false"])[0].lower() == "true"
        values = []
        for tag in self.response(subscription)["values"]:
            if name and tag["name"].lower() != name:
                continue
            props = tag["properties"]
            detail = {k: props[k] for k in ("changeNumber", "region", "systemService")}
            if not bare:
                detail["addressPrefixes"] = props["addressPrefixes"]
            values.append({"name": tag["name"], "id": tag["id"], "properties": detail})
        return {"value": values}


class Handler(BaseHTTPRequestHandler):
    """One request; ``store`` and ``feed`` are set on a subclass per server."""

    protocol_version = "HTTP/1.1"
    #: Headers and body leave in separate writes: without TCP_NODELAY each answer waits for
    #: the client's delayed ACK (~40 ms).
    disable_nagle_algorithm = True
    server_version = "ipsync-arm-emulator"
    store: ResourceStore
    feed: Feed
    directory: msgraph.Directory
    #: ARM's token buckets, when the emulator emulates them
    throttle: Throttle | None = None

    def do_GET(self) -> None:
        self._handle("GET")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_HEAD(self) -> None:
        self._handle("HEAD")

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the stats route tells what happened."""

    # -----------------------------------------------------------------------------------
    def _handle(self, method: str) -> None:
        url = urlsplit(self.path)
        # ARM reads an empty segment (``providers/Microsoft.KeyVault//vaults``) as none
        path = re.sub(r"/{2,}", "/", unquote(url.path))
        body = self._read_body()
        if path.startswith("/_emulator/"):
            self._send(self._admin(method, path, body))
            return
        signed = signin.answer(method, path, url.query, self.store.endpoint, body)
        if signed is not None:
            self._send(signed)
            return
        self.store.count(method, path)
        self.store.settle()
        if msgraph.serves(path):
            self._graph(method, path, body)
            return
        fault: Fault | None = None
        limits: dict[str, str] = {}
        logged: dict[str, Any] | None = None  # a write that reached the resource
        try:
            self._check_auth()
            query = parse_qs(url.query)
            if self.throttle is not None:
                limits = self._throttle(self.throttle, method, path)
            if not query.get("api-version"):
                raise errors.missing_api_version()
            route, match = self._route(path)
            payload = self._json(body)
            apiversions.check(
                match.get("ns") or route.namespace,
                query["api-version"][0],
                route.type_name,
                self._location(route, match, payload),
            )
            fault = self.store.take_fault(method, path, long_running(method, route))
            if fault is not None and fault.delay_s:
                time.sleep(fault.delay_s)
            if fault is not None and fault.status is not None:
                raise ArmErrorReply(
                    fault.status,
                    fault.code or "InternalServerError",
                    fault.message or "An injected error occurred.",
                    details=[],
                    headers={"Retry-After": f"{fault.retry_after:g}"}
                    if fault.retry_after is not None
                    else {},
                )
            write = Write(
                api_version=parse_qs(url.query)["api-version"][0],
                if_match=self.headers.get("If-Match"),
                fail=fault if fault is not None and fault.lro else None,
            )
            if method in WRITES:
                before = self._before(route, match, write.api_version, query)
                logged = {"method": method, "path": path, "api_version": write.api_version,
                          "body": payload, "before": before}  # fmt: skip
            reply = self._dispatch(method, route, match, payload, write, query)
            reply.body = versioned.shape(route.name, write.api_version, reply.body)
        except ArmErrorReply as exc:
            reply = Reply(exc.status, exc.body(), exc.headers)
        except Exception as exc:  # an emulator bug must still answer like ARM would
            reply = Reply(500, ArmErrorReply(500, "InternalServerError", repr(exc)).body())
        reply.headers = {**limits, **reply.headers}
        if logged is not None:
            self.store.log_write({**logged, "status": reply.status})
        if fault is not None and fault.lose_response:
            self.store.complete_now(reply.headers)
            self.close_connection = True
            return
        self._send(reply)

    def _before(self, route: Route, m: dict[str, str], api_version: str,
                query: dict[str, list[str]]) -> Any:  # fmt: skip
        """The resource a write is for, as a GET at its api-version answers now (None: none)."""
        try:
            reply = self._dispatch("GET", route, m, None, Write(api_version=api_version), query)
        except ArmErrorReply:
            return None
        return versioned.shape(route.name, api_version, reply.body) if reply.status == 200 else None

    def _throttle(self, throttle: Throttle, method: str, path: str) -> dict[str, str]:
        """ARM's token buckets, and Resource Graph's quota for a query; a 429 is counted."""
        principal = self.headers.get("Authorization", "")
        try:
            limits = throttle.take(method, path, principal)
            if method == "POST" and GRAPH_PATH.match(path):
                limits |= throttle.query(principal)
        except ArmErrorReply:
            self.store.count_throttled()
            raise
        return limits

    def _dispatch(self, method: str, route: Route, m: dict[str, str], body: Any, write: Write,
                  query: dict[str, list[str]]) -> Reply:  # fmt: skip
        s = self.store
        kind = route.kind
        table: dict[tuple[str, str], Callable[[], Reply]]
        extras = kind.extras if kind is not None else ()
        extra = next((e for e in extras if f"extra:{e.name}" == route.name), None)
        if extra is not None:
            reply: Reply = extra.serve(s, method, m, body, write)
            return reply
        if kind is not None:
            table = {
                ("GET", "list"): lambda: s.list(kind, m["sub"], m["rg"]),
                ("GET", "list_all"): lambda: s.list(kind, m["sub"], None),
                ("GET", "item"): lambda: s.get(kind, m["sub"], m["rg"], m["name"]),
                ("PUT", "item"): lambda: s.put(kind, m["sub"], m["rg"], m["name"], body, write),
                ("PATCH", "item"): lambda: s.patch(kind, m["sub"], m["rg"], m["name"], body,
                                                   write),
                ("DELETE", "item"): lambda: s.delete(kind, m["sub"], m["rg"], m["name"], write),
                ("GET", "children"): lambda: s.list_children(kind, m["sub"], m["rg"], m["name"]),
                ("GET", "child"): lambda: s.get_child(kind, m["sub"], m["rg"], m["name"],
                                                      m["child"]),
                ("PUT", "child"): lambda: s.put_child(kind, m["sub"], m["rg"], m["name"],
                                                      m["child"], body, write),
                ("DELETE", "child"): lambda: s.delete_child(kind, m["sub"], m["rg"], m["name"],
                                                            m["child"], write),
            }  # fmt: skip
        else:
            table = {
                ("GET", "nsgs"): lambda: s.list_nsgs(m["sub"], m["rg"]),
                ("GET", "all_nsgs"): lambda: s.list_nsgs(m["sub"], None),
                ("GET", "nsg"): lambda: s.get_nsg(m["sub"], m["rg"], m["nsg"]),
                ("PUT", "nsg"): lambda: s.put_nsg(m["sub"], m["rg"], m["nsg"], body, write),
                ("PATCH", "nsg"): lambda: s.patch_nsg(m["sub"], m["rg"], m["nsg"], body),
                ("DELETE", "nsg"): lambda: s.delete_nsg(m["sub"], m["rg"], m["nsg"], write),
                ("GET", "rules"): lambda: s.list_rules(m["sub"], m["rg"], m["nsg"]),
                ("GET", "rule"): lambda: s.get_rule(m["sub"], m["rg"], m["nsg"], m["rule"]),
                ("PUT", "rule"): lambda: s.put_rule(
                    m["sub"], m["rg"], m["nsg"], m["rule"], body, write
                ),
                ("DELETE", "rule"): lambda: s.delete_rule(
                    m["sub"], m["rg"], m["nsg"], m["rule"], write
                ),
                ("GET", "default_rules"): lambda: s.list_default_rules(m["sub"], m["rg"], m["nsg"]),
                ("GET", "default_rule"): lambda: s.get_default_rule(
                    m["sub"], m["rg"], m["nsg"], m["rule"]
                ),
                ("GET", "service_tags"): lambda: Reply(200, self.feed.response(m["sub"])),
                ("GET", "service_tag_details"): lambda: Reply(
                    200, self.feed.details(m["sub"], query)
                ),
                ("GET", "operation"): lambda: s.poll(m["op"]),
                ("GET", "operation_result"): lambda: s.operation_result(m["op"]),
                ("POST", "graph"): lambda: Reply(200, graph.query(body, self._graph_rows())),
                ("GET", "subscriptions"): lambda: groups.list_subscriptions(s),
                ("GET", "subscription"): lambda: groups.get_subscription(s, m["sub"]),
                ("GET", "tenants"): groups.list_tenants,
                ("GET", "groups"): lambda: groups.list_groups(s, m["sub"]),
                ("PUT", "group"): lambda: groups.put(s, m["sub"], m["rg"], body),
                ("GET", "group"): lambda: groups.get(s, m["sub"], m["rg"]),
                ("HEAD", "group"): lambda: groups.head(s, m["sub"], m["rg"]),
                ("PATCH", "group"): lambda: groups.patch(s, m["sub"], m["rg"], body),
                ("DELETE", "group"): lambda: groups.delete(s, m["sub"], m["rg"], write.api_version),
                ("GET", "group_operation"): lambda: groups.operation_result(s, m["op"]),
                ("GET", "group_resources"): lambda: groups.list_resources(
                    s, m["sub"], m["rg"], query
                ),
                ("GET", "resources"): lambda: groups.list_resources(s, m["sub"], None, query),
                ("GET", "provider"): lambda: groups.provider(
                    m["sub"], m["provider"], [(r.namespace, r.type_name) for r in ROUTES]
                ),
                ("POST", "storage_names"): lambda: names.check_storage(s, body),
            }
        action = table.get((method, route.name))
        if action is None:
            raise errors.method_not_allowed(method)
        return action()

    def _graph(self, method: str, path: str, body: bytes) -> None:
        """A Microsoft Graph request (armemu.msgraph); faults apply as to ARM, and a PATCH or
        DELETE of a location goes to the write log as an ARM write does."""
        fault = self.store.take_fault(method, path, long_running=False)
        before = self.directory.before(path) if method in ("PATCH", "DELETE") else None
        reply = self.directory.serve(method, path, self.headers.get("Authorization"), body, fault)
        if method in ("PATCH", "DELETE") and (fault is None or fault.status is None):
            try:
                sent = json.loads(body) if body else None
            except ValueError:
                sent = None
            logged = {"method": method, "path": path, "api_version": "v1.0", "body": sent}
            self.store.log_write({**logged, "before": before, "status": reply.status})
        if fault is not None and fault.lose_response:
            self.close_connection = True
            return
        self._send(reply)

    def _graph_rows(self) -> list[graph.Row]:
        return [
            graph.row(item.render(), item.subscription, item.resource_group)
            for item in self.store.snapshot()
        ]

    def _location(self, route: Route, m: dict[str, str], body: Any) -> str:
        """The location ARM names in an api-version error: the request's or the resource's."""
        if isinstance(body, dict) and body.get("location"):
            return str(body["location"])
        if "loc" in m:
            return m["loc"]
        name = m.get("name") or m.get("nsg")
        type_name = route.kind.type if route.kind is not None else NSG_TYPE
        if name is not None and "rg" in m:
            return self.store.location_of(type_name, m["sub"], m["rg"], name) or "global"
        return "global"

    def _admin(self, method: str, path: str, body: bytes) -> Reply:
        s = self.store
        if (method, path) == ("GET", "/_emulator/stats"):
            return Reply(200, s.stats())
        if (method, path) == ("GET", "/_emulator/writes"):
            return Reply(200, s.written())
        if (method, path) == ("GET", "/_emulator/history"):
            s.settle()
            with s.lock:
                return Reply(200, dict(s.history))
        if (method, path) == ("POST", "/_emulator/reset"):
            s.reset()
            self.directory.reset()
            return Reply(200, {"reset": True})
        if (method, path) == ("DELETE", "/_emulator/faults"):
            with s.lock:
                s.faults.clear()
            return Reply(200, {"faults": 0})
        if (method, path) == ("POST", "/_emulator/faults"):
            try:
                faults = parse_faults(self._json(body))
            except (ValueError, ArmErrorReply) as exc:
                return Reply(400, {"error": {"code": "InvalidFault", "message": str(exc)}})
            with s.lock:
                s.faults.extend(faults)
                return Reply(200, {"faults": len(s.faults)})
        return Reply(404, {"error": {"code": "NotFound", "message": f"no admin route {path}"}})

    def _check_auth(self) -> None:
        header = self.headers.get("Authorization")
        if header is None:
            raise errors.missing_auth()
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise errors.invalid_token()

    @staticmethod
    def _route(path: str) -> tuple[Route, dict[str, str]]:
        for route in ROUTES:
            match = route.pattern.match(path)
            if match:
                return route, match.groupdict()
        raise errors.route_not_found(path)

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    @staticmethod
    def _json(body: bytes) -> Any:
        if not body:
            return None
        try:
            return json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise errors.bad_request_format(str(exc)) from None

    def _send(self, reply: Reply) -> None:
        payload = b"" if reply.body is None else json.dumps(reply.body).encode("utf-8")
        if self.command == "HEAD":  # the status says it all; a HEAD answer has no body
            payload = b""
        self.send_response(reply.status)
        if reply.body is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "no-cache")
        for key, value in reply.headers.items():
            self.send_header(key, value)
        self.end_headers()
        if payload:
            self.wfile.write(payload)
