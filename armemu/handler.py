"""HTTP plumbing: ARM routes, authentication, api-version, faults and the admin API."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from armemu import errors, service_tags
from armemu.errors import ArmError
from armemu.faults import Fault, parse_faults
from armemu.state import Reply, Store, Write

_SUB = r"^/subscriptions/(?P<sub>[^/]+)"
_NSGS = _SUB + r"/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.Network/networkSecurityGroups"
_LOC = _SUB + r"/providers/Microsoft\.Network/locations/(?P<loc>[^/]+)"
ROUTES: dict[str, re.Pattern[str]] = {
    name: re.compile(pattern + "/?$", re.IGNORECASE)
    for name, pattern in {
        "nsgs": _NSGS,
        "nsg": _NSGS + r"/(?P<nsg>[^/]+)",
        "rules": _NSGS + r"/(?P<nsg>[^/]+)/securityRules",
        "rule": _NSGS + r"/(?P<nsg>[^/]+)/securityRules/(?P<rule>[^/]+)",
        "all_nsgs": _SUB + r"/providers/Microsoft\.Network/networkSecurityGroups",
        "service_tags": _LOC + r"/serviceTags",
        "operation": _LOC + r"/operations/(?P<op>[^/]+)",
        "operation_result": _LOC + r"/operationResults/(?P<op>[^/]+)",
    }.items()
}
LONG_RUNNING = {("PUT", "nsg"), ("DELETE", "nsg"), ("PUT", "rule"), ("DELETE", "rule")}


class Feed:
    """The release behind the serviceTags route, read once on first use."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._release: dict[str, Any] | None = None

    def response(self, subscription: str) -> dict[str, Any]:
        if self.path is None:
            raise ArmError(404, "NotFound", "No service tags feed is loaded in this emulator.")
        if self._release is None:
            self._release = service_tags.read_release(self.path)
        return service_tags.discovery_response(self._release, subscription)


class Handler(BaseHTTPRequestHandler):
    """One request; ``store`` and ``feed`` are set on a subclass per server."""

    protocol_version = "HTTP/1.1"
    #: Headers and body leave in separate writes: without TCP_NODELAY each answer waits for
    #: the client's delayed ACK (~40 ms).
    disable_nagle_algorithm = True
    server_version = "ipsync-arm-emulator"
    store: Store
    feed: Feed

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

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the stats route tells what happened."""

    # -----------------------------------------------------------------------------------
    def _handle(self, method: str) -> None:
        url = urlsplit(self.path)
        path = unquote(url.path)
        body = self._read_body()
        if path.startswith("/_emulator/"):
            self._send(self._admin(method, path, body))
            return
        self.store.count(method, path)
        self.store.settle()
        fault: Fault | None = None
        try:
            self._check_auth()
            if not parse_qs(url.query).get("api-version"):
                raise errors.missing_api_version()
            name, match = self._route(path)
            fault = self.store.take_fault(method, path, (method, name) in LONG_RUNNING)
            if fault is not None and fault.delay_s:
                time.sleep(fault.delay_s)
            if fault is not None and fault.status is not None:
                raise ArmError(
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
            reply = self._dispatch(method, name, match, self._json(body), write)
        except ArmError as exc:
            reply = Reply(exc.status, exc.body(), exc.headers)
        except Exception as exc:  # an emulator bug must still answer like ARM would
            reply = Reply(500, ArmError(500, "InternalServerError", repr(exc)).body())
        if fault is not None and fault.lose_response:
            self.store.complete_now(reply.headers)
            self.close_connection = True
            return
        self._send(reply)

    def _dispatch(
        self, method: str, name: str, m: dict[str, str], body: Any, write: Write
    ) -> Reply:
        s = self.store
        table: dict[tuple[str, str], Callable[[], Reply]] = {
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
            ("GET", "service_tags"): lambda: Reply(200, self.feed.response(m["sub"])),
            ("GET", "operation"): lambda: s.poll(m["op"]),
            ("GET", "operation_result"): lambda: s.operation_result(m["op"]),
        }
        action = table.get((method, name))
        if action is None:
            raise ArmError(
                405,
                "MethodNotAllowed",
                f"The requested resource does not support http method '{method}'.",
            )
        return action()

    def _admin(self, method: str, path: str, body: bytes) -> Reply:
        s = self.store
        if (method, path) == ("GET", "/_emulator/stats"):
            return Reply(200, s.stats())
        if (method, path) == ("GET", "/_emulator/history"):
            s.settle()
            with s.lock:
                return Reply(200, dict(s.history))
        if (method, path) == ("POST", "/_emulator/reset"):
            s.reset()
            return Reply(200, {"reset": True})
        if (method, path) == ("DELETE", "/_emulator/faults"):
            with s.lock:
                s.faults.clear()
            return Reply(200, {"faults": 0})
        if (method, path) == ("POST", "/_emulator/faults"):
            try:
                faults = parse_faults(self._json(body))
            except (ValueError, ArmError) as exc:
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
    def _route(path: str) -> tuple[str, dict[str, str]]:
        for name, pattern in ROUTES.items():
            match = pattern.match(path)
            if match:
                return name, match.groupdict()
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
