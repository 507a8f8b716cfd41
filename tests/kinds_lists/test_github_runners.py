"""GitHub Actions runners into a Key Vault firewall: GitHub's real ranges (the meta API's
shape, ``tests/data/feeds``) through the emulator, within the vault's 1,000 rules, with the
fewest extra addresses any cover of that size can have."""

from __future__ import annotations

import json
import lzma
from collections.abc import Callable
from pathlib import Path

import netaddr

from sync.core.fit import fit_family
from sync.engine import run
from sync.settings import Settings

from .conftest import Make

SettingsFor = Callable[..., Settings]
GITHUB = Path(__file__).parents[1] / "data" / "feeds" / "github-meta-20260822.json.xz"


def actions_v4() -> netaddr.IPSet:
    """What GitHub publishes under ``actions``, IPv4 (read here, not through the feed)."""
    document = json.loads(lzma.decompress(GITHUB.read_bytes()))
    return netaddr.IPSet(p for p in document["actions"] if ":" not in p)


def test_actions_runners_fit_a_vault_at_the_optimum_and_a_second_run_writes_nothing(
    make: Make, settings_for: SettingsFor, tmp_path: Path
) -> None:
    vault = make("keyvault", "kv-runners")
    spec = {
        "kind": "keyvault",
        "resource": vault.id,
        "sources": [{"feed": "github", "select": ["actions"]}],
        "fit": "cover",
    }
    unused = tmp_path / "no-azure-release.json"  # no target takes service tags: never read
    settings = settings_for(unused, [spec], sources={"github": str(GITHUB)})

    first = run(settings)

    (row,) = first.targets
    assert (first.ok, row.status) == (True, "applied"), first
    published = actions_v4()
    merged = [str(c) for c in published.iter_cidrs()]
    assert len(merged) > 4000  # far beyond the vault's rules: only a cover fits
    best = fit_family(merged, 1000)
    allowed = netaddr.IPSet(vault.entries())
    assert len(vault.values()) <= 1000
    assert published.issubset(allowed)
    assert allowed.size - published.size == best.extra_addresses  # no cover has fewer
    assert row.fit is not None
    assert row.fit.extra_addresses == best.extra_addresses
    assert [(s.feed, s.select, s.mark) for s in row.sources] == [
        ("github", ["actions"], first.sources[0].mark)
    ]

    again = run(settings)
    assert (again.writes, again.targets[0].status) == (0, "unchanged")
    assert netaddr.IPSet(vault.entries()) == allowed
