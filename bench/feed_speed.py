"""``python -m sync prefixes TAG`` as a whole process, against a ten-line json + ipaddress script.

Every figure, ratio and load average printed comes from this run. Each command runs in a
fresh interpreter under a small launcher that times it and reads its peak RSS
(``ru_maxrss`` of its only child, so the bench's own memory does not count); all variants
take turns so that a busy machine slows them alike. The baseline is
``bench/naive_prefixes.py``; both outputs must be identical, line for line. Run alone:
``python -m bench.feed_speed [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import lzma
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.common import CURRENT, PREVIOUS, ROOT, Figure, Section, ms, ratio
from sync.core.selection import select
from sync.feeds.azure.kept import VERDICTS_FILE
from sync.feeds.azure.layout import LazyTags
from sync.feeds.azure.parse import parse_release

COMMAND = ".venv/bin/python -m bench.feed_speed"
NAIVE = ROOT / "bench" / "naive_prefixes.py"
#: Goals: how many times faster than the script a later run of the same release is, per tag;
#: the first read of a new release should be at least as fast as the script.
SPEEDUP_GOALS = {"AzureCloud": 3.0, "Storage.WestEurope": 1.5}
NEW_RELEASE_GOAL = 1.0
VARIANTS = ("later run", "new release", "nothing kept", "script")
RSS_GOAL_MB = 60.0
#: Times the command in a child of its own and reports it as JSON on stdout.
_LAUNCHER = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True, check=False)
wall = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
                  "rss_kb": usage.ru_maxrss, "code": done.returncode,
                  "out": done.stdout, "err": done.stderr}))
"""


@dataclass(frozen=True)
class Run:
    wall: float  # seconds
    cpu: float  # seconds, user + system
    rss_mb: float
    code: int
    out: str
    err: str


@dataclass(frozen=True)
class Medians:
    wall: float
    cpu: float
    rss_mb: float
    fastest: float  # wall: the run the other sessions on the machine disturbed least

    @classmethod
    def of(cls, runs: list[Run]) -> Medians:
        fields = ("wall", "cpu", "rss_mb")
        wall, cpu, rss = (statistics.median(getattr(r, f) for r in runs) for f in fields)
        return cls(wall, cpu, rss, min(r.wall for r in runs))


