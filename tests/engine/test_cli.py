"""``plan`` and ``apply`` on the command line and the JSON report;
``--source api`` through the emulator's serviceTags route."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from armemu import Emulator
from sync.app.cli import main
from sync.azure.client import make_client
from sync.engine import run

from .conftest import (
    SUB,
    SettingsFor,
    addresses,
    foreign_rule,
    make_nsg,
    merged,
    nsg_id,
    rules_of,
    target,
    write_release,
)

TAGS = {"Alpha": ["192.0.2.0/24", "2001:db8:1::/48"], "Beta": ["198.51.100.0/24"]}
REPORT_KEYS = {"ok", "dry_run", "source", "targets", "writes", "duration_s"}
TARGET_KEYS = {"nsg", "status", "changes", "writes", "error"}
SOURCE_KEYS = {"cloud", "change_number", "origin", "sha256"}
CHANGE_KEYS = {"rule", "action", "added", "removed"}


def config(tmp_path: Path, emulator: Emulator, feed: Path, targets: list[dict[str, Any]]) -> Path:
    """A JSON config file, keys spelled both ways (with and without the IPSYNC_ prefix)."""
    path = tmp_path / "ipsync.json"
    path.write_text(
        json.dumps(
            {
                "IPSYNC_ARM_ENDPOINT": emulator.endpoint,
                "ca_bundle": str(emulator.ca_bundle),
                "credential": "emulator",
                "subscription_id": SUB,
                "source": str(feed),
                "targets": targets,
                "cache_dir": str(tmp_path),
                "poll_interval_s": 0,
            }
        )
    )
    return path


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_plan_and_apply_exit_codes_and_outputs(
    emulator: Emulator, network_client: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nsg = make_nsg(network_client, "n1", [foreign_rule("corp", 200, ["10.0.0.0/8"])])
    cfg = config(
        tmp_path, emulator, write_release(tmp_path / "a.json", TAGS, 7), [target(nsg, ["Alpha"])]
    )

    code, out = cli(capsys, "plan", "--config", str(cfg))
    assert code == 2
    assert "n1 [Alpha]: planned" in out
    assert "create ipsync-alpha-v4" in out
    assert "192.0.2.0/24" in out
    assert rules_of(network_client, "n1").keys() == {"corp"}

    code, out = cli(capsys, "apply", "--config", str(cfg), "--json")
    assert code == 0
    report = json.loads(out)
    assert report.keys() >= REPORT_KEYS
    assert report["ok"] is True
    assert report["dry_run"] is False
    assert report["source"].keys() >= SOURCE_KEYS
    assert report["source"]["change_number"] == 7
    (result,) = report["targets"]
    assert result.keys() >= TARGET_KEYS
    assert (result["nsg"], result["status"], result["writes"], report["writes"]) == (
        nsg,
        "applied",
        2,
        2,
    )
    assert all(c.keys() >= CHANGE_KEYS for c in result["changes"])
    v4 = next(c for c in result["changes"] if c["rule"] == "ipsync-alpha-v4")
    assert "192.0.2.0/24" in v4["added"]
    assert v4["removed"] == []
    assert addresses(rules_of(network_client, "n1")["ipsync-alpha-v4"]) == {"192.0.2.0/24"}

    assert cli(capsys, "plan", "--config", str(cfg))[0] == 0
    code, out = cli(capsys, "apply", "--config", str(cfg))
    assert code == 0
    assert "unchanged, 0 writes" in out


def test_refusals_exit_3_and_force_applies(
    emulator: Emulator, network_client: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nsg = make_nsg(network_client, "n1")
    targets = [target(nsg, ["Alpha", "Beta"])]
    assert (
        cli(
            capsys,
            "apply",
            "--config",
            str(config(tmp_path, emulator, write_release(tmp_path / "a.json", TAGS), targets)),
        )[0]
        == 0
    )
    gone = {"Alpha": ["2001:db8:1::/48"], "Beta": []}  # v4 would go entirely
    cfg = config(tmp_path, emulator, write_release(tmp_path / "b.json", gone, 2), targets)

    assert cli(capsys, "plan", "--config", str(cfg))[0] == 3
    code, out = cli(capsys, "apply", "--config", str(cfg))
    assert code == 3
    assert "refused" in out
    assert "would remove every IPv4 prefix" in out
    assert "--force" in out
    assert "ipsync-alpha_beta-v4" in rules_of(network_client, "n1")
    assert cli(capsys, "apply", "--config", str(cfg), "--force")[0] == 0
    assert "ipsync-alpha_beta-v4" not in rules_of(network_client, "n1")


def test_errors_exit_1_and_other_targets_still_apply(
    emulator: Emulator, network_client: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nsg = make_nsg(network_client, "n1")
    targets = [target(nsg_id("absent"), ["Alpha"]), target(nsg, ["Beta"])]
    cfg = config(tmp_path, emulator, write_release(tmp_path / "a.json", TAGS), targets)
    code, out = cli(capsys, "apply", "--config", str(cfg), "--json")
    assert code == 1
    report = json.loads(out)
    statuses = {t["nsg"]: (t["status"], t["error"]) for t in report["targets"]}
    assert statuses[nsg] == ("applied", None)
    status, error = statuses[nsg_id("absent")]
    assert status == "failed"
    assert "absent" in error
    assert "ipsync-beta-v4" in rules_of(network_client, "n1")


def test_dry_run_setting_never_writes(
    emulator: Emulator,
    network_client: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    nsg = make_nsg(network_client, "n1")
    cfg = config(
        tmp_path, emulator, write_release(tmp_path / "a.json", TAGS), [target(nsg, ["Alpha"])]
    )
    monkeypatch.setenv("IPSYNC_DRY_RUN", "true")
    writes = emulator.stats()["writes"]
    code, out = cli(capsys, "apply", "--config", str(cfg), "--json")
    assert json.loads(out)["dry_run"] is True
    assert json.loads(out)["targets"][0]["status"] == "planned"
    assert code == 2  # apply under IPSYNC_DRY_RUN reports pending changes like plan
    assert emulator.stats()["writes"] == writes


@pytest.fixture(scope="module")
def api_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """A second emulator whose serviceTags route serves a generated release."""
    feed = write_release(tmp_path_factory.mktemp("api") / "feed.json", TAGS, 91, tag_change=4)
    with Emulator(feed=feed, lro_polls=1, retry_after=0) as emu:
        yield emu


def test_source_api_reads_the_discovery_route(
    api_emulator: Emulator, settings_for: SettingsFor
) -> None:
    api_emulator.reset()
    settings = settings_for(
        "api",
        [target(nsg_id("n1"), ["Alpha", "Beta"])],
        arm_endpoint=api_emulator.endpoint,
        ca_bundle=api_emulator.ca_bundle,
    )
    client = make_client(settings)
    make_nsg(client, "n1")

    report = run(settings)

    assert report.ok, report
    assert report.source is not None
    assert report.source.change_number == "91"  # the API's own series, a string
    assert report.source.origin.endswith("/locations/westeurope/serviceTags")
    want = merged(TAGS["Alpha"] + TAGS["Beta"])
    rules = rules_of(client, "n1")
    assert addresses(rules["ipsync-alpha_beta-v4"]) == want["v4"]
    assert addresses(rules["ipsync-alpha_beta-v6"]) == want["v6"]
    assert run(settings).writes == 0


def test_nothing_to_sync_fails_fast_with_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """No targets and no subscription: one line naming the settings, before any download."""
    path = tmp_path / "empty.json"
    path.write_text(json.dumps({"source": "download", "cache_dir": str(tmp_path)}))

    code = main(["plan", "--config", str(path)])

    out, err = capsys.readouterr()
    assert code == 1
    assert out == ""
    assert err.count("\n") == 1
    assert "IPSYNC_TARGETS" in err
    assert "IPSYNC_SUBSCRIPTION_ID" in err
