"""What every target kind provides: its target model and one small protocol.

The engine knows allow-lists only through :class:`Kind` and :class:`Gateway`: parse a target,
find opted-in resources, read one resource with its etag, plan the writes of every target on
it (desired entries, ownership, limits), and send one write. Everything else (selection,
guards, make-before-break order, retries, the report) is shared.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sync.core.budget import FitMode

if TYPE_CHECKING:
    from sync.azure.client import Clients
    from sync.azure.writes import ArmWriter
    from sync.core.plan import TargetPlan, Write
    from sync.core.selection import Selection
    from sync.state import State

Family = Literal["v4", "v6"]
#: The feed ``service_tags`` select from.
AZURE = "azure"


class FeedSource(BaseModel):
    """What a target takes from one feed: ``{"feed": "github", "select": ["actions"]}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: The feed: `azure`, `github`, `m365`, `aws`, `google`, `cloudflare`, or `url:<name>` (a
    #: url feed of `IPSYNC_URL_FEEDS`).
    feed: str
    #: The feed's selectors (`actions`; `S3.eu-west-1`; `Exchange.Optimize`); empty: the
    #: feed's own selection (a url feed's one list).
    select: tuple[str, ...] = ()

    @field_validator("feed")
    @classmethod
    def _known_feed(cls, value: str) -> str:
        """The feed's name as the registry knows it (a "did you mean" when it knows none)."""
        from sync.errors import SettingsError
        from sync.feeds import canonical

        try:
            name = canonical(value)
        except SettingsError as exc:
            raise ValueError(str(exc)) from None
        if name == "url":
            raise ValueError("a url feed is named url:<name> (a name in IPSYNC_URL_FEEDS)")
        return name


class TargetSpec(BaseModel):
    """The fields every kind's target has: which published ranges, and how to keep them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str
    service_tags: tuple[str, ...] = ()
    #: What the target takes from other feeds (or the azure feed), beside `service_tags`:
    #: `[{"feed": "github", "select": ["actions"]}]`.
    sources: tuple[FeedSource, ...] = ()
    families: tuple[Family, ...] = ("v4", "v6")
    extra_prefixes: tuple[str, ...] = ()
    exclude_prefixes: tuple[str, ...] = ()
    policy: Literal["sync", "add-only"] = "sync"
    #: ``exact``: refuse a selection larger than the capacity; ``cover``: fit the fewest
    #: extra addresses into it.
    fit: FitMode = "exact"
    #: A capacity below the kind's own limit (never above it).
    max_entries: int | None = Field(default=None, ge=1)
    #: Largest share of extra (unpublished) addresses a ``cover`` fit may allow, per family.
    max_extra_ratio: float = Field(default=0.1, ge=0.0)

    @field_validator("families")
    @classmethod
    def _families_not_empty(cls, value: tuple[Family, ...]) -> tuple[Family, ...]:
        if not value:
            raise ValueError("needs at least one of v4, v6")
        return tuple(dict.fromkeys(value))

    @model_validator(mode="after")
    def _selects_something(self) -> TargetSpec:
        if not self.service_tags and not self.sources:
            raise ValueError(
                'selects nothing: give service_tags, or sources ([{"feed": "github", '
                '"select": ["actions"]}])'
            )
        return self

    @property
    def feeds(self) -> dict[str, tuple[str, ...]]:
        """Feed -> its selectors (empty: the feed's own selection), in the order given:
        ``service_tags`` first, as the azure feed's; a feed named twice selects the union."""
        found: dict[str, tuple[str, ...]] = {}
        if self.service_tags:
            found[AZURE] = self.service_tags
        for source in self.sources:
            found[source.feed] = tuple(dict.fromkeys((*found.get(source.feed, ()), *source.select)))
        return found

    @property
    def selectors(self) -> tuple[str, ...]:
        """Every selector by its label: a service tag by its name, another feed's selector as
        ``feed:selector`` and a feed's own selection as its name (``url:atlassian``). Names of
        entries and records are made of these, so a target of service tags alone keeps the
        names it always had."""
        from sync.core.selection import label

        labels: list[str] = []
        for feed, names in self.feeds.items():
            labels.extend((label(feed, name) for name in names) if names else (feed,))
        return tuple(labels)

    def address_fields(self) -> dict[str, tuple[str, ...]]:
        """Fields holding addresses the target adds beyond the published ranges."""
        return {"extra_prefixes": self.extra_prefixes}

    @property
    def resource_id(self) -> str:
        """The ARM id of the resource holding the allow-list."""
        raise NotImplementedError

    @property
    def where(self) -> str:
        """How messages name the target: ``target <resource name> (<selectors>)``."""
        return f"target {self.resource_id.rsplit('/', 1)[-1]} ({', '.join(self.selectors)})"


def arm_id(provider_type: str, name: str = r"[-\w.]{1,80}") -> re.Pattern[str]:
    """The ARM id of a resource of ``provider_type`` (``Microsoft.Storage/storageAccounts``)."""
    return re.compile(
        r"^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[-\w.()]{1,90}"
        rf"/providers/{re.escape(provider_type)}/{name}$",
        re.IGNORECASE,
    )


def priority_band(value: tuple[int, int], lowest: int, highest: int) -> tuple[int, int]:
    """A ``priority_range`` ``[low, high]`` inside the priorities a service allows."""
    low, high = value
    if not lowest <= low <= high <= highest:
        raise ValueError(f"must be [low, high] with {lowest} <= low <= high <= {highest}")
    return value


class Ipv4ResourceTarget(TargetSpec):
    """A target whose allow-list lives in one resource named by ``resource`` and holds IPv4
    only (every kind but NSGs)."""

    #: The ARM id of the resource that holds the allow-list.
    resource: str
    #: IPv4 only: these services take no IPv6 entries.
    families: tuple[Family, ...] = ("v4",)
    #: The ARM type its resource must be.
    provider_type: ClassVar[str]
    #: What the resource is called in messages: ``Storage account``.
    noun: ClassVar[str]
    #: What the allow-list holds, for the IPv4-only message: ``IP rules``.
    holds: ClassVar[str]
    #: The pattern of a valid resource name.
    name_pattern: ClassVar[str] = r"[-\w.]{1,80}"

    @field_validator("resource")
    @classmethod
    def _resource_is_id(cls, value: str) -> str:
        if not arm_id(cls.provider_type, cls.name_pattern).match(value):
            raise ValueError(
                f"not a {cls.noun} resource id (/subscriptions/<guid>/resourceGroups/<rg>/"
                f"providers/{cls.provider_type}/<name>)"
            )
        return value

    @field_validator("families")
    @classmethod
    def _ipv4_only(cls, value: tuple[Family, ...]) -> tuple[Family, ...]:
        if "v6" in value:
            raise ValueError(
                f"a {cls.noun}'s {cls.holds} take IPv4 only, so IPv6 cannot be synced there; "
                'set families: ["v4"]'
            )
        return value

    @property
    def resource_id(self) -> str:
        return self.resource


@dataclass(frozen=True)
class Snapshot:
    """A resource as read: its etag (for ``If-Match``), the kind's view of its entries, and
    the releases (their marks) ipsync last wrote it from, so an older release is refused."""

    etag: str | None
    state: Any
    releases: tuple[str, ...] = ()


@dataclass(frozen=True)
class PlanContext:
    """What a plan needs beyond the targets and the resource: the releases' marks.

    No guard setting and no ``force``: every guard runs after the plan, in the engine's one
    guard stage (:mod:`sync.core.guards`).
    """

    #: The run's first release (the azure feed's when read), as its feed marks it (``373``,
    #: ``api-95``): a target's own are :meth:`release_of`'s.
    release: str
    #: What that release is of, for documents that say where they come from (``Public``).
    cloud: str = ""
    #: The mark of each feed's release being applied, by feed (``{"azure": "373", "github":
    #: "github-1755851400"}``): kinds that keep marks on the resource write a target's there.
    marks: Mapping[str, str] = field(default_factory=dict)
    #: What each feed's release is of (``Public``, ``api.github.com``), by feed.
    labels: Mapping[str, str] = field(default_factory=dict)

    def marks_of(self, target: TargetSpec) -> tuple[str, ...]:
        """The marks of the releases the target takes, in the order of its feeds (a context
        that names no feed's: the run's one release)."""
        if not self.marks:
            return (self.release,) if self.release else ()
        return tuple(self.marks[feed] for feed in target.feeds if feed in self.marks)

    def release_of(self, target: TargetSpec) -> str:
        """The target's marks as one text (``373 github-1755851400``): how a kind that keeps
        one value on the resource keeps them all (:func:`held_marks` reads it back)."""
        return " ".join(self.marks_of(target))

    def label_of(self, target: TargetSpec) -> str:
        """What the target's releases are of, as one text (``Public + api.github.com``)."""
        if not self.labels:
            return self.cloud
        return " + ".join(self.labels[feed] for feed in target.feeds if feed in self.labels)


def held_marks(text: str | None) -> tuple[str, ...]:
    """The marks :meth:`PlanContext.release_of` wrote into one value (none: ``()``)."""
    return tuple(text.split()) if text else ()


class Gateway(Protocol):
    """One resource in ARM: read it, send one write; every request goes through the writer."""

    def read(self) -> Snapshot: ...

    def send(self, write: Write[Any], etag: str | None) -> str | None:
        """Send one write (with ``If-Match: etag``); return the resource's new etag if known."""
        ...


@dataclass(frozen=True)
class Needs:
    """What a kind needs beyond its folder, declared there: tests tie it to the rest of the
    tree (the role table in ``infra/main.bicep``, the dependencies, the docs, the schema, the
    emulator), so a kind that forgets one fails them."""

    #: Its page under ``docs/``.
    docs: str
    #: Azure RBAC actions its requests need: reads, writes, deletes, its operations' status.
    actions: frozenset[str] = frozenset()
    #: Action sets of ``infra/main.bicep`` it shares with other kinds, by the Bicep variable's
    #: name (``networkOperationStatus``: Microsoft.Network's long-running writes).
    shared: frozenset[str] = frozenset()
    #: Microsoft Graph application permissions, for a kind that is no ARM resource.
    graph: frozenset[str] = frozenset()
    #: Why it needs no Azure RBAC at all, when it needs none.
    no_rbac: str = ""
    #: The pip distribution of the Azure SDK it imports (None: it imports none).
    sdk: str | None = None
    #: What the emulator serves for its tests: ARM types (``Microsoft.Storage/storageAccounts``)
    #: or Graph paths (``graph:/identity/conditionalAccess/namedLocations``).
    emulated: tuple[str, ...] = ()


class Kind(Protocol):
    """A kind of allow-list: NSG rules, a Storage firewall, SQL firewall rules, ..."""

    #: The ``kind`` value of its targets.
    name: ClassVar[str]
    #: The ARM resource type it syncs, lower-case as Resource Graph reports it.
    arm_type: ClassVar[str]
    #: Its target model.
    target: ClassVar[type[TargetSpec]]
    #: The target field that holds the resource id (``nsg`` for NSGs, else ``resource``).
    id_field: ClassVar[str]
    #: Tag suffix (``ipsync-<suffix>``) -> target field, for the fields of this kind only.
    tag_fields: ClassVar[Mapping[str, str]]
    #: What it needs beyond its folder (RBAC, SDK, docs, emulator).
    needs: ClassVar[Needs]

    def conflicts(self, targets: Sequence[TargetSpec]) -> dict[int, str]:
        """Targets (by index) on one resource that cannot coexist, with the reason."""
        ...

    def gateway(
        self, clients: Clients, resource_id: str, writer: ArmWriter, state: State
    ) -> Gateway:
        """The resource's gateway; ``state`` holds the run's ownership records, for kinds
        whose entries do not say who wrote them."""
        ...

    def owned(self, target: TargetSpec, snapshot: Snapshot) -> frozenset[str]:
        """The CIDRs the target's own entries allow now (what the guard stage and add-only
        measure against)."""
        ...

    def plan(
        self,
        items: Sequence[tuple[TargetSpec, Selection]],
        snapshot: Snapshot,
        context: PlanContext,
    ) -> list[TargetPlan[Any] | str]:
        """A plan per item (in order), or the reason that item cannot be planned.

        Each plan says what the target's entries allow once written (``after``). The kind
        checks the resource's own limits over all plans together, before any write; it
        applies no guard (:mod:`sync.core.guards` does, for every kind).
        """
        ...


@runtime_checkable
class Describes(Protocol):
    """A kind whose entries carry more than addresses (an NSG rule's ports, direction, ...)."""

    def describe(self, payload: Any) -> dict[str, str]:
        """What a report shows of an entry (a write's payload) beside its addresses."""
        ...


def details_of(kind: Kind, payload: Any) -> dict[str, str] | None:
    """A write's entry as its kind describes it; None for kinds whose entries are addresses."""
    return kind.describe(payload) if isinstance(kind, Describes) else None
