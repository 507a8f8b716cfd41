"""Replay real releases through ``apply`` on the emulator, next to delete-and-recreate.

``python -m bench.replay [FOLDER ...]`` takes the releases bundled in tests/data plus those in
the folders given, groups them by cloud (one cloud per sequence), sorts them by date and
applies them one after the other to a few realistic targets on three NSGs, each NSG holding a
foreign rule. After each release it checks: the NSG allows exactly the release's prefixes,
the emulator's history shows no address allowed before and after that was dropped in between,
the foreign rules never changed, and applying the same release again writes nothing. The
baseline deletes and recreates every owned rule on a copy of the same NSGs.
"""

from __future__ import annotations

import argparse
import tempfile
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from armemu import Emulator
from bench import checks
from bench.common import DATA, RELEASE_NAME, Figure, Section, ratio, secs
from bench.emulated import Foreign, NsgSpec, create_nsgs, nsg_id, settings_for, target
from bench.latency import Calibration
from bench.naive import delete_and_recreate
from sync.azure.client import make_client
from sync.engine import run
from sync.feeds.azure.parse import parse_release
from sync.kinds.nsg.target import NsgTarget

COMMAND = ".venv/bin/python -m bench.replay"
#: Realistic targets of the Public cloud: NSG name -> (targets, its foreign rule).
LAYOUT: dict[str, tuple[list[NsgTarget], Foreign]] = {
    "nsg-app": (
        [
            target("nsg-app", ["Storage.WestEurope", "AzureMonitor"]),
            target("nsg-app", ["Sql.WestEurope"], ports=["1433"], priority_range=[300, 399]),
        ],
        Foreign("corp-proxy-out", "Outbound", 200),
    ),
    "nsg-web": (
        [target("nsg-web", ["AzureCloud.westeurope"], direction="Inbound")],
        Foreign("corp-bastion-in", "Inbound", 200),
    ),
    "nsg-data": (
        [target("nsg-data", ["Storage.WestEurope"])],
        Foreign("corp-backup-out", "Outbound", 201),
    ),
}
NAIVE = "naive-"


def find_releases(folders: Sequence[Path]) -> dict[str, list[Path]]:
    """Release files by cloud, oldest first (the date in the file name decides)."""
    found: dict[str, dict[str, Path]] = defaultdict(dict)
    for folder in (DATA, *folders):
        for path in sorted(folder.iterdir()):
            match = RELEASE_NAME.match(path.name)
            if match:
                found[match["cloud"]].setdefault(match["date"], path)
    return {cloud: [by_date[d] for d in sorted(by_date)] for cloud, by_date in found.items()}


@dataclass
class Step:
    """One release applied: writes per NSG for ipsync and the baseline, and what was checked."""

    release: str
    ipsync: dict[str, int] = field(default_factory=dict)
    naive: dict[str, int] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)
    forced: int = 0  # writes of the --force run that follows a refusal
    again: int = 0
    gap: tuple[int, int] = (0, 0)
    naive_gap: tuple[int, int] = (0, 0)
    problems: list[str] = field(default_factory=list)


def _naive_target(t: NsgTarget) -> NsgTarget:
    return t.model_copy(update={"nsg": nsg_id(NAIVE + t.nsg_name), "rule_prefix": "naive"})


def replay(releases: Sequence[Path]) -> list[Step]:
    """Apply each release in turn; ipsync and the baseline on separate copies of the NSGs."""
    targets = [t for ts, _ in LAYOUT.values() for t in ts]
    naive_targets = [_naive_target(t) for t in targets]
    steps = []
    with tempfile.TemporaryDirectory() as cache, Emulator() as emulator:
        base = {"targets": [t.model_dump(mode="json") for t in targets], "discover_tag": ""}
        client = make_client(settings_for(emulator, Path(cache)))
        specs = [
            NsgSpec(prefix + name, "westeurope", foreign)
            for name, (_, foreign) in LAYOUT.items()
            for prefix in ("", NAIVE)
        ]
        create_nsgs(client, specs)
        for path in releases:
            release = parse_release(path.read_bytes(), origin=str(path))
            step = Step(path.name)
            marks = {k: len(v) for k, v in emulator.history().items()}
            settings = settings_for(emulator, Path(cache), source=str(path), **base)
            before = emulator.stats()["writes"]
            report = run(settings)
            for done in report.targets:
                step.ipsync[done.resource] = step.ipsync.get(done.resource, 0) + done.writes
                if done.status == "refused":
                    step.refused.append(str(done.error))
                elif done.status == "failed":
                    step.problems.append(f"ipsync failed on {done.resource}: {done.error}")
            if step.refused:
                step.forced = run(settings, force=True).writes
            if emulator.stats()["writes"] - before != report.writes + step.forced:
                step.problems.append("the report's writes differ from the emulator's count")
            step.again = run(settings).writes
            for name, (ts, _) in LAYOUT.items():
                nts = [_naive_target(t) for t in ts]
                step.naive[nsg_id(NAIVE + name)] = delete_and_recreate(
                    client, NAIVE + name, nts, release
                )
            history = emulator.history()
            for t in targets + naive_targets:
                rules = history[t.nsg]
                window = rules[max(marks.get(t.nsg, 1) - 1, 0) :]
                mismatch = checks.desired_mismatch(rules[-1], t, release)
                if mismatch:
                    step.problems.append(f"not the desired state: {mismatch}")
                gap = checks.coverage_gap(window, t)
                if t in naive_targets:
                    step.naive_gap = max(step.naive_gap, gap)
                else:
                    step.gap = max(step.gap, gap)
            for name, (_, foreign) in LAYOUT.items():
                for prefix in ("", NAIVE):
                    if checks.foreign_changed(history[nsg_id(prefix + name)], foreign.name):
                        step.problems.append(
                            f"foreign rule {foreign.name} on {prefix}{name} changed"
                        )
            if step.again:
                step.problems.append(f"applying {path.name} twice wrote {step.again} times")
            if any(step.gap):
                step.problems.append(
                    f"ipsync left a coverage gap of {checks.describe_gap(step.gap)}"
                )
            steps.append(step)
    return steps


