"""Headroom and drift facts: when a target nears a limit, and entries changed by others."""

from __future__ import annotations

import pytest

from sync.core.drift import Drifted, drift, drift_notes, is_drift
from sync.core.headroom import Headroom, Thresholds, headroom_notes, is_headroom


def test_room_left_says_nothing() -> None:
    assert headroom_notes(Headroom(entries=100, capacity=400)) == []
    assert headroom_notes(Headroom(399, 400, extra_ratio=0.02, max_extra_ratio=0.1)) != []


def test_near_capacity_from_the_threshold_on() -> None:
    assert headroom_notes(Headroom(359, 400)) == []
    (note,) = headroom_notes(Headroom(360, 400))
    assert note.startswith("near capacity: 360 of 400 entries in use (90%")
    assert headroom_notes(Headroom(360, 400), Thresholds(capacity=0.95)) == []
    assert headroom_notes(Headroom(400, 400)) != []
    assert headroom_notes(Headroom(459, 50)) == []  # refused, and the refusal says why
    assert is_headroom(note)
    assert not is_headroom("drift: the IPv4 entries ...")


@pytest.mark.parametrize(
    ("extra_ratio", "max_extra_ratio", "near"),
    [
        (0.079, 0.1, False),
        (0.08, 0.1, True),
        (0.1, 0.1, True),
        (0.0, 0.1, False),
        (0.01, 0.0, True),
    ],
)
def test_near_max_extra_ratio(extra_ratio: float, max_extra_ratio: float, near: bool) -> None:
    notes = headroom_notes(Headroom(10, 400, extra_ratio, max_extra_ratio))
    assert [n.split(":")[0] for n in notes] == (["near max_extra_ratio"] if near else [])


def test_an_unknown_ratio_is_not_guessed() -> None:
    assert Headroom(10, 400, extra_ratio=0.5).extra_used is None
    assert headroom_notes(Headroom(10, 400, extra_ratio=0.5)) == []


def test_drift_on_addresses_not_on_text() -> None:
    written = ["198.51.100.0/25", "198.51.100.128/25", "203.0.113.0/24", "2001:db8::/48"]
    merged = ["198.51.100.0/24", "203.0.113.0/24", "2001:db8::/48"]  # the same addresses
    assert drift(written, merged) == []
    assert drift(written, written) == []
    found = ["198.51.100.0/24", "203.0.113.0/25", "203.0.113.200/32", "192.0.2.0/30"]
    assert drift(written, found) == [
        Drifted("v4", "changed", 4, 127),
        Drifted("v6", "removed", 0, 1 << 80),
    ]
    changed, removed = drift_notes(drift(written, found))
    assert changed == (
        "drift: the IPv4 entries ipsync wrote were changed by someone else since its last run "
        "(+4 -127 addresses); a sync sets them back"
    )
    assert removed == (
        "drift: the IPv6 entries ipsync wrote were removed by someone else since its last run "
        "(+0 -65,536 /64s); a sync writes them again"
    )
    assert is_drift(changed)
    assert not is_drift("near capacity: 1 of 2")
    # Entries of a family ipsync never wrote, in entries it owns, are drift too.
    assert drift(["192.0.2.0/24"], ["192.0.2.0/24", "2001:db8::/64"]) == [
        Drifted("v6", "changed", 1 << 64, 0)
    ]


def test_the_report_tells_a_covers_largest_extra_ratio_and_its_limit() -> None:
    from sync.core.budget import FitAccount
    from sync.report import Fit

    account = FitAccount(398, 400, 1_000, {"v4": 10_000, "v6": 1 << 70}, {"v4": 900, "v6": 100})
    fit = Fit.of(account, max_extra_ratio=0.1)
    assert (fit.extra_ratio, fit.max_extra_ratio) == (0.09, 0.1)
    assert fit.headroom() == Headroom(398, 400, 0.09, 0.1)
    assert [n.split(":")[0] for n in headroom_notes(fit.headroom())] == [
        "near capacity",
        "near max_extra_ratio",
    ]
    exact = Fit.of(FitAccount.exact(10, 400, {"v4": 256}))
    assert (exact.extra_ratio, exact.max_extra_ratio, headroom_notes(exact.headroom())) == (
        0.0,
        None,
        [],
    )