def run(command: list[str], env: dict[str, str]) -> Run:
    done = subprocess.run(
        [sys.executable, "-c", _LAUNCHER, *command],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    result = json.loads(done.stdout)
    return Run(result["wall"], result["cpu"], result["rss_kb"] / 1024, result["code"],
               result["out"], result["err"])  # fmt: skip


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def measure(runs: int, release: str = str(CURRENT), previous: str = str(PREVIOUS)) -> Section:
    repeats = 2 * runs + 1
    shown = Path(release).relative_to(ROOT) if Path(release).is_relative_to(ROOT) else release
    section = Section(
        "1. Feed to prefixes",
        f"Whole process, median of {repeats} runs each: `python -m sync prefixes TAG --source "
        f"{shown}` against `python bench/naive_prefixes.py RELEASE TAG` (json.loads + "
        "`ipaddress.collapse_addresses`), all variants taking turns, each ipsync variant in a "
        "fresh cache directory. *Later run*: the same release again, kept parsed by content "
        "hash (the common case: a weekly release is read by every run until the next). *New "
        "release*: the first read of an unseen release, the week before's "
        f"(`{Path(previous).name}`) read before it: the tags whose bytes changed decoded "
        "and checked for the prefixes they add, the others taken as kept. *Nothing kept*: the "
        "very first read, every prefix checked. Wall and CPU time "
        "(user + system) of the child, peak RSS = its `ru_maxrss`; the goals are judged on the "
        "medians, and the fastest run of each is shown too (on a shared machine, the one "
        "other work disturbed least). Bytecode is cached (one "
        "untimed run of each command first), as in an installed package. The machine is shared: "
        "load averages (1 / 5 / 15 min) are read before and after, and every ratio compares "
        "runs that took turns.",
    )
    before = load()
    rows = ["| tag | variant | wall | CPU | peak RSS | fastest wall |", "|---|---|---|---|---|---|"]
    # Bytecode is cached, as in an installed package: the untimed first runs write it.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.upper().startswith("IPSYNC_") and k != "PYTHONDONTWRITEBYTECODE"
    }
    commands = {
        tag: (
            [sys.executable, "-m", "sync", "prefixes", tag, "--source", release],
            [sys.executable, "-m", "sync", "prefixes", tag, "--source", previous],
            [sys.executable, str(NAIVE), release, tag],
        )
        for tag in SPEEDUP_GOALS
    }
    runs_of: dict[tuple[str, str], list[Run]] = defaultdict(list)
    with tempfile.TemporaryDirectory() as scratch:
        caches = iter(range(10**6))

        def fresh() -> dict[str, str]:
            return env | {"XDG_CACHE_HOME": str(Path(scratch) / str(next(caches)))}

        for ipsync, _, naive in commands.values():
            run(ipsync, fresh())
            run(naive, env)
        for _ in range(repeats):
            for tag, (ipsync, week_before, naive) in commands.items():
                first = fresh()
                runs_of[tag, "nothing kept"].append(run(ipsync, first))
                if not (Path(first["XDG_CACHE_HOME"]) / "ipsync" / VERDICTS_FILE).is_file():
                    section.problems.append(f"{tag}: the first run kept no verdict")
                runs_of[tag, "later run"].append(run(ipsync, first))
                weekly = fresh()
                run(week_before, weekly)
                runs_of[tag, "new release"].append(run(ipsync, weekly))
                runs_of[tag, "script"].append(run(naive, env))
        for tag in commands:
            ours = [runs_of[tag, v] for v in VARIANTS if v != "script"]
            _check(section, tag, [r for runs in ours for r in runs], runs_of[tag, "script"])
            figures = {name: Medians.of(runs_of[tag, name]) for name in VARIANTS}
            rows += [f"| {tag} | {name} | {ms(m.wall)} | {ms(m.cpu)} | {m.rss_mb:.1f} MB | "
                     f"{ms(m.fastest)} |" for name, m in figures.items()]  # fmt: skip
            section.figures += _figures(tag, figures)
        warm = fresh()
        run(commands["AzureCloud"][0], warm)
        importtime = _imports(commands["AzureCloud"][0], warm)
    stages = _stages(release, previous, runs)
    section.details += [f"Load average before: {before}; after: {load()} ({os.cpu_count()} cores).",
                        "", *rows, "", *importtime, "", *stages]  # fmt: skip
    return section


def _check(section: Section, tag: str, ipsync: list[Run], base: list[Run]) -> None:
    expected = base[0].out
    if any(r.code for r in ipsync + base) or not expected:
        errors = {r.err.strip().splitlines()[-1] for r in ipsync + base if r.code and r.err.strip()}
        section.problems.append(f"{tag}: a command failed: {'; '.join(sorted(errors))}")
    elif any(r.out != expected for r in ipsync + base):
        section.problems.append(f"{tag}: ipsync and the script print different prefixes")


def _figures(tag: str, m: dict[str, Medians]) -> list[Figure]:
    goal = SPEEDUP_GOALS[tag]
    later, new, first, base = m["later run"], m["new release"], m["nothing kept"], m["script"]
    figures = [
        Figure(f"`prefixes {tag}`, later run: wall", ms(later.wall), ms(base.wall),
               ratio(base.wall, later.wall), f">= {goal:g}x", base.wall / later.wall >= goal,
               COMMAND),
        Figure(f"`prefixes {tag}`, new release: wall", ms(new.wall), ms(base.wall),
               ratio(base.wall, new.wall), f">= {NEW_RELEASE_GOAL:g}x",
               base.wall / new.wall >= NEW_RELEASE_GOAL, COMMAND),
        Figure(f"`prefixes {tag}`, nothing kept: wall", ms(first.wall), ms(base.wall),
               ratio(base.wall, first.wall), "none (context)", None, COMMAND),
    ]  # fmt: skip
    if tag == "AzureCloud":
        figures.append(
            Figure(f"`prefixes {tag}`, later run: peak RSS", f"{later.rss_mb:.1f} MB",
                   f"{base.rss_mb:.1f} MB", ratio(base.rss_mb, later.rss_mb),
                   f"< {RSS_GOAL_MB:g} MB", later.rss_mb < RSS_GOAL_MB, COMMAND)
        )  # fmt: skip
    return figures


