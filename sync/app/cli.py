"""Command line (architecture contract 1): ``python -m sync COMMAND``.

Each command is a few lines over the library. Exit codes: 0 done or nothing to change,
1 error (a usage error too), 2 changes pending (``plan``) or found (``diff``), 3 refused by a
guard. An error is
one line on stderr; with ``--json`` it is also ``{"ok": false, "error": ...}`` on stdout.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from sync import __version__
from sync.app.cli_sources import FEED_HELP, SOURCE_HELP, SOURCES_HELP, split_sources
from sync.core.clouds import CLOUDS
from sync.core.formats import FORMATS
from sync.errors import IpsyncError
from sync.logs import get_logger

if TYPE_CHECKING:
    from sync.core.feed import Release
    from sync.core.fit import FamilyFit
    from sync.feedsettings import FeedSettings
    from sync.settings import Settings

VERBOSE_HELP = "more detail on stderr; twice: the Azure SDK's own logs too"

log = get_logger(__name__)
#: The settings file ``ipsync`` reads from the current folder when no ``--config`` is given
#: (here, not in :mod:`sync.configfile`: a command without one need not load that).
DEFAULT_CONFIG = Path("ipsync.toml")
#: The options that override a setting, for messages about a value given there.
FLAGS = {"source": "--source", "sources": "--source", "cloud": "--cloud"}


class UsageError(Exception):
    """A command line argparse rejects; exits 1, never 2 (which means changes pending)."""


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """argparse's, with the terminal's width looked up without ``shutil``: argparse builds a
    formatter for every option added, and ``shutil`` (with ``bz2``) costs ``prefixes`` about
    2 ms at every start."""

    def __init__(self, prog: str) -> None:
        columns = os.environ.get("COLUMNS", "")
        try:
            width = int(columns) if columns.isdigit() else os.get_terminal_size().columns
        except OSError:
            width = 80  # not a terminal: ``shutil.get_terminal_size``'s fallback
        super().__init__(prog, width=max(width, 20) - 2)


class _Parser(argparse.ArgumentParser):
    """Usage errors exit 1 (:class:`UsageError`) and name a near miss of what was meant."""

    #: The subcommands' parsers, by name (on the top-level parser).
    commands: dict[str, argparse.ArgumentParser]

    def error(self, message: str) -> NoReturn:
        from sync.app.cli_help import explain

        commands = getattr(self, "commands", {})
        raise UsageError(f"{explain(message, commands)} (see {self.prog} --help)")


def _feed_settings(args: argparse.Namespace) -> Settings | FeedSettings:
    """Settings for reading a release of ``--feed``: without a config file or the ``api``
    source only the feeds' own settings are read (no pydantic-settings import, a faster
    start). ``--source`` is the azure feed's source setting; other feeds take it apart."""
    from sync.feeds import DEFAULT_FEED

    azure = (args.feed or DEFAULT_FEED) == DEFAULT_FEED
    overrides = {"source": args.source if azure else None, "cloud": args.cloud}
    if _config(args) is None:
        from sync.feedsettings import load_feed_settings

        light = load_feed_settings(FLAGS, **overrides)
        if not (azure and light.source.strip() == "api"):
            return light
    return _settings(args, **overrides)


def _release(args: argparse.Namespace) -> Release:
    """The release ``prefixes`` and ``tags`` read: of ``--feed`` (azure by default), from
    ``--source`` when given."""
    from sync.feeds import DEFAULT_FEED, load_release

    feed = args.feed or DEFAULT_FEED
    source = None if feed == DEFAULT_FEED else args.source  # the azure feed's is a setting
    return load_release(_feed_settings(args), feed, source=source)


def _selectors(args: argparse.Namespace, release: Release) -> list[str]:
    """The selectors named, or the feed's own selection when it has one (a url feed)."""
    if args.tags:
        return list(args.tags)
    from sync.errors import SettingsError
    from sync.feeds import DEFAULT_FEED, get_feed

    feed, _ = get_feed(args.feed or DEFAULT_FEED)
    implicit = feed.implicit(release)
    if not implicit:
        raise SettingsError(
            f"name at least one SELECTOR of the {feed.name} feed ({feed.selectors})"
        )
    return list(implicit)


