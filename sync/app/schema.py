"""The settings and target models described for people and editors.

``python -m sync schema`` prints the JSON Schema of a config file (``ipsync.toml`` or JSON), so
an editor can check one; the reference pages are generated from the same descriptions
(:mod:`sync.app.docgen`). A field's description is its ``Field(description=...)``, else the
``#:`` comment above it in its class, else :data:`FALLBACK`, so every field says what it is
once, next to its model where it can.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Iterator
from functools import cache
from typing import Any

from pydantic import BaseModel

from sync.kinds import KIND_NAMES, get_kind
from sync.settings import Settings

SCHEMA_ID = "https://ipsync.invalid/schema/config.json"

#: Descriptions of fields whose model carries neither ``description`` nor a ``#:`` comment,
#: keyed by the class that declares the field. A test fails when a key names no field, or a
#: field that has come to describe itself.
FALLBACK: dict[tuple[str, str], str] = {
    ("Settings", "source"): "Where the release comes from: `download` (Microsoft's download "
    "page), `api` (the Service Tag Discovery API), a file (`.json` or the retired "
    "`PublicIPs_*.xml`, optionally `.gz`/`.xz`) or an `https://` URL.",
    ("Settings", "cloud"): "The Azure cloud whose release is read (`AzureGermany`: a frozen "
    "file only); a file's own `cloud` must match.",
    ("Settings", "subscription_id"): "Subscription to discover resources in and to ask the "
    "Discovery API; discovery is off without it (or `subscriptions`, `management_group`).",
    ("Settings", "management_group"): "Discover in every subscription of this management "
    "group instead.",
    ("Settings", "arm_endpoint"): "ARM base URL, https only; unset: the cloud's own "
    "(`https://management.azure.com`, ...).",
    ("Settings", "ca_bundle"): "Extra CA bundle for the ARM and Graph endpoints (the emulator's).",
    ("Settings", "credential"): "`default` (DefaultAzureCredential: managed identity, az "
    "login, ...) or `emulator` (a static token, refused unless the endpoint is loopback).",
    ("Settings", "targets"): "Explicit targets (a JSON list in the environment, "
    "`[[targets]]` tables in TOML); each kind's fields are on the target fields page.",
    ("Settings", "discover_tag"): "Azure tag key that opts a resource in (its value lists "
    "service tags); empty turns discovery off.",
    ("Settings", "schedule"): "NCRONTAB (6 fields, UTC) of the Functions timer; the host "
    "silently skips a timer whose schedule is not defined.",
    ("Settings", "dry_run"): "Plan only, never write.",
    ("Settings", "max_remove_ratio"): "Refuse a target whose run would stop allowing more "
    "than this share of the entries it owns, per list and per family (`--force` overrides).",
    ("Settings", "cache_dir"): "Where downloaded releases are cached for conditional GETs; "
    "unset: `$XDG_CACHE_HOME/ipsync`, `~/.cache/ipsync`, else `<tmp>/ipsync`.",
    ("Settings", "api_location"): "Location asked with `source = api` (it picks the data "
    "version, it is not a filter).",
    ("Settings", "min_prefixlen_v4"): "Refuse a release holding an IPv4 prefix broader than "
    "this (a `0.0.0.0/0` must never reach an allow-list).",
    ("Settings", "min_prefixlen_v6"): "Refuse a release holding an IPv6 prefix broader than this.",
    ("Settings", "time_budget_s"): "Seconds from the start of the run (download included) "
    "after which no new write starts (the Function times out at 600 s).",
    ("Settings", "parallelism"): "Resources synced at once (writes to one resource are "
    "always serial).",
    ("TargetSpec", "kind"): "The target kind (`nsg` may be left out when `nsg` is given).",
    ("TargetSpec", "service_tags"): "Service tags whose published prefixes make the "
    "allow-list, in any case (`Storage.WestEurope`, `AzureMonitor`): the shorthand of "
    '`{"feed": "azure", "select": [...]}` in `sources`. A target needs a selector here or in '
    "`sources`.",
    ("TargetSpec", "families"): "IP families to sync: `v4`, `v6`.",
    ("TargetSpec", "extra_prefixes"): "Prefixes allowed besides the published ones (no host "
    "bits, of a family the target syncs).",
    ("TargetSpec", "exclude_prefixes"): "Prefixes taken out of the published ones, exactly "
    "(an exclusion inside a larger block splits it).",
    ("TargetSpec", "policy"): "`sync` adds and removes; `add-only` never removes and "
    "reports what it held back.",
    ("NsgTarget", "nsg"): "Resource id of the NSG.",
    ("NsgTarget", "direction"): "`Outbound` puts the published prefixes in the destination "
    "and `local_prefixes` in the source; `Inbound` the reverse.",
    ("NsgTarget", "access"): "The rules' access.",
    ("NsgTarget", "protocol"): "The rules' protocol.",
    ("NsgTarget", "ports"): "Ports of the service side: `*`, a port or a range `low-high`.",
    ("NsgTarget", "local_prefixes"): "The other side of the rules: prefixes or a service tag "
    "such as `VirtualNetwork`.",
    ("NsgTarget", "priority_range"): "The band `[low, high]` (within 100..4096) the target's "
    "rules live in; a rule outside it is never the target's.",
    ("NsgTarget", "rule_prefix"): "Rules named `<rule_prefix>-...` (any case) inside the "
    "band and in the direction belong to this target.",
    ("IpGroupTarget", "max_groups"): "IP Groups the selection may spread over: `<name>`, "
    "`<name>-2` ... `<name>-N`, 5,000 entries each.",
}


def _declaring(model: type[BaseModel], name: str) -> Iterator[type]:
    """The classes of ``model``'s MRO that declare field ``name``, the one that wins first."""
    for cls in model.__mro__:
        if name in inspect.get_annotations(cls):
            yield cls


