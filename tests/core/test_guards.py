"""The one guard stage: each guard on its own, their order, ``force``, and real releases."""

from __future__ import annotations

import json
import lzma
from pathlib import Path

import netaddr
import pytest

from sync.core.budget import FitAccount
from sync.core.guards import (
    Proposal,
    Thresholds,
    addition_guard,
    breadth_guard,
    erosion_guard,
    judge,
    removal_guard,
    rollback_guard,
    split_mark,
    trusted,
)

DATA = Path(__file__).resolve().parents[1] / "data"
T = Thresholds()
P = ("203.0.113.0/24", "198.51.100.0/24", "192.0.2.0/24")


def proposal(**fields: object) -> Proposal:
    base: dict[str, object] = {
        "where": "target t (Tag)",
        "families": ("v4",),
        "before": frozenset(P),
        "after": frozenset(P),
        "published": {"v4": P},
        "written": frozenset(P),
    }
    base.update(fields)
    return Proposal(**base)  # type: ignore[arg-type]


class TestRemoval:
    def test_counts_only_addresses_that_leave(self) -> None:
        before = ["10.0.0.0/25", "10.0.0.128/25", "10.1.0.0/24"]
        merged = ["10.0.0.0/24", "10.1.0.0/24"]
        assert removal_guard("t", before, merged, max_remove_ratio=0.0, families=["v4"]) is None
        refusal = removal_guard("t", before, ["10.0.0.0/24"], max_remove_ratio=0.3, families=["v4"])
        assert refusal is not None
        assert "1 of 3" in refusal

    def test_refuses_an_empty_list(self) -> None:
        refusal = removal_guard("t", ["10.0.0.0/24"], [], max_remove_ratio=1.0, families=["v4"])
        assert refusal is not None
        assert "no prefixes" in refusal

    def test_refuses_a_family_left_empty_behind_a_larger_one(self) -> None:
        before = [*(f"10.{i}.0.0/16" for i in range(9)), "2001:db8::/32"]
        after = [f"10.{i}.0.0/16" for i in range(9)]
        refusal = removal_guard("t", before, after, max_remove_ratio=0.3, families=["v4", "v6"])
        assert refusal is not None
        assert "every IPv6 prefix" in refusal


class TestTampered:
    def test_an_entry_widened_by_hand_counts_as_ipsync_wrote_it(self) -> None:
        written = frozenset(P)
        tampered = frozenset({"0.0.0.0/0"})
        assert trusted(tampered, written) == written
        assert judge(proposal(before=tampered), T) is None

    def test_without_a_record_the_wide_entry_counts_whole(self) -> None:
        refusal = judge(proposal(before=frozenset({"0.0.0.0/0"}), written=None), T)
        assert refusal is not None
        assert "would remove 1 of 1" in refusal

    def test_entries_inside_what_ipsync_wrote_are_unchanged(self) -> None:
        before = frozenset({"203.0.113.0/25", "203.0.113.128/25", "10.0.0.0/8"})
        assert trusted(before, frozenset({"203.0.113.0/24"})) == {
            "203.0.113.0/25",
            "203.0.113.128/25",
        }

    def test_a_real_removal_still_counts_after_the_repair(self) -> None:
        refusal = judge(proposal(before=frozenset({"0.0.0.0/0"}), after=frozenset(P[:1])), T)
        assert refusal is not None
        assert "would remove 2 of 3" in refusal


