"""The list formats: what a firewall reading each one gets, from a real release."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from sync.core.formats import EXTENSIONS, FORMATS, extension, render, split_name
from sync.core.selection import select
from sync.feeds.azure.parse import parse_release

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "tests" / "data" / "ServiceTags_Public_20251017.json.xz"


@pytest.fixture(scope="module")
def document() -> dict[str, object]:
    release = parse_release(SOURCE.read_bytes(), origin=str(SOURCE))
    body = select(release, ["AzureMonitor", "Storage.WestEurope"]).as_dict()
    return {**body, "cloud": "Public", "release": "373"}


def test_plain_is_one_cidr_per_line(document: dict[str, object]) -> None:
    text = render("plain", "edl", document).decode()
    assert text.endswith("\n")
    assert "\n\n" not in text
    assert text.splitlines() == [*document["v4"], *document["v6"]]  # type: ignore[misc]


def test_csv_rows_name_the_family(document: dict[str, object]) -> None:
    rows = list(csv.reader(io.StringIO(render("csv", "edl", document).decode())))
    assert rows[0] == ["prefix", "family"]
    assert [r[0] for r in rows[1:]] == [*document["v4"], *document["v6"]]  # type: ignore[misc]
    assert {r[1] for r in rows[1:]} == {"v4", "v6"}
    assert all(("." in p) == (f == "v4") for p, f in rows[1:])


def test_json_is_the_document(document: dict[str, object]) -> None:
    assert json.loads(render("json", "edl", document)) == document


def test_checkpoint_generic_data_center_file(document: dict[str, object]) -> None:
    data = json.loads(render("checkpoint", "azure-monitor", document))
    assert data["version"] == "1.0"
    assert "AzureMonitor" in data["description"]
    assert "373" in data["description"]
    (obj,) = data["objects"]
    assert set(obj) == {"name", "id", "description", "ranges"}
    assert obj["name"] == "azure-monitor"
    assert obj["ranges"] == [*document["v4"], *document["v6"]]  # type: ignore[misc]
    assert uuid.UUID(obj["id"]).version == 5
    # The same list keeps its object id whatever its content; another list gets another.
    again = json.loads(render("checkpoint", "azure-monitor", {"v4": ["10.0.0.0/8"]}))
    other = json.loads(render("checkpoint", "other", document))
    assert again["objects"][0]["id"] == obj["id"] != other["objects"][0]["id"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("edl", ("edl", None)),
        ("edl.txt", ("edl", "plain")),
        ("edl.json", ("edl", "json")),
        ("edl.CSV", ("edl", "csv")),
        ("edl.checkpoint.json", ("edl", "checkpoint")),
        (".json", (".json", None)),
    ],
)
def test_split_name(text: str, expected: tuple[str, str | None]) -> None:
    assert split_name(text) == expected


def test_every_format_has_one_extension() -> None:
    assert sorted(fmt for _, fmt in EXTENSIONS) == sorted(FORMATS)
    for fmt in FORMATS:
        assert split_name(f"x{extension(fmt)}") == ("x", fmt)


@pytest.mark.parametrize("fmt", FORMATS)
def test_command_line_format_matches_the_renderer(fmt: str) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sync",
            "prefixes",
            "AzureMonitor",
            "--source",
            str(SOURCE),
            "--family",
            "v4",
            "--format",
            fmt,
        ],
        capture_output=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )
    assert (done.returncode, done.stderr) == (0, b"")
    release = parse_release(SOURCE.read_bytes(), origin=str(SOURCE))
    body = select(release, ["AzureMonitor"], families=["v4"]).as_dict()
    assert done.stdout == render(fmt, "AzureMonitor", body)  # type: ignore[arg-type]
