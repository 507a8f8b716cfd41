"""``python -m sync demo``: the whole product, offline, on the embedded emulator.

It creates two NSGs (one named by an explicit target, one opting in by its Azure tag), each
with a rule ipsync does not own, applies an older bundled release, applies it again (no
writes), then a newer one (the real weekly delta), and prints each report.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from sync.errors import SettingsError
from sync.kinds.nsg.rules import Rule
from sync.settings import Settings

SUBSCRIPTION = "00000000-0000-4000-8000-000000000001"
RESOURCE_GROUP = "rg-demo"
PROVIDER = "providers/Microsoft.Network/networkSecurityGroups"
#: The explicit target's NSG, then the one that opts in by its ``ipsync`` Azure tag.
NSG_NAMES = ("nsg-backup", "nsg-app")
#: The two bundled weekly releases the demo steps through, older first.
RELEASES = ("ServiceTags_Public_20251010.json.xz", "ServiceTags_Public_20251017.json.xz")


#: Said when the demo or the emulator is asked for where only the product is installed.
NO_EMULATOR = (
    "the local ARM emulator (armemu) is not installed: it ships with a clone of the "
    "repository, not with the ipsync package; run the demo from a clone with `make demo`"
)


def default_data_dir() -> Path:
    return Path(__file__).resolve().parents[2] / "tests" / "data"


def demo(data_dir: Path | None = None) -> int:
    try:
        from armemu import Emulator
    except ImportError:
        raise SettingsError(f"demo: {NO_EMULATOR}") from None
    from sync.app.render import render
    from sync.engine import run
    from sync.settings import load_settings

    folder = data_dir or default_data_dir()
    releases = [folder / name for name in RELEASES]
    missing = [str(p) for p in releases if not p.is_file()]
    if missing:
        raise SettingsError(f"demo --data: bundled release not found: {', '.join(missing)}")
    with tempfile.TemporaryDirectory() as cache, Emulator() as emulator:
        base = demo_config(emulator.endpoint, emulator.ca_bundle, Path(cache))
        settings = load_settings(**base)
        foreign = create_nsgs(settings)
        steps = [
            (releases[0], "first sync of an older release"),
            (releases[0], "the same release again: nothing to write"),
            (releases[1], "the next weekly release: only the delta is written"),
        ]
        for number, (release, title) in enumerate(steps, 1):
            print(f"\n== step {number}: {title} ({release.name})")
            report = run(load_settings(**base, source=str(release)))
            print(render(report))
            if not report.ok:
                return 1
        stats = emulator.stats()
        counts = ", ".join(f"{stats[k]} {k}" for k in ("requests", "writes", "puts", "deletes"))
        print(f"\nemulator saw {counts}")
        return _check_foreign(settings, foreign)


def demo_config(endpoint: str, ca_bundle: Path, cache: Path) -> dict[str, Any]:
    """The demo's settings against an emulator: one explicit target, discovery by tag on."""
    nsg_id = (
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RESOURCE_GROUP}/{PROVIDER}/{NSG_NAMES[0]}"
    )
    target = {
        "nsg": nsg_id,
        "service_tags": ["Storage.WestEurope", "AzureMonitor"],
        "priority_range": [200, 299],
    }
    return {
        "arm_endpoint": endpoint,
        "ca_bundle": ca_bundle,
        "credential": "emulator",
        "subscription_id": SUBSCRIPTION,
        "targets": [target],
        "cache_dir": cache,
        "poll_interval_s": 0,
    }


def _check_foreign(settings: Settings, foreign: Rule) -> int:
    """The rule ipsync does not own must be exactly as it was created, in both NSGs."""
    from sync.azure.client import make_client
    from sync.kinds.nsg.rules import rule_from_sdk

    client = make_client(settings)
    for name in NSG_NAMES:
        found = {r.name: r for r in client.security_rules.list(RESOURCE_GROUP, name)}
        rule = found.get(foreign.name)
        if rule is None or rule_from_sdk(rule).content != foreign.content:
            print(f"foreign rule {foreign.name} in {name} was changed")
            return 1
    print(f"foreign rule {foreign.name}: untouched in {', '.join(NSG_NAMES)}")
    return 0


def create_nsgs(settings: Settings) -> Rule:
    """Two NSGs, each with a foreign rule inside ipsync's priority band (it is skipped)."""
    from azure.mgmt.network.models import (
        NetworkSecurityGroup,
        NetworkSecurityGroupPropertiesFormat,
    )

    from sync.azure.client import make_client
    from sync.kinds.nsg.rules import rule_to_sdk

    client = make_client(settings)
    foreign = Rule(
        name="corp-proxy-out",
        priority=200,
        direction="Outbound",
        access="Allow",
        protocol="Tcp",
        source_prefixes=frozenset({"VirtualNetwork"}),
        destination_prefixes=frozenset({"203.0.113.10/32"}),
        source_ports=frozenset({"*"}),
        destination_ports=frozenset({"3128"}),
        description="not ipsync's: left alone",
    )
    properties = NetworkSecurityGroupPropertiesFormat(security_rules=[rule_to_sdk(foreign)])
    for name, tags in zip(NSG_NAMES, ({}, {"ipsync": "AzureKeyVault.WestEurope"}), strict=True):
        client.network_security_groups.begin_create_or_update(
            RESOURCE_GROUP,
            name,
            NetworkSecurityGroup(location="westeurope", tags=tags, properties=properties),
        ).result()
    return foreign
