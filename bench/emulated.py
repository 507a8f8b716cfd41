"""The local emulator for benchmarks: in its own process, settings against it, NSGs with a
foreign rule, their ids and targets."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sync.kinds import parse_target
from sync.kinds.nsg.target import NsgTarget
from sync.settings import Settings, load_settings

if TYPE_CHECKING:
    from azure.mgmt.network import NetworkManagementClient

SUBSCRIPTION = "00000000-0000-4000-8000-0000000000be"
RESOURCE_GROUP = "rg-bench"
PROVIDER = "providers/Microsoft.Network/networkSecurityGroups"


def nsg_id(name: str) -> str:
    return f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RESOURCE_GROUP}/{PROVIDER}/{name}"


class Arm(Protocol):
    """Where the emulator listens: an in-process ``Emulator`` or a separate process."""

    @property
    def endpoint(self) -> str: ...

    @property
    def ca_bundle(self) -> Path: ...


@dataclass(frozen=True)
class _Remote:
    endpoint: str
    ca_bundle: Path


@contextmanager
def emulator_process(lro_polls: int, *options: str) -> Iterator[Arm]:
    """``python -m armemu`` in its own process, so it does not share the GIL with the
    engine (real ARM is remote and costs the client no CPU); ``options`` are armemu's own."""
    command = [sys.executable, "-m", "armemu", "--lro-polls", str(lro_polls), *options]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            first = json.loads(process.stdout.readline())
            yield _Remote(first["endpoint"], Path(first["ca_bundle"]))
        finally:
            process.terminate()
            process.wait(10)


def stats(emulator: Arm) -> dict[str, Any]:
    """The emulator's request counts (its admin route), wherever it runs."""
    import ssl
    import urllib.request

    context = ssl.create_default_context(cafile=str(emulator.ca_bundle))
    with urllib.request.urlopen(f"{emulator.endpoint}/_emulator/stats", context=context) as answer:
        counts: dict[str, Any] = json.loads(answer.read())
    return counts


def settings_for(emulator: Arm, cache_dir: Path, **overrides: Any) -> Settings:
    """Settings against the emulator: static token, its CA, no extra wait between polls."""
    values: dict[str, Any] = {
        "arm_endpoint": emulator.endpoint,
        "ca_bundle": emulator.ca_bundle,
        "credential": "emulator",
        "subscription_id": SUBSCRIPTION,
        "cache_dir": cache_dir,
        "poll_interval_s": 0,
    }
    return load_settings(**(values | overrides))


@dataclass(frozen=True)
class Foreign:
    """A rule ipsync does not own, placed inside its priority band on purpose."""

    name: str
    direction: str
    priority: int

    def sdk(self) -> Any:
        from azure.mgmt.network.models import SecurityRule, SecurityRulePropertiesFormat

        return SecurityRule(
            name=self.name,
            properties=SecurityRulePropertiesFormat(
                priority=self.priority,
                direction=self.direction,
                access="Allow",
                protocol="Tcp",
                source_address_prefix="VirtualNetwork",
                destination_address_prefix="203.0.113.10/32",
                source_port_range="*",
                destination_port_range="3128",
                description="not ipsync's: must stay untouched",
            ),
        )


@dataclass(frozen=True)
class NsgSpec:
    name: str
    location: str
    foreign: Foreign
    tags: Mapping[str, str] | None = None


def create_nsgs(client: NetworkManagementClient, specs: Iterable[NsgSpec]) -> None:
    """Create the NSGs (in parallel: they are independent resources)."""
    from azure.mgmt.network.models import (
        NetworkSecurityGroup,
        NetworkSecurityGroupPropertiesFormat,
    )

    def create(spec: NsgSpec) -> None:
        properties = NetworkSecurityGroupPropertiesFormat(security_rules=[spec.foreign.sdk()])
        body = NetworkSecurityGroup(
            location=spec.location, tags=dict(spec.tags or {}), properties=properties
        )
        client.network_security_groups.begin_create_or_update(
            RESOURCE_GROUP, spec.name, body
        ).result()

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(create, specs))


def target(nsg: str, tags: list[str], **fields: Any) -> NsgTarget:
    parsed = parse_target({"nsg": nsg_id(nsg), "service_tags": tags, **fields}, nsg)
    assert isinstance(parsed, NsgTarget)
    return parsed
