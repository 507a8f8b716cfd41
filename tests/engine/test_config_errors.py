"""A mistake in the settings reads as one: the file, the line and the key as written, in the
file's own words, exit 1 before any Azure call; ``./ipsync.toml`` is read without --config."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from sync.app.cli import main
from sync.errors import SettingsError
from sync.kinds import KIND_NAMES
from sync.settings import load_settings

RELEASE = (
    Path(__file__).resolve().parents[2] / "tests" / "data" / "ServiceTags_Public_20251017.json.xz"
)
NSG = (
    "/subscriptions/5eed0000-0000-4000-8000-000000000001/resourceGroups/rg/providers/"
    "Microsoft.Network/networkSecurityGroups/nsg"
)
STORAGE = (
    "/subscriptions/5eed0000-0000-4000-8000-000000000001/resourceGroups/rg/providers/"
    "Microsoft.Storage/storageAccounts/st1"
)
#: An endpoint nothing listens on: a run that reached Azure would fail with a connection error.
OFFLINE = {
    "IPSYNC_ARM_ENDPOINT": "https://127.0.0.1:9",
    "IPSYNC_CREDENTIAL": "emulator",
    "IPSYNC_SUBSCRIPTION_ID": "5eed0000-0000-4000-8000-000000000001",
}


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working folder outside the checkout, with no IPSYNC_* from outside."""
    for name in [k for k in os.environ if k.upper().startswith("IPSYNC_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("IPSYNC_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_file_key_is_named_with_its_file_and_line(folder: Path) -> None:
    config = folder / "ipsync.toml"
    config.write_text('source = "download"\n\nmax_remove_ratio = 2\n')
    with pytest.raises(SettingsError) as caught:
        load_settings(config)
    assert str(caught.value) == (
        f"config file {config}, line 3: max_remove_ratio: must be at most 1.0, not 2"
    )


def test_the_same_setting_from_the_environment_is_named_as_its_variable(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IPSYNC_MAX_REMOVE_RATIO", "2")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert str(caught.value) == 'setting IPSYNC_MAX_REMOVE_RATIO: must be at most 1.0, not "2"'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('cloud = "Public"\nsource = \n', ", line 2: not valid TOML: Invalid value (column 10)"),
        ('source = ["a"]\n', ', line 1: source: must be text in quotes, not ["a"]'),
        ("parallelism = 2.5\n", ", line 1: parallelism: must be a whole number, not 2.5"),
        ('max_remove_ration = 0.1\n', ", line 1: unknown setting 'max_remove_ration'; did you "
         "mean 'max_remove_ratio'?"),
        ('service_tags = ["Storage.WestEurope"]\n', ", line 1: unknown setting 'service_tags'; "
         "it is a target's field: write it under a [[targets]] header"),
    ],
)  # fmt: skip
def test_file_errors_say_what_to_write(folder: Path, text: str, message: str) -> None:
    config = folder / "ipsync.toml"
    config.write_text(text)
    with pytest.raises(SettingsError) as caught:
        load_settings(config)
    assert str(caught.value) == f"config file {config}{message}"


def test_a_json_file_names_the_line_too(folder: Path) -> None:
    config = folder / "ipsync.json"
    config.write_text(json.dumps({"source": "download", "time_budget_s": -1}, indent=2))
    with pytest.raises(SettingsError, match=r"ipsync.json, line 3: time_budget_s: must be more"):
        load_settings(config)


@pytest.mark.parametrize(
    ("target", "problem"),
    [
        (f'nsg = "{NSG}"\nservice_tags = "Storage.WestEurope"',
         'service_tags: must be a list ["..."], not "Storage.WestEurope"'),
        (f'storage = "{STORAGE}"\nservice_tags = ["Storage.WestEurope"]',
         'no kind given; write kind = "storage" and resource = "<its id>" (only an NSG may be '
         'named by nsg = "<its id>")'),
        (f'kind = "stroage"\nresource = "{STORAGE}"\nservice_tags = ["AzureCloud"]',
         f"unknown kind 'stroage' (did you mean 'storage'?); kinds: {', '.join(KIND_NAMES)}"),
        (f'nsg = "{NSG}"\nservice_tags = ["Storage.WestEurope"]\npriority_rang = [200, 299]',
         "priority_rang: not a field of nsg targets (did you mean 'priority_range'?)"),
    ],
)  # fmt: skip
def test_a_target_written_wrong_is_a_config_error_before_any_azure_call(
    folder: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    target: str,
    problem: str,
) -> None:
    for name, value in OFFLINE.items():
        monkeypatch.setenv(name, value)
    good = f'[[targets]]\nnsg = "{NSG}"\nservice_tags = ["AzureCloud"]\n'
    (folder / "ipsync.toml").write_text(f'source = "{RELEASE}"\n\n{good}\n[[targets]]\n{target}\n')
    code, out, err = run(capsys, "plan")
    assert (code, out) == (1, "")
    assert err == f"error: target #2 (config file ipsync.toml, line 7): {problem}\n"


def test_a_bad_source_is_named_where_it_was_given(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "prefixes", "AzureCloud", "--source", "nope.json")
    assert (code, err) == (1, "error: --source nope.json: cannot read the file (No such file or "
                              "directory)\n")  # fmt: skip
    (folder / "ipsync.toml").write_text('source = "nope.json"\n')
    code, _, err = run(capsys, "tags")
    assert code == 1
    assert err == (
        "error: config file ipsync.toml, line 1: source nope.json: cannot read the file "
        "(No such file or directory)\n"
    )


def test_ipsync_toml_in_the_folder_is_read_without_config(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "plan")
    assert code == 1
    assert err.startswith("error: nothing to sync: no targets; name them under [[targets]] in ")
    assert "./ipsync.toml (or the file --config names)" in err
    (folder / "ipsync.toml").write_text('max_remove_ratio = "lots"\n')
    code, _, err = run(capsys, "plan")
    assert code == 1
    assert err == (
        'error: config file ipsync.toml, line 1: max_remove_ratio: must be a number, not "lots"\n'
    )
