"""``prefixes --feed`` and ``tags --feed`` on offline files; without --feed, azure as before."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sync.app.cli import main

from .conftest import AWS_OLD, GITHUB


def test_prefixes_of_an_aws_selector(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["prefixes", "--feed", "aws", "--source", str(AWS_OLD), "S3.eu-west-1", "--json"]) == 0
    )
    body = json.loads(capsys.readouterr().out)
    assert body["tags"] == ["S3.eu-west-1"]
    assert "52.218.0.0/17" in body["v4"]


def test_tags_of_the_github_feed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tags", "--feed", "github", "--source", str(GITHUB), "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["actions"]["v4"] == 5953
    assert rows["actions"]["v6"] == 1641
    assert rows["hooks"]["v4"] == 4


def test_a_url_feed_needs_no_selector(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    feeds = [{"name": "office", "url": "https://lists.example.net/egress.txt"}]
    monkeypatch.setenv("IPSYNC_URL_FEEDS", json.dumps(feeds))
    path = tmp_path / "egress.txt"
    path.write_text("198.51.100.0/25\n198.51.100.128/25\n")
    assert main(["prefixes", "--feed", "url:office", "--source", str(path)]) == 0
    assert capsys.readouterr().out == "198.51.100.0/24\n"


def test_errors_are_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["prefixes", "--feed", "aws", "--source", str(AWS_OLD)]) == 1
    assert "name at least one SELECTOR of the aws feed" in capsys.readouterr().err
    assert main(["tags", "--feed", "amazon", "--source", str(AWS_OLD)]) == 1
    assert (
        capsys.readouterr().err == "error: feed 'amazon' is not a feed (aws, azure, "
        "cloudflare, github, google, m365, url)\n"
    )
    assert main(["prefixes", "--feed", "aws", "--source", str(tmp_path / "no.json"), "S3"]) == 1
    assert "--source" in capsys.readouterr().err


def test_an_offline_feed_imports_neither_pydantic_nor_httpx() -> None:
    import subprocess
    import sys

    script = (
        "import sys; from sync.app.cli import main;"
        f"main(['prefixes', '--feed', 'aws', '--source', {str(AWS_OLD)!r}, 'S3']);"
        "print(sorted(m for m in ('pydantic', 'httpx', 'jmespath') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=Path(__file__).parents[2],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert done.stdout.splitlines()[-1] == "[]"
