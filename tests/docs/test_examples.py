"""The shell examples of the README and the docs that run offline are run, so none rots.

An example runs when the line before its fence is ``<!-- example: run -->`` (``exit=N`` when
it should end with N; ``twice`` runs it twice in one shell, as a reader pasting it again
would). An ``<!-- example: output -->`` block right after it is its whole output (stdout and
stderr), line for line: a line ``…`` stands for any lines, ``…`` within a line for any text,
so a shortened block says so where it was cut. Each runs in bash from a scratch folder that
links to the repository's files (a clone), with no ``IPSYNC_*`` settings from outside, and
must leave no file in it.
"""

from __future__ import annotations

import contextlib
import difflib
import itertools
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


#: What stands for left-out text in an output block.
CUT = "…"


@dataclass
class Example:
    page: Path
    line: int
    body: str
    exit: int = 0
    expect: tuple[str, ...] = ()
    twice: bool = False

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
                opts = match["opts"] or ""
                code = re.search(r"exit=(\d+)", opts)
                found.append(
                    Example(
                        page,
                        line,
                        match["body"],
                        int(code[1]) if code else 0,
                        twice="twice" in opts.split(),
                    )
                )
            elif match["mark"] == "output":
                assert found, f"{page}:{line}: output of no example"
                assert found[-1].page == page, f"{page}:{line}: output of no example"
                found[-1].expect = tuple(s.rstrip() for s in match["body"].splitlines())
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


def test_the_output_after_a_run_example_is_checked() -> None:
    """A ``text`` block right after a run example shows its output: it must be marked so."""
    unmarked = []
    for page in PAGES:
        for (before, _), (after, line) in itertools.pairwise(_fences(page)):
            if before["mark"] == "run" and after["lang"] == "text" and after["mark"] != "output":
                unmarked.append(f"{page.relative_to(ROOT)}:{line}")
    assert unmarked == [], "mark these <!-- example: output --> (or cut them with …)"


def test_the_readme_has_a_run_example() -> None:
    assert any(e.page.name == "README.md" and e.expect for e in examples())


def matches(expect: tuple[str, ...], output: str) -> bool:
    """Whether ``output`` is the block ``expect``, ``…`` standing for what was left out."""
    pattern = ""
    for line in expect:
        if line.strip() == CUT:
            pattern += r"(?:[^\n]*\n)*?"
        else:
            pattern += ".*?".join(re.escape(part) for part in line.split(CUT)) + r"\n"
    lines = [line.rstrip() for line in output.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return re.fullmatch(pattern, "".join(f"{line}\n" for line in lines)) is not None


def test_output_blocks_match_whole_lines_and_cut_marks() -> None:
    output = "source: release 373 from /tmp/x/r.json\n  + create a: +1 -0\n  a\n  b\ndone\n"
    assert matches(("source: release 373 from …/r.json", "  + create a: +1 -0", "…", "done"),
                   output)  # fmt: skip
    assert not matches(("  + create a: +1 -0", "…", "done"), output)  # the first line is missing
    assert not matches(("source: …", "create a: +1 -0", "…", "done"), output)  # not the whole line
    assert not matches(("source: …", "  + create a: +1 -0", "  a", "done"), output)  # no cut


@pytest.mark.parametrize("example", examples(), ids=lambda e: e.id)
def test_example(example: Example, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    clone.mkdir()
    for entry in ROOT.iterdir():
        if entry.name not in {".git", ".venv"}:
            (clone / entry.name).symlink_to(entry)
    before = sorted(clone.iterdir())
    env = {k: v for k, v in os.environ.items() if not k.startswith("IPSYNC_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["IPSYNC_CACHE_DIR"] = str(tmp_path / "cache")
    env["TMPDIR"] = str(tmp_path)  # where the examples' mktemp folders go
    body = f"{example.body}\n{example.body}" if example.twice else example.body
    process = subprocess.Popen(
        ["bash", "-euo", "pipefail", "-c", body],
        cwd=clone,
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
    assert sorted(clone.iterdir()) == before, "the example left files in the clone"
    if example.expect:
        expect = example.expect * 2 if example.twice else example.expect
        diff = "\n".join(difflib.unified_diff(expect, output.splitlines(), lineterm=""))
        assert matches(expect, output), f"output differs from the block:\n{diff}"
