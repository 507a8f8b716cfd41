"""Without Node.js the Azurite tests are skipped for one stated reason, not failed one by one."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_without_node_the_azurite_tests_skip_with_one_reason(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CI" and not k.startswith("IPSYNC_")}
    env["PATH"] = str(tmp_path)  # neither node nor npm
    env["AZURITE_TEST_BLOB_PORT"] = str(_unused_port())
    env["AZURITE_TEST_QUEUE_PORT"] = str(_unused_port())
    tests = [
        "tests/functions/test_history.py::test_save_stores_report_and_moves_latest",
        "tests/functions/test_history.py::test_prune_keeps_the_newest",
    ]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    reasons = [line for line in lines if line.startswith("SKIPPED")]
    assert len(reasons) == 1, done.stdout
    assert reasons[0].startswith("SKIPPED [2] tests/functions/conftest.py:")
    assert "Azurite is not running and cannot be started: no node on PATH" in reasons[0]
    assert lines[-1].strip().startswith("2 skipped"), done.stdout
