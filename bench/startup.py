"""Cold start and memory: import times of the Functions app and the peak RSS of a full sync.

All run in fresh subprocesses. Import times are measured inside the child around the import
(median of several children): ``import function_app`` (what the host does at start-up, to
index the functions) next to ``import azure.functions`` alone, and the import the first
invocation of an HTTP function does (``sync.app.http_api``) next to an eager import of what a
run needs. Peak RSS is ``VmHWM`` of a child that runs ``python -m sync apply`` over the 50 NSGs of
:mod:`bench.scale` against an emulator in its own process; the baseline is the floor any
SDK-based sync pays: the SDK imported and the release JSON loaded.
Run alone: ``python -m bench.startup``.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import CURRENT, REAL_LRO_POLLS, ROOT, Figure, Section, ratio
from bench.emulated import SUBSCRIPTION, create_nsgs, emulator_process, settings_for
from bench.scale import TAG_SELECT, fleet
from sync.azure.client import make_client

COMMAND = ".venv/bin/python -m bench.startup"
#: ``import function_app`` may cost this much more than ``import azure.functions`` alone.
APP_OVER_FUNCTIONS_S = 0.020
FIRST_CALL_GOAL_S = 0.300
#: What the first invocation of an HTTP function imports (the timer's and the queue's import
#: ``sync.app.triggers``, which loads the same modules but the HTTP handlers).
FIRST_IMPORT = "from sync.app import http_api"
RSS_GOAL_MB = 150.0
HEAVY = ("azure.mgmt.network", "azure.identity", "azure.storage.blob", "sync.engine")
#: Installed here only for the development tools (checkov), not by requirements.txt: the
#: storage SDK imports it when present (about 0.2 s), so the deployed app's imports are timed
#: with it hidden, as it is absent there.
DEV_ONLY = ("aiohttp",)
_HIDE = """
import sys
class _Absent:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {hidden!r}:
            raise ModuleNotFoundError(name)
sys.meta_path.insert(0, _Absent())
"""
_TIMED_IMPORT = """
import json, sys, time
{before}
start = time.process_time()
{imports}
took = time.process_time() - start
print(json.dumps({{"s": took, "heavy": [m for m in {heavy!r} if m in sys.modules]}}))
"""
#: Prepended to a child's code: at exit it writes its peak RSS (``VmHWM``, which exec resets,
#: unlike ``ru_maxrss``, which keeps the forking parent's peak) to ``BENCH_RSS_FILE``.
_PEAK = """
import atexit, os, re
def _peak():
    status = open("/proc/self/status").read()
    kb = re.search(r"VmHWM:\\s*(\\d+)", status)[1]
    open(os.environ["BENCH_RSS_FILE"], "w").write(kb)
atexit.register(_peak)
"""
_FLOOR = """
import lzma, json, azure.mgmt.network, azure.identity
json.loads(lzma.decompress(open({path!r}, "rb").read()))
"""
_APPLY = """
import runpy, sys
sys.argv = ["sync", "apply"]
runpy.run_module("sync", run_name="__main__")
"""


def _import_s(
    imports: str, runs: int, before: str = "", *, deployed: bool = True
) -> tuple[float, list[str]]:
    """Median CPU seconds of ``imports`` in fresh children that ran ``before`` untimed, and
    the heavy modules loaded by then; ``deployed`` hides the development-only packages.

    CPU, not wall time: on a shared machine the wall time of an import also counts the
    other processes' turns, and an import from a warm disk is CPU work."""
    times: list[float] = []
    heavy: list[str] = []
    prelude = _HIDE.format(hidden=DEV_ONLY) if deployed else ""
    for _ in range(runs):
        code = _TIMED_IMPORT.format(before=prelude + before, imports=imports, heavy=HEAVY)
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                             text=True, check=True)  # fmt: skip
        result = json.loads(out.stdout)
        times.append(result["s"])
        heavy = result["heavy"]
    return statistics.median(times), heavy


def _peak_rss_mb(code: str, env: dict[str, str]) -> tuple[float, int]:
    """Peak resident set of a child running ``code``, and its exit code."""
    with tempfile.NamedTemporaryFile("r") as peak:
        done = subprocess.run(
            [sys.executable, "-c", _PEAK + code], cwd=ROOT, stdout=subprocess.DEVNULL,
            env={**env, "BENCH_RSS_FILE": peak.name}, check=False,
        )  # fmt: skip
        return int(peak.read() or 0) / 1024, done.returncode