class TestAddition:
    @pytest.mark.parametrize("first", [False, True])
    def test_a_release_of_256_slash_8_is_refused(self, first: bool) -> None:
        hostile = tuple(f"{i}.0.0.0/8" for i in range(256))
        after = frozenset(str(c) for c in netaddr.cidr_merge(hostile))
        held = {"before": frozenset(), "written": None} if first else {}
        refusal = judge(proposal(after=after, published={"v4": hostile}, **held), T)
        assert refusal is not None
        assert "merge into 0.0.0.0/0" in refusal

    def test_every_public_slash_8_is_refused_by_growth(self) -> None:
        public = [f"{i}.0.0.0/8" for i in range(1, 224, 2) if i not in (10, 127)]
        refusal = addition_guard("t", P, [*P, *public], 1.0, {"v4": 1 << 16})
        assert refusal is not None
        assert "more IPv4 addresses than the 768 it holds" in refusal

    def test_small_lists_may_grow_by_the_floor(self) -> None:
        after = [*P, "192.0.2.0/23", "100.64.0.0/22"]
        assert addition_guard("t", P, after, 1.0, {"v4": 1 << 16}) is None
        assert addition_guard("t", P, after, 1.0, {"v4": 1 << 8}) is not None

    def test_a_first_sync_is_bounded_by_breadth_and_its_fit_not_by_growth(self) -> None:
        widened = frozenset({"203.0.113.0/24", "198.51.100.0/23", "192.0.2.0/24"})
        first = proposal(before=frozenset(), after=widened, written=None)
        assert judge(first, Thresholds(add_floor={"v4": 0}, max_add_ratio=0.0)) is None

    def test_growth_is_measured_on_what_the_release_publishes(self) -> None:
        grown = (*P, "100.64.0.0/24")
        held = proposal(published={"v4": grown}, after=frozenset(grown))
        assert judge(held, Thresholds(add_floor={"v4": 0}, max_add_ratio=0.3)) is not None
        assert judge(held, Thresholds(add_floor={"v4": 0}, max_add_ratio=0.4)) is None


class TestBreadth:
    def test_a_block_broader_than_the_bound_is_refused(self) -> None:
        two = ("20.0.0.0/8", "21.0.0.0/8")
        refusal = breadth_guard("t", {"v4": two}, {"v4": 8}, {})
        assert refusal is not None
        assert "20.0.0.0/7" in refusal
        assert breadth_guard("t", {"v4": two}, {"v4": 7}, {}) is None

    def test_too_many_addresses_are_refused(self) -> None:
        spread = tuple(f"{i}.0.0.0/8" for i in range(1, 200, 2))
        assert breadth_guard("t", {"v4": spread}, {"v4": 8}, {"v4": 1 << 28}) is not None

    @pytest.mark.parametrize(
        "name",
        [
            "ServiceTags_Public_20250101.json.xz",
            "ServiceTags_Public_20251010.json.xz",
            "ServiceTags_Public_20251017.json.xz",
            "ServiceTags_AzureGovernment_20251025.json.xz",
            "ServiceTags_China_20251025.json.xz",
        ],
    )
    def test_no_tag_of_a_real_release_is_refused(self, name: str) -> None:
        document = json.loads(lzma.decompress((DATA / name).read_bytes()))
        union: dict[str, list[str]] = {"v4": [], "v6": []}
        for tag in document["values"]:
            prefixes = tag["properties"]["addressPrefixes"]
            published = {
                "v4": [p for p in prefixes if ":" not in p],
                "v6": [p for p in prefixes if ":" in p],
            }
            for family in union:
                union[family] += published[family]
        assert breadth_guard(name, union, T.broadest, T.max_addresses) is None


class TestRollback:
    def test_an_older_release_is_refused(self) -> None:
        refusal = rollback_guard("t", ["373"], ["372"])
        assert refusal is not None
        assert "372 is older than release 373" in refusal
        assert rollback_guard("t", ["372"], ["373"]) is None

    def test_series_are_compared_apart(self) -> None:
        assert rollback_guard("t", ["api-95", "373"], ["api-96", "372"]) is not None
        assert rollback_guard("t", ["api-95"], ["372"]) is None

    def test_a_jump_beyond_the_feed_step_is_refused(self) -> None:
        refusal = rollback_guard("t", ["373"], ["99999999"], {"": 50})
        assert refusal is not None
        assert "implausible" in refusal
        assert rollback_guard("t", ["373"], ["400"], {"": 50}) is None

    def test_a_mark_that_is_no_number_is_never_compared(self) -> None:
        assert split_mark("373 ") is None
        assert split_mark("aws-1783108025") == ("aws", 1783108025)
        assert rollback_guard("t", ["373 ", "x-abc"], ["372"]) is None


