"""A no-op run end to end: download page, conditional GET of the release, NSG reads, no writes.

The release comes from :mod:`bench.mirror` (the real host names, served on 127.0.0.1). The
engine takes no HTTP client, so for this run ``sync.feeds.fetch.default_client`` is replaced by
one whose transport reaches the mirror; TLS verification is untouched. Baseline: the naive
way, an unconditional download of the release and a delete-and-recreate of every owned rule.
Run alone: ``python -m bench.noop``.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from unittest import mock

from armemu import Emulator
from bench.common import CURRENT, Figure, Section, release_bytes
from bench.emulated import NsgSpec, create_nsgs, settings_for
from bench.mirror import serve
from bench.naive import delete_and_recreate
from bench.replay import LAYOUT, NAIVE, _naive_target
from sync.azure.client import make_client
from sync.engine import run
from sync.feeds import fetch as download
from sync.feeds.azure.parse import parse_release
from sync.report import Report

COMMAND = ".venv/bin/python -m bench.noop"


def section(runs: int) -> Section:
    data = release_bytes(CURRENT)
    targets = [t for ts, _ in LAYOUT.values() for t in ts]
    nsgs = len(LAYOUT)
    with (
        tempfile.TemporaryDirectory() as cache,
        Emulator() as emulator,
        serve(data, CURRENT.name.removesuffix(".xz")) as mirror,
        mock.patch.object(download, "default_client", mirror.client),
    ):
        client = make_client(settings_for(emulator, Path(cache)))
        create_nsgs(client, [NsgSpec(p + n, "westeurope", f) for n, (_, f) in LAYOUT.items()
                             for p in ("", NAIVE)])  # fmt: skip
        settings = settings_for(
            emulator, Path(cache), source="download",
            targets=[t.model_dump(mode="json") for t in targets],
        )  # fmt: skip
        first = run(settings)
        walls, reports, hits, requests = [], [], [], []
        for _ in range(runs):
            mirror.hits.clear()
            before = emulator.stats()
            start = time.perf_counter()
            report: Report = run(settings)
            walls.append(time.perf_counter() - start)
            reports.append(report)
            hits.append(list(mirror.hits))
            after = emulator.stats()
            requests.append(after["requests"] - before["requests"])
            nsg_gets = sum(
                counts.get("GET", 0) - before["by_resource"].get(path, {}).get("GET", 0)
                for path, counts in after["by_resource"].items()
                if path.endswith(tuple(f"/networksecuritygroups/{n}" for n in LAYOUT))
            )
        release = parse_release(data, origin="mirror")
        mirror.hits.clear()
        download.fetch_url(mirror.file_url, cache_dir=Path(cache) / "naive")
        naive_bytes = sum(h.body_bytes for h in mirror.hits)
        naive_writes = 0
        for _ in range(2):  # the first pass only creates; the second is the naive no-op
            naive_writes = sum(
                delete_and_recreate(client, NAIVE + n, [_naive_target(t) for t in ts], release)
                for n, (ts, _) in LAYOUT.items()
            )
    last = hits[-1]
    file_hits = [h for h in last if h.path.endswith(".json")]
    downloaded = sum(h.body_bytes for h in last)
    out = Section(
        "3. A no-op run",
        f"`run()` with `IPSYNC_SOURCE=download` against the local mirror and the emulator, "
        f"{len(targets)} targets on {nsgs} NSGs, after a first run ({first.writes} writes) "
        f"filled the cache; {runs} no-op runs, median wall time. Baseline: the naive way "
        "downloads the release unconditionally and deletes and recreates every owned rule.",
    )
    if not first.ok or any(not r.ok for r in reports):
        out.problems.append(f"a run failed: {first.error or [r.error for r in reports]}")
    writes = max(r.writes for r in reports)
    statuses = ", ".join(f"{h.host} {h.status}" for h in last)
    out.details.append(
        f"Requests of the last no-op run: download endpoints: {statuses}; emulator: "
        f"{requests[-1]} requests ({nsg_gets} NSG GETs, the rest the NSG "
        "list for discovery)."
    )
    out.figures += [
        Figure("conditional GET of the release", f"HTTP {file_hits[0].status}" if file_hits
               else "none", "HTTP 200 (unconditional)", "", "304",
               bool(file_hits) and file_hits[0].status == 304, COMMAND),
        Figure("bytes downloaded (page + release)", f"{downloaded:,}", f"{naive_bytes:,}",
               f"{naive_bytes / max(downloaded, 1):,.0f}x", "no release body",
               all(h.body_bytes == 0 for h in file_hits), COMMAND),
        Figure("NSG reads", str(nsg_gets), "-", "", f"{nsgs} (one per NSG)", nsg_gets == nsgs,
               COMMAND),
        Figure("writes", str(writes), str(naive_writes), "", "0", writes == 0, COMMAND),
        Figure("wall time, local", f"{statistics.median(walls):.2f} s", "-", "",
               "none (context)", None, COMMAND),
    ]  # fmt: skip
    return out


if __name__ == "__main__":
    from bench.markdown import render_section

    print(render_section(section(3)))