def modelled_s(writes_per_nsg: dict[str, int], write_s: float) -> float:
    """Serial per NSG, NSGs in parallel (three NSGs, below the default parallelism of 8)."""
    return max(writes_per_nsg.values(), default=0) * write_s


def section(cloud: str, releases: Sequence[Path], calibration: Calibration) -> Section:
    steps = replay(releases)
    write_s = calibration.real_put_s
    out = Section(
        f"2. Writes per real release ({cloud})",
        "Releases applied in date order with the default guard "
        "(IPSYNC_MAX_REMOVE_RATIO 0.3) to 4 targets on 3 NSGs (Storage.WestEurope + "
        "AzureMonitor and Sql.WestEurope on nsg-app, AzureCloud.westeurope inbound on nsg-web, "
        "Storage.WestEurope on nsg-data), each NSG with a foreign rule inside ipsync's band. "
        "Baseline: a separate copy of each NSG rewritten by delete-and-recreate "
        "(`bench/naive.py`, SDK calls, same aggregated prefixes). Writes = PUT + DELETE "
        "requests counted by the engine and cross-checked with the emulator. Modelled wall "
        f"time at real ARM latency = writes of the busiest NSG x {write_s:.1f} s per write "
        "(serial per NSG, NSGs in parallel). " + calibration.describe(),
    )
    rows = [
        "| release | ipsync writes | guard (default 0.3) | naive writes | coverage gap ipsync / "
        "naive (addresses) | apply again | modelled wall ipsync / naive |",
        "|---|---|---|---|---|---|---|",
    ]
    for step in steps:
        mine, base = sum(step.ipsync.values()), sum(step.naive.values())
        guard = "passed"
        if step.refused:
            guard = f"REFUSED {len(step.refused)} target(s), then --force wrote {step.forced}"
        wall = f"{secs(modelled_s(step.ipsync, write_s))} / {secs(modelled_s(step.naive, write_s))}"
        rows.append(
            f"| {step.release} | {mine} | {guard} | {base} | {checks.describe_gap(step.gap)} / "
            f"{checks.describe_gap(step.naive_gap)} | {step.again} writes | {wall} |"
        )
        out.problems += [f"{step.release}: {p}" for p in step.problems]
    out.details += rows
    refusals = [f"- {s.release}: {r}" for s in steps for r in s.refused]
    if refusals:
        out.details += [
            "",
            "Refused by the removal guard (then re-applied with --force):",
            *refusals,
        ]
    for step in steps[1:]:
        mine, base = sum(step.ipsync.values()) + step.forced, sum(step.naive.values())
        mine_s = modelled_s(step.ipsync, write_s) + step.forced * write_s
        out.figures.append(
            Figure(
                f"writes for {steps[steps.index(step) - 1].release[-16:-8]} -> "
                f"{step.release[-16:-8]}",
                f"{mine}", f"{base}", ratio(base, mine), "fewer than baseline", mine < base,
                COMMAND,
            )
        )  # fmt: skip
        out.figures.append(
            Figure(
                f"modelled wall time for {step.release[-16:-8]} at real ARM latency",
                secs(mine_s), secs(modelled_s(step.naive, write_s)),
                ratio(modelled_s(step.naive, write_s), mine_s), "none (context)", None, COMMAND,
            )
        )  # fmt: skip
    out.figures.append(
        Figure("writes when a release is applied twice", str(max(s.again for s in steps)),
               "-", "", "0", all(s.again == 0 for s in steps), COMMAND)
    )  # fmt: skip
    out.figures.append(
        Figure("addresses dropped mid-update (coverage gap)",
               checks.describe_gap(max(s.gap for s in steps)),
               checks.describe_gap(max(s.naive_gap for s in steps)), "", "none",
               not any(any(s.gap) for s in steps), COMMAND)
    )  # fmt: skip
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folders", nargs="*", type=Path, metavar="FOLDER")
    parser.add_argument("--cloud", default="Public", help="the cloud whose releases to replay")
    args = parser.parse_args(argv)
    from bench.latency import calibrate
    from bench.markdown import render_section

    releases = find_releases(args.folders).get(args.cloud, [])
    if not releases:
        raise SystemExit(f"no ServiceTags_{args.cloud}_YYYYMMDD.json[.xz] release found")
    result = section(args.cloud, releases, calibrate(3))
    print(render_section(result))
    return 1 if result.problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
