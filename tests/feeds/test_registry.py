"""The feed registry: every folder is a feed, found without a list kept by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from sync.errors import SettingsError
from sync.feeds import feed_names, get_feed

FOLDER = Path(__file__).parents[2] / "sync" / "feeds"


def test_every_sub_package_is_a_feed_named_after_its_folder() -> None:
    folders = {p.name for p in FOLDER.iterdir() if (p / "__init__.py").is_file()}
    assert set(feed_names()) == folders
    assert {"azure", "github", "m365", "aws", "google", "cloudflare", "url"} <= folders
    for name in feed_names():
        feed, instance = get_feed(name)
        assert (feed.name, instance) == (name, "")
        assert feed.title
        assert feed.selectors
        assert feed.plausible_step("" if name == "azure" else name) > 0


def test_an_unknown_feed_is_refused_with_a_did_you_mean() -> None:
    with pytest.raises(SettingsError, match=r"feed 'gitub' is not a feed .*did you mean github\?"):
        get_feed("gitub")


def test_a_url_feed_is_addressed_by_name() -> None:
    feed, instance = get_feed("url:atlassian")
    assert (feed.name, instance) == ("url", "atlassian")


@pytest.mark.parametrize("name", ["aws:x", "github:y", "azure:z"])
def test_a_single_feed_takes_no_name(name: str, tmp_path: Path) -> None:
    from sync.feeds import load_release
    from sync.feedsettings import FeedSettings

    with pytest.raises(SettingsError, match="takes no ':<name>'"):
        load_release(FeedSettings(cache_dir=tmp_path), name, source=str(tmp_path / "none"))


def test_recording_sees_every_release_read_while_it_is_open(tmp_path: Path) -> None:
    import threading

    from sync.feeds import load_release, recording
    from sync.feedsettings import FeedSettings

    from .conftest import AWS_NEW, AWS_OLD

    settings = FeedSettings(cache_dir=tmp_path)
    with recording() as outer:
        old = load_release(settings, "aws", source=str(AWS_OLD))
        with recording() as inner:
            worker = threading.Thread(
                target=load_release, args=(settings, "aws"), kwargs={"source": str(AWS_NEW)}
            )
            worker.start()
            worker.join()
        assert [r.mark for r in inner] == [load_release(settings, "aws", source=str(AWS_NEW)).mark]
    assert len(outer) == 3
    assert outer[0] is old
    load_release(settings, "aws", source=str(AWS_OLD))
    assert len(outer) == 3  # closed: no longer recorded
