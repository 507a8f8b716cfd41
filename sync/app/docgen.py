"""Generate the reference parts of the docs from the code: ``python -m sync.app.docgen``.

A page marks a generated part with ``<!-- generated: NAME -->`` ... ``<!-- /generated -->``;
this module rewrites what is between the markers from the pydantic models (settings, target
fields, the report) and the argument parser (the CLI). ``--check`` rewrites nothing and exits 1
naming the pages that are stale, so a change to a model or an option cannot leave its page
behind.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import types
import typing
from collections.abc import Callable, Iterator, Sequence
from enum import Enum
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from annotated_types import Ge, Gt, Le, Lt, MinLen
from pydantic import BaseModel, SecretStr
from pydantic_core import PydanticUndefined

from sync.app.schema import describe, target_models
from sync.kinds import get_kind
from sync.kinds.base import TargetSpec

DOCS = Path(__file__).resolve().parents[2] / "docs"
BLOCK = re.compile(
    r"(<!-- generated: (?P<name>[a-z-]+) -->\n)(?P<body>.*?)(<!-- /generated -->)", re.DOTALL
)


def type_name(annotation: Any) -> str:
    """A field's type as a reader of a config file sees it (JSON/TOML words, not Python)."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is typing.Annotated:
        return type_name(args[0])
    if origin is Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if origin in (typing.Union, types.UnionType):
        kept = [a for a in args if a is not type(None)]
        text = " or ".join(type_name(a) for a in kept)
        return f"{text} (optional)" if len(kept) < len(args) else text
    if origin in (list, tuple) and (origin is list or (len(args) == 2 and args[1] is Ellipsis)):
        return f"list of {type_name(args[0])}" if args else "list"
    if origin is tuple:
        return "[" + ", ".join(type_name(a) for a in args) + "]"
    if origin is dict or annotation is dict:
        return "table"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "table"
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return " \\| ".join(f"`{m.value}`" for m in annotation)
    names = {
        str: "string",
        SecretStr: "string (secret)",
        int: "integer",
        float: "number",
        bool: "boolean",
        Path: "path",
    }
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _bounds(metadata: Sequence[Any]) -> str:
    parts = []
    for item in metadata:
        if isinstance(item, Ge):
            parts.append(f">= {item.ge}")
        elif isinstance(item, Gt):
            parts.append(f"> {item.gt}")
        elif isinstance(item, Le):
            parts.append(f"<= {item.le}")
        elif isinstance(item, Lt):
            parts.append(f"< {item.lt}")
        elif isinstance(item, MinLen):
            parts.append(f"at least {item.min_length}")
    return ", ".join(parts)


def _default(model: type[BaseModel], name: str) -> str:
    info = model.model_fields[name]
    if info.default_factory is not None:
        value = info.default_factory()  # type: ignore[call-arg]
    elif info.default is PydanticUndefined:
        return "**required**"
    else:
        value = info.default
    if value is None:
        return "unset"
    if isinstance(value, tuple):
        value = list(value)
    return f"`{json.dumps(value, default=str)}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def field_table(
    model: type[BaseModel], names: Sequence[str], label: Callable[[str], str]
) -> list[str]:
    """A Markdown table of ``model``'s fields ``names``: name, type, default, description."""
    lines = ["| name | type | default | description |", "|---|---|---|---|"]
    for name in names:
        info = model.model_fields[name]
        kind = type_name(info.annotation)
        bounds = _bounds(info.metadata)
        if bounds:
            kind = f"{kind}, {bounds}"
        lines.append(
            f"| {label(name)} | {kind} | {_default(model, name)} | {_cell(describe(model, name))} |"
        )
    return lines


def settings_block() -> list[str]:
    from sync.settings import Settings

    return field_table(
        Settings, list(Settings.model_fields), lambda n: f"`IPSYNC_{n.upper()}`<br>`{n}`"
    )


def app_settings_block() -> list[str]:
    from sync.app.app_settings import AppSettings

    return field_table(
        AppSettings, list(AppSettings.model_fields), lambda n: f"`IPSYNC_{n.upper()}`"
    )


def targets_block() -> list[str]:
    common = list(TargetSpec.model_fields)
    lines = ["### Fields every kind has", ""]
    lines += field_table(TargetSpec, common, lambda n: f"`{n}`")
    lines += [
        "",
        "A kind may change a common field's default (the list kinds sync `v4` only); its own "
        "table says so.",
    ]
    tag_rows = []
    for name, model in target_models():
        kind = get_kind(name)
        own = [
            n
            for n, info in model.model_fields.items()
            if n not in common or info.default != TargetSpec.model_fields[n].default
        ]
        lines += ["", f"### `{name}`", "", f"{model.__doc__ or ''}".strip().split("\n")[0], ""]
        lines += [
            f"Resource type `{kind.arm_type}`; the resource id goes in `{kind.id_field}`.",
            "",
        ]
        lines += field_table(model, own, lambda n: f"`{n}`")
        suffixes = ", ".join(f"`-{s}` ({f})" for s, f in kind.tag_fields.items()) or "none"
        tag_rows.append(f"| `{name}` | {suffixes} |")
    from sync.targets import COMMON_TAG_FIELDS

    common_tags = ", ".join(f"`-{s}` ({f})" for s, f in COMMON_TAG_FIELDS.items())
    lines += [
        "",
        "### Discovery tags",
        "",
        f"Every kind: {common_tags}. Per kind:",
        "",
        "| kind | tag suffixes |",
        "|---|---|",
        *tag_rows,
    ]
    return lines


