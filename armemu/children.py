"""Child resources of the emulated types (armemu.resources ``Child``), as ARM serves them.

``sync`` children (SQL ``firewallRules``) are written at once: PUT 201 when new, 200 when
replaced, DELETE 200 (204 when absent). ``accepted`` children (flexible servers'
``firewallRules``) answer 202 with ``Azure-AsyncOperation`` and ``Location`` and change when
their operation ends: each rule has its own operation and several may run at once on one
server (the service allows it), but a second write to the same rule while one runs gets 409
``AnotherOperationInProgress``. A new or replaced rule is visible from acceptance, a deleted
one until its operation ends; a failed operation (fault ``lro``) puts the rule back as it was.
A singleton (Event Hubs' ``networkRuleSets/default``) always exists: GET shows its blank value
until the first PUT, which answers 200 and replaces it; it has no DELETE.

Each completed child write records the parent's allow-list in the history as it is in force:
rules whose own writes still run count as they were before, so a gap between two writes shows.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Protocol

from armemu import errors
from armemu.resources import Child, Key, Kind, Resource

if TYPE_CHECKING:
    from armemu.state import Operation, Reply, Stored, Write

#: (child name, its value before the write, after it: None when absent)
ChildChange = tuple[str, dict[str, Any] | None, dict[str, Any] | None]


class _Store(Protocol):
    lock: threading.RLock
    resources: dict[Key, Stored]
    operations: dict[str, Operation]
    retry_after: int
    history: dict[str, list[Any]]

    def _resource(self, kind: Kind, sub: str, rg: str, name: str) -> Resource: ...
    def _check_idle(self, key: Key, resource_id: str) -> None: ...
    def _commit(self, done: Stored) -> None: ...
    def _lro_headers(self, op: Operation, *, location: bool = False) -> dict[str, str]: ...
    def _op_url(self, op: Operation, kind: str) -> str: ...
    def _save(self) -> None: ...
    def _start(self, name: str, key: Key, before: Stored | None, after: Stored | None,
               write: Write, style: str = "async", child: ChildChange | None = None,
               ) -> Operation: ...  # fmt: skip


class ChildStore:
    """The child routes of :class:`armemu.state.ResourceStore`."""

    def get_child(self: _Store, kind: Kind, sub: str, rg: str, parent: str, name: str) -> Reply:
        from armemu.state import Reply

        with self.lock:
            res = self._resource(kind, sub, rg, parent)
            return Reply(200, res.render_child(_existing(res, _spec(kind), name)))

    def list_children(self: _Store, kind: Kind, sub: str, rg: str, parent: str) -> Reply:
        from armemu.state import Reply

        with self.lock:
            res = self._resource(kind, sub, rg, parent)
            child = _spec(kind)
            names = [child.singleton] if child.singleton else list(res.children)
            return Reply(200, {"value": [res.render_child(n) for n in names]})

    def put_child(self: _Store, kind: Kind, sub: str, rg: str, parent: str, name: str,
                  body: Any, write: Write) -> Reply:  # fmt: skip
        from armemu.state import Reply

        child = _spec(kind)
        with self.lock:
            old = self._resource(kind, sub, rg, parent)
            self._check_idle(old.key, old.id)
            if child.singleton and name.lower() != child.singleton:
                raise errors.child_not_found(f"{old.id}/{child.collection}/{name}")
            stored = old.find_child(name) or child.singleton or name
            new = old.copy()
            new.children[stored] = child.validate(stored, body)
            child.check(new)
            if child.style == "sync":
                self._commit(new.settled())
                created = not child.singleton and old.find_child(name) is None
                return Reply(201 if created else 200, new.render_child(stored))
            _check_child_idle(self, old, stored)
            self.resources[old.key] = new
            change = (stored, old.children.get(stored), new.children[stored])
            op = self._start(f"Upsert{child.collection}Operation", old.key, None, None, write,
                             child=change)  # fmt: skip
            return Reply(202, None, self._lro_headers(op, location=True))

    def delete_child(self: _Store, kind: Kind, sub: str, rg: str, parent: str, name: str,
                     write: Write) -> Reply:  # fmt: skip
        from armemu.state import Reply

        child = _spec(kind)
        if child.singleton:
            raise errors.method_not_allowed("DELETE")
        with self.lock:
            old = self._resource(kind, sub, rg, parent)
            stored = old.find_child(name)
            if stored is None:
                return Reply(204)
            self._check_idle(old.key, old.id)
            if child.style == "sync":
                new = old.copy()
                del new.children[stored]
                self._commit(new.settled())
                return Reply(200)
            _check_child_idle(self, old, stored)
            change = (stored, old.children[stored], None)
            op = self._start(f"Delete{child.collection}Operation", old.key, None, None, write,
                             child=change)  # fmt: skip
            return Reply(202, None, self._lro_headers(op, location=True))

    def _end_child(self: _Store, op: Operation) -> None:
        """A child operation ends: its change (or, when it failed, the old value) lands on the
        parent as it stands now, which other rules' operations may have changed meanwhile."""
        assert op.child is not None
        res = self.resources.get(op.key)
        if not isinstance(res, Resource):
            return
        name, before, after = op.child
        value = before if op.failure is not None else after
        done = res.copy()
        if value is None:
            done.children.pop(name, None)
        else:
            done.children[name] = value
        if op.failure is not None:
            self.resources[op.key] = done
            return
        done = done.settled()
        self.resources[op.key] = done
        self.history[done.id].append(_effective(self, done).history_entry())
        self._save()


def child_result(res: Resource, op: Operation) -> dict[str, Any] | None:
    """What a child operation's ``Location`` answers once it has ended: the rule it wrote."""
    if op.child is None or op.child[2] is None or res.find_child(op.child[0]) is None:
        return None
    return res.render_child(op.child[0])


def _effective(store: _Store, res: Resource) -> Resource:
    """The parent as it is in force: rules still being written count as they were before."""
    effective = res.copy()
    for op in store.operations.values():
        if op.key == res.key and op.status == "InProgress" and op.child is not None:
            name, before, _ = op.child
            if before is None:
                effective.children.pop(name, None)
            else:
                effective.children[name] = before
    return effective


def _spec(kind: Kind) -> Child:
    assert kind.child is not None
    return kind.child


def _existing(res: Resource, child: Child, name: str) -> str:
    if child.singleton and name.lower() == child.singleton:
        return child.singleton
    stored = None if child.singleton else res.find_child(name)
    if stored is None:
        raise errors.child_not_found(f"{res.id}/{child.collection}/{name}")
    return stored


def _check_child_idle(store: _Store, res: Resource, name: str) -> None:
    """One write at a time per rule; rules of one server may change in parallel."""
    for op in store.operations.values():
        if op.key == res.key and op.status == "InProgress" and op.child is not None \
                and op.child[0] == name:  # fmt: skip
            raise errors.another_operation_in_progress(
                store._op_url(op, op.segment), max(store.retry_after, 1.0)
            )