def _imports(command: list[str], env: dict[str, str], top: int = 6) -> list[str]:
    """What the command imports, from ``-X importtime`` of one later run."""
    done = subprocess.run([command[0], "-X", "importtime", *command[1:]], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=True)  # fmt: skip
    rows = re.findall(r"import time:\s+\d+ \|\s+(\d+) \| (\S+)$", done.stderr, re.MULTILINE)
    outer = sorted(((int(us), name) for us, name in rows), reverse=True)
    total = sum(int(us) for us, name in rows if not name.startswith(" "))
    heaviest = ", ".join(f"{name} {us / 1000:.0f} ms" for us, name in outer[:top])
    return [f"Imports of one later `prefixes` run (`-X importtime`, cumulative): "
            f"{total / 1000:.0f} ms in all; heaviest: {heaviest}."]  # fmt: skip


def _stages(release: str, previous: str, runs: int) -> list[str]:
    """In-process CPU time of each step of the feed path, fastest of ``runs``; and the JSON
    decoders side by side (orjson only when it happens to be installed: it is no dependency)."""
    raw = Path(release).read_bytes()
    data = lzma.decompress(raw) if release.endswith(".xz") else raw
    checked = parse_release(data, origin=release)
    trusted = {checked.verdict} if checked.verdict else set()
    before = parse_release(Path(previous).read_bytes(), origin=previous).tags
    known = before.layout if isinstance(before, LazyTags) else None
    steps: list[tuple[str, Callable[[], object]]] = [
        ("xz decompress", lambda: lzma.decompress(raw)),
        ("json.loads", lambda: json.loads(data)),
        ("json.loads, collector paused", lambda: _paused(lambda: json.loads(data))),
        ("parse_release, every prefix checked", lambda: parse_release(data, origin=release)),
        ("parse_release, the week before's kept: changed tags decoded and checked for what "
         "they add", lambda: parse_release(data, origin=release, known=known)),
        ("parse_release, verdict kept",
         lambda: parse_release(data, origin=release, trusted=trusted)),
        ("select AzureCloud", lambda: select(checked, ["AzureCloud"])),
        ("select Storage.WestEurope", lambda: select(checked, ["Storage.WestEurope"])),
    ]  # fmt: skip
    try:
        import orjson  # type: ignore[import-not-found, unused-ignore]

        steps.insert(3, ("orjson.loads (not a dependency)", lambda: orjson.loads(data)))
    except ImportError:
        pass
    cells = []
    for name, step in steps:
        times = []
        for _ in range(runs):
            start = time.process_time()
            step()
            times.append(time.process_time() - start)
        cells.append(f"{name} {ms(min(times))}")
    return [
        "In-process CPU time per step (fastest of " + str(runs) + "): " + "; ".join(cells) + "."
    ]


def _paused(step: Callable[[], object]) -> object:
    from sync.core.feed import paused_gc

    with paused_gc():
        return step()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("release", nargs="?", default=str(CURRENT))
    parser.add_argument("previous", nargs="?", default=str(PREVIOUS))
    parser.add_argument("--quick", action="store_true", help="7 runs instead of 11")
    args = parser.parse_args(argv)
    from bench.markdown import render_section

    section = measure(3 if args.quick else 5, args.release, args.previous)
    print(render_section(section))
    return 1 if section.problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