def _config(args: argparse.Namespace) -> Path | None:
    """The settings file: ``--config``, else ``./ipsync.toml`` when there is one."""
    if args.config is not None:
        return Path(args.config)
    return DEFAULT_CONFIG if DEFAULT_CONFIG.is_file() else None


def _settings(args: argparse.Namespace, **overrides: Any) -> Settings:
    """All settings, warning of ``IPSYNC_*`` variables that name none."""
    from sync.feedsettings import unknown_variables
    from sync.settings import Settings, load_settings

    for warning in unknown_variables(Settings.model_fields):
        log.warning("%s", warning)
    return load_settings(_config(args), origins=FLAGS, **overrides)


def _cmd_prefixes(args: argparse.Namespace) -> int:
    from sync.core.formats import Format, render
    from sync.core.prefixes import FAMILIES, Family
    from sync.core.selection import select
    from sync.errors import SettingsError

    release = _release(args)
    families: tuple[Family, ...] = FAMILIES if args.family == "both" else (args.family,)
    selection = select(release, _selectors(args, release), families=families)
    fmt: Format = "json" if args.json else args.format
    body = selection.as_dict(fingerprint=fmt == "json")  # only JSON shows it
    if args.max_entries is not None:
        from sync.core.fit import fit

        try:
            fitted = fit({f: selection.family(f) for f in families}, args.max_entries)
        except ValueError as exc:
            raise SettingsError(f"--max-entries {args.max_entries}: {exc}") from None
        refusal = _overfit(selection.tags, fitted, args)
        if refusal:
            print(f"refused: {refusal}", file=sys.stderr)
            return 3
        body.update({f: list(result.blocks) for f, result in fitted.items()})
        body["fit"] = {
            f: {
                "count": len(result.blocks),
                "capacity": result.capacity,
                "extra_addresses": result.extra_addresses,
                "published_addresses": result.published,
            }
            for f, result in fitted.items()
        }
    sys.stdout.write(render(fmt, "+".join(selection.tags), body).decode())
    if args.max_entries is not None and fmt != "json":  # JSON carries the fit itself
        for f in families:
            result = fitted[f]
            if not result.exact:
                percent = 100 * float(result.extra_ratio)
                print(
                    f"{f}: fitted {len(selection.family(f))} -> {len(result.blocks)} blocks: "
                    f"+{result.extra_addresses:,} addresses ({percent:.3g}%)",
                    file=sys.stderr,
                )
    return 0


def _overfit(
    tags: Sequence[str], fitted: Mapping[str, FamilyFit], args: argparse.Namespace
) -> str | None:
    """Why a fit that allows too many unpublished addresses is refused (``--max-extra-ratio``,
    as a target's ``max_extra_ratio``: a firewall pulling the list must not allow the world)."""
    from sync.core.budget import FitAccount
    from sync.core.guards import fit_guard

    account = FitAccount(
        sum(len(r.blocks) for r in fitted.values()),
        args.max_entries,
        sum(r.extra_addresses for r in fitted.values()),
        {f: r.published for f, r in fitted.items()},
        {f: r.extra_addresses for f, r in fitted.items()},
        f"--max-entries {args.max_entries}",
    )
    return fit_guard(
        f"prefixes {'+'.join(tags)}", account, args.max_extra_ratio, "raise --max-extra-ratio"
    )


