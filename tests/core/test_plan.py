"""The kind-neutral plan machinery: make-before-break order, add-only, the removal guard."""

from __future__ import annotations

from sync.core.plan import Write, add_only, erosion_guard, make_before_break, removal_guard


class TestMakeBeforeBreak:
    def _update(self, name: str, added: list[str], removed: list[str]) -> Write[None]:
        return Write("update", name, None, tuple(added), tuple(removed))

    def test_an_update_that_gains_an_address_goes_before_the_one_that_loses_it(self) -> None:
        loses = self._update("a", ["10.0.9.0/24"], ["192.0.2.0/24"])
        gains = self._update("b", ["192.0.2.0/25"], ["10.0.8.0/24"])
        grows = Write("create", "c", None, ("10.1.0.0/16",))
        drop = Write("delete", "d", None, (), ("10.2.0.0/16",))
        order = make_before_break([(1, drop), (2, loses), (3, gains), (4, grows)])
        assert [key for key, _ in order] == [4, 3, 2, 1]

    def test_a_cycle_still_sends_every_write_once(self) -> None:
        one = self._update("a", ["198.51.100.0/24"], ["192.0.2.0/24"])
        two = self._update("b", ["192.0.2.0/24"], ["198.51.100.0/24"])
        order = make_before_break([(1, one), (2, two)])
        assert sorted(key for key, _ in order) == [1, 2]


def test_add_only_keeps_what_the_new_list_no_longer_covers() -> None:
    held, kept = add_only(frozenset({"10.0.0.0/24"}), ["10.0.0.0/25", "10.9.0.0/16"])
    assert kept == {"10.9.0.0/16"}
    assert held == {"10.0.0.0/24", "10.9.0.0/16"}


def test_add_only_drops_an_entry_inside_another() -> None:
    held, kept = add_only(frozenset({"10.0.0.0/24"}), ["10.0.0.0/16"])
    assert kept == {"10.0.0.0/16"}
    assert held == {"10.0.0.0/16"}


def test_removal_guard_counts_only_addresses_that_leave() -> None:
    before = ["10.0.0.0/25", "10.0.0.128/25", "10.1.0.0/24"]
    merged = ["10.0.0.0/24", "10.1.0.0/24"]
    assert removal_guard("t", before, merged, max_remove_ratio=0.0, families=["v4"]) is None
    refusal = removal_guard("t", before, ["10.0.0.0/24"], max_remove_ratio=0.3, families=["v4"])
    assert refusal is not None
    assert "1 of 3" in refusal


def test_removal_guard_refuses_an_empty_list() -> None:
    refusal = removal_guard("t", ["10.0.0.0/24"], [], max_remove_ratio=1.0, families=["v4"])
    assert refusal is not None
    assert "no prefixes" in refusal


def test_erosion_is_measured_against_the_largest_selection_per_family() -> None:
    peaks = {"v4": 1000, "v6": 2**80}
    assert erosion_guard("t", peaks, {"v4": 700, "v6": 2**80}, 0.3) is None
    refusal = erosion_guard("t", peaks, {"v4": 699, "v6": 2**80}, 0.3)
    assert refusal is not None
    assert "IPv4 ranges now hold 699 addresses, 30% fewer than the 1000" in refusal
    assert erosion_guard("t", peaks, {"v4": 1000, "v6": 2**79}, 0.3) is not None
    assert erosion_guard("t", {}, {"v4": 1}, 0.3) is None  # no reference yet
