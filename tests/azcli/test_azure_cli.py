"""The real Azure CLI against the emulator: create with ``az``, sync with ipsync, read back with
``az``. It proves the emulator answers what a second, independent client (the CLI's own pinned
SDKs and api-versions, its MSAL sign-in) asks, not only what ipsync's SDKs ask.

The CLI lives in its own virtual environment (``make az-cli``; ``.ci/run`` creates it). The CLI
signs in to a custom cloud registered from the emulator's ``/metadata/endpoints``: a service
principal whose token comes from the emulator's stand-in for Entra ID. Everything on loopback.
Run alone: ``pytest -m azcli``.
"""

from __future__ import annotations

import ipaddress
import json
import lzma
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from armemu import Emulator
from armemu.groups import TENANT_ID

pytestmark = pytest.mark.azcli

ROOT = Path(__file__).parent.parent.parent
AZ = ROOT / ".venv-az" / "bin" / "az"
FEED = ROOT / "tests" / "data" / "ServiceTags_Public_20251017.json.xz"
SUB = "00000000-0000-0000-0000-000000000000"
RG = "rg-cli"
TAG, SQL_TAG = "Storage.WestEurope", "Sql.WestEurope"
OWNER_ENTRY = "203.0.113.7"
Network = ipaddress.IPv4Network


class Cli:
    """``az`` with its own config folder, trusting the emulator's CA."""

    def __init__(self, emulator: Emulator, home: Path) -> None:
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "REQUESTS_"))},
            "AZURE_CONFIG_DIR": str(home / "az"),
            "AZURE_EXTENSION_DIR": str(home / "az-extensions"),
            "REQUESTS_CA_BUNDLE": str(emulator.ca_bundle),
            "AZURE_CORE_COLLECT_TELEMETRY": "false",
            "AZURE_CORE_SURVEY_MESSAGE": "false",
            "AZURE_CORE_ONLY_SHOW_ERRORS": "true",
        }

    def __call__(self, *args: str) -> Any:
        done = subprocess.run(
            [str(AZ), *args, "--output", "json"],
            env=self.env, capture_output=True, text=True, timeout=180, check=False,
        )  # fmt: skip
        assert done.returncode == 0, f"az {' '.join(args)}: {done.stderr}"
        return json.loads(done.stdout) if done.stdout.strip() else None


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    # Retry-After 1: the CLI polls every 30 s without one
    with Emulator(lro_polls=1, retry_after=1, subscriptions=(SUB,)) as emu:
        yield emu


