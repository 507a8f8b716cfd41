"""``plan`` and ``apply`` on the command line and the JSON report;
``--source api`` through the emulator's serviceTags route."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
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
SOURCE_KEYS = {"feed", "cloud", "mark", "change_number", "origin", "sha256"}
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
    assert "+ create ipsync-alpha-v4" in out
    assert "192.0.2.0/24" in out
    assert rules_of(network_client, "n1").keys() == {"corp"}

    code, out = cli(capsys, "apply", "--config", str(cfg), "--json")
    assert code == 0
    report = json.loads(out)
    assert report.keys() >= REPORT_KEYS
    assert report["ok"] is True
    assert report["dry_run"] is False
    assert report["source"].keys() >= SOURCE_KEYS
    assert report["sources"] == [report["source"]]
    source = report["source"]
    assert (source["feed"], source["mark"], source["change_number"]) == ("azure", "7", 7)
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
    (source,) = report.sources
    assert source == report.source
    assert source.change_number == "91"  # the API's own series, a string
    assert source.origin.endswith("/locations/westeurope/serviceTags")
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


def sync_cli(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m sync ARGV`` in a fresh process; ``env`` replaces its environment."""
    return subprocess.run(
        [sys.executable, "-m", "sync", *argv],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
        env=env if env is not None else dict(os.environ),
    )


MANY = {"Alpha": [f"11.{2 * i}.0.0/16" for i in range(9)] + ["2001:db8:1::/48"]}


