"""Allow-lists that are one list of nameless IP rules on a resource: Storage, Key Vault, ACR,
Azure AI services, Cosmos DB, the Event Hubs and Service Bus rule sets, AKS authorized IP
ranges, Entra ID IP named locations.

What they share lives here; each kind adds its SDK (or Graph) calls, limit and entry syntax. A
kind that takes IPv6 rules under a limit of their own (Storage) keeps them in the same list,
each family fitted into its own limit, and splits them when it writes.

- Ownership: an IP rule is a bare value, so ipsync keeps the entries it added in the
  ownership registry (:mod:`sync.state.ownership`) and removes only those. An entry that was there
  before ipsync wanted it (a user's) is never claimed: it stays, even after ipsync stops
  wanting it. Without a record (first run, or a lost registry), or with one that describes
  another generation of the list than the resource's tag (:mod:`sync.kinds.marks`),
  everything present is kept, and the report says so.
- Marks on the resource: the write sets the ``ipsync-release`` and ``ipsync-generation`` tags
  in the same PATCH as the rules (a kind whose ``Listed.tags`` is None keeps none), so a lost
  registry does not re-open a rollback and a restored record is recognised.
- One write per resource: the whole list in one PATCH, built from the list as read with
  only the IP rules replaced, so ``defaultAction``, ``bypass``, virtual network rules and
  every other property are sent back as they were.
- Concurrency: Storage, Key Vault and ACR carry no etag in ARM (their API specs define none),
  so there is no ``If-Match`` to send; a kind whose resource has one (AKS) sends it. A write is
  announced first in the ownership record, saved over the etag the plan read
  (:class:`sync.state.ownership.Claim`): of two runs that planned from the same record only
  one writes, the other re-reads and meets the release the first holds. A claim another run
  has not settled is waited for (``CLAIM_WAIT_S``). The list is read again right before the
  write and the run re-plans when it moved; a 412 from ARM re-plans the same way.
- A long-running write the run's time budget cuts short was still accepted: what it adds is
  recorded as ipsync's then, so the next run finds those entries its own. While an update of
  the resource runs (its ``provisioningState``, where the kind reads it), no second one is
  sent.
- Budget: the kind's limit minus the entries ipsync does not own; ``fit: cover`` fits the
  selection into it, preferring the blocks ipsync holds now.
"""

from __future__ import annotations

import contextlib
import copy
import ipaddress
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, cast

from sync.azure.writes import OutOfTime, Stale
from sync.core.budget import Budget, FitAccount, Fitted, fit_to_budget
from sync.core.plan import TargetPlan, Write, normalise_prefix, parsed_prefix
from sync.core.prefixes import overlaps_any, parse_prefix
from sync.errors import IpsyncError
from sync.kinds.base import (
    Ipv4ResourceTarget,
    PlanContext,
    Snapshot,
    TargetSpec,
    held_marks,
)
from sync.kinds.marks import Generation, Trust, marked, released, trust
from sync.state.ownership import (
    Claim,
    Conflict,
    Record,
    Registry,
    StateError,
    await_claim,
    new_claim,
)

if TYPE_CHECKING:
    from sync.azure.client import Clients
    from sync.azure.writes import ArmWriter
    from sync.core.selection import Selection
    from sync.kinds.base import Family
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
#: IPv6 ranges that are no public endpoint's clients (``::/8`` holds loopback, unspecified and
#: IPv4-mapped addresses), for the lists that take IPv6.
NOT_PUBLIC_V6 = tuple(
    ipaddress.IPv6Network(n) for n in ("::/8", "2001:db8::/32", "fc00::/7", "fe80::/10", "ff00::/8")
)
#: Both, as text: a plan's entries are checked against them in bulk (:func:`overlaps_any`).
_NOT_PUBLIC_TEXT = tuple(str(n) for n in (*NOT_PUBLIC, *NOT_PUBLIC_V6))
#: How often the record is re-loaded when another writer saved it meanwhile.
SAVE_TRIES = 3
log = logging.getLogger(__name__)


class IpRuleTarget(Ipv4ResourceTarget):
    """A target whose allow-list is an ARM resource's IP rule list (IPv4 only)."""

    holds: ClassVar[str] = "IP rules"


