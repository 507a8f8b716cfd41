"""The README's main job: ``python -m sync demo`` runs offline and shows the real delta."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from sync.app.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_demo_tells_the_story_each_step_proving_its_line(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^planned: 4 targets, 0 writes", out, re.M)
    assert "proves: a plan writes nothing (0 writes)" in out
    totals = [int(n) for n in re.findall(r"^done: 4 targets, (\d+) writes", out, re.M)]
    assert len(totals) == 3
    first, again, weekly = totals
    assert first == 5  # two NSGs, one rule per family each, and the Storage account's PATCH
    assert again == 0
    assert 0 < weekly < first
    assert "corp-proxy-out (priority 200, not ipsync's) is kept as it was" in out
    assert "took the next free priorities 201, 202" in out
    assert "nsg-app was found by its Azure tag ipsync=AzureKeyVault.WestEurope" in out
    fit = re.search(r"fitted into (\d+) of 400 rules with (\d+) extra addresses", out)
    assert fit is not None
    assert int(fit[1]) <= 400
    assert int(fit[2]) > 0
    listed = re.search(r"list edl \(AzureFrontDoor.Backend\) published: (\d+) prefixes", out)
    assert listed is not None
    assert int(listed[1]) > 0
    assert "AzureCloud.westeurope [westeurope]: IPv4 +" in out  # the week's diff
    seen = re.search(r"The emulator saw (\d+) writes after set-up; the reports counted (\d+)", out)
    assert seen is not None
    assert seen[1] == seen[2] == str(first + weekly)


def test_demo_names_a_missing_data_folder(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sync", "demo", "--data", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1
    assert str(tmp_path) in done.stderr
