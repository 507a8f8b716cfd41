"""How far an ownership record is trusted against the marks ipsync left on the resource, and
how a write waits for another run's claim."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sync.kinds.marks import Generation, marked, released, trust
from sync.state.ownership import (
    CLAIM_STALE_S,
    CLAIM_WAIT_S,
    Claim,
    Conflict,
    FolderRegistry,
    Record,
    StateError,
    await_claim,
)

OWNED = frozenset({"20.0.0.0/24", "20.1.0.0/24"})
CLAIMED = frozenset({"20.1.0.0/24", "20.2.0.0/24"})
CLAIM = Claim(5, CLAIMED, "run-1", "2026-01-01T00:00:00+00:00")


def record(generation: int | None, pending: Claim | None = None) -> Record:
    return Record(OWNED, "etag-1", "373", generation=generation, pending=pending)


@pytest.mark.parametrize(
    ("held", "tags", "owned", "following"),
    [
        # the record describes the list as it is
        (record(4), {"ipsync-generation": "4"}, OWNED, 5),
        # written before generations were kept, on both sides
        (record(None), {}, OWNED, 1),
        # a claimed write that landed, its record never settled
        (record(4, CLAIM), {"IPSYNC-GENERATION": "5"}, CLAIMED, 6),
        # a claimed write that did not land
        (record(4, CLAIM), {"ipsync-generation": "4"}, OWNED, 6),
        # no record (first run or a lost registry)
        (Record(), {"ipsync-generation": "7"}, frozenset(), 8),
        # the kind keeps nothing on the resource: only what both sides of a claim agree on
        (record(4, CLAIM), None, OWNED & CLAIMED, 6),
    ],
)
def test_a_record_is_trusted_when_it_describes_the_generation_on_the_resource(
    held: Record, tags: dict[str, str] | None, owned: frozenset[str], following: int
) -> None:
    verdict = trust(held, tags, "state")
    assert (verdict.owned, verdict.next, verdict.note) == (owned, following, None)


@pytest.mark.parametrize(
    ("held", "tags", "said"),
    [
        (record(3), {"ipsync-generation": "5"}, "generation 3"),  # an older copy restored
        (record(None), {"ipsync-generation": "5"}, "no generation"),  # and older still
        (record(5), {}, "no ipsync-generation tag"),  # the tag removed by hand
        (record(5), {"ipsync-generation": "five"}, "ipsync-generation=five"),
        (record(4, CLAIM), {"ipsync-generation": "6"}, "generation 4"),  # a later write
    ],
)
def test_a_record_of_another_generation_is_not_trusted_to_remove_anything(
    held: Record, tags: dict[str, str], said: str
) -> None:
    verdict = trust(held, tags, "state")
    assert verdict.owned == frozenset()
    assert verdict.note is not None
    assert said in verdict.note
    assert "not trusted to remove anything" in verdict.note
    assert verdict.next > max(5, held.generation or 0)


def test_the_marks_replace_their_own_tags_in_any_case_and_keep_the_owners() -> None:
    tags = {"owner": "data-team", "IPSYNC-RELEASE": "1", "Ipsync-Generation": "2"}
    assert marked(tags, "374", 3) == {
        "owner": "data-team",
        "ipsync-release": "374",
        "ipsync-generation": "3",
    }
    assert released(tags) == ("1",)
    assert released(None) == released({}) == ()
    assert Generation.of({"ipsync-generation": "٣"}).unreadable == "٣"  # digits, not ASCII


class Paused:
    """The run's pause, counted instead of slept; ``then`` runs at each pause."""

    def __init__(self, then: Callable[[], None] = lambda: None) -> None:
        self.count = 0
        self._then = then

    def __call__(self, seconds: float) -> bool:
        self.count += 1
        self._then()
        return True


def claimed_by(tmp_path: Path, token: str, age_s: float) -> tuple[FolderRegistry, Record]:
    folder = FolderRegistry(tmp_path)
    at = (datetime.now(UTC) - timedelta(seconds=age_s)).isoformat(timespec="seconds")
    folder.save("r", Record(OWNED, pending=Claim(1, OWNED, token, at)))
    return folder, folder.load("r")


def test_another_runs_live_claim_is_waited_for_then_the_target_fails(tmp_path: Path) -> None:
    folder, held = claimed_by(tmp_path, "other", 5)
    pause = Paused()
    with pytest.raises(StateError, match="has not settled it; nothing written"):
        await_claim(folder, "r", held, "mine", pause)
    assert pause.count == CLAIM_WAIT_S


def test_a_claim_settled_while_waiting_means_read_again(tmp_path: Path) -> None:
    folder, held = claimed_by(tmp_path, "other", 5)
    pause = Paused(lambda: folder.save("r", replace(held, pending=None)))
    with pytest.raises(Conflict):
        await_claim(folder, "r", held, "mine", pause)
    assert pause.count == 1


@pytest.mark.parametrize(("token", "age_s"), [("mine", 5), ("other", CLAIM_STALE_S + 1)])
def test_a_claim_of_this_run_or_of_a_dead_one_is_not_waited_for(
    tmp_path: Path, token: str, age_s: float
) -> None:
    folder, held = claimed_by(tmp_path, token, age_s)
    pause = Paused()
    await_claim(folder, "r", held, "mine", pause)
    assert pause.count == 0
