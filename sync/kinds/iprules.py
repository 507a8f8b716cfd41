"""Allow-lists that are one list of nameless IP rules on a resource: Storage, Key Vault, ACR.

What the three share lives here; each kind adds its SDK calls, limit and entry syntax.

- Ownership: an IP rule is a bare value, so ipsync keeps the entries it added in the
  ownership registry (:mod:`sync.state.ownership`) and removes only those. An entry that was there
  before ipsync wanted it (a user's) is never claimed: it stays, even after ipsync stops
  wanting it. Without a record (first run, or a lost registry) everything present is kept,
  and the report says so.
- One write per resource: the whole list in one PATCH, built from the list as read with
  only the IP rules replaced, so ``defaultAction``, ``bypass``, virtual network rules and
  every other property are sent back as they were.
- Concurrency: these resources carry no etag in ARM (their API specs define none), so there
  is no ``If-Match`` to send. The list is read again right before the PATCH and the run
  re-plans when it moved; a 412 from ARM re-plans the same way.
- Budget: the kind's limit minus the entries ipsync does not own; ``fit: cover`` fits the
  selection into it, preferring the blocks ipsync holds now.
"""

from __future__ import annotations

import copy
import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, cast

from sync.azure.writes import Stale
from sync.core.budget import Budget, fit_to_budget
from sync.core.plan import TargetPlan, Write
from sync.core.prefixes import parse_prefix
from sync.kinds.base import Ipv4ResourceTarget, PlanContext, Snapshot, TargetSpec, held_marks
from sync.state.ownership import Conflict, Record, Registry, StateError

if TYPE_CHECKING:
    from sync.azure.client import Clients
    from sync.azure.writes import ArmWriter
    from sync.core.selection import Selection
    from sync.state import State

#: Ranges no public endpoint's firewall accepts (Storage, Key Vault and ACR answer 400).
NOT_PUBLIC = tuple(
    ipaddress.IPv4Network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "224.0.0.0/4",
        "240.0.0.0/4",
    )
)
#: How often the record is re-loaded when another writer saved it meanwhile.
SAVE_TRIES = 3


class IpRuleTarget(Ipv4ResourceTarget):
    """A target whose allow-list is a resource's IP rule list (IPv4 only)."""

    holds: ClassVar[str] = "IP rules"


@dataclass(frozen=True)
class Listed:
    """One read of a resource: its IP rule values as answered, and what to write them into."""

    values: tuple[str, ...]
    #: The SDK rule set as read; a write sends it back with only its IP rules replaced.
    rules: Any
    sku: str | None = None


@dataclass(frozen=True)
class ListState:
    """The snapshot's state: the list as read, normalised, and ipsync's record of it."""

    listed: Listed
    entries: tuple[str, ...]  # normalise(value) for each value, same order
    record: Record
    registry: str  # where the record lives, for messages


@dataclass(frozen=True)
class ListWrite:
    """The payload of the one write: the values to send and what ipsync then owns."""

    values: tuple[str, ...]
    entries: frozenset[str]
    #: Entries this write adds that were not there before: ipsync's from now on.
    claimed: frozenset[str]
    #: The releases (their marks, space-separated) the list is written from.
    release: str


class ListApi(Protocol):
    """The SDK calls of one kind on one resource."""

    #: The management client (the writer polls long-running writes through it).
    client: Any

    def get(self) -> Listed: ...

    def put(self, listed: Listed, values: Sequence[str], headers: dict[str, str]) -> Any:
        """Send ``listed.rules`` with its IP rules set to ``values``; return the pipeline
        response (long-running writes with ``polling=False``)."""
        ...


def rules_copy(rules: Any, factory: Any) -> Any:
    """A copy of a read SDK rule set to modify, or a new one when the resource had none."""
    return copy.deepcopy(rules) if rules is not None else factory()


def normalise(value: str) -> str:
    """An entry as ipsync compares it: ``1.2.3.4`` and ``1.2.3.4/32`` are the same rule
    (Key Vault answers the first as the second). Unparsable values are kept as written."""
    try:
        return parse_prefix(value.strip()).text
    except ValueError:
        return value.strip()


