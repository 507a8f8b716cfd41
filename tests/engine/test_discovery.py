"""Discovery through Azure Resource Graph: many subscriptions, any tag case, throttling."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from armemu import Emulator
from sync.azure.client import make_client
from sync.engine import run
from sync.errors import SettingsError
from sync.settings import load_settings

from .conftest import SUB, SettingsFor, make_nsg, rules_of, write_release

OTHER = "11111111-1111-4111-8111-111111111111"
TAGS = {"Alpha": ["11.1.0.0/16"], "Beta": ["11.2.0.0/16"]}
#: The generated release's tags have no region part: let a resource's tag select them.
ANY_TAG = {"tag_select": "*"}
GRAPH = "/providers/microsoft.resourcegraph/resources"


def _ours(client: Any, name: str) -> list[str]:
    return sorted(n for n in rules_of(client, name) if n.startswith("ipsync"))


def test_discovery_spans_subscriptions_and_matches_the_tag_in_any_case(
    emulator: Emulator, network_client: Any, settings_for: SettingsFor, tmp_path: Path
) -> None:
    settings = settings_for(write_release(tmp_path / "r.json", TAGS), [], **ANY_TAG)
    other = make_client(settings, OTHER)
    make_nsg(network_client, "here", tags={"IPSync": "Alpha", "ipsync-families": "v4"})
    make_nsg(other, "there", tags={"ipsync": "Beta", "ipsync-families": "v4"})
    make_nsg(other, "plain", tags={"env": "prod"})

    only_home = run(settings)
    assert [t.resource.rsplit("/", 1)[-1] for t in only_home.targets] == ["here"]

    both = run(
        settings_for(
            write_release(tmp_path / "r.json", TAGS), [], subscriptions=[SUB, OTHER], **ANY_TAG
        )
    )
    assert both.ok, both
    assert sorted(t.resource.rsplit("/", 1)[-1] for t in both.targets) == ["here", "there"]
    assert _ours(other, "there") == ["ipsync-beta-v4"]
    assert _ours(other, "plain") == []


def test_a_throttled_query_waits_and_goes_on(
    emulator: Emulator, network_client: Any, settings_for: SettingsFor, tmp_path: Path
) -> None:
    make_nsg(network_client, "here", tags={"ipsync": "Alpha"})
    emulator.add_faults(
        [
            {
                "method": "POST",
                "path_contains": "Microsoft.ResourceGraph/resources",
                "count": 2,
                "status": 429,
                "code": "TooManyRequests",
                "retry_after": 0,
            }
        ]
    )
    report = run(settings_for(write_release(tmp_path / "r.json", TAGS), [], **ANY_TAG))
    assert report.ok, report
    assert [t.status for t in report.targets] == ["applied"]


def test_a_management_group_is_searched_instead_of_subscriptions(
    emulator: Emulator, network_client: Any, settings_for: SettingsFor, tmp_path: Path
) -> None:
    settings = settings_for(write_release(tmp_path / "r.json", TAGS), [], **ANY_TAG)
    make_nsg(make_client(settings, OTHER), "there", tags={"ipsync": "Beta"})
    report = run(
        settings_for(
            write_release(tmp_path / "r.json", TAGS), [], management_group="mg-1", **ANY_TAG
        )
    )
    assert report.ok, report
    assert [t.resource.rsplit("/", 1)[-1] for t in report.targets] == ["there"]


def test_subscriptions_setting_takes_a_list_or_commas_and_refuses_a_non_guid(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("IPSYNC_SUBSCRIPTIONS", f"{SUB}, {OTHER}")
    assert load_settings().subscriptions == (SUB, OTHER)
    monkeypatch.setenv("IPSYNC_SUBSCRIPTIONS", f'["{OTHER}"]')
    assert load_settings().discovery_scope == ((OTHER,), None)
    monkeypatch.setenv("IPSYNC_SUBSCRIPTIONS", "prod-subscription")
    with pytest.raises(SettingsError, match=r"IPSYNC_SUBSCRIPTIONS.*prod-subscription"):
        load_settings()


def test_discovery_is_off_without_a_tag_or_a_scope() -> None:
    assert load_settings(subscription_id=SUB, discover_tag="").discovery_scope is None
    assert load_settings().discovery_scope is None
    assert load_settings(subscription_id=SUB).discovery_scope == ((SUB,), None)


def test_many_subscriptions_go_in_batches_and_every_page_is_read(
    emulator: Emulator, emulator_settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Five subscriptions two to a query, rows three to a page: every opted-in resource is
    found once, whatever the case of its tag; a resource merely mentioning the tag in a value,
    or with a longer tag name, is not."""
    from sync.azure import discovery
    from sync.azure.client import Clients
    from sync.azure.writes import ArmWriter, Deadline

    monkeypatch.setattr(discovery, "SUBSCRIPTIONS_PER_QUERY", 2)
    monkeypatch.setattr(discovery, "PAGE_SIZE", 3)
    subscriptions = [f"{i:08d}-1111-4111-8111-111111111111" for i in range(5)]
    expected = set()
    for index, sub in enumerate(subscriptions):
        client = make_client(emulator_settings, sub)
        for n in range(index + 2):  # 2, 3, ... 6 per subscription: 20 in all
            key = ("ipsync", "IPSync", "IPSYNC")[n % 3]
            expected.add(make_nsg(client, f"n{n}", tags={key: "Alpha"}).replace(SUB, sub))
        make_nsg(client, "mentions", tags={"owner": "ipsync-team"})
        make_nsg(client, "longer", tags={"ipsync-families": "v4"})
    before = emulator.stats()["by_resource"].get(GRAPH, {}).get("POST", 0)
    found = list(
        discovery.opted_in(
            Clients(emulator_settings).graph(),
            ArmWriter("discovery", Deadline(60), 0),
            {"microsoft.network/networksecuritygroups"},
            "ipsync",
            subscriptions=subscriptions,
        )
    )
    assert sorted(r[0].lower() for r in found) == sorted(e.lower() for e in expected)
    # batches of 2, 2 and 1 subscriptions hold 5, 9 and 6 opted-in resources, and the query
    # also brings the two that only mention the tag in each subscription: pages of three
    queries = emulator.stats()["by_resource"][GRAPH]["POST"] - before
    assert queries == sum(-(-(rows + 2 * subs) // 3) for rows, subs in ((5, 2), (9, 2), (6, 1)))