@dataclass(frozen=True)
class Listed:
    """One read of a resource: its IP rule values as answered, and what to write them into."""

    values: tuple[str, ...]
    #: The SDK rule set as read; a write sends it back with only its IP rules replaced.
    rules: Any
    sku: str | None = None
    #: The resource's etag, for ``If-Match`` (None: the resource has none).
    etag: str | None = None
    #: Why no write can start now (an update of the resource still runs, anyone's), or None.
    busy: str | None = None
    #: Other entries counted in the same limit (Event Hubs: virtual network rules).
    others: int = 0
    #: Whether the resource takes IPv6 rules now (Storage: where it publishes IPv6 endpoints).
    takes_v6: bool = False
    #: The resource's Azure tags as read; a write sends them back with ipsync's marks set.
    #: None: the kind keeps no marks on the resource (the record is all there is).
    tags: dict[str, str] | None = None


@dataclass(frozen=True)
class ListState:
    """The snapshot's state: the list as read, normalised, and ipsync's record of it."""

    listed: Listed
    entries: tuple[str, ...]  # normalise_prefix(value) for each value, same order
    record: Record
    registry: str  # where the record lives, for messages
    #: What of the list the record may call ipsync's (:func:`sync.kinds.marks.trust`).
    trust: Trust

    @property
    def owned(self) -> frozenset[str]:
        return self.trust.owned & frozenset(self.entries)


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


class ResourceApi:
    """What every kind's :class:`ListApi` starts from: the SDK client, the resource's group
    and name (as :meth:`Clients.for_resource` gives them)."""

    def __init__(self, client: Any, resource_group: str, name: str) -> None:
        self.client = client
        self._rg = resource_group
        self._name = name


def rules_copy(rules: Any, factory: Any) -> Any:
    """A copy of a read SDK rule set to modify, or a new one when the resource had none."""
    return copy.deepcopy(rules) if rules is not None else factory()


def _address_key(entry: str) -> tuple[int, int, str]:
    try:
        parsed = parse_prefix(entry)
    except ValueError:
        return (-1, 0, entry)
    return (parsed.network, parsed.prefixlen, entry)


def _public(entry: str) -> bool:
    net = ipaddress.ip_network(entry)
    reserved = NOT_PUBLIC_V6 if net.version == 6 else NOT_PUBLIC
    return not any(net.overlaps(n) for n in reserved)


def family_of(entry: str) -> str:
    return "v6" if ":" in entry else "v4"


