"""Published lists as a kind: the same plan, guards, fit, report row and notification as every
allow-list, written to the list store (:mod:`sync.state.lists`) instead of to Azure.

A list is one document (its prefixes, the tags and release they come from); it is rewritten
only when its prefixes change, so its ``published_at`` (served as ``Last-Modified``) is when
its content last changed. A list the guards refuse is not replaced: the last good one stays
published.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, cast

from sync.core.budget import Budget, fit_to_budget
from sync.core.plan import TargetPlan, Write
from sync.core.prefixes import parse_prefix
from sync.kinds.base import Needs, PlanContext, Snapshot, TargetSpec
from sync.kinds.list.target import ListTarget

if TYPE_CHECKING:
    from sync.azure.client import Clients
    from sync.azure.writes import ArmWriter
    from sync.core.selection import Selection
    from sync.kinds.list.gateway import ListGateway
    from sync.state import State

#: Entries a list holds at most: Palo Alto's largest external dynamic list (FortiGate takes
#: 128,000 per external feed, pfSense 200,000 per URL table); ``max_entries`` lowers it.
LIMIT = 150_000


def prefixes_of(document: Mapping[str, Any] | None) -> tuple[str, ...]:
    """A published document's prefixes, IPv4 first."""
    if document is None:
        return ()
    return (*document.get("v4", ()), *document.get("v6", ()))


def configured(lists: Mapping[str, Any], asked: str) -> ListTarget | None:
    """The list of ``IPSYNC_LISTS`` named ``asked`` (any case), or None; raises
    :class:`sync.errors.TargetError` when that list's settings are invalid."""
    from sync.kinds import parse_target

    name = next((n for n in lists if n.lower() == asked.lower()), None)
    if name is None:
        return None
    fields = lists[name]
    raw = {"kind": "list", **fields, "name": name} if isinstance(fields, dict) else fields
    return cast(ListTarget, parse_target(raw, f"list {name} of IPSYNC_LISTS"))


def _key(prefix: str) -> tuple[int, int]:
    parsed = parse_prefix(prefix)
    return parsed.version, parsed.network


class ListKind:
    name: ClassVar[str] = "list"
    #: Lists are no Azure resource: none is discovered.
    arm_type: ClassVar[str] = ""
    target: ClassVar[type[TargetSpec]] = ListTarget
    id_field: ClassVar[str] = "name"
    tag_fields: ClassVar[Mapping[str, str]] = {}
    needs: ClassVar[Needs] = Needs(
        docs="published-lists.md",
        no_rbac="a list is written to the state place (the app's own storage account, whose "
        "data roles the deployment grants, or a folder): no Azure resource is touched",
    )

    def conflicts(self, targets: Sequence[TargetSpec]) -> dict[int, str]:
        """Names that differ only in case would share one blob."""
        return {
            i: f"{t.where}: another list already has the name {t.resource_id[6:]} (any case)"
            for i, t in enumerate(targets)
            if i > 0
        }

    def gateway(
        self, clients: Clients, resource_id: str, writer: ArmWriter, state: State
    ) -> ListGateway:
        from sync.kinds.list.gateway import ListGateway

        return ListGateway(state.lists, resource_id.removeprefix("lists/"))

    def owned(self, target: TargetSpec, snapshot: Snapshot) -> frozenset[str]:
        return frozenset(prefixes_of(snapshot.state))

    def plan(
        self,
        items: Sequence[tuple[TargetSpec, Selection]],
        snapshot: Snapshot,
        context: PlanContext,
    ) -> list[TargetPlan[Any] | str]:
        return [
            self._plan(cast(ListTarget, target), selection, snapshot.state, context)
            for target, selection in items
        ]

    def _plan(
        self,
        target: ListTarget,
        selection: Selection,
        stored: Mapping[str, Any] | None,
        context: PlanContext,
    ) -> TargetPlan[Any]:
        before = prefixes_of(stored)
        fitted = fit_to_budget(
            {f: selection.family(f) for f in target.families},
            Budget(LIMIT, f"limit {LIMIT} entries per list"),
            mode=target.fit,
            max_entries=target.max_entries,
            where=target.where,
            prefer=before,
        )
        if fitted.refused:
            return TargetPlan(target, refused=fitted.refused, fit=fitted.account)
        document: dict[str, Any] = selection.as_dict()
        document.update({f: list(p) for f, p in fitted.by_family.items()})
        account = fitted.account
        if account.extra_addresses:
            document["fit"] = {
                f: {"count": len(fitted.by_family[f]), "extra_addresses": account.extra[f]}
                for f in fitted.by_family
            }
        document["cloud"] = context.label_of(target)
        document["release"] = context.release_of(target)
        document["releases"] = {f: context.marks[f] for f in target.feeds if f in context.marks}
        after = frozenset(prefixes_of(document))
        if set(before) == after and stored is not None:
            return TargetPlan(target, (), after, fit=account)
        added = tuple(sorted(after - set(before), key=_key))
        removed = tuple(sorted(set(before) - after, key=_key))
        write = Write("update" if stored else "create", target.name, document, added, removed)
        return TargetPlan(target, (write,), after, fit=account)


KIND = ListKind()
