"""``python -m sync diff``: files, ``latest`` and ``previous`` from the kept releases, output
forms and exit codes; and the kept releases themselves (content, bounds, damage)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import netaddr
import pytest

from sync.app.cli import main
from sync.core.feed import Release, ServiceTag
from sync.errors import FeedError
from sync.kept import MAX_KEPT, KeptFolder, document, kept_folder

from .conftest import DATA, parsed, raw_json

OLD, NEW = "ServiceTags_Public_20251010.json.xz", "ServiceTags_Public_20251017.json.xz"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_json_is_exactly_the_documented_shape(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys, "diff", str(DATA / OLD), str(DATA / NEW), "--tag", "azurecloud.westeurope", "--json"
    )
    assert (code, err) == (2, "")
    name = "AzureCloud.westeurope"
    before = netaddr.IPSet(
        next(v for v in raw_json(OLD)["values"] if v["name"] == name)["properties"][
            "addressPrefixes"
        ]
    )
    after = netaddr.IPSet(
        next(v for v in raw_json(NEW)["values"] if v["name"] == name)["properties"][
            "addressPrefixes"
        ]
    )
    assert json.loads(out) == {
        "old": "372",
        "new": "373",
        "tags": {name: {"added": [str(c) for c in (after - before).iter_cidrs()], "removed": []}},
    }


def test_text_tells_addresses_per_tag_and_every_cidr(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "diff", str(DATA / OLD), str(DATA / NEW), "--region", "westeurope")
    lines = out.splitlines()
    assert code == 2
    assert lines[0] == "release 372 -> 373"
    assert "AzureCloud.westeurope [westeurope]: IPv4 +42 -0 addresses" in lines
    start = lines.index("AzureCloud.westeurope [westeurope]: IPv4 +42 -0 addresses")
    assert lines[start + 1 : start + 6] == [
        "  + 57.157.14.42/31",
        "  + 57.157.14.44/30",
        "  + 57.157.14.48/28",
        "  + 57.157.14.64/28",
        "  + 57.157.14.80/30",
    ]
    assert lines[-1] == "Diff: 3 tags changed; IPv4 +1,322 -0 addresses."


def test_ipv6_is_told_in_slash_64s(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "diff", str(DATA / OLD), str(DATA / NEW), "--tag", "AzureCloud")
    assert code == 2
    head = out.splitlines()[1]
    assert head.startswith("AzureCloud: IPv4 +")
    assert "; IPv6 +" in head
    assert head.endswith("/64s")


def test_no_change_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "diff", str(DATA / OLD), str(DATA / NEW), "--tag", "Storage.WestEurope", "--json"
    )
    assert code == 0
    assert json.loads(out) == {"old": "372", "new": "373", "tags": {}}
    code, out, _ = run(capsys, "diff", str(DATA / NEW), str(DATA / NEW))
    assert (code, out.splitlines()[-1]) == (0, "Diff: 0 tags changed.")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["diff", "only-one"], "required: NEW"),
        (["diff", "nothing.json", "latest"], "diff: nothing.json: no such release file"),
        (["diff", str(DATA / OLD), str(DATA / NEW), "--tag", "Nope.Tag"], "'Nope.Tag' is not"),
    ],
)
def test_errors_exit_1_in_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = run(capsys, *argv, "--json")
    assert code == 1
    assert err.count("\n") == 1
    assert message in err
    assert json.loads(out)["ok"] is False


def test_latest_and_previous_come_from_the_kept_releases(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    cache = ["--config", str(_config(tmp_path))]
    code, _, err = run(capsys, "diff", "previous", "latest", "--source", str(DATA / OLD), *cache)
    assert code == 1
    assert "no release before 372 is kept in" in err
    assert "give the older release" in err
    # 10-10 was kept on the way: it is the one before 10-17 now.
    code, out, _ = run(capsys, "diff", "previous", "latest", "--source", str(DATA / NEW), *cache)
    expected = run(capsys, "diff", str(DATA / OLD), str(DATA / NEW))
    assert (code, out) == (2, expected[1])
    again = run(capsys, "diff", "previous", "latest", "--source", str(DATA / NEW), *cache)
    assert again == (2, out, "")  # reading 10-17 again keeps nothing new
    assert len(KeptFolder(kept_folder(tmp_path)).entries()) == 2


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "ipsync.json"
    path.write_text(json.dumps({"cache_dir": str(tmp_path)}))
    return path


def tiny(change: int, prefixes: list[str], **fields: object) -> Release:
    """A small release built on the model directly, as any feed would build one."""
    tag = ServiceTag("Alpha", "", "Alpha", change, prefixes, **fields)  # type: ignore[arg-type]
    origin = f"https://example.test/{change}.json"
    return Release("Public", change, origin, "json", {"Alpha": tag}, mark=str(change))


def test_a_kept_release_reads_back_the_same(tmp_path: Path) -> None:
    folder = KeptFolder(tmp_path / "kept")
    release = parsed(NEW)
    entry = folder.keep(release)
    assert entry is not None
    assert entry.mark == "373"
    back = folder.load(entry)
    assert back.tags == release.tags
    assert (back.cloud, back.change_number, back.kind) == ("Public", 373, "json")
    api = Release("Public", "95", "api", "api", release.tags, mark="api-95")
    api_entry = folder.keep(api)
    assert api_entry is not None
    assert api_entry.mark == "api-95"
    assert folder.load(api_entry).kind == "api"
    assert folder.keep(release) == entry  # same content, kept once


def test_only_the_newest_are_kept(tmp_path: Path) -> None:
    folder = KeptFolder(tmp_path, keep=3)
    start = datetime(2025, 10, 1, tzinfo=UTC)
    for week in range(5):
        folder.keep(tiny(week, [f"192.0.2.{week}/32"]), now=start + timedelta(days=7 * week))
    assert [e.change_number for e in folder.entries()] == [2, 3, 4]
    assert len(list(tmp_path.iterdir())) == 6  # a document and a record each
    assert folder.before(tiny(4, ["192.0.2.4/32"])).change_number == 3  # type: ignore[union-attr]
    assert KeptFolder(tmp_path).keep_count == MAX_KEPT


def test_the_one_before_is_of_the_same_cloud(tmp_path: Path) -> None:
    folder = KeptFolder(tmp_path)
    folder.keep(tiny(1, ["192.0.2.1/32"]))
    other = Release("China", 2, "x", "json", tiny(2, ["192.0.2.2/32"]).tags, mark="2")
    folder.keep(other)
    found = folder.before(tiny(3, ["192.0.2.3/32"]))
    assert found is not None
    assert found.cloud == "Public"
    assert folder.before(tiny(1, ["192.0.2.1/32"])) is None  # only itself is kept


def test_a_damaged_document_is_refused_in_one_line(tmp_path: Path) -> None:
    folder = KeptFolder(tmp_path)
    entry = folder.keep(tiny(1, ["192.0.2.1/32"], region_id=3, network_features=["NSG"]))
    assert entry is not None
    body = tmp_path / f"{entry.name}.json.xz"
    import lzma

    body.write_bytes(lzma.compress(document(tiny(1, ["192.0.2.99/32"]))))
    with pytest.raises(FeedError, match=r"kept release 1 .* is missing or damaged"):
        folder.load(entry)


def test_a_folder_others_may_write_is_not_used(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    folder = KeptFolder(shared)
    assert folder.keep(tiny(1, ["192.0.2.1/32"])) is None
    assert folder.entries() == []


def test_the_document_is_the_same_bytes_for_the_same_content() -> None:
    one = tiny(1, ["192.0.2.1/32"], state="GA")
    again = Release("Public", 1, "elsewhere", "json", dict(one.tags), mark="1")
    assert document(one) == document(again)
    assert json.loads(document(one))["values"][0]["properties"]["state"] == "GA"
