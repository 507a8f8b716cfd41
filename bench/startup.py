"""Cold start and memory: ``import function_app`` time and the peak RSS of a full sync.

Both run in fresh subprocesses. Import time is measured inside the child around the import
(median of several children); the baseline imports eagerly what the first run needs (the
engine, the NSG SDK, azure-identity). Peak RSS is ``VmHWM`` of a child that runs
``python -m sync apply`` for a current release against the emulator in this process; the
baseline is the floor any SDK-based sync pays: the SDK imported and the release JSON loaded.
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

from armemu import Emulator
from bench.common import CURRENT, ROOT, Figure, Section, ratio
from bench.fleet import NsgSpec, create_nsgs, settings_for
from bench.replay import LAYOUT
from sync.azure.client import make_client

COMMAND = ".venv/bin/python -m bench.startup"
IMPORT_GOAL_S = 1.0
RSS_GOAL_MB = 150.0
HEAVY = ("azure.mgmt.network", "azure.identity", "azure.storage.blob", "sync.engine")
_TIMED_IMPORT = """
import json, sys, time
start = time.perf_counter()
{imports}
took = time.perf_counter() - start
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


def _import_s(module: str, runs: int) -> tuple[float, list[str]]:
    times, heavy = [], []
    for _ in range(runs):
        code = _TIMED_IMPORT.format(imports=module, heavy=HEAVY)
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
    module = "function_app" if (ROOT / "function_app.py").is_file() else "sync.engine"
    app_s, heavy = _import_s(f"import {module}", runs)
    eager_s, _ = _import_s(f"import {module}, " + ", ".join(HEAVY), runs)
    targets = [t.model_dump(mode="json") for ts, _ in LAYOUT.values() for t in ts]
    with tempfile.TemporaryDirectory() as cache, Emulator() as emulator:
        settings = settings_for(emulator, Path(cache))
        create_nsgs(make_client(settings), [NsgSpec(n, "westeurope", f)
                                            for n, (_, f) in LAYOUT.items()])  # fmt: skip
        env = {
            **os.environ,
            "IPSYNC_ARM_ENDPOINT": emulator.endpoint,
            "IPSYNC_CA_BUNDLE": str(emulator.ca_bundle),
            "IPSYNC_CREDENTIAL": "emulator",
            "IPSYNC_SUBSCRIPTION_ID": str(settings.subscription_id),
            "IPSYNC_TARGETS": json.dumps(targets),
            "IPSYNC_SOURCE": str(CURRENT),
            "IPSYNC_CACHE_DIR": cache,
            "IPSYNC_POLL_INTERVAL_S": "0",
        }
        rss, code = _peak_rss_mb(_APPLY, env)
    floor, _ = _peak_rss_mb(_FLOOR.format(path=str(CURRENT)), env)
    out = Section(
        "5. Cold start and memory",
        f"`import {module}` in a fresh interpreter, timed inside the child, median of {runs}. "
        f"Baseline: the same plus an eager import of {', '.join(HEAVY)}. Peak RSS: "
        f"peak RSS (`VmHWM`) of `python -m sync apply` (full first sync of {CURRENT.name}, "
        f"{len(targets)} targets on {len(LAYOUT)} NSGs, emulator in the parent). Baseline: a "
        "child that only imports the NSG SDK and azure-identity and loads the release JSON.",
    )
    if module != "function_app":
        out.details.append("function_app.py does not exist yet: `import sync.engine` measured.")
    if code != 0:
        out.problems.append(f"`python -m sync apply` exited {code} in the RSS measurement")
    out.details.append(f"Heavy modules loaded by `import {module}`: {heavy or 'none'}.")
    out.figures += [
        Figure(f"`import {module}`", f"{app_s * 1000:.0f} ms", f"{eager_s * 1000:.0f} ms (eager)",
               ratio(eager_s, app_s), f"< {IMPORT_GOAL_S:g} s, SDKs deferred",
               app_s < IMPORT_GOAL_S and not heavy, COMMAND),
        Figure("peak RSS of a full sync", f"{rss:.0f} MB", f"{floor:.0f} MB (floor)",
               ratio(floor, rss), f"< {RSS_GOAL_MB:.0f} MB", rss < RSS_GOAL_MB, COMMAND),
    ]  # fmt: skip
    return out


if __name__ == "__main__":
    from bench.markdown import render_section

    print(render_section(section(3)))
