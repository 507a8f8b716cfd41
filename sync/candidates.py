"""What a run visits: the targets its settings name and the resources that opt in by tag,
each valid or the reason it is not; and, for a run fanned out over several invocations, the
list of them without reading any release."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sync.azure.writes import ArmWriter, Deadline
from sync.errors import TargetError
from sync.kinds import KIND_NAMES, get_kind
from sync.kinds.base import TargetSpec
from sync.targets import check_overrides, discovered_targets, explicit_targets

if TYPE_CHECKING:
    from sync.azure.client import Clients
    from sync.settings import Settings


def candidates(
    settings: Settings, clients: Clients, deadline: Deadline
) -> list[TargetSpec | TargetError]:
    """Explicit targets, then every resource that opts in with the discovery tag."""
    found_targets = explicit_targets(settings)
    scope = settings.discovery_scope
    if scope is None:
        return found_targets
    from sync.azure.discovery import opted_in

    check_overrides(settings, KIND_NAMES)
    subscriptions, management_group = scope
    kinds = {get_kind(n).arm_type: n for n in KIND_NAMES if get_kind(n).arm_type}
    taken = {t.resource_id.lower() for t in found_targets if isinstance(t, TargetSpec)}
    reader = ArmWriter("discovery", deadline, settings.poll_interval_s)
    found: dict[str, list[tuple[str, dict[str, str]]]] = {name: [] for name in kinds.values()}
    rows = opted_in(
        clients.graph(),
        reader,
        kinds,
        settings.discover_tag,
        subscriptions=subscriptions,
        management_group=management_group,
    )
    for resource_id, arm_type, tags in rows:
        found[kinds[arm_type]].append((resource_id, tags))
    for name, resources in found.items():
        found_targets += discovered_targets(resources, settings, taken, name)
    return found_targets


def inventory(settings: Settings) -> list[tuple[str, str]]:
    """``(kind, resource id)`` of every resource a run would visit (named, discovered by tag,
    published lists; invalid targets too, so they are reported), sorted, without reading any
    release: what a run fanned out over several invocations divides among them."""
    from sync.azure.client import Clients

    if settings.nothing_to_sync:
        raise TargetError(settings.nothing_to_sync)
    clients = Clients(settings)
    found = set()
    for candidate in candidates(settings, clients, Deadline(settings.time_budget_s)):
        if isinstance(candidate, TargetSpec):
            found.add((candidate.kind, candidate.resource_id))
        elif candidate.resource:
            found.add((candidate.kind, candidate.resource))
    return sorted(found, key=lambda pair: pair[1].lower())
