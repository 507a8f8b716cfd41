"""Replay real releases through the IP rule list kinds (Storage, Key Vault, ACR) on the emulator.

``python -m bench.kinds_replay [FOLDER ...]`` applies the bundled Public releases (plus those
in the folders given), oldest first, to one resource of each kind, each holding an owner's
entry. Per release and resource it prints the writes (at most one is expected), checks the
owner's entry was there after every completed write, that every published address of the
release is allowed after it (a cover may allow more), that no address allowed before and
after the release went missing in between (from the emulator's history), and that applying
the same release again writes nothing.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import netaddr
from azure.mgmt.containerregistry import ContainerRegistryManagementClient
from azure.mgmt.containerregistry import models as acr
from azure.mgmt.keyvault import KeyVaultManagementClient
from azure.mgmt.keyvault import models as kv
from azure.mgmt.storage import StorageManagementClient
from azure.mgmt.storage import models as st

from armemu import Emulator
from bench.common import Figure, Section
from bench.emulated import SUBSCRIPTION, settings_for
from bench.markdown import render_section
from bench.replay import find_releases
from sync.azure.client import arm_client
from sync.core.selection import select
from sync.engine import run
from sync.feeds.azure.parse import parse_release

COMMAND = ".venv/bin/python -m bench.kinds_replay"
RG = "bench"
OWNER = "51.0.0.1"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
#: kind -> (resource type, name, target fields): Storage and ACR need the budget fit.
LAYOUT: dict[str, tuple[str, str, dict[str, Any]]] = {
    "storage": (
        "Microsoft.Storage/storageAccounts",
        "benchsto",
        {"service_tags": ["AzureCloud.westeurope"], "fit": "cover"},
    ),
    "keyvault": (
        "Microsoft.KeyVault/vaults",
        "benchkv",
        {"service_tags": ["AzureCloud.westeurope"]},
    ),
    "acr": (
        "Microsoft.ContainerRegistry/registries",
        "benchacr",
        {"service_tags": ["Storage.WestEurope"], "fit": "cover"},
    ),
}


def resource_id(kind: str) -> str:
    provider, name, _ = LAYOUT[kind]
    return f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RG}/providers/{provider}/{name}"


def create(settings: Any) -> None:
    """One resource per kind, denying by default, with the owner's entry."""
    storage = arm_client(settings, StorageManagementClient)
    storage.storage_accounts.begin_create(
        RG,
        LAYOUT["storage"][1],
        st.StorageAccountCreateParameters(
            sku=st.Sku(name="Standard_LRS"),
            kind="StorageV2",
            location="westeurope",
            properties=st.StorageAccountPropertiesCreateParameters(
                network_rule_set=st.NetworkRuleSet(
                    default_action="Deny", ip_rules=[st.IPRule(ip_address_or_range=OWNER)]
                )
            ),
        ),
    ).result()
    vaults = arm_client(settings, KeyVaultManagementClient)
    rules = kv.NetworkRuleSet(default_action="Deny", ip_rules=[kv.IPRule(value=OWNER)])
    vaults.vaults.begin_create_or_update(
        RG,
        LAYOUT["keyvault"][1],
        kv.VaultCreateOrUpdateParameters(
            location="westeurope",
            properties=kv.VaultProperties(
                tenant_id=TENANT, sku=kv.Sku(family="A", name="standard"), network_acls=rules
            ),
        ),
    ).result()
    registries = arm_client(settings, ContainerRegistryManagementClient)
    ruleset = acr.NetworkRuleSet(
        default_action="Deny", ip_rules=[acr.IPRule(ip_address_or_range=OWNER)]
    )
    registries.registries.begin_create(
        RG,
        LAYOUT["acr"][1],
        acr.Registry(
            location="westeurope",
            sku=acr.Sku(name="Premium"),
            properties=acr.RegistryProperties(network_rule_set=ruleset),
        ),
    ).result()


def allowed(entries: Iterable[str]) -> netaddr.IPSet:
    return netaddr.IPSet(netaddr.IPNetwork(e) for e in entries)


