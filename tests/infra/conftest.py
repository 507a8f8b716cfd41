"""One checkov scan of ``infra/`` per test session (it takes tens of seconds)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .bicep_text import INFRA

CHECKOV = Path(sys.executable).with_name("checkov")


def run_checkov(directory: Path) -> dict[str, Any]:
    """checkov's JSON report for the Bicep files under ``directory``, offline."""
    if not CHECKOV.is_file():
        pytest.fail(f"checkov not found next to {sys.executable}: install requirements-dev.txt")
    done = subprocess.run(
        [
            str(CHECKOV),
            "-d",
            str(directory),
            "--framework",
            "bicep",
            "--skip-download",
            "--output",
            "json",
            "--compact",
        ],
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    # 0: all passed, 1: some check failed; anything else is checkov itself failing.
    if done.returncode not in (0, 1) or not done.stdout.strip():
        pytest.fail(f"checkov exited {done.returncode}: {done.stderr.strip()[-2000:]}")
    report = json.loads(done.stdout)
    if isinstance(report, list):  # one entry per framework when several ran
        (report,) = [r for r in report if r.get("check_type") == "bicep"]
    assert isinstance(report, dict)
    return report


@pytest.fixture(scope="session")
def checkov_report() -> dict[str, Any]:
    return run_checkov(INFRA)