def _cmd_tags(args: argparse.Namespace) -> int:
    release = _release(args)
    needle = (args.match or "").lower()
    region = _region_id(args.region or "")
    if region and not any(_region_id(tag.region) == region for tag in release.tags.values()):
        from sync.app.cli_help import did_you_mean

        regions = sorted({tag.region for tag in release.tags.values() if tag.region})
        raise IpsyncError(
            f"--region {args.region}: no tag of this release is in that region"
            f"{did_you_mean(region, regions)}; regions: {', '.join(regions)}"
        )
    rows = []
    for tag in release.tags.values():
        if needle and needle not in tag.name.lower():
            continue
        if region and _region_id(tag.region) != region:
            continue
        v4 = sum(1 for p in tag.address_prefixes if ":" not in p)
        rows.append(
            {
                "name": tag.name,
                "region": tag.region,
                "system_service": tag.system_service,
                "change_number": tag.change_number,
                "v4": v4,
                "v6": len(tag.address_prefixes) - v4,
            }
        )
    if args.json:
        import json

        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'tag':<48} {'region':<22} {'change':>6} {'v4':>6} {'v6':>6}")
    for row in rows:
        print(
            f"{row['name']:<48} {row['region'] or '-':<22} {row['change_number']!s:>6} "
            f"{row['v4']:>6} {row['v6']:>6}"
        )
    return 0


def _cmd_diff(args: argparse.Namespace) -> int:
    from sync.app.cli_diff import diff_command

    return diff_command(args, _feed_settings, _release)


def _region_id(name: str) -> str:
    """A region as the release names it: ``West Europe`` and ``westeurope`` are the same."""
    return re.sub(r"[\s_-]+", "", name).lower()


def _cmd_sync(args: argparse.Namespace) -> int:
    from sync.app.cli_sync import sync_command

    dry_run = True if args.command == "plan" else None
    source, files = split_sources(args.source)
    settings = _settings(args, dry_run=dry_run, source=source, cloud=args.cloud)
    if files:  # each over what IPSYNC_SOURCES says of its feed
        settings = settings.model_copy(update={"sources": {**settings.sources, **files}})
    if getattr(args, "impact", False) or getattr(args, "offline", False):
        from sync.app.cli_diff import impact_command
        from sync.targets import check_explicit_targets

        check_explicit_targets(settings)
        return impact_command(args, settings)
    return sync_command(args, settings, args.prog)


def _cmd_demo(args: argparse.Namespace) -> int:
    from sync.app.demo import demo

    return demo(args.data)


def _cmd_schema(args: argparse.Namespace) -> int:
    import json

    from sync.app.schema import config_schema

    print(json.dumps(config_schema(), indent=2))
    return 0


def _cmd_emulator(args: argparse.Namespace) -> int:
    """Alias of ``python -m armemu``, where the emulator is installed (a checkout, not a wheel)."""
    try:
        from armemu.__main__ import main as emulator_main
    except ImportError:
        from sync.app.demo import NO_EMULATOR

        raise IpsyncError(NO_EMULATOR) from None
    return emulator_main(args.emulator_args, prog="python -m sync emulator")


#: The commands, as the parser names them.
COMMANDS = ("prefixes", "tags", "diff", "plan", "apply", "demo", "schema", "emulator")


