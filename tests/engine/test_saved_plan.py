"""``plan --out FILE`` then ``apply FILE``: exactly the saved plan is written, or nothing, with
the reason; through the CLI against the emulator, as an operator approving a change runs it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from armemu import Emulator
from sync.app.cli import main

from .conftest import foreign_rule, make_nsg, rules_of, target, write_release
from .test_cli import config

TAGS = {"Alpha": ["192.0.2.0/24", "2001:db8:1::/48"], "Beta": ["198.51.100.0/24"]}
NEXT = {"Alpha": ["192.0.2.0/24", "203.0.113.0/24", "2001:db8:1::/48"], "Beta": TAGS["Beta"]}


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def setup(emulator: Emulator, network_client: Any, tmp_path: Path) -> tuple[Path, str]:
    nsg = make_nsg(network_client, "n1", [foreign_rule("corp", 200, ["10.0.0.0/8"])])
    release = write_release(tmp_path / "a.json", TAGS, 7)
    return config(tmp_path, emulator, release, [target(nsg, ["Alpha"])]), nsg


def test_a_saved_plan_is_applied_exactly_and_then_holds_nothing_to_do(
    setup: tuple[Path, str],
    network_client: Any,
    emulator: Emulator,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cfg, _ = setup
    saved = tmp_path / "week.plan.json"
    writes = emulator.stats()["writes"]
    code, out, _ = cli(capsys, "plan", "--config", str(cfg), "--out", str(saved))
    assert code == 2, out
    assert f"apply {saved}" in out
    assert emulator.stats()["writes"] == writes  # a plan writes nothing
    body = json.loads(saved.read_text())
    assert body["format"] == "ipsync-plan"
    (resource,) = body["resources"]
    assert [c["rule"] for c in resource["targets"][0]["changes"]] == [
        "ipsync-alpha-v4",
        "ipsync-alpha-v6",
    ]
    assert "emulator" not in json.dumps(body["settings"])  # digests, never values

    code, out, err = cli(capsys, "apply", str(saved), "--config", str(cfg))
    assert code == 0, out + err
    rules = rules_of(network_client, "n1")
    assert {"corp", "ipsync-alpha-v4", "ipsync-alpha-v6"} == set(rules)

    # applied once, the same file no longer holds: the resource changed since
    code, _, err = cli(capsys, "apply", str(saved), "--config", str(cfg))
    assert code == 1
    assert "n1 changed since the plan was made" in err
    assert "nothing was written" in err


def test_a_resource_changed_after_the_plan_stops_every_write(
    setup: tuple[Path, str],
    network_client: Any,
    emulator: Emulator,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cfg, _ = setup
    saved = tmp_path / "p.json"
    assert cli(capsys, "plan", "--config", str(cfg), "--out", str(saved))[0] == 2
    make_nsg(network_client, "n1", [foreign_rule("corp", 200, ["10.0.0.0/16"])])  # an edit
    writes = emulator.stats()["writes"]
    code, _, err = cli(capsys, "apply", str(saved), "--config", str(cfg))
    assert code == 1
    assert "nsg n1 changed since the plan was made" in err
    assert emulator.stats()["writes"] == writes
    assert set(rules_of(network_client, "n1")) == {"corp"}


def test_a_new_release_or_other_settings_stop_the_saved_plan(
    setup: tuple[Path, str],
    emulator: Emulator,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cfg, nsg = setup
    saved = tmp_path / "p.json"
    assert cli(capsys, "plan", "--config", str(cfg), "--out", str(saved))[0] == 2
    writes = emulator.stats()["writes"]

    write_release(tmp_path / "a.json", NEXT, 8)  # the same source, a newer release
    code, _, err = cli(capsys, "apply", str(saved), "--config", str(cfg))
    assert code == 1
    assert "release 8 is out, the plan is of 7" in err

    other = json.loads(cfg.read_text())
    other["targets"] = [target(nsg, ["Alpha", "Beta"])]
    changed = tmp_path / "other.json"
    changed.write_text(json.dumps(other))
    code, _, err = cli(capsys, "apply", str(saved), "--config", str(changed))
    assert code == 1
    assert "settings differ from the plan's: targets" in err
    assert emulator.stats()["writes"] == writes


def test_an_edited_or_foreign_file_is_refused_naming_it(
    setup: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg, _ = setup
    saved = tmp_path / "p.json"
    assert cli(capsys, "plan", "--config", str(cfg), "--out", str(saved))[0] == 2
    body = json.loads(saved.read_text())
    body["resources"][0]["targets"][0]["changes"][0]["added"] = ["0.0.0.0/0"]
    saved.write_text(json.dumps(body))
    code, _, err = cli(capsys, "apply", str(saved), "--config", str(cfg))
    assert code == 1
    assert f"{saved}: changed after it was saved" in err

    code, _, err = cli(capsys, "apply", str(cfg), "--config", str(cfg))
    assert code == 1
    assert f"{cfg}: not a saved plan" in err

    code, _, err = cli(capsys, "apply", str(tmp_path / "absent.json"), "--config", str(cfg))
    assert code == 1
    assert "no such plan file" in err

    code, _, err = cli(capsys, "apply", str(saved), "--force", "--config", str(cfg))
    assert code == 1
    assert "--force goes with plan" in err
