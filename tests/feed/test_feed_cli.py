"""``python -m sync prefixes|tags`` and ``--source`` forms: output, and one-line errors (exit 1)."""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sync import __version__
from sync.app.cli import main
from sync.core.fit import fit, fit_family
from sync.core.selection import select
from sync.feeds import load_release
from sync.settings import load_settings

from .conftest import DATA, PUBLIC, XML, parsed, release_bytes

SOURCE = str(DATA / PUBLIC)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], list[str]]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out.splitlines(), err.splitlines()


def test_prefixes_prints_the_aggregate(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys, "prefixes", "Storage.WestEurope", "azuremonitor", "--source", SOURCE
    )
    assert (code, err) == (0, [])
    expected = select(parsed(PUBLIC), ["Storage.WestEurope", "AzureMonitor"])
    assert out == list(expected.prefixes)
    assert ":" not in out[0]
    assert ":" in out[-1]


def test_prefixes_one_family(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "prefixes", "AzureCloud", "--source", SOURCE, "--family", "v6")
    assert code == 0
    assert out == list(select(parsed(PUBLIC), ["AzureCloud"]).v6)


def test_prefixes_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "prefixes", "AzureMonitor", "--source", SOURCE, "--json")
    data = json.loads("\n".join(out))
    assert code == 0
    assert data == select(parsed(PUBLIC), ["AzureMonitor"]).as_dict()


def test_source_from_the_environment(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IPSYNC_SOURCE", SOURCE)
    code, out, _ = run(capsys, "prefixes", "ActionGroup")
    assert code == 0
    assert out == list(select(parsed(PUBLIC), ["ActionGroup"]).prefixes)


def test_tags_lists_with_filters(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "tags", "--source", SOURCE, "--region", "WestEurope", "--match", "storage"
    )
    assert code == 0
    names = [line.split()[0] for line in out[1:]]
    assert "Storage.WestEurope" in names
    assert all("storage" in n.lower() for n in names)
    row = next(line.split() for line in out if line.startswith("Storage.WestEurope "))
    tag = parsed(PUBLIC).tags["Storage.WestEurope"]
    v4 = [p for p in tag.address_prefixes if ":" not in p]
    assert row[1:] == [
        "westeurope",
        str(tag.change_number),
        str(len(v4)),
        str(len(tag.address_prefixes) - len(v4)),
    ]


def test_tags_of_the_legacy_xml(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "tags", "--source", str(DATA / XML), "--match", "europe")
    assert code == 0
    assert [line.split()[0] for line in out[1:]] == ["europenorth", "europewest"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["prefixes", "Storage.WestEurop"], "did you mean Storage.WestEurope"),
        (
            ["prefixes", "AzureCloud", "--cloud", "China"],
            "cloud 'Public' but IPSYNC_CLOUD is 'China'",
        ),
    ],
)
def test_feed_errors_are_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = run(capsys, *argv, "--source", SOURCE)
    assert (code, out, len(err)) == (1, [], 1)
    assert err[0].startswith("error: ")
    assert message in err[0]


def test_bad_files_are_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    cases = {
        "page.json": (b"<!doctype html><html></html>", "looks like an HTML page"),
        "cut.json.gz": (gzip.compress(release_bytes(PUBLIC)[:100_000]), "truncated"),
        "text.json": (b"hello", "not JSON"),
    }
    for name, (body, message) in cases.items():
        (tmp_path / name).write_bytes(body)
        code, out, err = run(capsys, "tags", "--source", str(tmp_path / name))
        assert (code, out, len(err)) == (1, [], 1), name
        assert str(tmp_path / name) in err[0]
        assert message in err[0]


def test_missing_file_names_the_setting(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    code, _, err = run(capsys, "prefixes", "AzureCloud", "--source", str(missing))
    assert code == 1
    assert len(err) == 1
    assert f"--source {missing}: cannot read the file" in err[0]


def test_plain_http_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "tags", "--source", "http://example.com/ServiceTags_Public.json")
    assert code == 1
    assert len(err) == 1
    assert "only https:// URLs are accepted" in err[0]