@dataclass
class Replayed:
    """The table (markdown lines), the writes per release by kind, and the problems found."""

    table: list[str] = field(default_factory=list)
    writes: dict[str, list[int]] = field(default_factory=dict)
    #: By kind, per later release: entries the resource's list changed, and prefixes the
    #: selected tags themselves changed (the published change the list follows).
    changed: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def replay(releases: Sequence[Path]) -> Replayed:
    """Apply each release; one table line per release and kind."""
    out = Replayed()
    problems = out.problems
    targets = [
        {"kind": kind, "resource": resource_id(kind), "max_extra_ratio": 0.1, **fields}
        for kind, (_, _, fields) in LAYOUT.items()
    ]
    out.table += [
        "| release | kind | rules | entries changed | published prefixes changed | writes | "
        "again | extra addresses | owner kept | gap |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    previous: dict[str, set[str]] = {}
    with tempfile.TemporaryDirectory() as cache, Emulator() as emulator:
        base = settings_for(emulator, Path(cache), discover_tag="")
        create(base)
        for path in releases:
            release = parse_release(path.read_bytes(), origin=str(path))
            marks = {k: len(v) for k, v in emulator.history().items()}
            settings = settings_for(
                emulator, Path(cache), source=str(path), targets=targets, discover_tag=""
            )
            report = run(settings)
            again = run(settings)
            history = emulator.history()
            for result, goal in zip(report.targets, targets, strict=True):
                rid, kind = str(goal["resource"]), str(goal["kind"])
                window = history[rid][marks[rid] - 1 :]
                selected = set(select(release, goal["service_tags"], families=["v4"]).v4)
                published = allowed(selected)
                changed, moved = "-", "-"
                if kind in previous:
                    entries = len(set(window[0]) ^ set(window[-1]))
                    tags = len(previous[kind] ^ selected)
                    out.changed.setdefault(kind, []).append((entries, tags))
                    changed, moved = str(entries), str(tags)
                previous[kind] = selected
                kept = allowed(window[0]) & allowed(window[-1])
                gap = any(not kept.issubset(allowed(step)) for step in window)
                owner = all(OWNER in step or f"{OWNER}/32" in step for step in window)
                extra = result.fit.extra_addresses if result.fit else 0
                out.writes.setdefault(kind, []).append(result.writes)
                out.table.append(
                    f"| {path.name} | {kind} | {len(window[-1])} | {changed} | {moved} | "
                    f"{result.writes} | "
                    f"{next(t.writes for t in again.targets if t.resource == rid)} | {extra} | "
                    f"{'yes' if owner else 'NO'} | {'YES' if gap else 'none'} |"
                )
                if result.status in ("failed", "refused"):
                    problems.append(f"{path.name} {kind}: {result.status}: {result.error}")
                if result.writes > 1:
                    problems.append(f"{path.name} {kind}: {result.writes} writes")
                if not published.issubset(allowed(window[-1])):
                    problems.append(f"{path.name} {kind}: published addresses not allowed")
                if gap or not owner:
                    problems.append(f"{path.name} {kind}: coverage gap or owner entry lost")
            if again.writes:
                problems.append(f"{path.name}: applying it again wrote {again.writes} times")
    return out


def section(releases: Sequence[Path]) -> Section:
    """Writes per release of each IP rule list kind, the fitted ones (``fit: cover``) first."""
    replayed = replay(releases)
    out = Section(
        "7. Writes per release of the IP rule list kinds",
        f"The {len(releases)} bundled Public releases ({', '.join(p.name for p in releases)}) "
        "applied oldest first to one Storage account and one container registry (both "
        "`fit: cover`, `max_extra_ratio` 0.1: the tag does not fit their rule limit) and one "
        "Key Vault (exact list), on the emulator. A whole rule list is one PUT, so a release "
        "costs at most one write per resource; the baseline is a rewrite on every release. "
        "After every release: every published address allowed, the owner's entry kept, no "
        "address allowed before and after it missing in between, and applying it again "
        "writes nothing. Stability: the entries each release changes in the list (added "
        "plus removed), next to the prefixes the selected tag itself changed (its aggregated "
        "IPv4 prefixes, added plus removed): an exact list changes as many; a fitted cover "
        "should change few where the optimum allows it.",
        problems=replayed.problems,
    )
    updates = len(releases) - 1
    for kind, (_, _, fields) in LAYOUT.items():
        weekly = replayed.writes.get(kind, [])[1:]  # the first release creates the list
        fitted = f"fit {fields['fit']}" if "fit" in fields else "exact"
        out.figures.append(
            Figure(f"{kind} ({fitted}): writes over the {updates} later releases",
                   str(sum(weekly)), str(updates), "", f"<= {updates} (one per release)",
                   sum(weekly) <= updates, COMMAND)
        )  # fmt: skip
        changes = replayed.changed.get(kind, [])
        out.figures.append(
            Figure(f"{kind} ({fitted}): entries changed over the {updates} later releases",
                   str(sum(c for c, _ in changes)),
                   f"{sum(t for _, t in changes)} (published prefixes changed)", "",
                   "none (context)", None, COMMAND)
        )  # fmt: skip
    out.details += replayed.table
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.kinds_replay", description=__doc__)
    parser.add_argument("folders", nargs="*", type=Path, help="more ServiceTags_*.json files")
    args = parser.parse_args(argv)
    result = section(find_releases(args.folders)["Public"])
    print(render_section(result))
    return 1 if result.problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
