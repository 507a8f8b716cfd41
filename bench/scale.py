"""A subscription of 50 opted-in NSGs: a full first sync and a weekly update at ARM latency.

Every NSG opts in with the Azure tag ``ipsync=Storage.<Region>,AzureMonitor`` over 50 regions
and is found by discovery. Each run is measured with no poll wait, then the sleeps real ARM
imposes are added by scheduling each NSG's writes on the engine's workers (see ``section``).
Run alone: ``python -m bench.scale``.
"""

from __future__ import annotations

import heapq
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import (
    CURRENT,
    PREVIOUS,
    REAL_LRO_POLLS,
    REAL_RETRY_AFTER_S,
    Figure,
    Section,
    ratio,
    secs,
)
from bench.emulated import (
    RESOURCE_GROUP,
    SUBSCRIPTION,
    Foreign,
    NsgSpec,
    create_nsgs,
    emulator_process,
    settings_for,
)
from bench.latency import SCALED, Calibration
from sync.azure.client import Clients, make_client
from sync.engine import run
from sync.feeds.azure.parse import parse_release
from sync.report import Report
from sync.settings import Settings

COMMAND = ".venv/bin/python -m bench.scale"
NSGS = 50
TIMEOUT_S = 600.0  # Functions Consumption plan, maximum
NOOP_GOAL_S = 1.0  # ipsync's own CPU in a no-op run of the 50 NSGs, beyond the ARM reads


#: What the NSGs' tags may select: their region's Storage tag and the cloud-wide AzureMonitor,
#: which the default (regional tags only) would refuse.
TAG_SELECT = ("Storage.*", "AzureMonitor")


def regions(count: int) -> list[str]:
    """``count`` regions spread over those with a Storage tag in both weekly releases."""
    names = [
        {t.region for t in parse_release(p.read_bytes(), origin=p.name).tags.values()
         if t.name.startswith("Storage.") and t.region}
        for p in (PREVIOUS, CURRENT)
    ]  # fmt: skip
    common = sorted(names[0] & names[1])
    step = max(len(common) // count, 1)
    return common[::step][:count]


@dataclass(frozen=True)
class Timed:
    wall_s: float
    report: Report

    def per_nsg(self) -> list[int]:
        return [t.writes for t in self.report.targets]


@dataclass
class NoopCpu:
    """Process CPU seconds of no-op runs, and of the ARM reads alone, taken alternately."""

    run_s: list[float] = field(default_factory=list)
    reads_s: list[float] = field(default_factory=list)
    writes: int = 0
    failed: list[str] = field(default_factory=list)


#: The rule fields ipsync reads; the SDK deserialises each one on first access.
_RULE_FIELDS = (
    *(
        f"{side}_{what}"
        for side in ("source", "destination")
        for what in ("address_prefix", "address_prefixes", "port_range", "port_ranges")
    ),
    *("name", "priority", "direction", "access", "protocol", "description"),
)


def touch(nsg: Any) -> int:
    """Read every field ipsync compares of every rule; the count of fields set."""
    return sum(getattr(r, f) is not None for r in nsg.security_rules or [] for f in _RULE_FIELDS)


def arm_reads(settings: Settings, specs: list[NsgSpec], workers: int) -> None:
    """What any SDK-based no-op must do: one Resource Graph query, then every NSG read
    through azure-mgmt-network with its rules deserialised, on as many workers as ipsync."""
    from azure.mgmt.resourcegraph.models import QueryRequest

    clients = Clients(settings)
    kql = "resources | where type in~ ('microsoft.network/networksecuritygroups') | project id"
    clients.graph().resources(QueryRequest(query=kql, subscriptions=[SUBSCRIPTION]))
    client = make_client(settings)

    def read(spec: NsgSpec) -> int:
        return touch(client.network_security_groups.get(RESOURCE_GROUP, spec.name))

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(read, specs))


def _runs(wait: float, specs: list[NsgSpec], noops: int = 0) -> tuple[tuple[Timed, Timed], NoopCpu]:
    """A first sync of the older release, the weekly update, then ``noops`` no-op runs of the
    same release, each followed by the bare ARM reads (both timed in process CPU: the emulator
    runs in another process, so this process's CPU is ipsync's plus the SDK's and HTTP's)."""
    noop = NoopCpu()
    with tempfile.TemporaryDirectory() as cache, emulator_process(REAL_LRO_POLLS) as arm:
        create_nsgs(make_client(settings_for(arm, Path(cache))), specs)
        timed = []
        for release in (PREVIOUS, CURRENT):
            settings = settings_for(
                arm, Path(cache), source=str(release), poll_interval_s=wait, tag_select=TAG_SELECT
            )
            start = time.perf_counter()
            report = run(settings)
            timed.append(Timed(time.perf_counter() - start, report))
        for _ in range(noops):
            start = time.process_time()
            report = run(settings)
            noop.run_s.append(time.process_time() - start)
            noop.writes += report.writes
            if not report.ok:
                noop.failed.append(report.error or "a target failed or was refused")
            start = time.process_time()
            arm_reads(settings, specs, settings.parallelism)
            noop.reads_s.append(time.process_time() - start)
    return (timed[0], timed[1]), noop


def schedule_s(writes_per_nsg: list[int], write_s: float, workers: int) -> float:
    """Makespan of NSGs (serial writes each) handed in order to ``workers`` parallel workers."""
    free = [0.0] * workers
    for writes in writes_per_nsg:
        heapq.heapreplace(free, free[0] + writes * write_s)
    return max(free)