def build_parser(prog: str = "python -m sync", only: str | None = None) -> _Parser:
    """The whole command line; only the top level and ``only``'s own parser when it names a
    command (each parser built costs start-up time, and ``prefixes`` is run from scripts)."""
    from sync.app.cli_help import epilog

    def wanted(name: str) -> bool:
        return only is None or only == name

    def parser_for(command: str, **kwargs: Any) -> dict[str, Any]:
        return {
            "epilog": epilog(command, prog),
            "formatter_class": _Formatter,
            **kwargs,
        }

    parser = _Parser(
        prog=prog,
        description="Keep Azure allow-lists in step with Microsoft's service-tag ranges. "
        "Settings come from ./ipsync.toml (or --config FILE) and IPSYNC_* variables.",
        **parser_for(""),
    )
    parser.add_argument("--version", action="version", version=f"ipsync {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help=VERBOSE_HELP)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    parser.commands = {}

    def command(name: str, text: str, **kwargs: Any) -> argparse.ArgumentParser:
        made = sub.add_parser(name, help=text, description=text[:1].upper() + text[1:] + ".",
                              **parser_for(name, **kwargs))  # fmt: skip
        parser.commands[name] = made
        return made

    def common(p: argparse.ArgumentParser, several: bool = False) -> None:
        # A subcommand's -v counts apart: argparse would overwrite the one before the command.
        p.add_argument(
            "-v", "--verbose", action="count", default=0, dest="verbose_sub", help=VERBOSE_HELP
        )
        p.add_argument("--source", help=SOURCES_HELP if several else SOURCE_HELP,
                       action="append" if several else "store")  # fmt: skip
        p.add_argument(
            "--cloud",
            choices=list(CLOUDS),
            help="the Azure cloud whose release to read (default Public; IPSYNC_CLOUD)",
        )
        p.add_argument(
            "--config",
            type=Path,
            metavar="FILE",
            help="TOML or JSON file of settings (default: ./ipsync.toml when there is one)",
        )

    if wanted("prefixes"):
        p = command("prefixes", "aggregated prefixes of service tags or feed selectors")
        p.add_argument(
            "tags",
            nargs="*",
            metavar="SELECTOR",
            help="service tags (azure), or the selectors of --feed (a url feed needs none)",
        )
        common(p)
        p.add_argument("--feed", metavar="NAME", help=FEED_HELP)
        p.add_argument(
            "--family",
            choices=["v4", "v6", "both"],
            default="both",
            help="the IP families to print",
        )
        p.add_argument(
            "--max-entries",
            type=int,
            metavar="N",
            help="at most N blocks (shared by the families) covering every address with the "
            "fewest extra ones; the extra is reported on stderr",
        )
        p.add_argument(
            "--max-extra-ratio",
            type=float,
            default=0.1,
            metavar="R",
            help="with --max-entries: refuse (exit 3) a fit that allows more unpublished "
            "addresses than R times the published ones, in any family (default 0.1)",
        )
        p.add_argument(
            "--format",
            choices=list(FORMATS),
            default="plain",
            help="plain: one CIDR per line (EDL); json; csv; checkpoint: Check Point's Generic "
            "Data Center file",
        )
        p.add_argument("--json", action="store_true", help="same as --format json")
        p.set_defaults(handler=_cmd_prefixes)

    if wanted("tags"):
        p = command("tags", "list the tags (or a feed's selectors) of a release")
        common(p)
        p.add_argument("--feed", metavar="NAME", help=FEED_HELP)
        p.add_argument(
            "--region",
            help='only tags of this region, by id or name, any case (westeurope, "West Europe")',
        )
        p.add_argument("--match", help="only tags whose name contains this text (any case)")
        p.add_argument("--json", action="store_true", help="print the tags as a JSON list")
        p.set_defaults(handler=_cmd_tags)

    if wanted("diff"):
        p = command("diff", "addresses added and removed per tag between two releases")
        side = "a release file, or 'latest' (the source's current release) or 'previous' (the one "
        p.add_argument("old", metavar="OLD", help=side + "before it, kept when it was read)")
        p.add_argument("new", metavar="NEW", help="as OLD")
        common(p)
        p.add_argument("--feed", metavar="NAME", help=FEED_HELP)
        p.add_argument(
            "--tag",
            action="append",
            metavar="TAG",
            help="only this tag (exact name, any case); repeat for more",
        )
        p.add_argument("--match", help="only tags whose name contains this text (any case)")
        p.add_argument("--region", help="only tags of this region (exact, any case)")
        p.add_argument(
            "--json",
            action="store_true",
            help='print {"old": mark, "new": mark, '
            '"tags": {name: {"added": [...], "removed": [...]}}}',
        )
        p.set_defaults(handler=_cmd_diff)

    for name, text in (
        ("plan", "show what would change, write nothing"),
        ("apply", "plan, then write what changed; or write exactly a plan saved with plan --out"),
    ):
        if not wanted(name):
            continue
        from sync.app.cli_sync import add_arguments

        p = command(name, text)
        common(p, several=True)
        add_arguments(p, name)
        if name == "plan":
            _impact_options(p)
        p.set_defaults(handler=_cmd_sync, prog=prog)

    if wanted("demo"):
        p = command("demo", "offline end-to-end run on the embedded emulator")
        p.add_argument("--data", type=Path, help="folder of bundled releases (default: tests/data)")
        p.set_defaults(handler=_cmd_demo)

    if wanted("schema"):
        p = command("schema", "print the JSON Schema of a config file (for editors)")
        p.set_defaults(handler=_cmd_schema)

    if wanted("emulator"):
        p = command("emulator", "run the local ARM emulator (alias of python -m armemu)",
                    add_help=False)  # fmt: skip
        p.add_argument(
            "emulator_args",
            nargs=argparse.REMAINDER,
            metavar="ARG",
            help="the emulator's own options (python -m armemu --help)",
        )
        p.set_defaults(handler=_cmd_emulator)
    return parser


def _impact_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--impact",
        action="store_true",
        help="summarise what the release changes "
        "in each target and list: entries, writes, guard refusals, totals",
    )
    p.add_argument(
        "--offline",
        action="store_true",
        help="with --impact, read no Azure "
        "resource: each target holds what ipsync last wrote (implies --impact)",
    )
    p.add_argument("--since", metavar="FILE", help="with --impact, the release to compare "
                   "with (default: the newest other release kept in the cache)")  # fmt: skip


