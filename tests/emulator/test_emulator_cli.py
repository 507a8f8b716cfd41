"""``python -m sync emulator`` is ``python -m armemu``: every option passes through, and a
SIGTERM ends it cleanly (its CA folder removed, as on Ctrl-C)."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from pathlib import Path

from armemu import Emulator, seed

from .helpers import raw

AUTH = {"Authorization": "Bearer t"}
EXTRA = "22222222-2222-2222-2222-222222222222"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_help_lists_armemu_options() -> None:
    done = subprocess.run([sys.executable, "-m", "sync", "emulator", "--help"],
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: python -m sync emulator")
    for option in ("--port", "--state", "--load", "--feed", "--lro-polls", "--retry-after",
                   "--slow", "--seed", "--subscription", "--throttle"):  # fmt: skip
        assert option in done.stdout


def test_options_pass_through_and_sigterm_removes_the_ca_folder(tmp_path: Path) -> None:
    port, state = free_port(), tmp_path / "state.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "sync", "emulator", "--port", str(port), "--state", str(state),
         "--seed", "--subscription", EXTRA, "--lro-polls", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        first = json.loads(process.stdout.readline())
        assert first["endpoint"] == f"https://127.0.0.1:{port}"
        ca = Path(first["ca_bundle"])
        assert ca.is_file()
        emu = Emulator()
        emu.endpoint, emu.ca_bundle = first["endpoint"], ca
        subs = raw(emu, "GET", "/subscriptions?api-version=2022-12-01", headers=AUTH)[2]
        assert {s["subscriptionId"] for s in subs["value"]} == {seed.SUBSCRIPTION, EXTRA}
        assert seed.RESOURCE_GROUP in state.read_text(encoding="utf-8")  # --state and --seed
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
        assert not ca.parent.exists()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
