"""check_bands: targets whose ownership on one NSG would clash."""

from __future__ import annotations

from sync.kinds.nsg.plan import check_bands

from ._make import OTHER_NSG, make_target


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
