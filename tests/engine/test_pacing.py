"""Pacing by ARM's remaining budget: requests slow down before ARM answers 429, a 429 still
closes the budget for its Retry-After, and runs against small token buckets converge.

The pacer's arithmetic is checked on a clock the test moves; the runs use the emulator's real
buckets (armemu.throttle), and compare the 429s a run meets with pacing and without it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from armemu import Emulator
from armemu.throttle import Limits
from sync.azure import pacing
from sync.azure.client import make_client
from sync.azure.pacing import RESERVE, Pacer
from sync.engine import run
from sync.settings import load_settings

from .conftest import SUB, make_nsg, target, write_release

HOST = "https://arm.example"
NSG_URL = f"{HOST}/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Network/nsg/n1"
READS = "x-ms-ratelimit-remaining-subscription-reads"


class Clock:
    """A clock that only moves when told to, or when the pacer sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def pacer(clock: Clock) -> Pacer:
    return Pacer(clock=clock, sleep=clock.sleep)


def test_a_budget_nobody_has_named_yet_does_not_wait(pacer: Pacer, clock: Clock) -> None:
    for _ in range(50):
        pacer.before("GET", NSG_URL)
    assert clock.slept == []


def test_a_low_budget_spaces_requests_at_the_refill_rate(pacer: Pacer, clock: Clock) -> None:
    taken = pacer.before("GET", NSG_URL)
    pacer.after("GET", NSG_URL, 200, {READS: str(int(RESERVE) + 3)}, taken)
    for _ in range(3):
        pacer.before("GET", NSG_URL)  # what is left above the reserve goes at once
    assert clock.slept == []
    for _ in range(5):
        pacer.before("GET", NSG_URL)
    refill = pacing.REFILL_PER_S["reads"]
    assert clock.slept == pytest.approx([1 / refill] * 5)


def test_the_lowest_figure_governs_and_requests_in_flight_count(pacer: Pacer, clock: Clock) -> None:
    first = pacer.before("GET", NSG_URL)
    for _ in range(4):  # sent after the first, not answered yet
        pacer.before("GET", NSG_URL)
    headers = {READS: "200", "x-ms-ratelimit-remaining-subscription-global-reads": str(RESERVE + 5)}
    pacer.after("GET", NSG_URL, 200, headers, first)
    pacer.before("GET", NSG_URL)  # 15 - 4 in flight = 11 left, one above the reserve
    assert clock.slept == []
    pacer.before("GET", NSG_URL)
    assert len(clock.slept) == 1


def test_budgets_are_per_subscription_and_operation(pacer: Pacer, clock: Clock) -> None:
    taken = pacer.before("GET", NSG_URL)
    pacer.after("GET", NSG_URL, 200, {READS: "0"}, taken)
    pacer.before("PUT", NSG_URL)
    pacer.before("GET", NSG_URL.replace(SUB, "11111111-1111-4111-8111-111111111111"))
    pacer.before("GET", NSG_URL.replace(HOST, "https://other.example"))
    assert clock.slept == []
    pacer.before("GET", NSG_URL)
    assert clock.slept == pytest.approx([(RESERVE + 1) / pacing.REFILL_PER_S["reads"]])


def test_a_429_closes_the_budget_for_its_retry_after_and_halves_the_pace(
    pacer: Pacer, clock: Clock
) -> None:
    taken = pacer.before("DELETE", NSG_URL)
    headers = {"x-ms-ratelimit-remaining-subscription-deletes": "0", "Retry-After": "1"}
    pacer.after("DELETE", NSG_URL, 429, headers, taken)
    pacer.before("DELETE", NSG_URL)
    # closed for 1 s, in which the bucket refilled at half the documented pace; then the
    # wait until the reserve is back, at that pace
    halved = pacing.REFILL_PER_S["deletes"] / 2
    assert clock.slept == pytest.approx([1 + (RESERVE + 1 - halved) / halved])
    assert pacer.exhausted == 1


def test_a_429_of_another_operation_is_not_throttling(pacer: Pacer, clock: Clock) -> None:
    """An NSG answers 429 RetryableError while another write runs: the budget is fine."""
    taken = pacer.before("PUT", NSG_URL)
    headers = {"x-ms-ratelimit-remaining-subscription-writes": "150", "Retry-After": "10"}
    pacer.after("PUT", NSG_URL, 429, headers, taken)
    pacer.before("PUT", NSG_URL)
    assert (clock.slept, pacer.exhausted) == ([], 0)


def test_an_older_answer_does_not_overrule_a_newer_one(pacer: Pacer, clock: Clock) -> None:
    first, second = pacer.before("GET", NSG_URL), pacer.before("GET", NSG_URL)
    pacer.after("GET", NSG_URL, 200, {READS: "100"}, second)
    pacer.after("GET", NSG_URL, 200, {READS: "0"}, first)  # late, and stale
    pacer.before("GET", NSG_URL)
    assert clock.slept == []