def section(runs: int) -> Section:
    functions_s, _ = _import_s("import azure.functions", runs)
    app_s, app_heavy = _import_s("import function_app", runs)
    first_s, first_heavy = _import_s(FIRST_IMPORT, runs, "import function_app")
    first_dev_s, _ = _import_s(FIRST_IMPORT, runs, "import function_app", deployed=False)
    eager_s, _ = _import_s(
        f"{FIRST_IMPORT}; import " + ", ".join(HEAVY), runs, "import function_app"
    )
    specs = fleet()
    with tempfile.TemporaryDirectory() as cache, emulator_process(REAL_LRO_POLLS) as arm:
        create_nsgs(make_client(settings_for(arm, Path(cache))), specs)
        env = {
            **os.environ,
            "IPSYNC_ARM_ENDPOINT": arm.endpoint,
            "IPSYNC_CA_BUNDLE": str(arm.ca_bundle),
            "IPSYNC_CREDENTIAL": "emulator",
            "IPSYNC_SUBSCRIPTION_ID": SUBSCRIPTION,
            "IPSYNC_SOURCE": str(CURRENT),
            "IPSYNC_CACHE_DIR": cache,
            "IPSYNC_POLL_INTERVAL_S": "0",
            "IPSYNC_TAG_SELECT": json.dumps(TAG_SELECT),  # what the tags of section 4 select
        }
        env.pop("IPSYNC_TARGETS", None)
        rss, code = _peak_rss_mb(_APPLY, env)
    floor, _ = _peak_rss_mb(_FLOOR.format(path=str(CURRENT)), env)
    out = Section(
        "5. Cold start and memory",
        f"Import times in fresh interpreters: CPU time (user + system) of the import inside "
        f"the child, which the machine's load does not inflate as it does wall time; median "
        f"of {runs}; "
        f"{', '.join(DEV_ONLY)} (installed here for the development tools only, absent from "
        "requirements.txt) is hidden from the child, since the storage SDK imports it when "
        "present. `import function_app` is what the host does at start-up; its baseline is "
        "`import azure.functions` alone. The first invocation imports `sync.app.http_api` "
        f"after that; its baseline is the same plus an eager import of {', '.join(HEAVY)}. "
        f"Peak RSS: `VmHWM` of `python -m sync apply` (full first sync of {CURRENT.name} "
        f"to the {len(specs)} NSGs of section 4, found by discovery, emulator in its own "
        "process). Baseline: a child that only imports the NSG SDK and azure-identity and "
        "loads the release JSON.",
    )
    if code != 0:
        out.problems.append(f"`python -m sync apply` exited {code} in the RSS measurement")
    out.details += [
        f"Heavy modules loaded by `import function_app`: {app_heavy or 'none'}; by the first "
        f"invocation's import: {first_heavy or 'none'}.",
        f"With {', '.join(DEV_ONLY)} importable (this development environment as it is), the "
        f"first invocation's import takes {first_dev_s * 1000:.0f} ms.",
    ]
    app_goal = functions_s + APP_OVER_FUNCTIONS_S
    out.figures += [
        Figure("`import function_app`", f"{app_s * 1000:.0f} ms",
               f"{functions_s * 1000:.0f} ms (`import azure.functions`)",
               ratio(functions_s, app_s),
               f"< baseline + {APP_OVER_FUNCTIONS_S * 1000:.0f} ms ({app_goal * 1000:.0f} ms)",
               app_s < app_goal and not app_heavy, COMMAND),
        Figure(f"first invocation: `{FIRST_IMPORT}`", f"{first_s * 1000:.0f} ms",
               f"{eager_s * 1000:.0f} ms (eager)", ratio(eager_s, first_s),
               f"< {FIRST_CALL_GOAL_S * 1000:.0f} ms", first_s < FIRST_CALL_GOAL_S, COMMAND),
        Figure(f"peak RSS of a full sync of {len(specs)} NSGs", f"{rss:.0f} MB",
               f"{floor:.0f} MB (floor)", ratio(floor, rss), f"< {RSS_GOAL_MB:.0f} MB",
               rss < RSS_GOAL_MB, COMMAND),
    ]  # fmt: skip
    return out


if __name__ == "__main__":
    from bench.markdown import render_section

    print(render_section(section(3)))
