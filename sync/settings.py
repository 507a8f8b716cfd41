"""Settings: what a run needs, from ``IPSYNC_*`` variables or a config file.

Settings come from ``IPSYNC_*`` environment variables, or from a TOML/JSON file whose keys are
the same names (with or without the ``IPSYNC_`` prefix, any case); values in the file win over
the environment. Each value remembers where it was given (:attr:`Settings.origins`), so a
message names it as the user wrote it (:func:`sync.feedsettings.setting_label`). Targets stay
raw JSON here and are validated one by one by their kind (:func:`sync.kinds.parse_target`),
so one bad target is reported without stopping the others.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from pydantic_settings import SettingsError as PydanticSettingsError

from sync.core.clouds import CLOUDS, Cloud
from sync.core.headroom import NEAR_CAPACITY_RATIO, NEAR_EXTRA_RATIO, Thresholds
from sync.errors import SettingsError
from sync.feedsettings import FEED_DEFAULTS, PREFIX, check_feed_field, label_of
from sync.validation import location, problem

S = TypeVar("S", bound=BaseSettings)


#: NCRONTAB fields (second minute hour day month day-of-week) and their ranges.
_CRON_FIELDS = (
    ("second", 0, 59, ()),
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day", 1, 31, ()),
    (
        "month",
        1,
        12,
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
    ),
    ("day of week", 0, 6, ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]),
)


def ncrontab_problem(expression: str) -> str | None:
    """What is wrong with a Functions timer schedule, or None: the host would skip the timer."""
    fields = expression.split()
    if len(fields) != len(_CRON_FIELDS):
        return f"{len(fields)} fields, not 6 (second minute hour day month day-of-week)"
    for text, (name, low, high, names) in zip(fields, _CRON_FIELDS, strict=True):
        for part in text.split(","):
            base, _, step = part.partition("/")
            if step and not (step.isdigit() and int(step) > 0):
                return f"{name}: step {step!r} is not a positive number"
            if base == "*":
                continue
            for bound in base.split("-", 1):
                value = names.index(bound.lower()) + low if bound.lower() in names else None
                if value is None and not bound.isdigit():
                    return f"{name}: {bound!r} is not a number"
                if not low <= (value if value is not None else int(bound)) <= high:
                    return f"{name}: {bound} is outside {low}-{high}"
    return None


GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
#: A glob over selector names (``Storage.*``, ``AzureMonitor.?*``, ``github:*``).
SELECTOR_GLOB = re.compile(r"^[A-Za-z0-9.*?\[\]!_:-]{1,200}$")
#: A resource group: its ARM id, or its name alone.
RESOURCE_GROUP = re.compile(
    r"^(/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/)?[-\w.()]{1,90}$", re.IGNORECASE
)
#: List settings whose every item has a form: the form, and what an item must be.
ITEM_FORMS = {
    "tag_select": (SELECTOR_GLOB, "a glob pattern of service tag names"),
    "tag_handover_resource_groups": (
        RESOURCE_GROUP,
        "a resource group (/subscriptions/<guid>/resourceGroups/<name>, or a name)",
    ),
}


#: How to name targets, for "nothing to sync".
NAME_TARGETS = (
    "name them under [[targets]] in ./ipsync.toml (or the file --config names) or in IPSYNC_TARGETS"
)

#: Settings whose empty value means "off" rather than "unset" (``IPSYNC_DISCOVER_TAG=``
#: switches discovery off); every other empty variable is read as unset.
EMPTY_MEANS_OFF = ("discover_tag",)


class Settings(BaseSettings):
    """Everything a run needs; see the README's settings table."""

    model_config = SettingsConfigDict(
        env_prefix=PREFIX, extra="ignore", frozen=True, env_ignore_empty=True
    )

    source: str = FEED_DEFAULTS.source
    #: A local file per feed, read instead of fetching it (a JSON object, feed -> file:
    #: `{"github": "meta.json", "aws": "ip-ranges.json"}`): for offline runs and tests. The
    #: azure feed's is `source`; `plan`/`apply --source NAME=FILE` sets one.
    sources: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    cloud: Cloud = FEED_DEFAULTS.cloud
    subscription_id: str | None = None
    #: Where discovery looks, beyond ``subscription_id``: subscriptions (a JSON list or
    #: comma-separated GUIDs), or one management group (all its subscriptions).
    subscriptions: Annotated[tuple[str, ...], NoDecode] = ()
    management_group: str | None = None
    arm_endpoint: str | None = None
    #: Microsoft Graph base URL, https only (Entra ID named locations): a national cloud's
    #: own (``https://graph.microsoft.us``, ``https://microsoftgraph.chinacloudapi.cn``), or
    #: the emulator's for local runs.
    graph_endpoint: str = "https://graph.microsoft.com"
    ca_bundle: Path | None = None
    credential: Literal["default", "emulator"] = "default"
    targets: list[dict[str, Any]] = Field(default_factory=list)
    #: Published lists (a JSON object: name -> the list's fields), each a target of the
    #: ``list`` kind, served by the Functions app at ``/api/lists/<name>``.
    lists: Annotated[dict[str, dict[str, Any]], NoDecode] = Field(default_factory=dict)
    discover_tag: str = "ipsync"
    #: What an Azure tag on a resource may set beyond service tags, families, fit and
    #: add-only (comma-separated tag suffixes, e.g. ``ports,priority``).
    tag_overrides: Annotated[tuple[str, ...], NoDecode] = ()
    #: Which service tags an Azure tag on a resource may select: glob patterns, any case
    #: (e.g. ``Storage.*,AzureMonitor.*``). The default ``*.*`` allows regional tags
    #: (``Storage.WestEurope``), never a cloud-wide one (``AzureCloud``, ``Storage``). Targets
    #: in ``IPSYNC_TARGETS`` are not bound by it.
    tag_select: Annotated[tuple[str, ...], NoDecode] = ("*.*",)
    #: The most IPv4 addresses a target that an Azure tag selected may allow (65,536: twice
    #: the largest regional tag other than ``AzureCloud.<region>``); more is refused, whatever
    #: ``--force``; a target in ``IPSYNC_TARGETS`` is not bound by it.
    tag_max_addresses_v4: int = Field(default=1 << 16, ge=0)
    #: The most IPv6 addresses a target that an Azure tag selected may allow (2^82, four /48s:
    #: any regional tag other than ``AzureCloud.<region>``).
    tag_max_addresses_v6: int = Field(default=1 << 82, ge=0)
    #: Whether an Azure tag may ask for ``fit: cover``, which allows addresses no feed published.
    tag_allow_cover: bool = False
    #: Resource groups where an Azure tag may hand over a resource whose whole list ipsync then
    #: owns (an IP Group): ``/subscriptions/<guid>/resourceGroups/<name>``, or a name (in any
    #: subscription discovery searches). Elsewhere such a resource must be in ``IPSYNC_TARGETS``.
    tag_handover_resource_groups: Annotated[tuple[str, ...], NoDecode] = ()
    schedule: str = "0 30 4 * * *"
    dry_run: bool = False
    max_remove_ratio: float = Field(default=0.3, ge=0.0, le=1.0, allow_inf_nan=False)
    #: Addresses a release may add to a target, per family, as a share of what it holds (at
    #: least 65,536 IPv4 or a /32's worth of IPv6 addresses, so small lists may grow).
    max_add_ratio: float = Field(default=1.0, ge=0.0, le=1000.0, allow_inf_nan=False)
    cache_dir: Path | None = FEED_DEFAULTS.cache_dir
    #: The ownership registry of the list kinds (Storage, Key Vault, ACR): a folder, or a blob
    #: container URL (a SAS in its query is its credential, never shown); unset: the Functions
    #: app's own storage, or ``<cache dir>/state``.
    state: str | None = None
    api_location: str = "westeurope"
    min_prefixlen_v4: int = FEED_DEFAULTS.min_prefixlen_v4
    min_prefixlen_v6: int = FEED_DEFAULTS.min_prefixlen_v6
    time_budget_s: float = Field(default=540.0, gt=0, le=86400, allow_inf_nan=False)
    parallelism: int = Field(default=8, ge=1, le=32)
    #: Seconds between polls of a long-running write when ARM sends no ``Retry-After``
    #: (the SDK reads ``Retry-After: 0`` as "no hint" too).
    poll_interval_s: float = Field(default=10.0, ge=0, le=600, allow_inf_nan=False)
    #: Share of a target's capacity in use from which it counts as near it (headroom notes).
    near_capacity_ratio: float = Field(default=NEAR_CAPACITY_RATIO, gt=0, le=1, allow_inf_nan=False)
    #: Share of ``max_extra_ratio`` a cover uses from which it counts as near it.
    near_extra_ratio: float = Field(default=NEAR_EXTRA_RATIO, gt=0, le=1, allow_inf_nan=False)
    #: GitHub Enterprise Server whose meta API the `github` feed reads (`https://HOST`; it
    #: asks `<url>/api/v3/meta`); unset: github.com (`https://api.github.com/meta`).
    github_url: str | None = FEED_DEFAULTS.github_url
    #: Token the `github` feed sends (a higher rate limit; needed by some Enterprise Servers).
    #: A secret: never logged, masked everywhere.
    github_token: SecretStr | None = None
    #: Instance of the Microsoft 365 IP and URL web service the `m365` feed reads:
    #: `Worldwide`, `USGovDoD`, `USGovGCCHigh` or `China`.
    m365_instance: str = FEED_DEFAULTS.m365_instance
    #: The `clientrequestid` GUID the `m365` feed sends; unset: one generated once and kept
    #: in the cache folder, as the service asks.
    m365_client_request_id: str | None = FEED_DEFAULTS.m365_client_request_id
    #: The `url` feeds, each addressed `url:<name>`: a list of `{"name", "url", "format":
    #: "lines" | "json", "select": "<JMESPath, for json>"}`.
    url_feeds: Annotated[tuple[dict[str, str], ...], NoDecode] = FEED_DEFAULTS.url_feeds
    _origins: dict[str, str] = PrivateAttr(default_factory=dict)

    @property
    def origins(self) -> Mapping[str, str]:
        """Where settings not read from the environment were given, by name (``targets.<i>``
        for one target): ``config file ipsync.toml, line 3`` or ``--source``."""
        return self._origins

    @field_validator(
        "cloud",
        "cache_dir",
        "min_prefixlen_v4",
        "min_prefixlen_v6",
        "github_url",
        "m365_instance",
        "m365_client_request_id",
        "url_feeds",
        mode="before",
    )
    @classmethod
    def _feed(cls, value: Any, info: ValidationInfo) -> Any:
        """The checks ``prefixes`` and ``tags`` run without this class."""
        return check_feed_field(str(info.field_name), value)

    @field_validator("github_token", mode="before")
    @classmethod
    def _token(cls, value: Any) -> Any:
        """A Key Vault reference the platform did not resolve is no token (said in the log)."""
        if isinstance(value, str) and check_feed_field("github_token", value) is None:
            return None
        return value

    @field_validator("schedule")
    @classmethod
    def _ncrontab(cls, value: str) -> str:
        problem = ncrontab_problem(value)
        if problem:
            raise ValueError(f"{value!r} is not a 6-field NCRONTAB expression: {problem}")
        return value

    @field_validator("lists", mode="before")
    @classmethod
    def _lists_json(cls, value: Any) -> Any:
        """A JSON object of objects; empty text is no lists (as an unset setting)."""
        if isinstance(value, str):
            try:
                value = json.loads(value) if value.strip() else {}
            except ValueError as exc:
                raise ValueError(
                    f'not JSON like {{"name": {{"service_tags": [...]}}}}: {exc}'
                ) from None
        return value

    @field_validator("sources", mode="before")
    @classmethod
    def _feed_files(cls, value: Any) -> Any:
        """A JSON object of feed -> file, each feed one the registry knows (the azure feed's
        is ``source``); empty text is none."""
        if isinstance(value, str):
            try:
                value = json.loads(value) if value.strip() else {}
            except ValueError as exc:
                raise ValueError(f'not JSON like {{"github": "meta.json"}}: {exc}') from None
        if not isinstance(value, dict):
            return value
        from sync.feeds import DEFAULT_FEED, canonical

        files: dict[str, Any] = {}
        for name, path in value.items():
            try:
                feed = canonical(str(name))
            except SettingsError as exc:
                raise ValueError(str(exc)) from None
            if feed == DEFAULT_FEED:
                raise ValueError("the azure feed's file is the setting source (IPSYNC_SOURCE)")
            files[feed] = path
        return files

    @field_validator(
        "subscriptions",
        "tag_overrides",
        "tag_select",
        "tag_handover_resource_groups",
        mode="before",
    )
    @classmethod
    def _split_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [item for item in re.split(r"[\s,;]+", text) if item]
        return value

    @field_validator("tag_select", "tag_handover_resource_groups")
    @classmethod
    def _items_of_their_form(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        form, what = ITEM_FORMS[str(info.field_name)]
        for item in value:
            if not form.match(item):
                raise ValueError(f"{item!r} is not {what}")
        return value

    @field_validator("subscriptions", "subscription_id")
    @classmethod
    def _guids(cls, value: tuple[str, ...] | str | None) -> tuple[str, ...] | str | None:
        for item in (value,) if isinstance(value, str) else value or ():
            if not GUID.match(item):
                raise ValueError(f"{item!r} is not a subscription id (a GUID)")
        return value

    @property
    def nothing_to_sync(self) -> str | None:
        """Why a run would have no target at all (before any download), or None."""
        if self.targets or self.lists or self.discovery_scope is not None:
            return None
        if not self.discover_tag and (
            self.subscription_id or self.subscriptions or self.management_group
        ):
            return (
                "nothing to sync: no targets, and discovery is off (IPSYNC_DISCOVER_TAG is "
                f"empty); {NAME_TARGETS}, or set IPSYNC_DISCOVER_TAG to the tag that marks "
                "resources (default 'ipsync')"
            )
        return (
            f"nothing to sync: no targets; {NAME_TARGETS}, or set subscription_id "
            "(IPSYNC_SUBSCRIPTION_ID; or subscriptions, management_group) to discover resources "
            f"tagged '{self.discover_tag or 'ipsync'}'"
        )

    @property
    def discovery_scope(self) -> tuple[tuple[str, ...], str | None] | None:
        """(subscriptions, management group) that discovery searches; None when it is off."""
        if not self.discover_tag:
            return None
        if self.management_group:
            return (), self.management_group
        subscriptions = self.subscriptions or (
            (self.subscription_id,) if self.subscription_id else ()
        )
        return (subscriptions, None) if subscriptions else None

    @model_validator(mode="after")
    def _endpoint_default(self) -> Settings:
        if self.arm_endpoint is None:
            object.__setattr__(self, "arm_endpoint", CLOUDS[self.cloud].arm_endpoint)
        return self

    @property
    def headroom(self) -> Thresholds:
        """When the report and the status page call a target near a limit (not the guards':
        those refuse, these only say so)."""
        return Thresholds(self.near_capacity_ratio, self.near_extra_ratio)

    @property
    def arm_base(self) -> str:
        return (self.arm_endpoint or CLOUDS[self.cloud].arm_endpoint).rstrip("/")

    @property
    def graph_base(self) -> str:
        return self.graph_endpoint.rstrip("/")


def load_settings(
    config: Path | None = None, *, origins: Mapping[str, str] | None = None, **overrides: Any
) -> Settings:
    """Build settings from the environment, an optional config file and explicit overrides.

    ``origins`` names where overrides came from (``{"source": "--source"}``). Raises
    :class:`SettingsError` naming the setting at fault as it was given: a key of the file with
    its line, an option, or ``IPSYNC_NAME``.
    """
    from sync.configfile import read_config

    values: dict[str, Any] = {}
    where: dict[str, str] = {}
    for name in EMPTY_MEANS_OFF:
        if any(k.upper() == f"{PREFIX}{name.upper()}" and not v for k, v in os.environ.items()):
            values[name] = ""
    if config is not None:
        read, where = read_config(config, Settings.model_fields)
        values.update(read)
    given = {k: v for k, v in overrides.items() if v is not None}
    values.update(given)
    for name in given:
        where.pop(name, None)
        if origins and name in origins:
            where[name] = origins[name]
    settings = build_settings(Settings, values, where)
    settings._origins = where
    return settings


def build_settings(
    cls: type[S], values: dict[str, Any], origins: Mapping[str, str] | None = None
) -> S:
    """Instantiate a settings class; an error names the setting at fault as it was given
    (:func:`sync.feedsettings.label_of`)."""
    origins = origins or {}
    try:
        return cls(**values)
    except PydanticSettingsError as exc:
        field = re.search(r'field "(\w+)"', str(exc))
        name = field[1] if field else "settings"
        cause = exc.__cause__ or exc
        raise SettingsError(f"{label_of(origins, name)}: cannot parse it: {cause}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "settings"
        label = label_of(origins, name)
        inner = location(first["loc"][1:])
        label += f"{inner if inner.startswith('[') else '.' + inner}" if inner else ""
        raise SettingsError(f"{label}: {problem(first)}") from None