@contextmanager
def _logging(verbosity: int, progress: bool) -> Iterator[None]:
    """The command's log format and levels (:mod:`sync.app.clilog`), set up at once for
    ``plan``, ``apply`` and ``-v``; for the others when something is first logged, so that a
    command that logs nothing does not import :mod:`logging`. Loggers are left as they were
    found (``main`` may run inside another program)."""
    from sync import logs

    began, undo = time.time(), []

    def setup() -> None:
        from sync.app.clilog import install

        undo.append(install(verbosity, progress, began))

    if progress or verbosity or "logging" in sys.modules:
        setup()
    else:
        logs.on_first_use(setup)
    try:
        yield
    finally:
        logs.on_first_use(None)
        for step in undo:
            step()


def _fail(message: str, as_json: bool) -> int:
    """One line on stderr, and with ``--json`` the error as JSON on stdout; exit 1."""
    import json

    if as_json:
        print(json.dumps({"ok": False, "error": message}))
    print(f"error: {message}", file=sys.stderr)
    return 1


def _emulator_args(argv: list[str]) -> list[str]:
    """Everything after ``emulator`` (armemu's own options, ``--help`` included): argparse
    would read the options itself."""
    for at, arg in enumerate(argv):
        if arg == "emulator":
            return argv[at + 1 :]
        if not arg.startswith("-"):
            return []
    return []


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    prog = "ipsync" if Path(sys.argv[0]).name == "ipsync" else "python -m sync"
    try:
        passed_on = _emulator_args(argv)
        named = next((a for a in argv if not a.startswith("-")), None)
        parser = build_parser(prog, named if named in COMMANDS else None)
        args, extras = parser.parse_known_args(argv[: len(argv) - len(passed_on)])
        if extras:
            from sync.app.cli_help import unknown_options

            known = parser.commands[args.command]._option_string_actions
            message = unknown_options(extras, known)
            raise UsageError(f"{message} (see {prog} {args.command} --help)")
        if args.command == "emulator":
            args.emulator_args = passed_on
    except UsageError as exc:
        return _fail(str(exc), "--json" in argv)
    as_json = bool(getattr(args, "json", False))
    verbosity = args.verbose + getattr(args, "verbose_sub", 0)
    handler: Callable[[argparse.Namespace], int] = args.handler
    quiet_gc: AbstractContextManager[None] = nullcontext()
    if args.command in ("prefixes", "tags"):
        # A command that reads a release and ends: the cycle collector would only walk the
        # release's objects.
        from sync.core.feed import paused_gc

        quiet_gc = paused_gc()
    try:
        with _logging(verbosity, progress=args.command in ("plan", "apply")), quiet_gc:
            return handler(args)
    except IpsyncError as exc:
        return _fail(str(exc), as_json)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, as other command line tools do.
        sys.stderr.close()
        return 0