def _address_key(entry: str) -> tuple[int, int, str]:
    try:
        parsed = parse_prefix(entry)
    except ValueError:
        return (-1, 0, entry)
    return (parsed.network, parsed.prefixlen, entry)


def _public(entry: str) -> bool:
    net = ipaddress.IPv4Network(entry)
    return not any(net.overlaps(n) for n in NOT_PUBLIC)


class ListGateway:
    """Reads a resource's IP rules with its ownership record; writes the whole list once."""

    def __init__(
        self, api: ListApi, registry: Registry, resource_id: str, writer: ArmWriter, field: str
    ) -> None:
        self._api = api
        self._registry = registry
        self._id = resource_id
        self._writer = writer
        self._field = field
        self._seen: ListState | None = None

    def _get(self, what: str) -> Listed:
        return self._writer.read(what, self._api.get)

    def read(self) -> Snapshot:
        listed = self._get("read it")
        record = self._registry.load(self._id)
        entries = tuple(normalise(v) for v in listed.values)
        self._seen = ListState(listed, entries, record, self._registry.location)
        releases = held_marks(record.release)
        return Snapshot(etag=None, state=self._seen, releases=releases)

    def send(self, write: Write[ListWrite], etag: str | None) -> str | None:
        """PATCH the list if it is still as planned from, then record what ipsync owns."""
        seen = self._seen
        assert seen is not None, "read() comes before send()"
        payload = write.payload
        now = self._get("read it again before writing")
        if tuple(normalise(v) for v in now.values) != seen.entries:
            raise Stale(f"{self._field} changed since it was read")
        what = f"PATCH {self._field} ({len(payload.values)} rules)"
        try:
            self._writer.write(
                what,
                lambda headers: self._api.put(now, payload.values, headers),
                etag,
                self._api.client,
            )
        except Stale as exc:
            if not exc.maybe_written:
                raise
            after = self._get("read it after a lost answer")
            if frozenset(normalise(v) for v in after.values) != payload.entries:
                raise
        self._remember(seen.record, payload)
        return etag

    def _remember(self, record: Record, payload: ListWrite) -> None:
        """Owned from now on: what it owned and kept, plus what this write added."""
        for _ in range(SAVE_TRIES):
            owned = (record.owned & payload.entries) | payload.claimed
            try:
                self._registry.save(self._id, replace(record, owned=owned, release=payload.release))
                return
            except Conflict:
                record = self._registry.load(self._id)
        raise StateError(
            f"{self._id}: the IP rules were written, but the ownership record in "
            f"{self._registry.location} kept changing; entries added now are kept as foreign"
        )


