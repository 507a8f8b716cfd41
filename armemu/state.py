"""The emulated ARM: resources, long-running operations, history and stats.

When a write becomes visible: at accept time, as in ARM. A long-running PUT answers with the
new resource in a non-final ``provisioningState`` and a GET during the operation shows it so; a
DELETE leaves the resource visible as ``Deleting``. The write is *completed* when its operation
ends: then the state is ``Succeeded`` (a new etag), the history gets the resource's allow-list
and the state file is saved. An operation that ends ``Failed`` (fault ``lro``) restores the
resource as it was before the write. Synchronous writes complete at once.

An operation is in progress (and its resource refuses other writes: 429 for an NSG, 409
``AnotherOperationInProgress`` elsewhere) until a client has polled it ``polls`` times, or until
``polls * max(retry_after, LOCK_FLOOR_S)`` seconds have passed, so an unpolled operation cannot
lock a resource for good. ``polls`` is ``lro_polls`` unless ``slow`` names the resource type
(``{"ipGroups": 20}``: an IP Group update re-deploys its firewall policy, which takes long).
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from armemu import errors, validation
from armemu.children import ChildChange, ChildStore, child_result
from armemu.errors import ArmErrorReply
from armemu.faults import Fault
from armemu.model import NSG_TYPE, Nsg, new_etag, nsg_key
from armemu.resources import KINDS, Key, Kind, Resource, resource_key
from armemu.stats import Stats

LOCK_FLOOR_S = 0.5
Stored = Nsg | Resource


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Write:
    """How a write was asked for: its ``If-Match``, api-version and an ``lro`` fault."""

    api_version: str
    if_match: str | None = None
    fail: Fault | None = None


@dataclass
class Operation:
    id: str
    name: str
    key: Key
    namespace: str
    location: str
    api_version: str
    polls_left: int
    deadline: float
    before: Stored | None
    after: Stored | None
    #: how clients follow it: "async", "location", "located", "accepted" or "body"
    style: str = "async"
    failure: tuple[str, str] | None = None
    status: str = "InProgress"
    #: the ``Azure-AsyncOperation`` URL's segment (``azureAsyncOperation`` for flexible servers)
    segment: str = "operations"
    #: a child rule's change (armemu.children), which completes on the parent as it stands then
    child: ChildChange | None = None


class ResourceStore(ChildStore):
    """All emulated state behind one lock; every public method is one ARM request."""

    def __init__(
        self,
        *,
        lro_polls: int = 1,
        retry_after: int = 0,
        state_file: Path | None = None,
        slow: dict[str, int] | None = None,
        subscriptions: tuple[str, ...] = (),
    ) -> None:
        self.lro_polls = lro_polls
        self.retry_after = retry_after
        self.slow = {k.lower(): v for k, v in (slow or {}).items()}
        self.state_file = state_file
        self.endpoint = ""
        self.lock = threading.RLock()
        self.resources: dict[Key, Stored] = {}
        self.operations: dict[str, Operation] = {}
        self.history: dict[str, list[Any]] = defaultdict(list)
        self.faults: list[Fault] = []
        self.requests = Stats()
        #: armemu.groups: created groups by (subscription, group), finished deletions, and
        #: subscriptions listed even while empty
        self.groups: dict[tuple[str, str], dict[str, Any]] = {}
        self.finished: set[str] = set()
        self.subscriptions = subscriptions
        if state_file is not None and state_file.is_file():
            data = json.loads(state_file.read_text(encoding="utf-8"))
            loaded: list[Stored] = [Nsg.from_json(raw) for raw in data.get("nsgs", [])]
            loaded += [Resource.from_json(raw) for raw in data.get("resources", [])]
            self.resources = {item.key: item for item in loaded}
            self.groups = {(g["sub"], g["name"].lower()): g for g in data.get("groups", [])}

    # ----- bookkeeping -------------------------------------------------------------------
    def reset(self) -> None:
        with self.lock:
            self.resources.clear()
            self.operations.clear()
            self.history.clear()
            self.faults.clear()
            self.requests.clear()
            self.groups.clear()
            self._save()

    def count(self, method: str, path: str) -> None:
        with self.lock:
            self.requests.count(method, path)

    def count_throttled(self) -> None:
        with self.lock:
            self.requests.counts["throttled"] += 1

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return self.requests.as_dict()

    def log_write(self, entry: dict[str, Any]) -> None:
        with self.lock:
            self.requests.written.append(entry)

    def written(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.requests.written)

    def take_fault(self, method: str, path: str, long_running: bool) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.matches(method, path, long_running):
                    fault.count -= 1
                    if fault.count <= 0:
                        self.faults.remove(fault)
                    return fault
            return None

    def settle(self) -> None:
        """Complete every operation whose wall-clock time is up."""
        with self.lock:
            now = time.monotonic()
            for op in list(self.operations.values()):
                if op.status == "InProgress" and op.deadline <= now:
                    self._complete(op)

    def settle_all(self) -> None:
        """Complete every running operation now (seeding)."""
        with self.lock:
            for op in list(self.operations.values()):
                if op.status == "InProgress":
                    self._complete(op)

    def location_of(self, type_name: str, sub: str, rg: str, name: str) -> str | None:
        with self.lock:
            found = self.resources.get(resource_key(type_name, sub, rg, name))
            return found.location if found is not None else None

    def snapshot(self) -> Iterator[Stored]:
        """Every resource as it stands (Resource Graph reads them)."""
        with self.lock:
            yield from list(self.resources.values())

    # ----- NSGs ----------------------------------------------------------------------------
    def get_nsg(self, sub: str, rg: str, name: str) -> Reply:
        nsg = self._nsg(sub, rg, name)
        return Reply(200, nsg.render(), {"ETag": nsg.etag})

    def list_nsgs(self, sub: str, rg: str | None) -> Reply:
        return self._list(NSG_TYPE, sub, rg)

    def put_nsg(self, sub: str, rg: str, name: str, body: Any, write: Write) -> Reply:
        validation.check_name(name)
        if not isinstance(body, dict) or not body.get("location"):
            raise errors.location_required()
        with self.lock:
            key = nsg_key(sub, rg, name)
            old = self.resources.get(key)
            assert old is None or isinstance(old, Nsg)
            self._check_if_match(old, write.if_match, f"/subscriptions/{sub}/resourceGroups/{rg}")
            new = old.copy() if old else Nsg(sub, rg, name, str(body["location"]))
            new.tags = {str(k): str(v) for k, v in (body.get("tags") or {}).items()}
            flush = (body.get("properties") or {}).get("flushConnection")
            new.flush_connection = bool(flush)
            raw_rules = (body.get("properties") or {}).get("securityRules") or []
            new.rules = {}
            for raw in raw_rules:
                rule_name = str((raw or {}).get("name", ""))
                props = (raw or {}).get("properties")
                new.rules[rule_name] = validation.normalise_rule(
                    rule_name, props, new.rule_id(rule_name)
                )
            validation.check_nsg(new.id, new.rules, None)
            self._check_idle(key, new.id)
            new.etag, new.state = new_etag(), "Updating"
            new.rule_states = dict.fromkeys(new.rules, "Updating")
            self.resources[key] = new
            op = self._start("PutNetworkSecurityGroupOperation", key, old, new, write)
            return Reply(201 if old is None else 200, new.render(), self._lro_headers(op))

    def patch_nsg(self, sub: str, rg: str, name: str, body: Any) -> Reply:
        """``PATCH`` updates the Azure tags only, synchronously."""
        with self.lock:
            nsg = self._nsg(sub, rg, name)
            self._check_idle(nsg_key(sub, rg, name), nsg.id)
            if isinstance(body, dict) and isinstance(body.get("tags"), dict):
                nsg.tags = {str(k): str(v) for k, v in body["tags"].items()}
            nsg.etag = new_etag()
            self._save()
            return Reply(200, nsg.render(), {"ETag": nsg.etag})

    def delete_nsg(self, sub: str, rg: str, name: str, write: Write) -> Reply:
        with self.lock:
            key = nsg_key(sub, rg, name)
            old = self.resources.get(key)
            if old is None:
                return Reply(204)
            self._check_if_match(old, write.if_match, old.id)
            self._check_idle(key, old.id)
            deleting = old.copy()
            deleting.state = "Deleting"
            self.resources[key] = deleting
            op = self._start("DeleteNetworkSecurityGroupOperation", key, old, None, write)
            return Reply(202, None, self._lro_headers(op, location=True))

    # ----- rules ---------------------------------------------------------------------------
    def get_rule(self, sub: str, rg: str, nsg_name: str, name: str) -> Reply:
        with self.lock:
            nsg = self._nsg(sub, rg, nsg_name)
            stored = nsg.find_rule(name)
            if stored is None:
                raise errors.child_not_found(nsg.rule_id(name))
            return Reply(200, nsg.render_rule(stored), {"ETag": nsg.etag})

    def list_rules(self, sub: str, rg: str, nsg_name: str) -> Reply:
        with self.lock:
            nsg = self._nsg(sub, rg, nsg_name)
            return Reply(200, {"value": [nsg.render_rule(n) for n in nsg.rules]})

    def put_rule(self, sub: str, rg: str, nsg_name: str, name: str, body: Any,
                 write: Write) -> Reply:  # fmt: skip
        with self.lock:
            key = nsg_key(sub, rg, nsg_name)
            old = self._nsg(sub, rg, nsg_name)
            self._check_if_match(old, write.if_match, old.rule_id(name))
            stored = old.find_rule(name) or name
            props = body.get("properties") if isinstance(body, dict) else None
            rule = validation.normalise_rule(stored, props, old.rule_id(stored))
            new = old.copy()
            new.rules[stored] = rule
            validation.check_nsg(new.id, new.rules, stored)
            self._check_idle(key, new.id)
            new.etag, new.state = new_etag(), "Updating"
            new.rule_states[stored] = "Updating"
            self.resources[key] = new
            op = self._start("PutSecurityRuleOperation", key, old, new, write)
            created = old.find_rule(name) is None
            return Reply(201 if created else 200, new.render_rule(stored), self._lro_headers(op))

    def delete_rule(self, sub: str, rg: str, nsg_name: str, name: str, write: Write) -> Reply:
        with self.lock:
            key = nsg_key(sub, rg, nsg_name)
            old = self._nsg(sub, rg, nsg_name)
            stored = old.find_rule(name)
            if stored is None:
                return Reply(204)
            self._check_if_match(old, write.if_match, old.rule_id(stored))
            self._check_idle(key, old.id)
            new = old.copy()
            new.etag = new_etag()
            new.rule_states[stored] = "Deleting"
            self.resources[key] = new
            after = new.copy()
            del after.rules[stored]
            op = self._start("DeleteSecurityRuleOperation", key, old, after, write)
            return Reply(202, None, self._lro_headers(op, location=True))

    def get_default_rule(self, sub: str, rg: str, nsg_name: str, name: str) -> Reply:
        with self.lock:
            nsg = self._nsg(sub, rg, nsg_name)
            rule = nsg.find_default_rule(name)
            if rule is None:
                raise errors.child_not_found(f"{nsg.id}/defaultSecurityRules/{name}")
            return Reply(200, rule, {"ETag": nsg.etag})

    def list_default_rules(self, sub: str, rg: str, nsg_name: str) -> Reply:
        with self.lock:
            return Reply(200, {"value": self._nsg(sub, rg, nsg_name).default_rules()})

    # ----- the other resource types (armemu.resources) -----------------------------------
    def get(self, kind: Kind, sub: str, rg: str, name: str) -> Reply:
        with self.lock:
            res = self._resource(kind, sub, rg, name)
            op = self._running(res.key)
            headers = {}
            if op is not None and op.style == "body":
                self._advance(op)
                res = self._resource(kind, sub, rg, name)
                headers = self._retry_after() if op.status == "InProgress" else {}
            return Reply(200, res.render(), {"ETag": res.etag, **headers} if kind.etag else headers)

    def list(self, kind: Kind, sub: str, rg: str | None) -> Reply:
        return self._list(kind.type, sub, rg)

    def put(self, kind: Kind, sub: str, rg: str, name: str, body: Any, write: Write) -> Reply:
        if not isinstance(body, dict) or not body.get("location"):
            raise errors.location_required()
        with self.lock:
            key = resource_key(kind.type, sub, rg, name)
            old = self.resources.get(key)
            assert old is None or isinstance(old, Resource)
            self._check_if_match(old, write.if_match, f"/subscriptions/{sub}/resourceGroups/{rg}")
            new = old.copy() if old else Resource(kind.type, sub, rg, name, str(body["location"]))
            new.tags = {str(k): str(v) for k, v in (body.get("tags") or {}).items()}
            if old is None and isinstance(body.get("extendedLocation"), dict):
                new.extended_location = dict(body["extendedLocation"])
            kind.build(old, body, new)
            self._check_idle(key, new.id)
            style = kind.create if old is None else kind.update
            return self._write(kind, old, new, style, write, kind.updated)

    def patch(self, kind: Kind, sub: str, rg: str, name: str, body: Any, write: Write) -> Reply:
        with self.lock:
            old = self._resource(kind, sub, rg, name)
            self._check_if_match(old, write.if_match, old.id)
            self._check_idle(old.key, old.id)
            new = old.copy()
            if isinstance(body, dict):
                if isinstance(body.get("tags"), dict):
                    new.tags = {str(k): str(v) for k, v in body["tags"].items()}
                kind.patch(new, body)
            return self._write(kind, old, new, kind.patch_style, write)

    def delete(self, kind: Kind, sub: str, rg: str, name: str, write: Write) -> Reply:
        with self.lock:
            key = resource_key(kind.type, sub, rg, name)
            old = self.resources.get(key)
            if old is None:
                return Reply(204)
            self._check_if_match(old, write.if_match, old.id)
            self._check_idle(key, old.id)
            if kind.delete == "sync":
                del self.resources[key]
                self._save()
                return Reply(200)
            deleting = old.copy()
            deleting.state = "Deleting"
            self.resources[key] = deleting
            op = self._start(f"Delete{kind.collection}Operation", key, old, None, write, "async")
            return Reply(202, None, self._lro_headers(op, location=True))

    # ----- operations ----------------------------------------------------------------------
    def poll(self, op_id: str) -> Reply:
        with self.lock:
            op = self._operation(op_id)
            if op.status == "InProgress":
                if op.polls_left > 0:
                    op.polls_left -= 1
                    return Reply(200, {"status": "InProgress"}, self._retry_after())
                self._complete(op)
            body: dict[str, Any] = {"status": op.status}
            if op.failure:
                body["error"] = {"code": op.failure[0], "message": op.failure[1], "details": []}
            return Reply(200, body)

    def operation_result(self, op_id: str) -> Reply:
        with self.lock:
            op = self._operation(op_id)
            if op.status == "InProgress":
                if op.polls_left > 0:
                    op.polls_left -= 1
                    return Reply(202, None, {"Location": self._op_url(op, "operationResults"),
                                             **self._retry_after()})  # fmt: skip
                self._complete(op)
            if op.failure:
                raise ArmErrorReply(500, op.failure[0], op.failure[1], details=[])
            current = self.resources.get(op.key)
            result = child_result(current, op) if isinstance(current, Resource) else None
            if result is not None:
                return Reply(200, result)
            done = op.style in ("location", "located", "accepted") and op.after is not None
            if done and current is not None:
                return Reply(200, current.render())
            return Reply(204)

    # ----- internals -----------------------------------------------------------------------
    def _nsg(self, sub: str, rg: str, name: str) -> Nsg:
        nsg = self.resources.get(nsg_key(sub, rg, name))
        if not isinstance(nsg, Nsg):
            raise errors.nsg_not_found(rg, name)
        return nsg

    def _resource(self, kind: Kind, sub: str, rg: str, name: str) -> Resource:
        res = self.resources.get(resource_key(kind.type, sub, rg, name))
        if not isinstance(res, Resource):
            raise errors.resource_not_found(kind.type, rg, name)
        return res

    def _list(self, type_name: str, sub: str, rg: str | None) -> Reply:
        with self.lock:
            found = [
                item.render()
                for key, item in self.resources.items()
                if key[0] == type_name.lower()
                and key[1] == sub.lower()
                and (rg is None or key[2] == rg.lower())
            ]
        return Reply(200, {"value": found})

    def _operation(self, op_id: str) -> Operation:
        op = self.operations.get(op_id.lower())
        if op is None:
            raise errors.child_not_found(f"operations/{op_id}")
        return op

    def _running(self, key: Key) -> Operation | None:
        return next(
            (
                op
                for op in self.operations.values()
                if op.key == key and op.status == "InProgress" and op.child is None
            ),
            None,
        )

    def _advance(self, op: Operation) -> None:
        """One poll of a running operation: it ends once its polls are used up."""
        if op.polls_left > 0:
            op.polls_left -= 1
        else:
            self._complete(op)

    @staticmethod
    def _check_if_match(current: Stored | None, if_match: str | None, resource_id: str) -> None:
        if if_match is None:
            return
        if current is None or (if_match.strip() != "*" and if_match.strip() != current.etag):
            raise errors.precondition_failed(current.id if current else resource_id)

    def _check_idle(self, key: Key, resource_id: str) -> None:
        op = self._running(key)
        if op is None:
            return
        retry = max(self.retry_after, 1.0)
        kind, current = KINDS.get(key[0]), self.resources.get(key)
        if kind is not None and kind.conflict is not None and isinstance(current, Resource):
            raise kind.conflict(current, op.id)
        if key[0] == NSG_TYPE.lower():
            raise errors.another_operation(op.name, op.id, resource_id, retry)
        raise errors.another_operation_in_progress(self._op_url(op, op.segment), retry)

    def _write(self, kind: Kind, old: Resource | None, new: Resource, style: str,
               write: Write, updated: int = 200) -> Reply:  # fmt: skip
        """ResourceStore a new version and answer as ``style`` says (see armemu.resources)."""
        status = kind.created if old is None else updated
        if style == "sync":
            done = new.settled()
            self._commit(done)
            return Reply(status, done.render(), {"ETag": done.etag} if kind.etag else {})
        new.etag, new.state = new_etag(), kind.busy[0 if old is None else 1]
        self.resources[new.key] = new
        verb = "Create" if old is None else "Update"
        op = self._start(f"{verb}{kind.collection}Operation", new.key, old, new, write, style)
        located = {"Location": self._op_url(op, "operationResults"), **self._retry_after()}
        if style in ("location", "accepted"):
            via = located if style == "location" else self._lro_headers(op, location=True)
            return Reply(202, None, via)
        lro = {"async": self._lro_headers(op, location=kind.location), "located": located}
        headers = lro.get(style, self._retry_after())
        if kind.etag:
            headers["ETag"] = new.etag
        return Reply(status, new.render(), headers)

    def _commit(self, done: Stored) -> None:
        """A completed write: store it, record its allow-list, save."""
        self.resources[done.key] = done
        self.history[done.id].append(done.history_entry())
        self._save()

    def _start(self, name: str, key: Key, before: Stored | None, after: Stored | None,
               write: Write, style: str = "async", child: ChildChange | None = None,
               ) -> Operation:  # fmt: skip
        current = after or before or self.resources[key]
        polls = self.slow.get(key[0].split("/")[1], self.lro_polls)
        kind = KINDS.get(key[0])
        op = Operation(
            id=str(uuid.uuid4()),
            name=name,
            key=key,
            namespace=current.type.split("/")[0],
            location=current.location.replace(" ", "").lower(),
            api_version=write.api_version,
            polls_left=polls,
            deadline=time.monotonic() + polls * max(self.retry_after, LOCK_FLOOR_S),
            before=before,
            after=after,
            style=style,
            segment=kind.poll if kind is not None else "operations",
            child=child,
        )
        fail = write.fail
        if fail is not None:
            op.failure = (
                fail.code or "InternalServerError",
                fail.message or "An error occurred while processing the operation.",
            )
        self.operations[op.id] = op
        if polls <= 0:
            self._complete(op)
        return op

    def complete_now(self, headers: dict[str, str]) -> None:
        """End the operation named in a reply's headers at once (its answer is being lost)."""
        url = headers.get("Azure-AsyncOperation") or headers.get("Location") or ""
        op_id = url.split("?")[0].rsplit("/", 1)[-1]
        with self.lock:
            op = self.operations.get(op_id)
            if op is not None and op.status == "InProgress":
                self._complete(op)

    def _complete(self, op: Operation) -> None:
        if op.child is not None:
            op.status = "Failed" if op.failure is not None else "Succeeded"
            self._end_child(op)
            return
        if op.failure is not None:
            op.status = "Failed"
            if op.before is None:
                self.resources.pop(op.key, None)
            else:
                self.resources[op.key] = op.before
            return
        op.status = "Succeeded"
        if op.after is None:
            self.resources.pop(op.key, None)
            self._save()
        else:
            self._commit(op.after.settled())

    def _lro_headers(self, op: Operation, *, location: bool = False) -> dict[str, str]:
        headers = {"Azure-AsyncOperation": self._op_url(op, op.segment), **self._retry_after()}
        if location:
            headers["Location"] = self._op_url(op, "operationResults")
        return headers

    def _op_url(self, op: Operation, kind: str) -> str:
        return (
            f"{self.endpoint}/subscriptions/{op.key[1]}/providers/{op.namespace}/locations/"
            f"{op.location}/{kind}/{op.id}?api-version={op.api_version}"
        )

    def _retry_after(self) -> dict[str, str]:
        return {"Retry-After": f"{self.retry_after:g}"}

    def save(self) -> None:
        """Write the state file now (armemu.groups changes groups under the lock)."""
        self._save()

    def _save(self) -> None:
        if self.state_file is None:
            return
        data = {
            "nsgs": [r.to_json() for r in self.resources.values() if isinstance(r, Nsg)],
            "resources": [r.to_json() for r in self.resources.values() if isinstance(r, Resource)],
            "groups": [{**g, "sub": sub} for (sub, _), g in self.groups.items()],
        }
        tmp = self.state_file.with_name(self.state_file.name + ".tmp")
        tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
        os.replace(tmp, self.state_file)
