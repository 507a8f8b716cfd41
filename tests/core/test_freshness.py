"""Feed freshness: since when a feed's release has been the same, and since when no run read
the feed; judged against the hours the setting allows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sync.core.freshness import Watch, observe, problems

T0 = datetime(2026, 1, 5, 4, 30, tzinfo=UTC)


def hours(n: float) -> datetime:
    return T0 + timedelta(hours=n)


def test_a_release_that_stays_the_same_is_stale_after_the_setting() -> None:
    watch = observe({}, {"azure": "373"}, None, T0)
    assert watch == {"azure": Watch("373", T0.isoformat(), T0.isoformat())}
    week = observe(watch, {"azure": "373"}, None, hours(24 * 7))
    assert week["azure"].since == T0.isoformat()  # the same release: since its first read
    assert week["azure"].read_at == hours(24 * 7).isoformat()
    assert problems(week, hours(24 * 7), 240) == {}
    (note,) = problems(week, hours(241), 240).values()
    assert note == (
        "feed azure: release 373 unchanged for 241 h (since 2026-01-05T04:30:00+00:00, more "
        "than IPSYNC_FEED_STALE_AFTER_HOURS=240); is it still published?"
    )
    fresh = observe(week, {"azure": "374"}, None, hours(241))
    assert fresh["azure"].since == hours(241).isoformat()
    assert problems(fresh, hours(241), 240) == {}


def test_a_feed_no_run_could_read_is_unreachable_from_its_first_failed_run() -> None:
    watch = observe({}, {"azure": "373", "aws": "aws-1"}, None, T0)
    failed = observe(watch, {"aws": "aws-1"}, "download failed: HTTP 503", hours(1))
    again = observe(failed, {"aws": "aws-2"}, "download failed: timed out", hours(30))
    assert again["azure"].failing_since == hours(1).isoformat()
    assert again["azure"].problem == "download failed: timed out"
    assert again["aws"].failing_since is None
    assert problems(again, hours(30), 48) == {}
    assert problems(again, hours(50), 48) == {
        "azure": "feed azure: not read for 49 h (since 2026-01-05T05:30:00+00:00, more than "
        "IPSYNC_FEED_STALE_AFTER_HOURS=48): download failed: timed out"
    }
    back = observe(again, {"azure": "373"}, None, hours(50))
    assert back["azure"] == Watch("373", T0.isoformat(), hours(50).isoformat())
    # A run that failed but read every feed leaves them fresh: the feed was not the problem.
    assert (
        observe(back, {"azure": "373", "aws": "aws-2"}, "a target failed", hours(51))[
            "azure"
        ].failing_since
        is None
    )
