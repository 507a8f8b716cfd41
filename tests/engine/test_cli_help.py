"""Help that answers: every option described, examples that parse, the exit codes, and a
near miss named for a mistyped command or option."""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from sync.app.cli import build_parser, main
from sync.app.cli_help import EXAMPLES, EXIT_CODES

RELEASE = str(
    Path(__file__).resolve().parents[2] / "tests/data/ServiceTags_Public_20251017.json.xz"
)


def commands() -> dict[str, argparse.ArgumentParser]:
    return build_parser().commands


@pytest.mark.parametrize("name", ["", *commands()])
def test_every_argument_says_what_it_is_for(name: str) -> None:
    parser = commands()[name] if name else build_parser()
    blank = [
        action.option_strings or action.dest
        for action in parser._actions
        if not isinstance(action, argparse._HelpAction | argparse._SubParsersAction)
        and not action.help
    ]
    assert blank == []


@pytest.mark.parametrize("name", [n for n in commands() if n != "emulator"])
def test_help_ends_with_examples_and_exit_codes(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as done:
        main([name, "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    examples, codes = text.split("\nexamples:\n")[1].split("\nexit codes:\n")
    assert examples.count("\n  # ") == len(EXAMPLES[name]) - 1
    assert [line.split()[0] for line in codes.splitlines()] == [
        str(code) for code, _ in EXIT_CODES[name]
    ]


def test_every_example_is_a_command_line_the_parser_takes() -> None:
    parser = build_parser("ipsync")
    for examples in EXAMPLES.values():
        for text, _ in examples:
            argv = shlex.split(text.format(prog="ipsync").split(">")[0])[1:]
            if argv[0] == "COMMAND":
                continue
            args, extras = parser.parse_known_args(argv)
            assert (args.command, extras) == (argv[0], []), text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["plna"], "error: unknown command 'plna' (did you mean 'plan'?); commands: prefixes, "),
        (["tags", "--regoin", "westeurope"],
         "error: unknown option --regoin (did you mean '--region'?) (see python -m sync tags "),
        (["prefixes", "--famly=v4", "AzureCloud"],
         "error: unknown option --famly (did you mean '--family'?)"),
        (["tags", "--cloud", "public"],
         "error: --cloud: unknown value 'public' (did you mean 'Public'?); one of Public, "),
    ],
)  # fmt: skip
def test_a_near_miss_is_named(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith(message)
    assert err.count("\n") == 1


def test_a_region_is_found_by_its_name_or_its_id(capsys: pytest.CaptureFixture[str]) -> None:
    outputs = []
    for region in ("West Europe", "westeurope", "WEST-EUROPE"):
        assert main(["tags", "--source", RELEASE, "--region", region, "--match", "sql"]) == 0
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1] == outputs[2]
    assert "Sql.WestEurope " in outputs[0]
    assert main(["tags", "--source", RELEASE, "--region", "West Europ"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(
        "error: --region West Europ: no tag of this release is in that region (did you mean "
        "'westeurope'?); regions: australiacentral, "
    )


def test_the_installed_command_names_itself_in_its_help() -> None:
    command = Path(sys.executable).with_name("ipsync")
    done = subprocess.run(
        [str(command), "plan", "--help"], capture_output=True, text=True, check=True
    )
    assert done.stdout.startswith("usage: ipsync plan ")
    assert "\n  ipsync plan --config prod.toml --full\n" in done.stdout
