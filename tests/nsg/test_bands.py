"""check_bands: targets whose ownership on one NSG would clash."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.kinds.nsg.plan import _clash, check_bands, rule_names
from sync.kinds.nsg.target import NsgTarget

from ._make import NSG, OTHER_NSG, make_target


def test_overlapping_bands_same_nsg_and_direction_flag_both() -> None:
    targets = [
        make_target(priority_range=(200, 299)),
        make_target(service_tags=("Sql",), priority_range=(250, 349)),
        make_target(service_tags=("AzureMonitor",), priority_range=(400, 499)),
    ]
    errors = check_bands(targets)
    assert set(errors) == {0, 1}
    assert "Outbound priority band 200-299 overlaps band 250-349 of target #1 (Sql)" in errors[0]
    assert "Outbound priority band 250-349 overlaps band 200-299 of target #0" in errors[1]


def test_touching_but_disjoint_bands_are_fine() -> None:
    targets = [
        make_target(priority_range=(200, 249)),
        make_target(service_tags=("Sql",), priority_range=(250, 299)),
    ]
    assert check_bands(targets) == {}


def test_same_band_in_other_direction_or_other_nsg_is_fine() -> None:
    targets = [
        make_target(),
        make_target(direction="Inbound"),
        make_target(nsg=OTHER_NSG),
    ]
    assert check_bands(targets) == {}


def test_identical_rule_names_are_an_error_even_with_disjoint_bands() -> None:
    targets = [
        make_target(priority_range=(200, 249), ports=("443",)),
        make_target(priority_range=(250, 299), ports=("1433",)),
    ]
    errors = check_bands(targets)
    assert set(errors) == {0, 1}
    assert "rule name ipsync-storage-westeurope-v4 is also that of target #1" in errors[0]


def test_band_too_narrow_for_the_families() -> None:
    errors = check_bands([make_target(priority_range=(200, 200))])
    assert "priority band 200-200 cannot hold 2 rules" in errors[0]
    assert check_bands([make_target(priority_range=(200, 200), families=("v4",))]) == {}


def _pairwise(targets: Sequence[NsgTarget]) -> dict[int, str]:
    """The former quadratic check_bands: the reference the fast one must agree with."""
    errors: dict[int, str] = {}
    for i, target in enumerate(targets):
        low, high = target.priority_range
        if high - low + 1 < len(target.families):
            errors[i] = (
                f"{target.where}: priority band {low}-{high} cannot hold "
                f"{len(target.families)} rules (one per family); widen priority_range"
            )
    for i, j in combinations(range(len(targets)), 2):
        a, b = targets[i], targets[j]
        if a.nsg.lower() != b.nsg.lower():
            continue
        for me, mine, other, theirs in ((i, a, j, b), (j, b, i, a)):
            problem = _clash(mine, rule_names(mine), theirs, rule_names(theirs))
            if problem:
                tags = ", ".join(theirs.service_tags)
                errors.setdefault(me, f"{mine.where}: {problem} target #{other} ({tags})")
    return errors


_BAND = st.tuples(st.integers(100, 130), st.integers(0, 12)).map(lambda b: (b[0], b[0] + b[1]))
_TARGET = st.builds(
    make_target,
    nsg=st.sampled_from((NSG, OTHER_NSG, NSG.upper())),
    service_tags=st.sampled_from((("Storage",), ("Sql",), ("Storage", "Sql"), ("AzureMonitor",))),
    direction=st.sampled_from(("Inbound", "Outbound")),
    families=st.sampled_from((("v4",), ("v6",), ("v4", "v6"))),
    priority_range=_BAND,
    rule_prefix=st.sampled_from(("ipsync", "IPSYNC", "team")),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_TARGET, max_size=12))
def test_agrees_with_the_pairwise_check(targets: list[NsgTarget]) -> None:
    assert check_bands(targets) == _pairwise(targets)


def _many(count: int, width: int) -> list[NsgTarget]:
    base = make_target()
    return [
        base.model_copy(
            update={
                "service_tags": (f"Tag{i}",),
                "priority_range": (100 + i % 3900, 100 + i % 3900 + width),
            }
        )
        for i in range(count)
    ]


@pytest.mark.parametrize("width", [0, 1, 50])
def test_ten_thousand_targets_on_one_nsg_are_each_checked(width: int) -> None:
    # pairwise, this took minutes; its speed is measured in bench/, not here
    errors = check_bands(_many(10_000, width))
    # width 0: every band is too narrow for two families; wider bands overlap their neighbours.
    assert len(errors) == 10_000
    expected = "cannot hold 2 rules" if width == 0 else "overlaps band"
    assert expected in errors[5_000]