def _option(action: argparse.Action) -> str:
    if action.option_strings:
        flags = ", ".join(action.option_strings)
        if action.nargs != 0:
            flags += f" {action.metavar or action.dest.upper()}"
        return f"`{flags}`"
    name = action.metavar or action.dest
    more = " ..." if action.nargs in ("+", "*", argparse.REMAINDER) else ""
    return f"`{name}{more}`"


def _actions(parser: argparse.ArgumentParser) -> Iterator[argparse.Action]:
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        yield action


def _action_row(action: argparse.Action) -> str:
    text = action.help or ""
    if action.choices and not isinstance(action, argparse._SubParsersAction):
        text = f"{text} (one of {', '.join(f'`{c}`' for c in action.choices)})".strip()
    if action.default not in (None, False, argparse.SUPPRESS):
        text = f"{text}; default `{action.default}`".lstrip("; ")
    return f"| {_option(action)} | {_cell(text.strip())} |"


def _usage_notes(command: str) -> list[str]:
    """A command's examples (a shell block) and exit codes (a table), as ``--help`` ends."""
    from sync.app.cli_help import EXAMPLES, EXIT_CODES

    lines: list[str] = []
    examples = EXAMPLES.get(command, ())
    if examples:
        lines += ["", "```sh"]
        for text, note in examples:
            lines += [f"# {note}", text.format(prog="python -m sync")]
        lines.append("```")
    codes = EXIT_CODES.get(command, ())
    if codes:
        lines += ["", "| exit code | meaning |", "|---|---|"]
        lines += [f"| {code} | {_cell(meaning)} |" for code, meaning in codes]
    return lines


def cli_block() -> list[str]:
    from sync.app.cli import build_parser

    parser = build_parser()
    lines = ["| option | meaning |", "|---|---|", *(_action_row(a) for a in _actions(parser))]
    lines += _usage_notes("")
    subs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {c.dest: c.help or "" for c in subs._choices_actions}
    for name, sub in subs.choices.items():
        summary = helps.get(name, "").rstrip(".")
        lines += ["", f"### `{name}`", "", summary[:1].upper() + summary[1:] + ".", ""]
        rows = [_action_row(a) for a in _actions(sub)]
        if rows:
            lines += ["| argument | meaning |", "|---|---|", *rows]
        else:
            lines.append("No arguments.")
        lines += _usage_notes(name)
    return lines


def report_block() -> list[str]:
    from sync.report import Change, Fit, Report, SourceInfo, TargetReport

    lines: list[str] = []
    for model, title in (
        (Report, "report"),
        (SourceInfo, "`source`"),
        (TargetReport, "`targets[]`"),
        (Change, "`changes[]` and `held_back[]`"),
        (Fit, "`fit`"),
    ):
        lines += [f"### {title}", ""]
        lines += field_table(model, list(model.model_fields), lambda n: f"`{n}`")
        lines.append("")
    return lines[:-1]


BLOCKS: dict[str, Callable[[], list[str]]] = {
    "settings": settings_block,
    "app-settings": app_settings_block,
    "targets": targets_block,
    "cli": cli_block,
    "report": report_block,
}


def render_page(text: str) -> str:
    """The page with every generated part rewritten; an unknown part name is an error."""

    def replace(match: re.Match[str]) -> str:
        name = match["name"]
        if name not in BLOCKS:
            raise KeyError(f"unknown generated part {name!r}")
        body = "\n".join(BLOCKS[name]())
        return f"{match[1]}\n{body}\n\n{match[4]}"

    return BLOCK.sub(replace, text)


def pages(docs: Path = DOCS) -> Iterator[Path]:
    """The pages holding a generated part."""
    for path in sorted(docs.rglob("*.md")):
        if BLOCK.search(path.read_text(encoding="utf-8")):
            yield path


def stale(docs: Path = DOCS) -> list[Path]:
    """Pages whose generated parts differ from what the code says now."""
    return [
        p
        for p in pages(docs)
        if render_page(p.read_text(encoding="utf-8")) != p.read_text(encoding="utf-8")
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sync.app.docgen", description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 when a page is stale")
    args = parser.parse_args(argv)
    if args.check:
        old = stale()
        for path in old:
            print(f"stale: {path} (run python -m sync.app.docgen)", file=sys.stderr)
        return 1 if old else 0
    for path in pages():
        text = path.read_text(encoding="utf-8")
        new = render_page(text)
        if new != text:
            path.write_text(new, encoding="utf-8")
            print(f"updated {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