def test_erosion_is_measured_against_the_largest_selection_per_family() -> None:
    peaks = {"v4": 1000, "v6": 2**80}
    assert erosion_guard("t", peaks, {"v4": 700, "v6": 2**80}, 0.3) is None
    refusal = erosion_guard("t", peaks, {"v4": 699, "v6": 2**80}, 0.3)
    assert refusal is not None
    assert "IPv4 ranges now hold 699 addresses, 30% fewer than the 1000" in refusal


class TestJudge:
    def test_force_passes_the_release_guards_but_not_the_targets_own_bounds(self) -> None:
        older = proposal(held=("373",), incoming=("372",))
        assert judge(older, T) is not None
        assert judge(older, T, force=True) is None
        account = FitAccount(3, 3, 100, {"v4": 768}, {"v4": 100})
        wide = proposal(fit=account, max_extra_ratio=0.1)
        assert judge(wide, T, force=True) is not None

    def test_a_tag_selected_target_is_bounded_whatever_force_says(self) -> None:
        bounded = proposal(tag_bound={"v4": 512})
        refusal = judge(bounded, T, force=True)
        assert refusal is not None
        assert "IPSYNC_TAG_MAX_ADDRESSES_V4" in refusal
        assert judge(proposal(tag_bound={"v4": 1024}), T) is None

    def test_an_emptied_tag_is_named_first(self) -> None:
        refusal = judge(proposal(empty=("Gone.WestEurope",), held=("373",), incoming=("1",)), T)
        assert refusal is not None
        assert "Gone.WestEurope" in refusal


class TestSeveralFeeds:
    """A target taking from several feeds: each feed's part is judged as well as the union."""

    AZURE = ("198.51.100.0/24", "203.0.113.0/24")
    HELD = (*AZURE, "192.0.2.0/28")
    GROWN = (*AZURE, "192.0.2.0/25")

    def several(self, github: tuple[str, ...], **fields: object) -> Proposal:
        published = (*self.AZURE, *github)
        base: dict[str, object] = {
            "before": frozenset(self.HELD),
            "written": frozenset(self.HELD),
            "after": frozenset(published),
            "published": {"v4": published},
            "parts": {"azure": {"v4": self.AZURE}, "github": {"v4": github}},
        }
        return proposal(**{**base, **fields})

    def test_a_small_feed_may_not_grow_beyond_its_own_share(self) -> None:
        lenient = Thresholds(add_floor={"v4": 0}, max_add_ratio=0.5)
        union_only = proposal(
            before=frozenset(self.HELD),
            written=frozenset(self.HELD),
            after=frozenset(self.GROWN),
            published={"v4": self.GROWN},
        )
        assert judge(union_only, lenient) is None  # 112 more of 528: within 50%
        refusal = judge(self.several(("192.0.2.0/25",)), lenient)
        assert refusal is not None
        assert refusal.startswith("target t (Tag): feed github: ")
        assert "more IPv4 addresses than the 16 it holds" in refusal

    def test_a_first_sync_has_no_part_to_grow_from(self) -> None:
        lenient = Thresholds(add_floor={"v4": 0}, max_add_ratio=0.5)
        first = self.several(("192.0.2.0/25",), before=frozenset(), written=None)
        assert judge(first, lenient) is None

    def test_breadth_names_the_feed_that_published_the_block(self) -> None:
        refusal = judge(self.several(("192.0.0.0/7",)), T)
        assert refusal is not None
        assert "feed github" in refusal
        assert "feed azure" not in refusal


def test_common_is_the_addresses_both_allow() -> None:
    from sync.core.guards import common

    assert common(["10.0.0.0/8", "2001:db8::/32"], ["10.1.0.0/16", "11.0.0.0/8"]) == ["10.1.0.0/16"]
    assert common(["10.0.0.0/8"], ["2001:db8::/32"]) == []
