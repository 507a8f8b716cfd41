"""Engine fixtures: tiny generated releases, NSGs with foreign rules, settings for one run.

Everything goes through the real SDK against the local ARM emulator; expectations are computed
here with netaddr straight from the generated release, not with the product's own selection.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import netaddr
import pytest
from azure.mgmt.network.models import NetworkSecurityGroup, SecurityRule

from armemu import Emulator
from sync.settings import Settings

#: the subscription of the shared fixtures (tests/conftest.py)
SUB = "00000000-0000-0000-0000-000000000000"
RG = "rg"
PROVIDER = "providers/Microsoft.Network/networkSecurityGroups"
#: a Public release must hold at least 1,000 tags (sync.core.clouds.CLOUDS): pad with these
FILL_TO = 1000


def nsg_id(name: str, sub: str = SUB) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{RG}/{PROVIDER}/{name}"


def tag_entry(name: str, prefixes: Sequence[str], change: int) -> dict[str, Any]:
    """One tag in the real Service Tags schema."""
    return {
        "name": name,
        "id": name,
        "properties": {
            "changeNumber": change,
            "region": "",
            "regionId": 0,
            "platform": "Azure",
            "systemService": name.split(".", maxsplit=1)[0],
            "addressPrefixes": list(prefixes),
            "networkFeatures": ["API", "NSG", "UDR", "FW"],
        },
    }


def write_release(
    path: Path, tags: Mapping[str, Sequence[str]], change: int = 1, *, tag_change: int = 1
) -> Path:
    """A Public release holding ``tags``, padded with filler tags to a plausible size."""
    values = [tag_entry(name, prefixes, tag_change) for name, prefixes in tags.items()]
    for i in range(FILL_TO - len(values)):
        values.append(tag_entry(f"Filler.Tag{i}", [f"198.18.{i // 256}.{i % 256}/32"], 1))
    path.write_text(json.dumps({"changeNumber": change, "cloud": "Public", "values": values}))
    return path


def foreign_rule(
    name: str, priority: int, prefixes: Sequence[str], direction: str = "Outbound"
) -> SecurityRule:
    return SecurityRule(
        name=name,
        protocol="Tcp",
        access="Allow",
        direction=direction,
        priority=priority,
        source_address_prefix="VirtualNetwork",
        source_port_range="*",
        destination_port_range="8080",
        destination_address_prefixes=list(prefixes),
        description="not ipsync's",
    )


def make_nsg(
    client: Any,
    name: str,
    rules: Iterable[SecurityRule] = (),
    tags: Mapping[str, str] | None = None,
) -> str:
    client.network_security_groups.begin_create_or_update(
        RG,
        name,
        NetworkSecurityGroup(
            location="westeurope", tags=dict(tags or {}), security_rules=list(rules)
        ),
    ).result()
    return nsg_id(name)


def rules_of(client: Any, name: str) -> dict[str, Any]:
    """The NSG's rules as the SDK reads them back, by name."""
    return {r.name: r for r in client.security_rules.list(RG, name)}


def addresses(rule: Any, side: str = "destination") -> set[str]:
    single = getattr(rule, f"{side}_address_prefix")
    several = getattr(rule, f"{side}_address_prefixes") or []
    return {
        str(netaddr.IPNetwork(p).cidr)
        for p in [*several, *([single] if single else [])]
        if "/" in p or "." in p or ":" in p
    }


def content(rule: Any) -> tuple[Any, ...]:
    """What a write changes (the description only records provenance)."""
    return (
        rule.priority,
        str(rule.direction),
        str(rule.access),
        str(rule.protocol),
        frozenset(addresses(rule, "source")),
        rule.source_address_prefix,
        frozenset(addresses(rule)),
        rule.destination_address_prefix,
        rule.destination_port_range,
        tuple(sorted(rule.destination_port_ranges or [])),
    )


def merged(prefixes: Iterable[str]) -> dict[str, set[str]]:
    """The exact aggregation, per family, computed here with netaddr."""
    nets = netaddr.cidr_merge([netaddr.IPNetwork(p) for p in prefixes])
    return {
        "v4": {str(n) for n in nets if n.version == 4},
        "v6": {str(n) for n in nets if n.version == 6},
    }


def allowed(snapshot: Iterable[Mapping[str, Any]], direction: str = "Outbound") -> netaddr.IPSet:
    """Remote addresses every Allow rule of one direction lets through (history entry)."""
    side = "destination" if direction == "Outbound" else "source"
    found: list[netaddr.IPNetwork] = []
    for rule in snapshot:
        props = rule["properties"]
        if props.get("access") != "Allow" or props.get("direction") != direction:
            continue
        single = props.get(f"{side}AddressPrefix")
        for value in [*(props.get(f"{side}AddressPrefixes") or []), *([single] if single else [])]:
            if "/" in value:
                found.append(netaddr.IPNetwork(value).cidr)
    return netaddr.IPSet(found)


def assert_nothing_lost(emulator: Emulator, nsg: str, since: int) -> None:
    """Every address allowed before the run and still allowed after it stayed allowed at every
    completed write in between (make-before-break), judged from the emulator's history."""
    steps = emulator.history().get(nsg, [])
    assert since >= 1, "the history must hold the state before the run"
    before, after = allowed(steps[since - 1]), allowed(steps[-1])
    kept = before & after
    for number, step in enumerate(steps[since:], since):
        missing = kept - allowed(step)
        assert not missing, f"history step {number} lost {list(missing.iter_cidrs())[:5]}"


def history_len(emulator: Emulator, nsg: str) -> int:
    return len(emulator.history().get(nsg, []))


@pytest.fixture(autouse=True)
def _no_ipsync_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings read IPSYNC_* from the environment: tests start from a clean one."""
    for key in list(os.environ):
        if key.upper().startswith("IPSYNC_"):
            monkeypatch.delenv(key)


SettingsFor = Callable[..., Settings]


@pytest.fixture
def settings_for(emulator_settings: Settings, tmp_path: Path) -> SettingsFor:
    """Settings against the emulator with the given source, targets and other overrides."""
    from sync.settings import load_settings

    def make(source: Path | str, targets: list[dict[str, Any]], **overrides: Any) -> Settings:
        base = emulator_settings.model_dump(exclude={"targets", "source", "cache_dir"})
        return load_settings(
            **{
                **base,
                "source": str(source),
                "targets": targets,
                "cache_dir": tmp_path,
                **overrides,
            }
        )

    return make


def target(nsg: str, tags: Sequence[str], **fields: Any) -> dict[str, Any]:
    return {"nsg": nsg, "service_tags": list(tags), **fields}