def test_resource_graph_waits_out_an_exhausted_window(pacer: Pacer, clock: Clock) -> None:
    url = f"{HOST}/providers/Microsoft.ResourceGraph/resources?api-version=2022-10-01"
    taken = pacer.before("POST", url)
    quota = {"x-ms-user-quota-remaining": "0", "x-ms-user-quota-resets-after": "00:00:03"}
    pacer.after("POST", url, 200, quota, taken)
    pacer.before("POST", url)
    assert clock.slept == pytest.approx([3.0])
    pacer.before("POST", url)  # a new window: whole again until an answer says otherwise
    assert clock.slept == pytest.approx([3.0])


def test_a_resource_providers_budget_paces_its_own_requests(pacer: Pacer, clock: Clock) -> None:
    url = NSG_URL.replace("Microsoft.Network/nsg", "Microsoft.Compute/virtualMachines")
    taken = pacer.before("GET", url)
    policies = "Microsoft.Compute/HighCostGet3Min;2,Microsoft.Compute/HighCostGet30Min;900"
    pacer.after("GET", url, 200, {"x-ms-ratelimit-remaining-resource": policies}, taken)
    pacer.before("GET", NSG_URL)  # another provider: not concerned
    assert clock.slept == []
    pacer.before("GET", url)
    assert clock.slept == pytest.approx([(RESERVE + 1 - 2) / pacing.PROVIDER_REFILL_PER_S])


# ----- runs against the emulator's token buckets ---------------------------------------
NSGS = 12
TAGS = {"Alpha": ["192.0.2.0/24", "2001:db8:1::/48"], "Beta": ["198.51.100.0/24"]}


class Unpaced(Pacer):
    """The baseline: requests go out as fast as the workers send them."""

    def before(self, method: str, url: str) -> list[tuple[pacing.Key, int]]:
        return []

    def after(self, *args: Any) -> None:
        return None


def _throttled_run(tmp_path: Path, limits: Limits, pacer: Pacer) -> tuple[int, int, bool]:
    """A first sync of NSGS NSGs (two rules each, eight workers), then a no-op run, paced by
    ``pacer``: the emulator's 429s, the writes, and whether the second run had nothing to do.
    The NSGs are made on an emulator that does not throttle, kept in a state file."""
    tmp_path.mkdir(exist_ok=True)
    state = tmp_path / "arm.json"
    values = {
        "credential": "emulator",
        "subscription_id": SUB,
        "poll_interval_s": 0,
        "cache_dir": tmp_path,
        "source": str(write_release(tmp_path / "r.json", TAGS)),
    }
    with Emulator(lro_polls=0, state_file=state) as emu:
        settings = load_settings(arm_endpoint=emu.endpoint, ca_bundle=emu.ca_bundle, **values)
        nsgs = [make_nsg(make_client(settings), f"n{i}") for i in range(NSGS)]
    targets = [target(n, ["Alpha", "Beta"], families=["v4"]) for n in nsgs]
    with Emulator(lro_polls=1, retry_after=0, state_file=state, throttle=limits) as emu:
        pacing.PACER = pacer
        settings = load_settings(
            arm_endpoint=emu.endpoint, ca_bundle=emu.ca_bundle, targets=targets, **values
        )
        first = run(settings)
        assert first.ok, first
        again = run(settings)
        return emu.stats()["throttled"], first.writes, again.ok and again.writes == 0


@pytest.fixture
def restore_pacer(monkeypatch: pytest.MonkeyPatch) -> None:
    """The process's pacer comes back after the test."""
    monkeypatch.setattr(pacing, "PACER", pacing.PACER)


@pytest.mark.usefixtures("restore_pacer")
def test_a_small_bucket_refilled_at_arms_rate_is_never_emptied(tmp_path: Path) -> None:
    limits = Limits(reads=(30, 25), writes=(25, 10), deletes=(25, 10))
    throttled, writes, converged = _throttled_run(tmp_path, limits, Pacer())
    assert writes == NSGS  # one PUT per NSG, none sent twice
    assert converged
    assert throttled == 0


@pytest.mark.usefixtures("restore_pacer")
def test_a_slower_bucket_meets_fewer_429s_paced_than_not(tmp_path: Path) -> None:
    """Refilled at a fifth of ARM's documented pace: the pacer learns from each 429 and the
    run converges; without pacing, the same run meets more of them."""
    limits = Limits(reads=(30, 5), writes=(25, 2), deletes=(25, 2))
    paced, _, converged = _throttled_run(tmp_path / "paced", limits, Pacer())
    assert converged
    unpaced, _, converged = _throttled_run(tmp_path / "unpaced", limits, Unpaced())
    assert converged
    assert paced < unpaced
