"""What every benchmark section shares: timing, the figure model and the bundled releases."""

from __future__ import annotations

import lzma
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
CURRENT = DATA / "ServiceTags_Public_20251017.json.xz"
PREVIOUS = DATA / "ServiceTags_Public_20251010.json.xz"
RELEASE_NAME = re.compile(r"^ServiceTags_(?P<cloud>[A-Za-z]+)_(?P<date>\d{8})\.json(\.xz|\.gz)?$")

#: The ARM latency the modelled figures stand for: ``Retry-After: 10`` and two InProgress polls.
REAL_RETRY_AFTER_S = 10.0
REAL_LRO_POLLS = 2


@dataclass
class Figure:
    """One measured figure next to its baseline, and whether it meets its goal."""

    name: str
    value: str
    baseline: str
    ratio: str
    goal: str
    met: bool | None  # None: no goal, shown for context
    command: str


@dataclass
class Section:
    title: str
    method: str
    figures: list[Figure] = field(default_factory=list)
    details: list[str] = field(default_factory=list)  # markdown lines
    problems: list[str] = field(default_factory=list)  # correctness failures: shouted


def median_s(
    fn: Callable[[], object], runs: int, before: Callable[[], None] | None = None
) -> float:
    """Median wall time of ``runs`` calls; ``before`` runs untimed ahead of each call."""
    times = []
    for _ in range(runs):
        if before is not None:
            before()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def release_bytes(path: Path) -> bytes:
    """The decompressed JSON of a bundled release."""
    data = path.read_bytes()
    return lzma.decompress(data) if path.suffix == ".xz" else data


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"


def secs(seconds: float) -> str:
    return f"{seconds:,.1f} s" if seconds < 120 else f"{seconds:,.0f} s ({seconds / 60:.1f} min)"


def ratio(baseline: float, value: float, unit: str = "x") -> str:
    if value == 0:
        return "n/a" if baseline == 0 else f"{unit}inf"
    return f"{baseline / value:.2f}{unit}"
