"""A smoke run of the fleet benchmark on a tiny fleet: correctness only, no figure judged.

The full run (10,000 targets) is ``make bench``'s; this one proves that the fleet is built,
served and discovered whole, that every sampled work item syncs, updates and then writes
nothing, and that the model reads what was measured.
"""

from __future__ import annotations

from bench import fleet
from bench.latency import Calibration, Line


def test_a_tiny_fleet_is_built_discovered_synced_and_modelled() -> None:
    specs = fleet.fleet(2, 5)
    assert {s.kind for s in specs} == {"nsg", "storage", "keyvault", "acr"}  # every 20th of 100
    assert len({s.subscription for s in specs}) == 2

    section = fleet.section(
        Calibration(Line(0.0, 2.0), Line(0.0, 2.0), 0.0), subscriptions=2, per=5, sampled=1
    )

    assert section.problems == []
    names = [f.name for f in section.figures]
    assert [n for n in names if n.startswith("weekly update")] == [
        "weekly update at real ARM latency, 1 instance",
        "weekly update at real ARM latency, 4 instances",
        "weekly update at real ARM latency, 16 instances",
    ]
    figures = {f.name: f for f in section.figures}
    assert figures["discovery of the fleet: Resource Graph queries"].value == "1"
    assert figures["429s answered by ARM's buckets"].value == "0"
    assert any(line.startswith("- discovery: 10 resources") for line in section.details)
    own = figures["no-op run: ipsync's CPU per target beyond the ARM reads"].value
    assert f"({fleet.NOOP_ROUNDS} rounds: " in own  # the median of paired rounds, with their range
    (rounds,) = [d for d in section.details if d.startswith("- no-op item minus the ARM reads")]
    values = rounds.split("per round: ", 1)[1].split(" s of process CPU", 1)[0].split(", ")
    assert len([float(v) for v in values]) == fleet.NOOP_ROUNDS  # one sampled subscription