def fleet(count: int = NSGS) -> list[NsgSpec]:
    """``count`` NSGs over as many regions, each opting in to its region's Storage tag and
    AzureMonitor, each with a foreign rule in ipsync's band."""
    release = parse_release(CURRENT.read_bytes(), origin=CURRENT.name)
    tags = {t.region: t.name for t in release.tags.values() if t.name.startswith("Storage.")}
    return [
        NsgSpec(f"nsg-{i:02d}-{region}", region, Foreign("corp-proxy-out", "Outbound", 200),
                {"ipsync": f"{tags[region]},AzureMonitor"})
        for i, region in enumerate(regions(count))
    ]  # fmt: skip


def section(calibration: Calibration, *, check: bool, noops: int = 5) -> Section:
    specs = fleet()
    parallelism = default_parallelism()
    wait_s = calibration.put.waits * REAL_RETRY_AFTER_S  # the sleeping part of one write
    out = Section(
        f"4. Scale: {len(specs)} NSGs found by discovery",
        f"{len(specs)} NSGs tagged `ipsync=Storage.<Region>,AzureMonitor` over {len(specs)} "
        f"regions, each with a foreign rule; a full first sync of {PREVIOUS.name}, then the "
        f"weekly update to {CURRENT.name}; parallelism {parallelism} (the default); the "
        "emulator runs in its own process with 2 InProgress polls per write. Each run is "
        "measured with no poll wait: that is all its work except sleeping (parse, discovery, "
        "reads, writes, CPU). Modelled wall time at real ARM latency = that measured time + "
        f"the sleeps, scheduled: each NSG's writes in series, {wait_s:.1f} s of waiting per "
        f"write ({calibration.put.waits:.2f} waits x {REAL_RETRY_AFTER_S:g} s, from the "
        f"calibration), NSGs spread over {parallelism} workers. Adding the measured time "
        "in full is an upper bound (at real latency the CPU work overlaps the waits). "
        "Baseline: the same model with one worker (NSGs one after another, as a serial "
        "script does).",
    )
    measured, noop = _runs(0.0, specs, noops)
    runs = {0.0: measured}
    if check:
        runs[SCALED[1]] = _runs(SCALED[1], specs)[0]
    for index, label in enumerate(("full first sync", "weekly update")):
        for wait, pair in runs.items():
            report = pair[index].report
            failed = [t.error for t in report.targets if t.status in ("failed", "refused")]
            if failed or report.error or len(report.targets) != len(specs):
                out.problems.append(f"{label} at wait {wait:g}: {report.error or failed[:1]}")
        base = runs[0.0][index]
        real = base.wall_s + schedule_s(base.per_nsg(), wait_s, parallelism)
        serial = base.wall_s + schedule_s(base.per_nsg(), wait_s, 1)
        detail = (
            f"- {label}: {base.report.writes} writes ({max(base.per_nsg(), default=0)} on the "
            f"busiest NSG), {base.wall_s:.1f} s measured with no wait -> modelled {secs(real)}."
        )
        if SCALED[1] in runs:
            timed = runs[SCALED[1]][index]
            scaled_wait = calibration.put.waits * SCALED[1]
            predicted = base.wall_s + schedule_s(base.per_nsg(), scaled_wait, parallelism)
            detail += (
                f" Check at a {SCALED[1]:g} s wait: measured {timed.wall_s:.1f} s, the model "
                f"says {predicted:.1f} s."
            )
        out.details.append(detail)
        is_update = label == "weekly update"
        out.figures.append(
            Figure(f"{label}, wall time at real ARM latency (parallelism {parallelism})",
                   secs(real), f"{secs(serial)} (serial)", ratio(serial, real),
                   f"< {TIMEOUT_S / 60:.0f} min" if is_update else "none (context)",
                   real < TIMEOUT_S if is_update else None, COMMAND)
        )  # fmt: skip
    _noop_figures(out, noop, len(specs))
    return out


def _noop_figures(out: Section, noop: NoopCpu, nsgs: int) -> None:
    """ipsync's own CPU in a no-op run: the run's process CPU less that of the bare reads."""
    if noop.writes or noop.failed:
        out.problems.append(f"no-op runs wrote {noop.writes} times; errors: {noop.failed[:1]}")
    runs, reads = statistics.median(noop.run_s), statistics.median(noop.reads_s)
    own = runs - reads
    out.details.append(
        f"- no-op run ({nsgs} NSGs, the weekly release again, {len(noop.run_s)} runs each "
        f"alternating with the bare reads): process CPU of `run()` "
        f"{', '.join(f'{x:.2f}' for x in noop.run_s)} s, of the ARM reads alone "
        f"{', '.join(f'{x:.2f}' for x in noop.reads_s)} s. The emulator runs in another "
        "process, so this process's CPU is ipsync's plus the SDK's and HTTP's; the reads "
        "(one Resource Graph query, then every NSG through azure-mgmt-network on as many "
        "workers, every rule field deserialised) are what any SDK-based no-op pays. ipsync's "
        "own share is the difference of the medians: parsing the release, discovery's "
        "filtering, selection and aggregation, normalising the rules read, planning."
    )
    out.figures += [
        Figure(f"no-op run of {nsgs} NSGs: process CPU", f"{runs:.2f} s",
               f"{reads:.2f} s (ARM reads alone)", ratio(reads, runs), "none (context)", None,
               COMMAND),
        Figure(f"no-op run of {nsgs} NSGs: ipsync's CPU beyond the ARM reads", f"{own:.2f} s",
               "-", "", f"< {NOOP_GOAL_S:g} s", own < NOOP_GOAL_S, COMMAND),
    ]  # fmt: skip


def default_parallelism() -> int:
    from sync.settings import Settings

    default = Settings.model_fields["parallelism"].default
    assert isinstance(default, int)
    return default


if __name__ == "__main__":
    from bench.latency import calibrate
    from bench.markdown import render_section

    print(render_section(section(calibrate(3), check=True, noops=3)))