def test_plan_reads_like_terraform(
    emulator: Emulator, network_client: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A created rule shows its settings; --full lists every prefix; the last line counts."""
    nsg = make_nsg(network_client, "n1")
    cfg = config(
        tmp_path, emulator, write_release(tmp_path / "a.json", MANY), [target(nsg, ["Alpha"])]
    )
    code, out = cli(capsys, "plan", "--config", str(cfg))
    lines = out.splitlines()
    assert code == 2
    assert f"  nsg {nsg}" in lines
    assert "  + create ipsync-alpha-v4: +9 -0" in lines
    rule = next(r for r in lines if r.strip().startswith("priority "))
    assert re.fullmatch(
        r"\s+priority \d+, direction Outbound, access Allow, protocol Tcp, ports 443, "
        r"local VirtualNetwork",
        rule,
    )
    assert "... and 3 more (--full lists all)" in out
    assert lines[-1] == "Plan: 2 to create, 0 to update, 0 to delete."

    code, out = cli(capsys, "plan", "--config", str(cfg), "--full")
    assert "more" not in out
    assert all(f"      + {p}" in out.splitlines() for p in MANY["Alpha"])

    code, out = cli(capsys, "apply", "--config", str(cfg))
    assert (code, out.splitlines()[-1]) == (0, "Apply complete: 2 created, 0 updated, 0 deleted.")

    shrunk = {"Alpha": MANY["Alpha"][:2] + MANY["Alpha"][-1:]}
    cfg = config(
        tmp_path, emulator, write_release(tmp_path / "b.json", shrunk, 2), [target(nsg, ["Alpha"])]
    )
    code, out = cli(capsys, "plan", "--config", str(cfg))
    refusal = next(line for line in out.splitlines() if line.startswith("  refused: "))
    assert code == 3
    assert "max_remove_ratio" in refusal
    assert "--force" in refusal
    assert "~ update ipsync-alpha-v4: +0 -7" in out
    assert out.splitlines()[-1] == "Plan: 0 to create, 0 to update, 0 to delete."


def test_plan_and_apply_take_source_and_cloud(
    emulator: Emulator, network_client: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nsg = make_nsg(network_client, "n1")
    cfg = config(
        tmp_path, emulator, write_release(tmp_path / "a.json", TAGS, 7), [target(nsg, ["Alpha"])]
    )
    other = write_release(tmp_path / "b.json", TAGS, 8)
    code, out = cli(capsys, "plan", "--config", str(cfg), "--source", str(other), "--json")
    assert (code, json.loads(out)["source"]["change_number"]) == (2, 8)
    code, out = cli(capsys, "apply", "--config", str(cfg), "--cloud", "China", "--json")
    assert code == 1
    assert "IPSYNC_CLOUD is 'China'" in json.loads(out)["error"]
    assert rules_of(network_client, "n1") == {}


def test_progress_is_one_timestamped_line_per_step(
    emulator: Emulator, network_client: Any, tmp_path: Path
) -> None:
    nsg = make_nsg(network_client, "n1")
    cfg = config(
        tmp_path, emulator, write_release(tmp_path / "a.json", TAGS), [target(nsg, ["Alpha"])]
    )
    stamp = r"\d\d:\d\d:\d\d \+\d+\.\ds "
    done = sync_cli("plan", "--config", str(cfg))
    assert done.returncode == 2
    assert re.search(rf"^{stamp}nsg n1: read$", done.stderr, re.M)
    assert re.search(rf"^{stamp}n1: 2 changes planned$", done.stderr, re.M)
    done = sync_cli("apply", "--config", str(cfg), "-v")
    assert done.returncode == 0
    assert re.search(rf"^{stamp}sync.engine: n1: written \(2 requests\)$", done.stderr, re.M)
    assert "Request URL" not in done.stderr
    done = sync_cli("-v", "plan", "--config", str(cfg), "-v")  # -v -v: the SDK speaks too
    assert "Request URL" in done.stderr


@pytest.fixture(scope="module")
def slow_emulator() -> Iterator[Emulator]:
    """Long-running writes that ask to be polled again after a second."""
    with Emulator(lro_polls=2, retry_after=1) as emu:
        yield emu


def test_long_writes_say_they_wait_on_arm(slow_emulator: Emulator, tmp_path: Path) -> None:
    slow_emulator.reset()
    settings_json = config(tmp_path, slow_emulator, write_release(tmp_path / "a.json", TAGS), [])
    make_nsg(make_client_for(slow_emulator), "n1")
    data = json.loads(settings_json.read_text())
    data["targets"] = [target(nsg_id("n1"), ["Alpha"])]
    settings_json.write_text(json.dumps(data))
    done = sync_cli("apply", "--config", str(settings_json))
    assert done.returncode == 0, done.stderr
    waits = re.findall(r"^\d\d:\d\d:\d\d \+(\d+\.\d)s .*: waiting 1 s on ARM$", done.stderr, re.M)
    assert len(waits) >= 2
    assert float(waits[-1]) > float(waits[0])


def make_client_for(emu: Emulator) -> Any:
    from sync.settings import load_settings

    return make_client(
        load_settings(
            arm_endpoint=emu.endpoint,
            ca_bundle=emu.ca_bundle,
            credential="emulator",
            subscription_id=SUB,
            poll_interval_s=0,
        )
    )


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_not_signed_in_is_one_line_with_what_to_do(emulator: Emulator, tmp_path: Path) -> None:
    """No service principal, a managed identity endpoint that does not answer, no Azure CLI."""
    cfg = config(
        tmp_path,
        emulator,
        write_release(tmp_path / "a.json", TAGS),
        [target(nsg_id("n1"), ["Alpha"])],
    )
    data = json.loads(cfg.read_text())
    data["credential"] = "default"
    cfg.write_text(json.dumps(data))
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "PATH": os.path.dirname(sys.executable),
        "HOME": str(home),
        "IDENTITY_ENDPOINT": f"http://127.0.0.1:{closed_port()}/token",
        "IDENTITY_HEADER": "x",
    }
    done = sync_cli("plan", "--config", str(cfg), env=env)
    assert (done.returncode, done.stdout) == (1, ""), done.stderr
    assert done.stderr == (
        "error: not signed in to Azure: run `az login`, or give the host a managed identity, "
        "or set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (-v lists what was "
        "tried)\n"
    )
    assert len(done.stderr) < 200
    # The same with two explicit targets and no discovery: said once for the run, not per
    # target; with -v the credentials tried are listed.
    data["subscription_id"] = None
    data["targets"] = [target(nsg_id("n1"), ["Alpha"]), target(nsg_id("n2"), ["Alpha"])]
    cfg.write_text(json.dumps({k: v for k, v in data.items() if v is not None}))
    done = sync_cli("plan", "-v", "--json", "--config", str(cfg), env=env)
    report = json.loads(done.stdout)
    assert (done.returncode, report["targets"]) == (1, [])
    assert report["error"].startswith("not signed in to Azure: run `az login`")
    assert done.stderr.count("error: not signed in") == 1
    assert re.search(
        r"debug: .*tried EnvironmentCredential, .*ManagedIdentityCredential", done.stderr
    )


def test_unknown_variables_are_warned_with_a_guess(tmp_path: Path) -> None:
    path = tmp_path / "empty.json"
    path.write_text(json.dumps({"source": "download", "cache_dir": str(tmp_path)}))
    env = {**os.environ, "IPSYNC_TARGTES": "[]"}
    done = sync_cli("plan", "--config", str(path), env=env)
    assert done.returncode == 1
    warning, error = done.stderr.splitlines()
    assert warning.endswith(
        "warning: IPSYNC_TARGTES is not a setting and is ignored; did you mean IPSYNC_TARGETS?"
    )
    assert error.startswith("error: nothing to sync")


def test_discovery_off_is_said(tmp_path: Path) -> None:
    """An empty IPSYNC_DISCOVER_TAG switches discovery off: say so, not 'set the subscription'."""
    env = {**os.environ, "IPSYNC_DISCOVER_TAG": "", "IPSYNC_SUBSCRIPTION_ID": SUB}
    done = sync_cli("plan", env=env)
    assert (done.returncode, done.stdout) == (1, "")
    assert "discovery is off (IPSYNC_DISCOVER_TAG is empty)" in done.stderr


def test_subscription_id_must_be_a_guid() -> None:
    done = sync_cli("plan", "--json", env={**os.environ, "IPSYNC_SUBSCRIPTION_ID": "my-sub"})
    assert done.returncode == 1
    assert json.loads(done.stdout) == {
        "ok": False,
        "error": "setting IPSYNC_SUBSCRIPTION_ID: 'my-sub' is not a subscription id (a GUID)",
    }


def test_empty_variables_are_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TARGETS", "SOURCE", "CA_BUNDLE", "SUBSCRIPTIONS", "MAX_REMOVE_RATIO"):
        monkeypatch.setenv(f"IPSYNC_{name}", "")
    from sync.settings import load_settings

    settings = load_settings()
    assert (settings.targets, settings.source, settings.ca_bundle) == ([], "download", None)
    assert settings.max_remove_ratio == 0.3


@pytest.mark.parametrize(
    "argv",
    [
        ["prefixes", "Storage.WestEurope", "--source", "r.json", "--family", "v4", "--json"],
        ["-v", "prefixes", "AzureCloud", "--format", "csv", "--max-entries", "5", "-v"],
        ["tags", "--match", "storage", "--region", "westeurope"],
        ["apply", "--force", "--full", "--cloud", "China"],
        ["demo", "--data", "tests/data"],
    ],
)
def test_the_parser_of_one_command_reads_it_as_the_whole_one_does(argv: list[str]) -> None:
    """``main`` builds only the named command's parser (a faster start)."""
    from sync.app.cli import build_parser

    only = argv[1] if argv[0] == "-v" else argv[0]
    assert vars(build_parser(only=only).parse_args(argv)) == vars(build_parser().parse_args(argv))