@pytest.fixture(scope="module")
def az(emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Cli:
    if not AZ.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{AZ} is missing: .ci/run creates it with `make az-cli`")
        pytest.skip(f"no Azure CLI at {AZ}: `make az-cli` installs it")
    cli = Cli(emulator, tmp_path_factory.mktemp("azcli"))
    # MSAL's instance discovery would ask login.microsoftonline.com about the authority
    cli("config", "set", "core.instance_discovery=false")
    cli("cloud", "register", "--name", "ipsync-emulator",
        "--endpoint-resource-manager", emulator.endpoint + "/")  # fmt: skip
    cli("cloud", "set", "--name", "ipsync-emulator")
    accounts = cli("login", "--service-principal", "--username", "ipsync-test",
                   "--password", "any-secret", "--tenant", TENANT_ID)  # fmt: skip
    assert [(a["id"], a["tenantId"]) for a in accounts] == [(SUB, TENANT_ID)]
    return cli


def tagged(tag: str = TAG) -> list[str]:
    return ["--tags", f"ipsync={tag}"]


def feed_prefixes(tag: str) -> list[Network]:
    release = json.loads(lzma.decompress(FEED.read_bytes()))
    (found,) = [v for v in release["values"] if v["name"] == tag]
    return [Network(p) for p in found["properties"]["addressPrefixes"] if ":" not in p]


def covered(prefixes: list[Network], entries: list[str]) -> bool:
    """Every prefix inside one of the entries (an address, a CIDR or an ``a-b`` range)."""
    spans = []
    for entry in entries:
        if "-" in entry:
            low, high = (int(ipaddress.IPv4Address(a)) for a in entry.split("-"))
        else:
            net = Network(entry)
            low, high = int(net.network_address), int(net.broadcast_address)
        spans.append((low, high))
    return all(
        any(lo <= int(p.network_address) and int(p.broadcast_address) <= hi for lo, hi in spans)
        for p in prefixes
    )


def sync(emulator: Emulator, tmp_path: Path) -> str:
    config = tmp_path / "ipsync.toml"
    config.write_text(
        f'source = "{FEED}"\narm_endpoint = "{emulator.endpoint}"\n'
        f'ca_bundle = "{emulator.ca_bundle}"\ncredential = "emulator"\n'
        f'subscription_id = "{SUB}"\npoll_interval_s = 0\n'
        # the IP Group is handed over by its tags: the operator allows that in rg-cli alone
        f'tag_handover_resource_groups = ["{RG}"]\n',
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, "-m", "sync", "apply", "--config", str(config)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def test_resources_made_by_az_are_synced_and_read_back_by_az(
    az: Cli, emulator: Emulator, tmp_path: Path
) -> None:
    assert az("group", "create", "--name", RG, "--location", "westeurope")["name"] == RG
    az("network", "nsg", "create", "-g", RG, "-n", "nsg1", *tagged())
    az("storage", "account", "create", "-g", RG, "-n", "ipsyncclisto", "--sku", "Standard_LRS",
       "--default-action", "Deny", *tagged())  # fmt: skip
    az("storage", "account", "network-rule", "add", "-g", RG, "--account-name", "ipsyncclisto",
       "--ip-address", OWNER_ENTRY)  # fmt: skip
    az("keyvault", "create", "-g", RG, "-n", "ipsync-cli-kv", "--default-action", "Deny",
       *tagged())  # fmt: skip
    az("acr", "create", "-g", RG, "-n", "ipsynccliacr", "--sku", "Premium",
       "--default-action", "Deny", *tagged())  # fmt: skip
    az("sql", "server", "create", "-g", RG, "-n", "ipsync-cli-sql", "-u", "owner",
       "-p", "Not-a-real-secret-1")  # fmt: skip
    az("sql", "server", "update", "-g", RG, "-n", "ipsync-cli-sql", "--set",
       f"tags.ipsync={SQL_TAG}")  # fmt: skip
    # IP Group commands ship in an extension, not in the CLI's core: the generic command, with
    # the tag that hands the group over to ipsync
    group = {"location": "westeurope", "properties": {"ipAddresses": []},
             "tags": {"ipsync": TAG, "ipsync-managed": "ipsync-cli-ipg"}}  # fmt: skip
    ipg = ("-g", RG, "-n", "ipsync-cli-ipg", "--resource-type", "Microsoft.Network/ipGroups")
    az("resource", "create", *ipg, "--is-full-object", "--properties", json.dumps(group))
    listed = az("resource", "list", "-g", RG)
    assert sorted((r["type"], r["name"]) for r in listed) == [
        ("Microsoft.ContainerRegistry/registries", "ipsynccliacr"),
        ("Microsoft.KeyVault/vaults", "ipsync-cli-kv"),
        ("Microsoft.Network/ipGroups", "ipsync-cli-ipg"),
        ("Microsoft.Network/networkSecurityGroups", "nsg1"),
        ("Microsoft.Sql/servers", "ipsync-cli-sql"),
        ("Microsoft.Storage/storageAccounts", "ipsyncclisto"),
    ]

    assert "done: 6 targets" in sync(emulator, tmp_path)

    wanted, sql_wanted = feed_prefixes(TAG), feed_prefixes(SQL_TAG)
    storage = az("storage", "account", "show", "-g", RG, "-n", "ipsyncclisto",
                 "--query", "networkRuleSet.ipRules[].ipAddressOrRange")  # fmt: skip
    assert OWNER_ENTRY in storage  # the owner's entry stays
    assert covered(wanted, storage)
    vault = az("keyvault", "show", "-n", "ipsync-cli-kv",
               "--query", "properties.networkAcls.ipRules[].value")  # fmt: skip
    assert covered(wanted, vault)
    registry = az("acr", "show", "-n", "ipsynccliacr",
                  "--query", "networkRuleSet.ipRules[].ipAddressOrRange")  # fmt: skip
    assert 0 < len(registry) <= 100
    assert covered(wanted, registry)
    rules = az("sql", "server", "firewall-rule", "list", "-g", RG, "-s", "ipsync-cli-sql")
    assert covered(sql_wanted, [f"{r['startIpAddress']}-{r['endIpAddress']}" for r in rules])
    nsg_rules = az("network", "nsg", "rule", "list", "-g", RG, "--nsg-name", "nsg1")
    sides = ("sourceAddressPrefixes", "destinationAddressPrefixes")
    assert covered(wanted, [p for r in nsg_rules for side in sides for p in r[side] if "." in p])
    assert covered(wanted, az("resource", "show", *ipg)["properties"]["ipAddresses"])

    assert "done: 6 targets, 0 writes" in sync(emulator, tmp_path)  # nothing left to do
