"""Settings (architecture contract 2) and the target model.

Settings come from ``IPSYNC_*`` environment variables, or from a TOML/JSON file whose keys are
the same names (with or without the ``IPSYNC_`` prefix, any case); values in the file win over
the environment. Targets stay raw JSON here and are validated one by one with
:func:`parse_target`, so one bad target is reported without stopping the others.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from pydantic_settings import SettingsError as PydanticSettingsError

from sync.errors import SettingsError, TargetError

S = TypeVar("S", bound=BaseSettings)
Cloud = Literal["Public", "AzureGovernment", "China", "AzureGermany"]
Family = Literal["v4", "v6"]

#: ARM endpoints per cloud (used when ``IPSYNC_ARM_ENDPOINT`` is not set).
ARM_ENDPOINTS: dict[str, str] = {
    "Public": "https://management.azure.com",
    "AzureGovernment": "https://management.usgovcloudapi.net",
    "China": "https://management.chinacloudapi.cn",
    "AzureGermany": "https://management.microsoftazure.de",
}

NSG_ID = re.compile(
    r"^/subscriptions/(?P<sub>[0-9a-fA-F-]{36})/resourceGroups/(?P<rg>[-\w.()]{1,90})"
    r"/providers/Microsoft\.Network/networkSecurityGroups/(?P<name>[-\w.]{1,80})$",
    re.IGNORECASE,
)

#: NSG priorities a user rule may take (azure-facts §3).
PRIORITY_MIN, PRIORITY_MAX = 100, 4096


class Target(BaseModel):
    """One allow-list to keep: which tags go into which NSG, and how."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    nsg: str
    service_tags: tuple[str, ...] = Field(min_length=1)
    direction: Literal["Inbound", "Outbound"] = "Outbound"
    access: Literal["Allow", "Deny"] = "Allow"
    protocol: Literal["Tcp", "Udp", "Icmp", "Esp", "Ah", "*"] = "Tcp"
    ports: tuple[str, ...] = ("443",)
    local_prefixes: tuple[str, ...] = ("VirtualNetwork",)
    priority_range: tuple[int, int] = (200, 299)
    rule_prefix: str = Field(default="ipsync", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
    families: tuple[Family, ...] = ("v4", "v6")
    extra_prefixes: tuple[str, ...] = ()
    exclude_prefixes: tuple[str, ...] = ()
    policy: Literal["sync", "add-only"] = "sync"

    @field_validator("nsg")
    @classmethod
    def _nsg_is_resource_id(cls, value: str) -> str:
        if not NSG_ID.match(value):
            raise ValueError(
                "not an NSG resource id (/subscriptions/<guid>/resourceGroups/<rg>/providers/"
                "Microsoft.Network/networkSecurityGroups/<name>)"
            )
        return value

    @field_validator("priority_range")
    @classmethod
    def _band_inside_limits(cls, value: tuple[int, int]) -> tuple[int, int]:
        low, high = value
        if not PRIORITY_MIN <= low <= high <= PRIORITY_MAX:
            raise ValueError(f"must be [low, high] with {PRIORITY_MIN} <= low <= high <= 4096")
        return value

    @field_validator("families")
    @classmethod
    def _families_not_empty(cls, value: tuple[Family, ...]) -> tuple[Family, ...]:
        if not value:
            raise ValueError("needs at least one of v4, v6")
        return tuple(dict.fromkeys(value))

    @field_validator("ports")
    @classmethod
    def _ports_valid(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for port in value:
            if port == "*":
                continue
            bounds = port.split("-")
            if len(bounds) > 2 or not all(b.isdigit() and 0 <= int(b) <= 65535 for b in bounds):
                raise ValueError(f"port {port!r} is not '*', a port or a range 'low-high'")
        if not value:
            raise ValueError("needs at least one port or '*'")
        return value

    @property
    def subscription_id(self) -> str:
        match = NSG_ID.match(self.nsg)
        assert match is not None  # checked by the validator
        return match["sub"]

    @property
    def resource_group(self) -> str:
        match = NSG_ID.match(self.nsg)
        assert match is not None
        return match["rg"]

    @property
    def nsg_name(self) -> str:
        match = NSG_ID.match(self.nsg)
        assert match is not None
        return match["name"]


def parse_target(raw: Any, label: str) -> Target:
    """Validate one raw target; the error names the target (``label``) and the field at fault."""
    try:
        return Target.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "target"
        nsg = str(raw.get("nsg", "")) if isinstance(raw, dict) else ""
        raise TargetError(f"target {label}: {where}: {first['msg']}", nsg=nsg) from None


class Settings(BaseSettings):
    """Everything a run needs; see the README's settings table."""

    model_config = SettingsConfigDict(env_prefix="IPSYNC_", extra="ignore", frozen=True)

    source: str = "download"
    cloud: Cloud = "Public"
    subscription_id: str | None = None
    arm_endpoint: str | None = None
    ca_bundle: Path | None = None
    credential: Literal["default", "emulator"] = "default"
    targets: list[dict[str, Any]] = Field(default_factory=list)
    discover_tag: str = "ipsync"
    schedule: str = "0 30 4 * * *"
    dry_run: bool = False
    max_remove_ratio: float = Field(default=0.3, ge=0.0, le=1.0)
    cache_dir: Path | None = None
    api_location: str = "westeurope"
    min_prefixlen_v4: int = Field(default=8, ge=0, le=32)
    min_prefixlen_v6: int = Field(default=16, ge=0, le=128)
    time_budget_s: float = Field(default=540.0, gt=0)
    parallelism: int = Field(default=8, ge=1, le=32)
    #: Seconds between polls of a long-running write when ARM sends no ``Retry-After``
    #: (the SDK reads ``Retry-After: 0`` as "no hint" too).
    poll_interval_s: float = Field(default=10.0, ge=0)

    @model_validator(mode="after")
    def _endpoint_default(self) -> Settings:
        if self.arm_endpoint is None:
            object.__setattr__(self, "arm_endpoint", ARM_ENDPOINTS[self.cloud])
        return self

    @property
    def arm_base(self) -> str:
        return (self.arm_endpoint or ARM_ENDPOINTS[self.cloud]).rstrip("/")


def load_settings(config: Path | None = None, **overrides: Any) -> Settings:
    """Build settings from the environment, an optional config file and explicit overrides.

    Raises :class:`SettingsError` naming the setting (as ``IPSYNC_NAME``) that is wrong.
    """
    values: dict[str, Any] = {}
    if config is not None:
        values.update(_read_config(config))
    values.update({k: v for k, v in overrides.items() if v is not None})
    return build_settings(Settings, values)


def build_settings(cls: type[S], values: dict[str, Any]) -> S:
    """Instantiate a settings class; an error names the setting at fault as ``IPSYNC_NAME``."""
    try:
        return cls(**values)
    except PydanticSettingsError as exc:
        field = re.search(r'field "(\w+)"', str(exc))
        name = field[1].upper() if field else "settings"
        cause = exc.__cause__ or exc
        raise SettingsError(f"setting IPSYNC_{name}: cannot parse it: {cause}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "settings"
        raise SettingsError(f"setting IPSYNC_{name}: {first['msg']}") from None


def _read_config(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(f"config file {path}: {exc.strerror}") from None
    try:
        data = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        kind = path.suffix[1:] or "JSON"
        raise SettingsError(f"config file {path}: not valid {kind}: {exc}") from None
    if not isinstance(data, dict):
        raise SettingsError(f"config file {path}: must hold a table/object of settings")
    values: dict[str, Any] = {}
    for key, value in data.items():
        name = key.lower().removeprefix("ipsync_")
        if name not in Settings.model_fields:
            raise SettingsError(f"config file {path}: unknown setting {key!r}")
        values[name] = value
    return values