def _merged(accounts: Sequence[FitAccount]) -> FitAccount:
    """One account of the fits of several families, each against its own capacity."""
    if len(accounts) == 1:
        return accounts[0]
    return FitAccount(
        sum(a.entries for a in accounts),
        sum(a.capacity for a in accounts),
        sum(a.extra_addresses for a in accounts),
        {f: n for a in accounts for f, n in a.published.items()},
        {f: n for a in accounts for f, n in a.extra.items()},
        "; ".join(a.why for a in accounts),
    )


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
        #: This run's claims carry it: a claim of its own is never waited for.
        self._token = uuid.uuid4().hex

    def _get(self, what: str) -> Listed:
        return self._writer.read(what, self._api.get)

    def read(self) -> Snapshot:
        listed = self._get("read it")
        record = self._registry.load(self._id)
        entries = tuple(normalise_prefix(v) for v in listed.values)
        trusted = trust(record, listed.tags, self._registry.location)
        self._seen = ListState(listed, entries, record, self._registry.location, trusted)
        releases = held_marks(record.release) + released(listed.tags)
        return Snapshot(etag=listed.etag, state=self._seen, releases=releases)

    def send(self, write: Write[ListWrite], etag: str | None) -> str | None:
        """Claim the write in the record, PATCH the list (and ipsync's tags) if it is still as
        planned from, then settle the record with what ipsync owns."""
        seen = self._seen
        assert seen is not None, "read() comes before send()"
        payload = write.payload
        now = self._get("read it again before writing")
        if now.busy:
            raise OutOfTime(
                f"{self._id}: an update of the resource is still running ({now.busy}); no "
                "second one is sent while it runs, the next run reads what it did"
            )
        if tuple(normalise_prefix(v) for v in now.values) != seen.entries or _generation(
            now
        ) != _generation(seen.listed):
            raise Stale(f"{self._field} changed since it was read")
        claimed = self._claim(seen, payload)
        claim = cast(Claim, claimed.pending)
        sent = (
            replace(now, tags=marked(now.tags, payload.release, claim.generation))
            if (now.tags is not None)
            else now
        )
        what = f"{self.verb} {self._field} ({len(payload.values)} rules)"
        try:
            self._writer.write(
                what,
                lambda headers: self._put(sent, payload, headers),
                etag,
                self._api.client,
            )
        except OutOfTime as exc:
            if exc.sent:  # accepted, still running: what it adds is ipsync's from now on
                self._settle(claimed, payload)
            else:
                self._withdraw(claimed, seen.record)
            raise
        except Stale as exc:
            if not exc.maybe_written:
                self._withdraw(claimed, seen.record)
                raise
            after = self._get("read it after a lost answer")
            landed = frozenset(normalise_prefix(v) for v in after.values) == payload.entries
            if not landed or _generation(after) not in (None, Generation(claim.generation)):
                raise  # the claim stays: the next read knows by the tag whether it landed
        except IpsyncError:
            self._withdraw(claimed, seen.record)
            raise
        self._settle(claimed, payload)
        return etag

    #: The method of the one write, for messages.
    verb: ClassVar[str] = "PATCH"

    def _put(self, now: Listed, payload: ListWrite, headers: dict[str, str]) -> Any:
        """The write itself; a kind whose list is one part of a larger document (a Front Door
        rule) overrides it to say which part."""
        return self._api.put(now, payload.values, headers)

    def _claim(self, seen: ListState, payload: ListWrite) -> Record:
        """Announce the write over the record as read: another run that planned from the same
        record then fails to, and re-reads. Waits for a live claim of another run."""
        record, pending = seen.record, seen.record.pending
        generation = seen.trust.generation
        landed = (
            generation is not None
            and pending is not None
            and (generation.value == pending.generation)
        )
        claim = new_claim(
            seen.trust.next, (seen.owned & payload.entries) | payload.claimed, self._token
        )
        new = replace(record, pending=claim, release=payload.release)
        try:
            if not landed:
                await_claim(self._registry, self._id, record, self._token, self._writer.pause)
            return replace(new, etag=self._registry.save(self._id, new))
        except Conflict:
            raise Stale("its ownership record changed since it was read") from None

    def _settle(self, claimed: Record, payload: ListWrite) -> None:
        """Owned from now on: what the claim said; the list is at the claim's generation."""
        record = claimed
        for _ in range(SAVE_TRIES):
            claim = record.pending
            if claim is None or claim.token != self._token:
                return  # another run took it over: its record is newer
            settled = replace(record, owned=claim.owned, generation=claim.generation)
            try:
                self._registry.save(
                    self._id, replace(settled, pending=None, release=payload.release)
                )
                return
            except Conflict:
                record = self._registry.load(self._id)
        # The claim stays in the record; the resource's generation tag says it landed.
        log.warning("%s: written, but its ownership record kept changing; left claimed", self._id)

    def _withdraw(self, claimed: Record, before: Record) -> None:
        """The write did not happen: the record as it was (never over another run's)."""
        with contextlib.suppress(StateError):
            self._registry.save(self._id, replace(before, etag=claimed.etag))


def _generation(listed: Listed) -> Generation | None:
    return Generation.of(listed.tags) if listed.tags is not None else None


