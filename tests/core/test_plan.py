"""The kind-neutral plan machinery: make-before-break order and add-only."""

from __future__ import annotations

import pytest

from sync.core.plan import Write, add_only, make_before_break, normalise_prefix, parsed_prefix


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


def test_a_remembered_entry_reads_the_same_every_time() -> None:
    """Entries are parsed once per process: the second answer must be the first's."""
    for _ in range(2):
        assert normalise_prefix(" 10.1.2.3/24 ") == "10.1.2.0/24"
        assert normalise_prefix("1.2.3.4") == "1.2.3.4/32"  # Key Vault's answer is the same rule
        assert normalise_prefix("2001:0DB8::/32") == "2001:db8::/32"
        assert normalise_prefix("10.0.0.300/8") == "10.0.0.300/8"  # kept as written


def test_a_bad_prefix_is_refused_each_time_it_is_asked() -> None:
    for _ in range(2):
        assert parsed_prefix("10.1.2.0/23").prefixlen == 23
        with pytest.raises(ValueError, match="not an IPv4 address"):
            parsed_prefix("10.0.0.300/8")
