"""Microsoft Graph v1.0 on the emulator's server: Entra ID Conditional Access named locations
(``/v1.0/identity/conditionalAccess/namedLocations[/{id}]``), so a client whose Graph base URL
is the emulator's endpoint reaches them as it would ``https://graph.microsoft.com``.

Shapes follow the Graph reference pages (microsoft-graph-docs-contrib ``api-reference/v1.0/api/``
``conditionalaccessroot-post-namedlocations.md``: POST 201 with the object;
``ipnamedlocation-update.md``: PATCH 204 without a body, ``ipRanges`` replaced whole;
``namedlocation-get.md``: GET 200). Limits are the concept page's (concept-assignment-network.md):
195 named locations, 2,000 ranges per location, masks no broader than /8. Errors have Graph's
shape ``{"error": {"code", "message", "innerError": {date, request-id, client-request-id}}}``;
the pages document no codes: those for a bad body, a missing location and the limits are
unconfirmed. Nothing is long-running and nothing carries an etag.
"""

from __future__ import annotations

import copy
import datetime
import ipaddress
import json
import uuid
from typing import Any

from armemu.faults import Fault
from armemu.state import Reply, ResourceStore

PREFIX = "/v1.0/"
COLLECTION = "identity/conditionalaccess/namedlocations"
NAMED_LOCATIONS = 195
RANGES_PER_LOCATION = 2000
#: the broadest mask a range may have (IPv4 and IPv6)
BROADEST_MASK = 8
IP_LOCATION = "#microsoft.graph.ipNamedLocation"
COUNTRY_LOCATION = "#microsoft.graph.countryNamedLocation"
RANGE_TYPES = {"#microsoft.graph.iPv4CidrRange": 4, "#microsoft.graph.iPv6CidrRange": 6}


def serves(path: str) -> bool:
    """Whether a request path is Graph's (the ARM routes all start ``/subscriptions`` or
    ``/providers``)."""
    return path.lower().startswith(PREFIX)


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


class GraphError(Exception):
    def __init__(self, status: int, code: str, message: str, retry_after: float | None = None):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message, self.retry_after = status, code, message, retry_after

    def reply(self, request_id: str) -> Reply:
        inner = {"date": _now()[:19], "request-id": request_id, "client-request-id": request_id}
        headers = {"request-id": request_id}
        if self.retry_after is not None:
            headers["Retry-After"] = f"{self.retry_after:g}"
        body = {"error": {"code": self.code, "message": self.message, "innerError": inner}}
        return Reply(self.status, body, headers)


def bad_request(message: str) -> GraphError:
    return GraphError(400, "BadRequest", message)  # unconfirmed code


class Directory:
    """The tenant's named locations. Every request holds the store's lock; writes go to the
    store's history (the location's ``cidrAddress`` list, by id) and its stats count them."""

    def __init__(self, store: ResourceStore) -> None:
        self.store = store
        self.locations: dict[str, dict[str, Any]] = {}

    def reset(self) -> None:
        with self.store.lock:
            self.locations.clear()

    def before(self, path: str) -> dict[str, Any] | None:
        """The location a write to ``path`` finds, as a GET answers it (None: none), for the
        write log."""
        head, _, item = path[len(PREFIX) :].strip("/").rpartition("/")
        with self.store.lock:
            found = self.locations.get(item.lower()) if head.lower() == COLLECTION else None
            return copy.deepcopy(found)

    def serve(self, method: str, path: str, authorization: str | None, raw: bytes,
              fault: Fault | None) -> Reply:  # fmt: skip
        request_id = str(uuid.uuid4())
        try:
            _check_token(authorization)
            if fault is not None and (injected := fault.injected("generalException")):
                raise GraphError(*injected, fault.retry_after)
            with self.store.lock:
                reply = self._dispatch(method, path[len(PREFIX) :].strip("/"), _json(raw))
        except GraphError as exc:
            return exc.reply(request_id)
        reply.headers["request-id"] = request_id
        return reply

    def _dispatch(self, method: str, route: str, body: Any) -> Reply:
        head, _, item = route.rpartition("/")
        if route.lower() == COLLECTION:
            if method == "GET":
                return Reply(
                    200,
                    {
                        "@odata.context": self._context(""),
                        "value": [copy.deepcopy(v) for v in self.locations.values()],
                    },
                )
            if method == "POST":
                return self._create(body)
        elif head.lower() == COLLECTION:
            actions = {"GET": lambda: self._get(item), "PATCH": lambda: self._update(item, body),
                       "DELETE": lambda: self._delete(item)}  # fmt: skip
            if method in actions:
                return actions[method]()
        else:
            segment = route.split("/", maxsplit=1)[0]
            raise bad_request(f"Resource not found for the segment '{segment}'.")
        raise GraphError(
            405,
            "Request_BadRequest",
            f"The HTTP method '{method}' is not supported on this resource.",
        )

    def _context(self, entity: str) -> str:
        suffix = "namedLocations/$entity" if entity else "identity/conditionalAccess/namedLocations"
        return f"{self.store.endpoint}/v1.0/$metadata#{suffix}"

    def _find(self, location_id: str) -> dict[str, Any]:
        found = self.locations.get(location_id.lower())
        if found is None:  # unconfirmed code and wording
            raise GraphError(
                404, "itemNotFound", f"The named location with id '{location_id}' does not exist."
            )
        return found

    def _get(self, location_id: str) -> Reply:
        return Reply(200, {"@odata.context": self._context("entity"),
                           **copy.deepcopy(self._find(location_id))})  # fmt: skip

    def _create(self, body: Any) -> Reply:
        if len(self.locations) >= NAMED_LOCATIONS:
            raise bad_request(f"The tenant has {len(self.locations)} named locations; at most "
                              f"{NAMED_LOCATIONS} are allowed.")  # fmt: skip
        kind = _odata_type(body)
        now = _now()
        location: dict[str, Any] = {"@odata.type": kind, "id": str(uuid.uuid4()), "displayName": "",
                    "modifiedDateTime": now, "createdDateTime": now}  # fmt: skip
        required = ("displayName", "ipRanges") if kind == IP_LOCATION else \
            ("displayName", "countriesAndRegions")  # fmt: skip
        missing = [field for field in required if field not in body]
        if missing:
            raise bad_request(f"The property '{missing[0]}' is required to create {kind}.")
        location |= _fields(kind, body)
        if kind == IP_LOCATION:
            location.setdefault("isTrusted", False)
        self._commit(location)
        return Reply(201, {"@odata.context": self._context("entity"), **copy.deepcopy(location)})

    def _update(self, location_id: str, body: Any) -> Reply:
        """PATCH: the properties sent replace the stored ones (``ipRanges`` as a whole)."""
        location = self._find(location_id)
        if _odata_type(body) != location["@odata.type"]:
            raise bad_request(f"The @odata.type must be {location['@odata.type']}.")
        updated = {**location, **_fields(location["@odata.type"], body), "modifiedDateTime": _now()}
        self._commit(updated)
        return Reply(204)

    def _delete(self, location_id: str) -> Reply:
        location = self._find(location_id)
        if location.get("isTrusted"):  # concept page; wording unconfirmed
            raise bad_request("A trusted named location cannot be deleted: set isTrusted to "
                              "false first.")  # fmt: skip
        del self.locations[location_id.lower()]
        return Reply(204)

    def _commit(self, location: dict[str, Any]) -> None:
        self.locations[location["id"].lower()] = location
        ranges = [r["cidrAddress"] for r in location.get("ipRanges", [])]
        self.store.history[location["id"]].append(ranges)


