"""The shell examples of the README and the docs that run offline are run, so none rots.

An example runs when the line before its fence is ``<!-- example: run -->`` (``exit=N`` when
it should end with N). An ``<!-- example: output -->`` block right after it lists lines its
output (stdout and stderr) must contain. Each runs in bash from a scratch folder that links to
the repository's files, with no ``IPSYNC_*`` settings from outside.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
FENCE = re.compile(
    r"(?:<!-- example: (?P<mark>run|output)(?P<opts>[^>]*?) -->\n)?"
    r"^```(?P<lang>\w*)[^\n]*\n(?P<body>.*?)^```\n",
    re.DOTALL | re.MULTILINE,
)
#: What an example needs no Azure for: the bundled releases or the emulator.
OFFLINE = re.compile(r"tests/data/|python -m armemu")
TIMEOUT_S = 60


@dataclass
class Example:
    page: Path
    line: int
    body: str
    exit: int = 0
    expect: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def _fences(page: Path) -> list[tuple[re.Match[str], int]]:
    text = page.read_text(encoding="utf-8")
    return [(m, text.count("\n", 0, m.start()) + 1) for m in FENCE.finditer(text)]


def examples() -> list[Example]:
    found: list[Example] = []
    for page in PAGES:
        for match, line in _fences(page):
            if match["mark"] == "run":
                code = re.search(r"exit=(\d+)", match["opts"] or "")
                found.append(Example(page, line, match["body"], int(code[1]) if code else 0))
            elif match["mark"] == "output":
                assert found, f"{page}:{line}: output of no example"
                assert found[-1].page == page, f"{page}:{line}: output of no example"
                lines = (s.strip() for s in match["body"].splitlines())
                found[-1].expect = tuple(s for s in lines if s)
    return found


def test_every_offline_shell_example_is_run() -> None:
    unmarked = [
        f"{page.relative_to(ROOT)}:{line}"
        for page in PAGES
        for match, line in _fences(page)
        if match["lang"] in ("sh", "bash")
        and match["mark"] != "run"
        and OFFLINE.search(match["body"])
    ]
    assert unmarked == [], "mark these <!-- example: run --> (they need no Azure)"


def test_the_readme_has_a_run_example() -> None:
    assert any(e.page.name == "README.md" and e.expect for e in examples())


@pytest.mark.parametrize("example", examples(), ids=lambda e: e.id)
def test_example(example: Example, tmp_path: Path) -> None:
    for entry in ROOT.iterdir():
        if entry.name not in {".git", ".venv"}:
            (tmp_path / entry.name).symlink_to(entry)
    env = {k: v for k, v in os.environ.items() if not k.startswith("IPSYNC_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["IPSYNC_CACHE_DIR"] = str(tmp_path / ".cache")
    process = subprocess.Popen(
        ["bash", "-euo", "pipefail", "-c", example.body],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=TIMEOUT_S)
    finally:
        # Whatever the example left running (an emulator in the background) ends with it.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        process.wait()
    assert process.returncode == example.exit, output
    missing = [line for line in example.expect if line not in output]
    assert missing == [], output
