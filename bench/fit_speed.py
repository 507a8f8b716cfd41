"""The exact budget fit (:mod:`sync.core.fit`) on real tags: its time, and what it costs.

All cases start from the selection of a parsed release in memory. The baseline is that
selection itself (``select``: aggregation with netaddr), the step a run takes before any fit,
so the table shows what the fit adds to a target. Every result is checked with netaddr: all
published addresses covered, the extra counted exactly, no more entries than allowed. Run
alone: ``python -m bench.fit_speed [--quick]``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

from netaddr import IPSet

from bench.common import CURRENT, Figure, Section, median_s, ms, ratio, release_bytes
from sync.core.fit import FamilyFit, fit, fit_family
from sync.core.prefixes import Family
from sync.core.selection import Selection, select
from sync.feeds.azure.parse import parse_release

COMMAND = ".venv/bin/python -m bench.fit_speed"
#: Goal for each case: a fit must be a small part of a target's sync, well under a second.
GOAL_S = 0.5
#: A Storage account takes no /31 CIDR (a single address is written without a mask).
STORAGE_FORBIDDEN = {31}


def _check(result: FamilyFit, published: Sequence[str], capacity: int) -> str | None:
    """What is wrong with a fit, judged by netaddr, or None."""
    wanted, held = IPSet(published), IPSet(result.blocks)
    if not wanted.issubset(held):
        return "a published address is not covered"
    if held.size - wanted.size != result.extra_addresses:
        return f"{held.size - wanted.size} extra addresses, reported {result.extra_addresses}"
    if len(result.blocks) > capacity:
        return f"{len(result.blocks)} entries for a capacity of {capacity}"
    return None


def _describe(name: str, result: FamilyFit, published: int) -> str:
    return (
        f"{name}: {published:,} prefixes -> {len(result.blocks):,} blocks (share "
        f"{result.capacity:,}), +{result.extra_addresses:,} addresses "
        f"({100 * float(result.extra_ratio):.3g}% of {result.published:,})"
    )


def measure(runs: int, release: str = str(CURRENT)) -> Section:
    parsed = parse_release(release_bytes(Path(release)), origin="bench")
    section = Section(
        "6. Budget fit",
        f"`{Path(release).name}` parsed once. Median of {runs} runs each. ipsync = the exact "
        "fit (`sync.core.fit`: tree dynamic program over the compressed prefix trie) of the "
        "tag's aggregated prefixes into a capacity; both families share one capacity in (b). "
        "Baseline = `select` of the same tag on the parsed release (aggregation, the step "
        "before any fit). Every fit is checked with netaddr (coverage, extra addresses, "
        "entry count).",
    )
    cloud = select(parsed, ["AzureCloud"])
    westeurope = select(parsed, ["AzureCloud.westeurope"], families=["v4"])

    def fit_both() -> dict[Family, FamilyFit]:
        return fit({"v4": cloud.v4, "v6": cloud.v6}, 1000)  # type: ignore[return-value]

    cases: list[tuple[str, Selection, str, Callable[[], dict[Family, FamilyFit]], int]] = [
        (
            f"(a) AzureCloud IPv4 ({len(cloud.v4):,} prefixes) into 1,000 blocks",
            cloud, "AzureCloud", lambda: {"v4": fit_family(cloud.v4, 1000)}, 1000,
        ),
        (
            f"(b) AzureCloud, both families ({len(cloud.prefixes):,} prefixes), into 1,000",
            cloud, "AzureCloud", fit_both, 1000,
        ),
        (
            f"(c) AzureCloud.westeurope IPv4 ({len(westeurope.v4)} prefixes) into a Storage "
            "account's 400 rules (no /31)",
            westeurope, "AzureCloud.westeurope",
            lambda: {"v4": fit_family(westeurope.v4, 400, forbidden_lengths=STORAGE_FORBIDDEN)},
            400,
        ),
    ]  # fmt: skip
    for label, selection, tag, run, capacity in cases:
        results = run()
        families = list(results)
        seconds = median_s(run, runs)
        base = median_s(partial(select, parsed, [tag], families=families), runs)
        section.figures.append(
            Figure(label, ms(seconds), ms(base), ratio(base, seconds), f"< {GOAL_S * 1000:.0f} ms",
                   seconds < GOAL_S, COMMAND)
        )  # fmt: skip
        if sum(len(r.blocks) for r in results.values()) > capacity:
            section.problems.append(f"{label}: more entries than {capacity}")
        for family, result in results.items():
            published = selection.family(family)
            problem = _check(result, published, capacity)
            if problem:
                section.problems.append(f"{label}, {family}: {problem}")
            section.details.append(f"- {label[:3]} {_describe(family, result, len(published))}")
    return section


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("release", nargs="?", default=str(CURRENT))
    parser.add_argument("--quick", action="store_true", help="3 runs instead of 5")
    args = parser.parse_args(argv)
    from bench.markdown import render_section

    section = measure(3 if args.quick else 5, args.release)
    print(render_section(section))
    return 1 if section.problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