def _check_token(authorization: str | None) -> None:
    scheme, _, token = (authorization or "").partition(" ")
    if not authorization:
        raise GraphError(401, "InvalidAuthenticationToken", "Access token is empty.")
    if scheme.lower() != "bearer" or not token.strip():
        raise GraphError(
            401,
            "InvalidAuthenticationToken",
            "CompactToken parsing failed with error code: 80049217",
        )


def _json(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise bad_request(
            "Unable to read JSON request payload. Please ensure Content-Type "
            "header is set and payload is of valid JSON format."
        ) from None


def _odata_type(body: Any) -> str:
    if not isinstance(body, dict) or body.get("@odata.type") not in (IP_LOCATION, COUNTRY_LOCATION):
        raise bad_request("The @odata.type of the named location is required: "
                          f"{IP_LOCATION} or {COUNTRY_LOCATION}.")  # fmt: skip
    return str(body["@odata.type"])


def _fields(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """The writable properties a body sets, checked."""
    out: dict[str, Any] = {}
    if "displayName" in body:
        if not isinstance(body["displayName"], str) or not body["displayName"].strip():
            raise bad_request("displayName must be a non-empty string.")
        out["displayName"] = body["displayName"]
    if kind == IP_LOCATION:
        if "isTrusted" in body:
            out["isTrusted"] = bool(body["isTrusted"])
        if "ipRanges" in body:
            out["ipRanges"] = _ranges(body["ipRanges"])
    else:
        if "countriesAndRegions" in body:
            out["countriesAndRegions"] = [str(c) for c in body["countriesAndRegions"] or []]
        unknown = body.get("includeUnknownCountriesAndRegions")
        if unknown is not None:
            out["includeUnknownCountriesAndRegions"] = bool(unknown)
    return out


def _ranges(raw: Any) -> list[dict[str, str]]:
    if not isinstance(raw, list) or not raw:
        raise bad_request("ipRanges must be a non-empty collection of ipRange.")
    if len(raw) > RANGES_PER_LOCATION:
        raise bad_request(f"A named location can have at most {RANGES_PER_LOCATION} IP ranges; "
                          f"{len(raw)} were sent.")  # fmt: skip
    return [_range(item) for item in raw]


def _range(item: Any) -> dict[str, str]:
    """A CIDR of the family its ``@odata.type`` names, kept as sent (host bits and all)."""
    kind = item.get("@odata.type") if isinstance(item, dict) else None
    if kind not in RANGE_TYPES:
        raise bad_request("Each ipRange needs its @odata.type: " + " or ".join(RANGE_TYPES) + ".")
    value = str(item.get("cidrAddress") or "")
    try:
        net = ipaddress.ip_network(value, strict=False) if "/" in value else None
    except ValueError:
        net = None
    if net is None or net.version != RANGE_TYPES[kind]:
        raise bad_request(f"The cidrAddress '{value}' is not a valid {kind[17:]}.")
    if net.prefixlen < BROADEST_MASK:
        raise bad_request(f"The cidrAddress '{value}' is broader than /{BROADEST_MASK}; only "
                          f"masks of /{BROADEST_MASK} or longer are allowed.")  # fmt: skip
    return {"@odata.type": kind, "cidrAddress": value}
