"""Storage, Key Vault and ACR synced by the engine, through their SDKs, against the emulator.

Expectations come from the release written here and from the emulator's history of the list
after each completed write, never from the product's own selection.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
from collections.abc import Callable
from pathlib import Path

import netaddr
import pytest

from armemu import Emulator
from sync.engine import run
from sync.settings import Settings
from sync.state import folderlock
from sync.state.ownership import record_name

from .conftest import Make, release, target

#: Published ranges: a /31 and a /32 test each kind's entry syntax (Storage: two bare
#: addresses; a bare address).
ALPHA = ["20.10.0.0/24", "20.10.2.0/24", "40.1.1.1/32", "52.1.0.0/31", "52.2.0.0/20"]
#: The next release: one range gone, one new.
ALPHA_NEXT = ["20.10.0.0/24", "40.1.1.1/32", "52.1.0.0/31", "52.2.0.0/20", "104.40.0.0/16"]
#: An owner's own entry, which ipsync never wanted.
OWNER = "51.0.0.1"
SettingsFor = Callable[..., Settings]


def published(prefixes: list[str], kind: str) -> set[str]:
    """The rules ``kind`` should hold for ``prefixes``: on Storage a /31 is two addresses."""
    out: set[str] = set()
    for prefix in prefixes:
        net = netaddr.IPNetwork(prefix)
        split = kind == "storage" and net.prefixlen == 31
        out |= {f"{a}/32" for a in net} if split else {str(net.cidr)}
    return out


def steps(emulator: Emulator, resource_id: str) -> list[set[str]]:
    """The list after each completed write, as networks."""
    return [
        {str(netaddr.IPNetwork(v).cidr) for v in entry}
        for entry in emulator.history().get(resource_id, [])
    ]


def test_first_sync_one_write_rerun_none_next_release_the_delta_once(
    emulator: Emulator, make: Make, settings_for: SettingsFor, tmp_path: Path, kind: str
) -> None:
    res = make(kind, "fw1", [OWNER])
    before = res.rules()
    goal = target(res, ["Alpha"])
    first = settings_for(release(tmp_path / "r1.json", {"Alpha": ALPHA}), [goal])

    report = run(first)
    assert report.ok, report.model_dump_json(indent=1)
    assert report.writes == 1
    assert res.entries() == published(ALPHA, kind) | {f"{OWNER}/32"}
    if kind == "storage":  # a single address has no mask, a /31 is two addresses
        assert {"40.1.1.1", "52.1.0.0", "52.1.0.1"} <= set(res.values())
        assert not any(v.endswith(("/31", "/32")) for v in res.values())

    again = run(first)
    assert again.ok
    assert again.writes == 0
    assert again.targets[0].status == "unchanged"

    history = len(steps(emulator, res.id))
    second = settings_for(release(tmp_path / "r2.json", {"Alpha": ALPHA_NEXT}, 2), [goal])
    report = run(second)
    assert report.ok
    assert report.writes == 1
    (change,) = report.targets[0].changes
    assert change.added == ["104.40.0.0/16"]
    assert change.removed == ["20.10.2.0/24"]
    after = steps(emulator, res.id)
    assert len(after) == history + 1
    assert after[-1] == published(ALPHA_NEXT, kind) | {f"{OWNER}/32"}
    # the owner's entry and everything else of the firewall are as they were
    rules = res.rules()
    assert rules.default_action == before.default_action == "Deny"
    if kind != "acr":
        assert rules.bypass == before.bypass
        assert rules.virtual_network_rules == before.virtual_network_rules
        assert rules.virtual_network_rules


def test_an_entry_the_owner_added_stays_theirs_when_ipsync_no_longer_wants_it(
    make: Make, settings_for: SettingsFor, tmp_path: Path, kind: str
) -> None:
    res = make(kind, "fw2", ["20.10.2.0/24"])  # the owner had it before ipsync wanted it
    goal = target(res, ["Alpha"])
    assert run(settings_for(release(tmp_path / "r1.json", {"Alpha": ALPHA}), [goal])).ok
    report = run(settings_for(release(tmp_path / "r2.json", {"Alpha": ALPHA_NEXT}, 2), [goal]))
    assert report.ok, report.model_dump_json(indent=1)
    assert "20.10.2.0/24" in res.entries()
    assert report.targets[0].changes[0].removed == []


def test_the_owners_duplicate_entries_are_sent_back_as_they_were(
    make: Make, settings_for: SettingsFor, tmp_path: Path, kind: str
) -> None:
    res = make(kind, "fwdup", [OWNER, "51.0.0.2", OWNER])
    owners = [v for v in res.values() if v.startswith("51.")]
    assert len(owners) == 3  # the service holds the owner's list as written
    goal = target(res, ["Alpha"])
    report = run(settings_for(release(tmp_path / "r1.json", {"Alpha": ALPHA}), [goal]))
    assert report.ok, report.model_dump_json(indent=1)
    assert [v for v in res.values() if v.startswith("51.")] == owners
    assert report.targets[0].changes[0].removed == []


def test_a_lost_registry_keeps_every_entry_and_says_so(
    make: Make, settings_for: SettingsFor, tmp_path: Path, kind: str
) -> None:
    res = make(kind, "fw3", [OWNER])
    goal = target(res, ["Alpha"])
    assert run(settings_for(release(tmp_path / "r1.json", {"Alpha": ALPHA}), [goal])).ok
    shutil.rmtree(tmp_path / "state")
    second = settings_for(release(tmp_path / "r2.json", {"Alpha": ALPHA_NEXT}, 2), [goal])

    report = run(second)
    assert report.ok, report.model_dump_json(indent=1)
    assert res.entries() == published(ALPHA, kind) | published(ALPHA_NEXT, kind) | {f"{OWNER}/32"}
    (change,) = report.targets[0].changes
    assert (change.added, change.removed) == (["104.40.0.0/16"], [])

    # a third release: what ipsync added after the loss is its own again, the rest stays
    source = release(tmp_path / "r3.json", {"Alpha": ALPHA}, 3)
    third = settings_for(source, [goal], max_remove_ratio=1.0)
    report = run(third)
    assert report.ok, report.model_dump_json(indent=1)
    assert report.targets[0].changes[0].removed == ["104.40.0.0/16"]
    assert "20.10.2.0/24" in res.entries()


def test_ipv6_on_an_ipv4_only_firewall_is_an_error_that_says_so(
    emulator: Emulator, make: Make, settings_for: SettingsFor, tmp_path: Path, kind: str
) -> None:
    res = make(kind, "fw4")
    goal = target(res, ["Alpha"], families=["v4", "v6"])
    report = run(settings_for(release(tmp_path / "r.json", {"Alpha": ALPHA}), [goal]))
    (result,) = report.targets
    assert result.status == "failed"
    # Storage takes IPv6 where the account publishes IPv6 endpoints, which this one does not
    said = "publishes no IPv6 endpoints" if kind == "storage" else "IPv4 only"
    assert said in (result.error or "")
    assert report.exit_code() == 1
    assert len(emulator.history()[res.id]) == 1  # its creation only


def test_a_registry_below_premium_is_a_clear_error(
    emulator: Emulator, make: Make, settings_for: SettingsFor, tmp_path: Path
) -> None:
    res = make("acr", "basicacr", sku="Standard")
    report = run(
        settings_for(release(tmp_path / "r.json", {"Alpha": ALPHA}), [target(res, ["Alpha"])])
    )
    (result,) = report.targets
    assert result.status == "failed"
    assert "Standard SKU; IP rules need Premium" in (result.error or "")
    assert emulator.history()[res.id] == [[]]


#: 101 /24s, no two adjacent: one more than an ACR holds, coverable by fewer.
WIDE = [f"20.{i // 64}.{(i % 64) * 4}.0/24" for i in range(101)]


def test_over_the_limit_exact_is_refused_and_cover_fits_with_the_least_extra(
    emulator: Emulator, make: Make, settings_for: SettingsFor, tmp_path: Path
) -> None:
    res = make("acr", "wideacr", ["51.0.0.1", "51.0.0.2"])  # two rules the owner holds
    source = release(tmp_path / "r.json", {"Wide": WIDE})
    report = run(settings_for(source, [target(res, ["Wide"])]))
    (result,) = report.targets
    assert result.status == "refused", result
    assert "needs 101 entries but 98 fit (limit 100 IP rules, 2 held by" in (result.error or "")
    assert report.exit_code() == 3
    assert len(emulator.history()[res.id]) == 1

    cover = target(res, ["Wide"], fit="cover", max_extra_ratio=1.0)
    report = run(settings_for(source, [cover]))
    assert report.ok, report.model_dump_json(indent=1)
    (result,) = report.targets
    held = res.entries() - {"51.0.0.1/32", "51.0.0.2/32"}
    assert len(held) == 98
    assert netaddr.IPSet(WIDE).issubset(netaddr.IPSet(held))
    extra = netaddr.IPSet(held).size - netaddr.IPSet(WIDE).size
    assert result.fit is not None
    assert (result.fit.entries, result.fit.capacity, result.fit.extra_addresses) == (98, 98, extra)
    # one /20 over four listed /24s (12 unlisted /24s) saves the three entries; three /21s,
    # each over two listed /24s, would allow 3 * 6 unlisted /24s
    assert extra == 12 * 256


def test_a_412_on_the_write_rereads_and_replans(
    emulator: Emulator, make: Make, settings_for: SettingsFor, tmp_path: Path, kind: str
) -> None:
    res = make(kind, "fw5", [OWNER])
    emulator.add_faults([{"method": "PATCH", "path_contains": res.name, "status": 412}])
    report = run(
        settings_for(release(tmp_path / "r.json", {"Alpha": ALPHA}), [target(res, ["Alpha"])])
    )
    assert report.ok, report.model_dump_json(indent=1)
    assert report.writes == 2  # the refused PATCH and the one after the re-plan
    assert res.entries() == published(ALPHA, kind) | {f"{OWNER}/32"}


def test_a_lost_answer_still_records_what_ipsync_added(
    emulator: Emulator, make: Make, settings_for: SettingsFor, tmp_path: Path
) -> None:
    res = make("storage", "lost", [OWNER])
    goal = target(res, ["Alpha"])
    emulator.add_faults([{"method": "PATCH", "path_contains": "lost", "lose_response": True}])
    report = run(settings_for(release(tmp_path / "r1.json", {"Alpha": ALPHA}), [goal]))
    assert report.ok, report.model_dump_json(indent=1)
    report = run(settings_for(release(tmp_path / "r2.json", {"Alpha": ALPHA_NEXT}, 2), [goal]))
    assert report.targets[0].changes[0].removed == ["20.10.2.0/24"]


def test_add_only_keeps_what_is_no_longer_published(
    make: Make, settings_for: SettingsFor, tmp_path: Path, kind: str
) -> None:
    res = make(kind, "fw6")
    goal = target(res, ["Alpha"], policy="add-only")
    assert run(settings_for(release(tmp_path / "r1.json", {"Alpha": ALPHA}), [goal])).ok
    report = run(settings_for(release(tmp_path / "r2.json", {"Alpha": ALPHA_NEXT}, 2), [goal]))
    assert report.ok, report.model_dump_json(indent=1)
    (result,) = report.targets
    assert res.entries() == published(ALPHA, kind) | published(ALPHA_NEXT, kind)
    assert result.changes[0].removed == []
    assert result.held_back[0].removed == ["20.10.2.0/24"]


def test_the_remove_ratio_guard_refuses_a_large_removal(
    emulator: Emulator, make: Make, settings_for: SettingsFor, tmp_path: Path, kind: str
) -> None:
    res = make(kind, "fw7", [OWNER])
    goal = target(res, ["Alpha"])
    assert run(settings_for(release(tmp_path / "r1.json", {"Alpha": ALPHA}), [goal])).ok
    kept = len(emulator.history()[res.id])
    shrunk = settings_for(release(tmp_path / "r2.json", {"Alpha": ALPHA[:1]}, 2), [goal])
    report = run(shrunk)
    (result,) = report.targets
    assert result.status == "refused"
    assert "max_remove_ratio" in (result.error or "")
    assert report.exit_code() == 3
    assert len(emulator.history()[res.id]) == kept
    forced = run(shrunk, force=True)
    assert forced.ok
    assert res.entries() == published(ALPHA[:1], kind) | {f"{OWNER}/32"}


def test_a_second_target_on_one_resource_is_refused(
    make: Make, settings_for: SettingsFor, tmp_path: Path
) -> None:
    res = make("keyvault", "kv2")
    source = release(tmp_path / "r.json", {"Alpha": ALPHA, "Beta": ["23.0.0.0/16"]})
    report = run(settings_for(source, [target(res, ["Alpha"]), target(res, ["Beta"])]))
    statuses = sorted((t.status, t.service_tags[0]) for t in report.targets)
    assert statuses == [("applied", "Alpha"), ("failed", "Beta")]
    assert "23.0.0.0/16" not in res.entries()


def test_a_private_extra_prefix_is_refused_before_any_write(
    emulator: Emulator, make: Make, settings_for: SettingsFor, tmp_path: Path
) -> None:
    res = make("storage", "private")
    goal = target(res, ["Alpha"], extra_prefixes=["10.1.0.0/16"])
    report = run(settings_for(release(tmp_path / "r.json", {"Alpha": ALPHA}), [goal]))
    (result,) = report.targets
    assert result.status == "failed"
    assert "10.1.0.0/16 is not a public address range" in (result.error or "")
    assert emulator.history()[res.id] == [[]]


def test_an_older_release_is_refused_as_a_rollback_unless_forced(
    emulator: Emulator, make: Make, settings_for: SettingsFor, tmp_path: Path, kind: str
) -> None:
    res = make(kind, "fw1", [OWNER])
    goal = target(res, ["Alpha"])
    assert run(settings_for(release(tmp_path / "new.json", {"Alpha": ALPHA_NEXT}, 376), [goal])).ok
    held = res.entries()
    older = settings_for(release(tmp_path / "old.json", {"Alpha": ALPHA}, 373), [goal])
    report = run(older)
    (result,) = report.targets
    assert result.status == "refused"
    assert "release 373 is older than release 376" in (result.error or "")
    assert res.entries() == held
    assert run(older, force=True).ok
    assert res.entries() == published(ALPHA, kind) | {f"{OWNER}/32"}


def test_a_record_that_cannot_be_saved_stops_the_write_before_it_is_sent(
    emulator: Emulator,
    make: Make,
    settings_for: SettingsFor,
    tmp_path: Path,
    kind: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A live owner holds the record's lock: the PATCH must not go out, or what it adds would
    be nobody's for good."""
    monkeypatch.setattr(folderlock, "WAIT_S", 0.2)
    res = make(kind, "fwbusy", [OWNER])
    lock = (tmp_path / "state" / record_name(res.id)).with_suffix(".lock")
    lock.parent.mkdir(parents=True)
    lock.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                "created": time.time(), "token": "held"}))  # fmt: skip
    writes = len(steps(emulator, res.id))

    report = run(
        settings_for(release(tmp_path / "r1.json", {"Alpha": ALPHA}), [target(res, ["Alpha"])])
    )
    (result,) = report.targets
    assert result.status == "failed", result
    assert "not saved" in (result.error or "")
    assert len(steps(emulator, res.id)) == writes
    assert res.entries() == {f"{OWNER}/32"}