class IpRuleKind:
    """The kind protocol for IP rule lists; a subclass names its SDK, limit and syntax."""

    name: ClassVar[str]
    arm_type: ClassVar[str]
    target: ClassVar[type[TargetSpec]]
    id_field: ClassVar[str] = "resource"
    tag_fields: ClassVar[Mapping[str, str]] = {}
    #: IP rules the service takes per resource.
    limit: ClassVar[int]
    #: Where the list lives in the resource, for messages and the report.
    field: ClassVar[str]
    #: Prefix lengths the service refuses as one rule (each is written as two addresses).
    forbidden_lengths: ClassVar[frozenset[int]] = frozenset()

    def api(self, clients: Clients, resource_id: str) -> ListApi:
        raise NotImplementedError

    def check(self, target: IpRuleTarget, listed: Listed) -> str | None:
        """Why the resource cannot hold the target's IP rules at all (e.g. its SKU)."""
        return None

    def conflicts(self, targets: Sequence[TargetSpec]) -> dict[int, str]:
        """One target per resource: the list is written whole, once per run."""
        return {
            i: f"{t.where}: another target already syncs {t.resource_id}; put all its "
            "service tags in one target"
            for i, t in enumerate(targets)
            if i > 0
        }

    def gateway(
        self, clients: Clients, resource_id: str, writer: ArmWriter, state: State
    ) -> ListGateway:
        return ListGateway(
            self.api(clients, resource_id), state.registry, resource_id, writer, self.field
        )

    def entries(self, prefix: str) -> tuple[str, ...]:
        """The rules one prefix takes: a refused length becomes its two halves."""
        parsed = parse_prefix(prefix)
        if parsed.prefixlen not in self.forbidden_lengths:
            return (parsed.text,)
        half = 1 << (32 - parsed.prefixlen - 1)
        low = ipaddress.IPv4Network((parsed.network, parsed.prefixlen + 1))
        high = ipaddress.IPv4Network((parsed.network + half, parsed.prefixlen + 1))
        return (*self.entries(str(low)), *self.entries(str(high)))

    @staticmethod
    def render(entry: str) -> str:
        """The value written: a single address without its mask (Storage refuses ``/32``)."""
        return entry.removesuffix("/32")

    def owned(self, target: TargetSpec, snapshot: Snapshot) -> frozenset[str]:
        """The entries the ownership record holds that the list still has."""
        state: ListState = snapshot.state
        return state.record.owned & frozenset(state.entries)

    def plan(
        self,
        items: Sequence[tuple[TargetSpec, Selection]],
        snapshot: Snapshot,
        context: PlanContext,
    ) -> list[TargetPlan[Any] | str]:
        state: ListState = snapshot.state
        return [
            self._plan(cast(IpRuleTarget, target), selection, state, context)
            for target, selection in items
        ]

    def _plan(
        self, target: IpRuleTarget, selection: Selection, state: ListState, context: PlanContext
    ) -> TargetPlan[Any] | str:
        problem = self.check(target, state.listed)
        if problem:
            return problem
        record, present = state.record, frozenset(state.entries)
        owned = record.owned & present
        foreign = present - owned
        notes: list[str] = []
        if not record.exists and present:
            notes.append(
                f"no ownership record in {state.registry} (first run, or the record was "
                f"lost): the {len(present)} IP rules present are kept as not ipsync's and "
                "will not be removed by it"
            )
        budget = Budget(
            max(self.limit - len(foreign), 0),
            f"limit {self.limit} IP rules, {len(foreign)} held by entries ipsync did not add",
            {"v4": self.forbidden_lengths},
        )
        fitted = fit_to_budget(
            {"v4": selection.v4},
            budget,
            mode=target.fit,
            max_entries=target.max_entries,
            where=target.where,
            prefer=owned,
        )
        if fitted.refused:
            return TargetPlan(target, refused=fitted.refused, fit=fitted.account, notes=(*notes,))
        wanted = frozenset(e for p in fitted.by_family.get("v4", ()) for e in self.entries(p))
        private = sorted(e for e in wanted if not _public(e))
        if private:
            return (
                f"{target.where}: {private[0]} is not a public address range and "
                f"{self.field} refuses it (check extra_prefixes)"
            )
        theirs = wanted & foreign
        if record.exists and theirs:
            notes.append(
                f"{len(theirs)} wanted entries (e.g. {min(theirs, key=_address_key)}) were "
                "added by someone else: they stay theirs, also once no longer published"
            )
        plan = TargetPlan(
            target,
            self._writes(state, foreign | wanted, context.release_of(target)),
            wanted,
            fit=fitted.account,
            notes=(*notes,),
        )
        total = len(foreign | wanted)
        if total > self.limit:
            return plan.refuse(
                f"{target.where}: {self.field} would hold {total} IP rules (limit {self.limit});"
                " refused before any write"
            )
        return plan

    def _writes(
        self, state: ListState, final: frozenset[str], release: str
    ) -> tuple[Write[ListWrite], ...]:
        """The one write turning the list into ``final``, or none when it already is.

        Every value kept is sent back as read, duplicates included: they are the owner's.
        """
        present = frozenset(state.entries)
        added = sorted(final - present, key=_address_key)
        removed = sorted(present - final, key=_address_key)
        if not added and not removed:
            return ()
        values = [
            value
            for value, entry in zip(state.listed.values, state.entries, strict=True)
            if entry in final
        ]
        values += [self.render(e) for e in added]
        payload = ListWrite(tuple(values), final, frozenset(added), release)
        return (Write("update", self.field, payload, tuple(added), tuple(removed)),)
