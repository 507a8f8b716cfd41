"""Command line (architecture contract 1): ``python -m sync COMMAND``.

Each command is a few lines over the library; errors print one line to stderr and exit 1.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from sync.core.clouds import CLOUDS
from sync.core.formats import FORMATS
from sync.errors import IpsyncError

SOURCE_HELP = "download (default), api, a file path (.json/.xml, optionally .gz/.xz) or https URL"


def _cmd_prefixes(args: argparse.Namespace) -> int:
    from sync.core.fit import fit
    from sync.core.formats import Format, render
    from sync.core.prefixes import FAMILIES, Family
    from sync.core.selection import select
    from sync.errors import SettingsError
    from sync.settings import load_settings
    from sync.sources.release import load_release

    settings = load_settings(args.config, source=args.source, cloud=args.cloud)
    release = load_release(settings)
    families: tuple[Family, ...] = FAMILIES if args.family == "both" else (args.family,)
    selection = select(release, args.tags, families=families)
    body = selection.as_dict()
    if args.max_entries is not None:
        try:
            fitted = fit({f: selection.family(f) for f in families}, args.max_entries)
        except ValueError as exc:
            raise SettingsError(f"--max-entries {args.max_entries}: {exc}") from None
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
    fmt: Format = "json" if args.json else args.format
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


def _cmd_tags(args: argparse.Namespace) -> int:
    from sync.settings import load_settings
    from sync.sources.release import load_release

    settings = load_settings(args.config, source=args.source, cloud=args.cloud)
    release = load_release(settings)
    needle = (args.match or "").lower()
    region = (args.region or "").lower()
    print(f"{'tag':<48} {'region':<22} {'change':>6} {'v4':>6} {'v6':>6}")
    for tag in release.tags.values():
        if needle and needle not in tag.name.lower():
            continue
        if region and tag.region.lower() != region:
            continue
        v4 = sum(1 for p in tag.address_prefixes if ":" not in p)
        v6 = len(tag.address_prefixes) - v4
        print(f"{tag.name:<48} {tag.region or '-':<22} {tag.change_number!s:>6} {v4:>6} {v6:>6}")
    return 0


def _cmd_sync(args: argparse.Namespace) -> int:

    from sync.app.render import render
    from sync.engine import run
    from sync.settings import load_settings

    dry_run = True if args.command == "plan" else None
    settings = load_settings(args.config, dry_run=dry_run)
    report = run(settings, force=getattr(args, "force", False))
    if args.json:
        print(report.model_dump_json(indent=2))
    elif report.error is not None and not report.targets:
        print(f"error: {report.error}", file=sys.stderr)
    else:
        print(render(report))
    return report.exit_code()


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sync",
        description="Keep Azure NSG allow-lists in step with Microsoft's service-tag ranges.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", required=True)

    def feed_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--source", help=SOURCE_HELP)
        p.add_argument("--cloud", choices=list(CLOUDS))
        p.add_argument("--config", type=Path, help="TOML or JSON file of settings")

    p = sub.add_parser("prefixes", help="aggregated prefixes of service tags")
    p.add_argument("tags", nargs="+", metavar="TAG")
    feed_args(p)
    p.add_argument("--family", choices=["v4", "v6", "both"], default="both")
    p.add_argument(
        "--max-entries",
        type=int,
        metavar="N",
        help="at most N blocks (shared by the families) covering every address with the "
        "fewest extra ones; the extra is reported on stderr",
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

    p = sub.add_parser("tags", help="list the tags of a release")
    feed_args(p)
    p.add_argument("--region", help="only tags of this region (exact, any case)")
    p.add_argument("--match", help="only tags whose name contains this text (any case)")
    p.set_defaults(handler=_cmd_tags)

    for name, text in (("plan", "show what would change, write nothing"), ("apply", "sync")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--config", type=Path, help="TOML or JSON file of settings")
        p.add_argument("--json", action="store_true", help="print the report as JSON")
        if name == "apply":
            p.add_argument("--force", action="store_true", help="override the safety guards")
        p.set_defaults(handler=_cmd_sync)

    p = sub.add_parser("demo", help="offline end-to-end run on the embedded emulator")
    p.add_argument("--data", type=Path, help="folder of bundled releases (default: tests/data)")
    p.set_defaults(handler=_cmd_demo)

    p = sub.add_parser("schema", help="print the JSON Schema of a config file (for editors)")
    p.set_defaults(handler=_cmd_schema)

    p = sub.add_parser(
        "emulator", help="run the local ARM emulator (alias of python -m armemu)", add_help=False
    )
    p.add_argument("emulator_args", nargs=argparse.REMAINDER)
    p.set_defaults(handler=_cmd_emulator)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except IpsyncError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, as other command line tools do.
        sys.stderr.close()
        return 0