def test_load_release_passes_the_prefix_bounds(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_bytes(release_bytes(PUBLIC))
    assert load_release(load_settings(source=str(path))).change_number == 373
    from sync.errors import FeedError

    with pytest.raises(FeedError, match=r"IPSYNC_MIN_PREFIXLEN_V4"):
        load_release(load_settings(source=str(path), min_prefixlen_v4=20))


def test_module_entry_point_exits_1_without_traceback() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sync", "prefixes", "NoSuchTag", "--source", SOURCE],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr
    assert "service tag 'NoSuchTag' is not in the Public release 373" in result.stderr


def test_closed_pipe_ends_quietly() -> None:
    """``prefixes AzureCloud | head -n 1``: the reader leaves early; no traceback, exit 0."""
    command = (
        f"'{sys.executable}' -m sync prefixes AzureCloud --source '{SOURCE}' | head -n 1; "
        "exit ${PIPESTATUS[0]}"
    )
    done = subprocess.run(
        ["bash", "-c", command],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        check=False,
    )
    assert done.stdout.count("\n") == 1
    assert "/" in done.stdout
    assert done.returncode == 0
    assert "Traceback" not in done.stderr


def cli(
    *argv: str, source: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m sync ARGV --source SOURCE`` in a fresh process (``env`` added to its own)."""
    return subprocess.run(
        [sys.executable, "-m", "sync", *argv, *(["--source", SOURCE] if source else [])],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, **(env or {})},
    )


def test_max_entries_prints_the_fit_and_its_cost() -> None:
    """AzureCloud.westeurope (about 415 IPv4 prefixes) into a Storage account's 400 rules."""
    done = cli("prefixes", "AzureCloud.westeurope", "--family", "v4", "--max-entries", "400")
    v4 = select(parsed(PUBLIC), ["AzureCloud.westeurope"], families=["v4"]).v4
    expected = fit_family(v4, 400)
    assert done.returncode == 0
    assert done.stdout.splitlines() == list(expected.blocks)
    assert len(expected.blocks) == 400 < len(v4)
    percent = f"{100 * expected.extra_addresses / expected.published:.3g}%"
    assert done.stderr == (
        f"v4: fitted {len(v4)} -> 400 blocks: +{expected.extra_addresses:,} addresses ({percent})\n"
    )


def test_max_entries_json_shares_the_capacity() -> None:
    done = cli("prefixes", "AzureCloud", "--max-entries", "1000", "--json")
    selection = select(parsed(PUBLIC), ["AzureCloud"])
    expected = fit({"v4": selection.v4, "v6": selection.v6}, 1000)
    data = json.loads(done.stdout)
    assert (done.returncode, done.stderr) == (0, "")
    assert data["sha256"] == selection.sha256
    for family, result in expected.items():
        assert data[family] == list(result.blocks)
        assert data["fit"][family] == {
            "count": len(result.blocks),
            "capacity": result.capacity,
            "extra_addresses": result.extra_addresses,
            "published_addresses": result.published,
        }
    assert data["fit"]["v4"]["count"] + data["fit"]["v6"]["count"] <= 1000
    assert data["fit"]["v4"]["extra_addresses"] > 0


def test_max_entries_with_room_for_all_changes_nothing() -> None:
    plain = cli("prefixes", "Storage.WestEurope", "AzureMonitor")
    count = len(plain.stdout.splitlines())
    roomy = cli("prefixes", "Storage.WestEurope", "AzureMonitor", "--max-entries", str(count))
    assert (plain.returncode, roomy.returncode) == (0, 0)
    assert roomy.stdout == plain.stdout
    assert roomy.stderr == ""


def test_max_entries_too_small_is_one_line() -> None:
    done = cli("prefixes", "AzureMonitor", "--max-entries", "1")
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == (
        "error: --max-entries 1: IPv4 and IPv6 need at least 1 + 1 entries; the capacity is 1\n"
    )


@pytest.mark.parametrize(
    "argv",
    [["plan", "--bogus"], ["plan", "--jsno"], ["plan", "--config"], ["tags", "--cloud", "Mars"]],
)
def test_usage_errors_exit_1_not_2(argv: list[str]) -> None:
    """2 means "changes pending" to a CI job: a typo must not read as that."""
    done = cli(*argv, source=False)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("error: ")
    assert "--help" in done.stderr


def test_usage_error_with_json_is_json_on_stdout_too() -> None:
    done = cli("plan", "--json", "--bogus", source=False)
    assert done.returncode == 1
    body = json.loads(done.stdout)
    assert body["ok"] is False
    assert "--bogus" in body["error"]
    assert done.stderr == f"error: {body['error']}\n"


def test_error_with_json_is_json_on_stdout_too() -> None:
    done = cli("prefixes", "NoSuchTag", "--json")
    assert done.returncode == 1
    body = json.loads(done.stdout)
    assert (body["ok"], "NoSuchTag" in body["error"]) == (False, True)
    assert done.stderr == f"error: {body['error']}\n"


def test_version() -> None:
    done = cli("--version", source=False)
    assert (done.returncode, done.stdout) == (0, f"ipsync {__version__}\n")


def test_tags_json_lists_the_selected_tags() -> None:
    done = cli("tags", "--match", "storage.west", "--json", "-v")
    assert (done.returncode, done.stderr) == (0, "")
    rows = json.loads(done.stdout)
    release = parsed(PUBLIC)
    assert {row["name"] for row in rows} == {
        t.name for t in release.tags.values() if "storage.west" in t.name.lower()
    }
    row = next(r for r in rows if r["name"] == "Storage.WestEurope")
    tag = release.tags["Storage.WestEurope"]
    assert row["v4"] + row["v6"] == len(tag.address_prefixes)
    assert (row["region"], row["change_number"]) == (tag.region, tag.change_number)


def test_config_must_be_toml_or_json(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# not settings\n")
    done = cli("tags", "--config", str(readme))
    assert done.returncode == 1
    assert done.stderr == f"error: config file {readme}: must be a .toml or .json file\n"


def test_empty_variables_are_unset() -> None:
    """Function App settings are often present and empty: read as unset, not as values."""
    empty = {"IPSYNC_SOURCE": "", "IPSYNC_CLOUD": "", "IPSYNC_MIN_PREFIXLEN_V4": ""}
    done = cli("prefixes", "AzureMonitor", env=empty)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines() == list(select(parsed(PUBLIC), ["AzureMonitor"]).prefixes)


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [("MIN_PREFIXLEN_V6", "129", "129 is outside 1-128"), ("CLOUD", "Mars", "'Mars' is not a")],
)
def test_light_settings_validate_like_settings(
    name: str, value: str, problem: str, tmp_path: Path
) -> None:
    """``prefixes`` reads its settings without pydantic, and refuses what Settings refuses."""
    light = cli("prefixes", "AzureMonitor", env={f"IPSYNC_{name}": value})
    config = tmp_path / "s.toml"
    config.write_text(f'{name.lower()} = "{value}"\n')
    full = cli("prefixes", "AzureMonitor", "--config", str(config))
    for done in (light, full):
        assert (done.returncode, done.stdout, done.stderr.count("\n")) == (1, "", 1)
        assert problem in done.stderr
    assert light.stderr.startswith(f"error: setting IPSYNC_{name}: ")
    assert full.stderr.startswith(f"error: config file {config}, line 1: {name.lower()}: ")


def test_prefixes_without_config_skip_pydantic() -> None:
    """Reading a release needs five settings: no pydantic import (a faster, smaller start)."""
    probe = (
        "import sys; from sync.app.cli import main; "
        f"main(['prefixes', 'AzureMonitor', '--source', {SOURCE!r}]); "
        "print(sorted(m for m in sys.modules if m.startswith(('pydantic', 'sync.set'))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.stdout.splitlines()[-1] == "[]"


def test_a_release_read_before_is_printed_without_logging_and_warnings_keep_their_form(
    tmp_path: Path,
) -> None:
    """The second ``prefixes`` of a release logs nothing and does not import logging; a
    warning, when one comes, is still written in the command line's form."""
    env = {"XDG_CACHE_HOME": str(tmp_path)}
    probe = (
        "import sys; from sync.app.cli import main; "
        f"main(['prefixes', 'AzureMonitor', '--source', {SOURCE!r}]); "
        "print('logging' in sys.modules)"
    )
    for _ in range(2):
        done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                              timeout=120, check=True, env={**os.environ, **env},
                              cwd=Path(__file__).resolve().parents[2])  # fmt: skip
    assert (done.stdout.splitlines()[-1], done.stderr) == ("False", "")
    (tmp_path / "ipsync").chmod(0o777)  # a cache others may write: warned, and not used
    warned = cli("prefixes", "AzureMonitor", env=env)
    assert warned.returncode == 0
    assert re.fullmatch(
        r"\d\d:\d\d:\d\d \+\d+\.\ds warning: .*/ipsync/parsed-(files|[0-9a-f]{64}): written by "
        r"another user or writable by others; ignored\n",
        warned.stderr.splitlines(keepends=True)[0],
    )
