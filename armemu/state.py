"""The emulated network provider: NSGs, rules, long-running operations, history and stats.

When a write becomes visible: at accept time, as in ARM. A PUT answers with the new resource in
``provisioningState: Updating`` and a GET during the operation shows it so; a DELETE leaves the
resource visible as ``Deleting``. The write is *completed* when its operation ends: then the
state is ``Succeeded`` (a new etag), the history gets an entry and the state file is saved. An
operation that ends ``Failed`` (fault ``lro``) restores the NSG as it was before the write.

An operation is in progress (and its NSG refuses other writes with 429) until a client has
polled it ``lro_polls`` times, or until ``lro_polls * max(retry_after, LOCK_FLOOR_S)`` seconds
have passed, so an unpolled operation cannot lock an NSG for good.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from armemu import errors, validation
from armemu.errors import ArmError
from armemu.faults import Fault
from armemu.model import Nsg, new_etag, nsg_key

LOCK_FLOOR_S = 0.5
NsgKey = tuple[str, str, str]


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
    key: NsgKey
    location: str
    api_version: str
    polls_left: int
    deadline: float
    before: Nsg | None
    after: Nsg | None
    failure: tuple[str, str] | None = None
    status: str = "InProgress"


class Store:
    """All emulated state behind one lock; every public method is one ARM request."""

    def __init__(
        self, *, lro_polls: int = 1, retry_after: int = 0, state_file: Path | None = None
    ) -> None:
        self.lro_polls = lro_polls
        self.retry_after = retry_after
        self.state_file = state_file
        self.endpoint = ""
        self.lock = threading.RLock()
        self.nsgs: dict[NsgKey, Nsg] = {}
        self.operations: dict[str, Operation] = {}
        self.history: dict[str, list[list[dict[str, Any]]]] = defaultdict(list)
        self.faults: list[Fault] = []
        self.counts: Counter[str] = Counter()
        self.by_resource: dict[str, Counter[str]] = defaultdict(Counter)
        if state_file is not None and state_file.is_file():
            for raw in json.loads(state_file.read_text(encoding="utf-8"))["nsgs"]:
                nsg = Nsg.from_json(raw)
                self.nsgs[nsg_key(nsg.subscription, nsg.resource_group, nsg.name)] = nsg

    # ----- bookkeeping -------------------------------------------------------------------
    def reset(self) -> None:
        with self.lock:
            self.nsgs.clear()
            self.operations.clear()
            self.history.clear()
            self.faults.clear()
            self.counts.clear()
            self.by_resource.clear()
            self._save()

    def count(self, method: str, path: str) -> None:
        with self.lock:
            self.counts["requests"] += 1
            if method in ("PUT", "DELETE"):
                self.counts["writes"] += 1
                self.counts["puts" if method == "PUT" else "deletes"] += 1
            self.by_resource[path.lower()][method] += 1

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {
                "requests": self.counts["requests"],
                "writes": self.counts["writes"],
                "puts": self.counts["puts"],
                "deletes": self.counts["deletes"],
                "by_resource": {k: dict(v) for k, v in self.by_resource.items()},
            }

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

    # ----- NSGs ----------------------------------------------------------------------------
    def get_nsg(self, sub: str, rg: str, name: str) -> Reply:
        nsg = self._nsg(sub, rg, name)
        return Reply(200, nsg.render(), {"ETag": nsg.etag})

    def list_nsgs(self, sub: str, rg: str | None) -> Reply:
        with self.lock:
            found = [
                nsg.render()
                for key, nsg in self.nsgs.items()
                if key[0] == sub.lower() and (rg is None or key[1] == rg.lower())
            ]
        return Reply(200, {"value": found})

    def put_nsg(self, sub: str, rg: str, name: str, body: Any, write: Write) -> Reply:
        validation.check_name(name)
        if not isinstance(body, dict) or not body.get("location"):
            raise ArmError(400, "LocationRequired",
                           "The location property is required for this definition.")  # fmt: skip
        with self.lock:
            key = nsg_key(sub, rg, name)
            old = self.nsgs.get(key)
            self._check_if_match(old, write.if_match, f"/subscriptions/{sub}/resourceGroups/{rg}")
            new = old.copy() if old else Nsg(sub, rg, name, str(body["location"]))
            new.tags = {str(k): str(v) for k, v in (body.get("tags") or {}).items()}
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
            self.nsgs[key] = new
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
            old = self.nsgs.get(key)
            if old is None:
                return Reply(204)
            self._check_if_match(old, write.if_match, old.id)
            self._check_idle(key, old.id)
            deleting = old.copy()
            deleting.state = "Deleting"
            self.nsgs[key] = deleting
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
            self.nsgs[key] = new
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
            self.nsgs[key] = new
            after = new.copy()
            del after.rules[stored]
            op = self._start("DeleteSecurityRuleOperation", key, old, after, write)
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
                return Reply(202, None, {"Location": self._op_url(op, "operationResults"),
                                         **self._retry_after()})  # fmt: skip
            if op.failure:
                raise ArmError(500, op.failure[0], op.failure[1], details=[])
            return Reply(204)

    # ----- internals -----------------------------------------------------------------------
    def _nsg(self, sub: str, rg: str, name: str) -> Nsg:
        nsg = self.nsgs.get(nsg_key(sub, rg, name))
        if nsg is None:
            raise errors.nsg_not_found(rg, name)
        return nsg

    def _operation(self, op_id: str) -> Operation:
        op = self.operations.get(op_id.lower())
        if op is None:
            raise errors.child_not_found(f"operations/{op_id}")
        return op

    @staticmethod
    def _check_if_match(current: Nsg | None, if_match: str | None, resource_id: str) -> None:
        if if_match is None:
            return
        if current is None or (if_match.strip() != "*" and if_match.strip() != current.etag):
            raise errors.precondition_failed(current.id if current else resource_id)

    def _check_idle(self, key: NsgKey, resource_id: str) -> None:
        for op in self.operations.values():
            if op.key == key and op.status == "InProgress":
                raise errors.another_operation(
                    op.name, op.id, resource_id, max(self.retry_after, 1.0)
                )

    def _start(self, name: str, key: NsgKey, before: Nsg | None, after: Nsg | None,
               write: Write) -> Operation:  # fmt: skip
        location = (after or before or self.nsgs[key]).location
        op = Operation(
            id=str(uuid.uuid4()),
            name=name,
            key=key,
            location=location.replace(" ", "").lower(),
            api_version=write.api_version,
            polls_left=self.lro_polls,
            deadline=time.monotonic() + self.lro_polls * max(self.retry_after, LOCK_FLOOR_S),
            before=before,
            after=after,
        )
        fail = write.fail
        if fail is not None:
            op.failure = (
                fail.code or "InternalServerError",
                fail.message or "An error occurred while processing the operation.",
            )
        self.operations[op.id] = op
        if self.lro_polls <= 0:
            self._complete(op)
        return op

    def complete_now(self, headers: dict[str, str]) -> None:
        """End the operation named in a reply's headers at once (its answer is being lost)."""
        url = headers.get("Azure-AsyncOperation", "")
        op_id = url.split("?")[0].rsplit("/", 1)[-1]
        with self.lock:
            op = self.operations.get(op_id)
            if op is not None and op.status == "InProgress":
                self._complete(op)

    def _complete(self, op: Operation) -> None:
        if op.failure is not None:
            op.status = "Failed"
            if op.before is None:
                self.nsgs.pop(op.key, None)
            else:
                self.nsgs[op.key] = op.before
            return
        op.status = "Succeeded"
        if op.after is None:
            self.nsgs.pop(op.key, None)
        else:
            done = op.after.copy()
            done.etag, done.state, done.rule_states = new_etag(), "Succeeded", {}
            self.nsgs[op.key] = done
            self.history[done.id].append(done.effective_rules())
        self._save()

    def _lro_headers(self, op: Operation, *, location: bool = False) -> dict[str, str]:
        headers = {"Azure-AsyncOperation": self._op_url(op, "operations"), **self._retry_after()}
        if location:
            headers["Location"] = self._op_url(op, "operationResults")
        return headers

    def _op_url(self, op: Operation, kind: str) -> str:
        sub = op.key[0]
        return (
            f"{self.endpoint}/subscriptions/{sub}/providers/Microsoft.Network/locations/"
            f"{op.location}/{kind}/{op.id}?api-version={op.api_version}"
        )

    def _retry_after(self) -> dict[str, str]:
        return {"Retry-After": f"{self.retry_after:g}"}

    def _save(self) -> None:
        if self.state_file is None:
            return
        data = {"nsgs": [nsg.to_json() for nsg in self.nsgs.values()]}
        tmp = self.state_file.with_name(self.state_file.name + ".tmp")
        tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
        os.replace(tmp, self.state_file)
