"""Per-write latency at real ARM speed, from writes timed at a scaled-down poll wait.

The emulator answers every long-running write with ``lro_polls`` InProgress polls. Real ARM
says ``Retry-After: 10``; the SDK parses that header as an integer, so it cannot be scaled
below 1 s. The emulator therefore sends ``Retry-After: 0``, which the SDK reads as "no hint"
and replaces by the client's polling interval (``poll_interval_s``): the same sleep, scaled.
A write costs ``a + b * wait``: ``a`` is the local request overhead, ``b`` the number of waits.
Two scaled waits give ``a`` and ``b``; the real figure is ``a + b * 10 s``. A check write with a
real ``Retry-After: 1`` header confirms the fit on the header path.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from armemu import Emulator
from bench.common import REAL_LRO_POLLS, REAL_RETRY_AFTER_S
from bench.emulated import RESOURCE_GROUP, Foreign, NsgSpec, create_nsgs, settings_for
from sync.azure.client import make_client

SCALED = (0.1, 0.3)


@dataclass(frozen=True)
class Line:
    """``seconds = overhead + waits * retry_after``."""

    overhead: float
    waits: float

    def at(self, retry_after: float) -> float:
        return self.overhead + self.waits * retry_after

    @classmethod
    def through(cls, x1: float, y1: float, x2: float, y2: float) -> Line:
        waits = (y2 - y1) / (x2 - x1)
        return cls(y1 - waits * x1, waits)


@dataclass(frozen=True)
class Calibration:
    put: Line
    delete: Line
    header_put_s: float  # one PUT with a real ``Retry-After: 1`` header

    @property
    def real_put_s(self) -> float:
        return self.put.at(REAL_RETRY_AFTER_S)

    @property
    def real_delete_s(self) -> float:
        return self.delete.at(REAL_RETRY_AFTER_S)

    def describe(self) -> str:
        return (
            f"Per-write latency fitted from writes timed with a poll wait of {SCALED[0]:g} s and "
            f"{SCALED[1]:g} s and {REAL_LRO_POLLS} InProgress polls per write: PUT = "
            f"{self.put.overhead * 1000:.0f} ms + {self.put.waits:.2f} x wait, DELETE = "
            f"{self.delete.overhead * 1000:.0f} ms + {self.delete.waits:.2f} x wait. At the real "
            f"`Retry-After: {REAL_RETRY_AFTER_S:g}`: PUT {self.real_put_s:.1f} s, DELETE "
            f"{self.real_delete_s:.1f} s. Check on the header path: a PUT answered with a real "
            f"`Retry-After: 1` took {self.header_put_s:.2f} s (the fit predicts "
            f"{self.put.at(1.0):.2f} s)."
        )


def _timed_writes(
    emulator: Emulator, cache: Path, wait: float, samples: int
) -> tuple[float, float]:
    """Median seconds of a rule PUT and of a rule DELETE, as the engine sends them."""
    client = make_client(settings_for(emulator, cache, poll_interval_s=wait))
    rule = Foreign("ipsync-calibrate", "Outbound", 200).sdk()
    puts, deletes = [], []
    for _ in range(samples):
        start = time.perf_counter()
        client.security_rules.begin_create_or_update(
            RESOURCE_GROUP, "nsg-calibrate", rule.name, rule
        ).result()
        puts.append(time.perf_counter() - start)
        start = time.perf_counter()
        client.security_rules.begin_delete(RESOURCE_GROUP, "nsg-calibrate", rule.name).result()
        deletes.append(time.perf_counter() - start)
    return statistics.median(puts), statistics.median(deletes)


def calibrate(samples: int) -> Calibration:
    """Fit the per-write line on one emulator; its ``store.retry_after`` is set for the check."""
    with tempfile.TemporaryDirectory() as cache, Emulator(lro_polls=REAL_LRO_POLLS) as emulator:
        create_nsgs(
            make_client(settings_for(emulator, Path(cache))),
            [NsgSpec("nsg-calibrate", "westeurope", Foreign("f", "Inbound", 100))],
        )
        (p1, d1), (p2, d2) = (_timed_writes(emulator, Path(cache), w, samples) for w in SCALED)
        emulator.store.retry_after = 1
        header_put, _ = _timed_writes(emulator, Path(cache), 0, 1)
    return Calibration(
        Line.through(SCALED[0], p1, SCALED[1], p2),
        Line.through(SCALED[0], d1, SCALED[1], d2),
        header_put,
    )


if __name__ == "__main__":
    print(calibrate(3).describe())
