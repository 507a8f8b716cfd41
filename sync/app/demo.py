"""``python -m sync demo``: the whole product, offline, on the embedded emulator.

The story a first-time user needs, each step saying in one line what it proves: Azure Backup's
case (VMs behind a locked-down NSG reach Storage and Azure Backup in their region) planned and
then applied beside a rule ipsync does not own; a second NSG that opts in by its Azure tag; a
Storage firewall too small for its list, fitted with the fewest extra addresses; a published
list; the same release again (no write); the week's changes, then only the delta written.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sync.errors import SettingsError
from sync.kinds.nsg.rules import Rule
from sync.report import Report
from sync.settings import Settings

SUBSCRIPTION = "00000000-0000-4000-8000-000000000001"
RESOURCE_GROUP = "rg-demo"
GROUP_ID = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RESOURCE_GROUP}"
#: The explicit target's NSG, then the one that opts in by its ``ipsync`` Azure tag.
NSG_NAMES = ("nsg-backup", "nsg-app")
#: Azure Backup's regional tags (the VM extension reaches both over HTTPS).
BACKUP_TAGS = ("AzureBackup.WestEurope", "Storage.WestEurope")
#: What the second NSG's own Azure tag asks for.
APP_TAG = "AzureKeyVault.WestEurope"
#: A Storage account whose firewall (400 rules) is too small for the region's 415 ranges.
ACCOUNT, ACCOUNT_TAG = "stdemo", "AzureCloud.westeurope"
#: A published list, as an on-premises firewall would pull it.
LIST_NAME, LIST_TAG = "edl", "AzureFrontDoor.Backend"
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
    from sync.settings import load_settings

    folder = data_dir or default_data_dir()
    releases = [folder / name for name in RELEASES]
    missing = [str(p) for p in releases if not p.is_file()]
    if missing:
        raise SettingsError(f"demo --data: bundled release not found: {', '.join(missing)}")
    with tempfile.TemporaryDirectory() as work, Emulator() as emulator:
        base = demo_config(emulator.endpoint, emulator.ca_bundle, Path(work))
        settings = load_settings(**base)
        foreign = create_resources(settings)
        made = emulator.stats()["writes"]
        story = _Story(lambda source, **more: load_settings(**base, source=str(source), **more))
        ok = story.tell(releases, settings, foreign, Path(work) / "state")
        written = emulator.stats()["writes"] - made
        print(f"\nThe emulator saw {written} writes after set-up; the reports counted "
              f"{story.writes}.")  # fmt: skip
        return 0 if ok and written == story.writes else 1


def demo_config(endpoint: str, ca_bundle: Path, work: Path) -> dict[str, Any]:
    """The demo's settings against an emulator: its targets, a published list, discovery by
    tag on, the cache and the state in ``work``."""
    return {
        "arm_endpoint": endpoint,
        "ca_bundle": ca_bundle,
        "credential": "emulator",
        "subscription_id": SUBSCRIPTION,
        "targets": _targets(),
        "lists": {LIST_NAME: {"service_tags": [LIST_TAG], "families": ["v4"]}},
        "cache_dir": work / "cache",
        "state": str(work / "state"),
        "poll_interval_s": 0,
    }


def _targets() -> list[dict[str, Any]]:
    nsg = f"{GROUP_ID}/providers/Microsoft.Network/networkSecurityGroups/{NSG_NAMES[0]}"
    account = f"{GROUP_ID}/providers/Microsoft.Storage/storageAccounts/{ACCOUNT}"
    return [
        {"nsg": nsg, "service_tags": list(BACKUP_TAGS), "priority_range": [200, 299]},
        {"kind": "storage", "resource": account, "service_tags": [ACCOUNT_TAG], "fit": "cover"},
    ]


class _Story:
    """The demo's steps, each with what it proves."""

    def __init__(self, settings_of: Any) -> None:
        self.settings_of = settings_of
        self.writes = 0

    def tell(
        self, releases: Sequence[Path], settings: Settings, foreign: Rule, state: Path
    ) -> bool:
        old, new = releases
        planned = self.step(1, "plan the 2025-10-10 release: what would change", old, dry_run=True)
        print(f"  proves: a plan writes nothing ({planned.writes} writes); apply does it")
        first = self.step(2, "apply it", old)
        if not first.ok:
            return False
        print(f"  proves: {_kept(settings, foreign)}")
        print(f"  proves: {NSG_NAMES[1]} was found by its Azure tag ipsync={APP_TAG}")
        print(f"  proves: {_fitted(first)}")
        print(f"  proves: {_published(state)}")
        again = self.step(3, "the same release again", old)
        print(f"  proves: nothing changed, so nothing is written ({again.writes} writes)")
        print(f"\n== step 4: what the week changed in the demo's tags ({old.name} -> {new.name})")
        print(_week(old, new))
        weekly = self.step(5, "apply the 2025-10-17 release", new)
        print(f"  proves: only the week's delta is written ({weekly.writes} writes, "
              f"{first.writes} the first time)")  # fmt: skip
        return weekly.ok and again.writes == 0 and _untouched(settings, foreign)

    def step(self, number: int, title: str, release: Path, **more: Any) -> Report:
        from sync.app.render import render
        from sync.engine import run

        print(f"\n== step {number}: {title} ({release.name})")
        report = run(self.settings_of(release, **more))
        print(render(report))
        self.writes += report.writes
        return report


