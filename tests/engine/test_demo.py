"""The README's main job: ``python -m sync demo`` runs offline and shows the real delta."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from sync.app.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_demo_applies_then_writes_nothing_then_only_the_delta(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    totals = [int(n) for n in re.findall(r"^done: \d+ targets, (\d+) writes", out, re.M)]
    assert len(totals) == 3
    first, again, weekly = totals
    assert first == 4  # two NSGs, one rule per family each
    assert again == 0
    assert 0 < weekly < first
    assert "foreign rule corp-proxy-out: untouched in nsg-backup, nsg-app" in out


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
