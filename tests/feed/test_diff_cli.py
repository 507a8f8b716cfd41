"""``python -m sync diff``: files of any feed, ``latest`` and ``previous`` from the archived
releases, output forms and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import netaddr
import pytest

from sync.app.cli import main
from sync.feeds.archive import cache_archive

from .conftest import DATA, raw_json

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
    assert len(cache_archive(tmp_path).entries()) == 2


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "ipsync.json"
    path.write_text(json.dumps({"cache_dir": str(tmp_path)}))
    return path


def test_files_of_another_feed(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    aws = DATA / "feeds"
    old, new = (
        aws / "aws-ip-ranges-20260703172705.json.xz",
        aws / "aws-ip-ranges-20260703194705.json.xz",
    )
    cache = ["--config", str(_config(tmp_path))]
    code, out, err = run(capsys, "diff", str(old), str(new), "--feed", "aws", "--json", *cache)
    assert (code, err) == (2, "")
    body = json.loads(out)
    assert (body["old"], body["new"]) == ("aws-1783099625", "aws-1783108025")
    assert body["tags"]["EC2.ap-southeast-3"] == {"added": ["1.178.86.0/24"], "removed": []}