def _kept(settings: Settings, foreign: Rule) -> str:
    """Where the foreign rule is, and where ipsync's rules went around it."""
    from sync.azure.client import make_client

    client = make_client(settings)
    rules = client.security_rules.list(RESOURCE_GROUP, NSG_NAMES[0])
    ours = sorted(r.priority for r in rules if (r.name or "").startswith("ipsync-"))
    return (
        f"{foreign.name} (priority {foreign.priority}, not ipsync's) is kept as it was; "
        f"ipsync's rules took the next free priorities {', '.join(map(str, ours))}"
    )


def _fitted(report: Report) -> str:
    row = next(t for t in report.targets if t.kind == "storage")
    fit = row.fit
    if fit is None:
        return f"storage {ACCOUNT}: no fit reported"
    return (
        f"storage {ACCOUNT}: {ACCOUNT_TAG} fitted into {fit.entries} of {fit.capacity} rules "
        f"with {fit.extra_addresses} extra addresses ({fit.extra_ratio:.4%} of those published)"
    )


def _published(state: Path) -> str:
    found = sorted(state.rglob(f"{LIST_NAME}.txt")) or sorted(state.rglob(f"{LIST_NAME}.*"))
    if not found:
        return f"list {LIST_NAME}: not published"
    lines = [x for x in found[0].read_text().splitlines() if x and not x.startswith("#")]
    return (
        f"list {LIST_NAME} ({LIST_TAG}) published: {len(lines)} prefixes in {found[0].name}, "
        f"served by the Functions app at /api/lists/{LIST_NAME}"
    )


def _week(old: Path, new: Path) -> str:
    from sync.app.render import render_diff
    from sync.core.diff import diff_releases
    from sync.feeds import load_release
    from sync.settings import load_settings

    tags = (*BACKUP_TAGS, APP_TAG, ACCOUNT_TAG, LIST_TAG)
    old_release, new_release = (load_release(load_settings(source=str(p))) for p in (old, new))
    return render_diff(diff_releases(old_release, new_release, tags=tags))


def _untouched(settings: Settings, foreign: Rule) -> bool:
    """The rule ipsync does not own must be exactly as it was created, in both NSGs."""
    from sync.azure.client import make_client
    from sync.kinds.nsg.rules import rule_from_sdk

    client = make_client(settings)
    for name in NSG_NAMES:
        found = {r.name: r for r in client.security_rules.list(RESOURCE_GROUP, name)}
        rule = found.get(foreign.name)
        if rule is None or rule_from_sdk(rule).content != foreign.content:
            print(f"foreign rule {foreign.name} in {name} was changed")
            return False
    return True


def create_resources(settings: Settings) -> Rule:
    """Two NSGs, each with a foreign rule inside ipsync's priority band (it is skipped), and a
    Storage account that denies by default."""
    from azure.mgmt.network.models import (
        NetworkSecurityGroup,
        NetworkSecurityGroupPropertiesFormat,
    )
    from azure.mgmt.storage import StorageManagementClient
    from azure.mgmt.storage import models as st

    from sync.azure.client import arm_client, make_client
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
    for name, tags in zip(NSG_NAMES, ({}, {"ipsync": APP_TAG}), strict=True):
        client.network_security_groups.begin_create_or_update(
            RESOURCE_GROUP,
            name,
            NetworkSecurityGroup(location="westeurope", tags=tags, properties=properties),
        ).result()
    storage = arm_client(settings, StorageManagementClient)
    account = st.StorageAccountCreateParameters(
        sku=st.Sku(name="Standard_LRS"),
        kind="StorageV2",
        location="westeurope",
        properties=st.StorageAccountPropertiesCreateParameters(
            network_rule_set=st.NetworkRuleSet(default_action="Deny", ip_rules=[])
        ),
    )
    storage.storage_accounts.begin_create(RESOURCE_GROUP, ACCOUNT, account).result()
    return foreign