def one_target_each(targets: Sequence[TargetSpec]) -> dict[int, str]:
    """One target per resource, for kinds that write a resource's list whole, once per run."""
    return {
        i: f"{t.where}: another target already syncs {t.resource_id}; put all its "
        "service tags in one target"
        for i, t in enumerate(targets)
        if i > 0
    }


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
    #: Whether the service takes CIDRs only (one address written as ``/32``).
    cidrs_only: ClassVar[bool] = False
    #: Why the list may never be written empty (None: it may).
    not_empty: ClassVar[str | None] = None
    #: Whether the service refuses private and reserved ranges (Front Door takes them).
    public_only: ClassVar[bool] = True
    #: IPv6 rules the service takes per resource apart from the IPv4 ones (0: IPv6 entries,
    #: where the kind takes them, count in ``limit``), and the IPv6 lengths it refuses as one.
    v6_limit: ClassVar[int] = 0
    v6_forbidden_lengths: ClassVar[frozenset[int]] = frozenset()

    def api(self, clients: Clients, resource_id: str) -> ListApi:
        raise NotImplementedError

    def check(self, target: IpRuleTarget, listed: Listed) -> str | None:
        """Why the resource cannot hold the target's IP rules at all (e.g. its SKU)."""
        return None

    def conflicts(self, targets: Sequence[TargetSpec]) -> dict[int, str]:
        return one_target_each(targets)

    def gateway(
        self, clients: Clients, resource_id: str, writer: ArmWriter, state: State
    ) -> ListGateway:
        return ListGateway(
            self.api(clients, resource_id), state.registry, resource_id, writer, self.field
        )

    def entries(self, prefix: str) -> tuple[str, ...]:
        """The rules one prefix takes: a refused length becomes its two halves."""
        parsed = parsed_prefix(prefix)
        v6 = family_of(parsed.text) == "v6"
        if parsed.prefixlen not in (self.v6_forbidden_lengths if v6 else self.forbidden_lengths):
            return (parsed.text,)
        halves = ipaddress.ip_network(parsed.text).subnets()
        return tuple(e for half in halves for e in self.entries(str(half)))

    def render(self, entry: str) -> str:
        """The value written: a single address without its mask (Storage refuses ``/32``),
        unless the service takes CIDRs only."""
        if self.cidrs_only:
            return entry
        return entry.removesuffix("/128" if ":" in entry else "/32")

    def owned(self, target: TargetSpec, snapshot: Snapshot) -> frozenset[str]:
        """The entries the ownership record holds that the list still has, as far as the record
        is trusted."""
        state: ListState = snapshot.state
        return state.owned

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
        plan = self._fit(target, selection, state, context)
        if isinstance(plan, TargetPlan) and plan.writes and state.listed.busy:
            return (
                f"{target.where}: an update of the resource is still running "
                f"({state.listed.busy}); nothing written, the next run carries on"
            )
        return plan

    def _fit(
        self, target: IpRuleTarget, selection: Selection, state: ListState, context: PlanContext
    ) -> TargetPlan[Any] | str:
        record, present = state.record, frozenset(state.entries)
        owned = state.owned
        foreign = present - owned
        notes: list[str] = [state.trust.note] if state.trust.note else []
        if not record.exists and present:
            notes.append(
                f"no ownership record in {state.registry} (first run, or the record was "
                f"lost): the {len(present)} IP rules present are kept as not ipsync's and "
                "will not be removed by it"
            )
        families = [f for f in ("v4", "v6") if f in target.families]
        groups = [[f] for f in families] if self.v6_limit else [families]
        fits = [self._fit_group(target, selection, state, g, owned, foreign) for g in groups]
        account = _merged([f.account for f in fits])
        refused = next((f.refused for f in fits if f.refused), None)
        if refused:
            return TargetPlan(target, refused=refused, fit=account, notes=(*notes,))
        wanted = frozenset(
            e for f in fits for ps in f.by_family.values() for p in ps for e in self.entries(p)
        )
        private = (
            sorted(e for e in wanted if not _public(e))
            if self.public_only and overlaps_any(wanted, _NOT_PUBLIC_TEXT)
            else []
        )
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
            fit=account,
            notes=(*notes,),
        )
        total = len(foreign | wanted)
        if self.not_empty and not total:
            return plan.refuse(f"{target.where}: {self.field} would be empty, {self.not_empty}")
        for group in groups:
            count = sum(1 for e in foreign | wanted if family_of(e) in group)
            limit, why = self._limit(group, state.listed)
            if count > limit:
                rules = "IPv6 rules" if group == ["v6"] else "IP rules"
                return plan.refuse(
                    f"{target.where}: {self.field} would hold {count} {rules} ({why}); "
                    "refused before any write"
                )
        return plan

    def _limit(self, families: Sequence[str], listed: Listed) -> tuple[int, str]:
        """The rules of ``families`` the resource takes, and why, for messages."""
        if self.v6_limit and list(families) == ["v6"]:
            return self.v6_limit, f"limit {self.v6_limit} IPv6 rules"
        held = f", {listed.others} held by other rules" if listed.others else ""
        return self.limit - listed.others, f"limit {self.limit} IP rules{held}"

    def _fit_group(
        self,
        target: IpRuleTarget,
        selection: Selection,
        state: ListState,
        families: Sequence[str],
        owned: frozenset[str],
        foreign: frozenset[str],
    ) -> Fitted:
        """The selection of ``families`` fitted into the limit they share."""
        limit, why = self._limit(families, state.listed)
        theirs = sum(1 for e in foreign if family_of(e) in families)
        budget = Budget(
            max(limit - theirs, 0),
            f"{why}, {theirs} held by entries ipsync did not add",
            {
                f: self.v6_forbidden_lengths if f == "v6" else self.forbidden_lengths
                for f in families
            },
        )
        return fit_to_budget(
            {f: selection.family(cast("Family", f)) for f in families},
            budget,
            mode=target.fit,
            max_entries=target.max_entries,
            where=target.where,
            prefer=owned,
        )

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