@cache
def comments(cls: type) -> dict[str, str]:
    """``#:`` comment lines right above each annotated field in ``cls``'s own source."""
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):
        return {}
    lines = source.splitlines()
    found: dict[str, str] = {}
    body = ast.parse(source).body[0]
    assert isinstance(body, ast.ClassDef)
    for node in body.body:
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
            continue
        above: list[str] = []
        index = node.lineno - 2
        while index >= 0 and lines[index].strip().startswith("#:"):
            above.insert(0, lines[index].strip()[2:].strip())
            index -= 1
        if above:
            found[node.target.id] = " ".join(above).replace("``", "`")
    return found


def describe(model: type[BaseModel], name: str) -> str:
    """What field ``name`` of ``model`` is, in one paragraph (empty when nobody says)."""
    info = model.model_fields[name]
    if info.description:
        return info.description
    for owner in _declaring(model, name):
        text = comments(owner).get(name) or FALLBACK.get((owner.__name__, name))
        if text:
            return text
    return ""


def target_models() -> Iterator[tuple[str, type[BaseModel]]]:
    """Every kind's target model, by kind name, in registry order."""
    for name in KIND_NAMES:
        yield name, get_kind(name).target


def _model_schema(model: type[BaseModel], *, require_kind: bool = False) -> dict[str, Any]:
    schema = model.model_json_schema(mode="validation")
    for name, prop in schema.get("properties", {}).items():
        text = describe(model, name)
        if text:
            prop["description"] = text
    if require_kind:
        schema["required"] = ["kind", *schema.get("required", [])]
    schema["additionalProperties"] = False
    return schema


def _splits_strings(name: str) -> bool:
    """Whether a settings field also takes a comma-separated string (a ``before`` validator)."""
    validators = Settings.__pydantic_decorators__.field_validators.values()
    return any(v.info.mode == "before" and name in v.info.fields for v in validators)


def _list_fields(defs: dict[str, Any]) -> dict[str, Any]:
    """A value of ``lists``: a list target's fields but its name (the key) and kind."""
    model = get_kind("list").target
    fields = dict(defs[model.__name__])
    fields["properties"] = {
        k: v for k, v in fields["properties"].items() if k not in ("kind", "name")
    }
    fields["required"] = [r for r in fields.get("required", []) if r not in ("kind", "name")]
    return fields


def config_schema() -> dict[str, Any]:
    """The JSON Schema of a config file: the settings, with ``targets`` checked per kind."""
    schema = _model_schema(Settings)
    defs: dict[str, Any] = schema.pop("$defs", {})
    choices = []
    for name, model in target_models():
        # A target names its kind, except an NSG target, which may say just `nsg`.
        target = _model_schema(model, require_kind=get_kind(name).id_field != "nsg")
        defs.update(target.pop("$defs", {}))
        defs[model.__name__] = target
        choices.append({"$ref": f"#/$defs/{model.__name__}"})
    properties = schema["properties"]
    properties["targets"]["items"] = {"oneOf": choices}
    properties["lists"]["additionalProperties"] = _list_fields(defs)
    for name, prop in properties.items():
        if _splits_strings(name):
            properties[name] = {
                "anyOf": [
                    {k: v for k, v in prop.items() if k != "description"},
                    {"type": "string"},
                ],
                "description": prop.get("description", ""),
                "default": prop.get("default"),
            }
    return {
        **schema,
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "ipsync config file (ipsync.toml or JSON)",
        "description": "Keys are the IPSYNC_* settings without the prefix; values in the file "
        "win over the environment.",
        "$defs": defs,
    }
