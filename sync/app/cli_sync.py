"""``plan`` and ``apply`` on the command line: their options, and a run, a saved plan or the
application of one (:mod:`sync.app.saved_plan`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from sync.errors import SettingsError

if TYPE_CHECKING:
    from sync.report import Report
    from sync.settings import Settings

FORCE_HELP = "override the safety guards (removal, erosion, rollback, empty tag)"


def add_arguments(parser: argparse.ArgumentParser, command: str) -> None:
    """The options of ``plan`` or ``apply`` beyond the common ones."""
    if command == "apply":
        parser.add_argument(
            "plan_file",
            nargs="?",
            type=Path,
            metavar="FILE",
            help="a plan saved with plan --out: write exactly it, or nothing when a resource, "
            "a release or a setting changed since",
        )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--full", action="store_true", help="list every prefix of each change")
    parser.add_argument(
        "--force",
        action="store_true",
        help=FORCE_HELP if command == "apply" else f"plan as apply --force would: {FORCE_HELP}",
    )
    if command == "plan":
        parser.add_argument(
            "--out",
            type=Path,
            metavar="FILE",
            help="also save the plan to FILE (JSON), for apply FILE to write exactly it",
        )


def sync_command(args: argparse.Namespace, settings: Settings, prog: str) -> int:
    """Run ``plan`` or ``apply`` as the options say, print the report; the exit code."""
    from sync.app import saved_plan
    from sync.engine import run
    from sync.targets import check_explicit_targets

    check_explicit_targets(settings)
    saved = getattr(args, "plan_file", None)
    out: Path | None = getattr(args, "out", None)
    note = None
    if saved is not None:
        if args.force:
            raise SettingsError(
                f"apply {saved}: --force goes with plan (plan --force --out FILE): a saved plan "
                "keeps the guards' decisions it was made with"
            )
        report = saved_plan.apply(settings, saved)
    elif out is not None:
        report, kept = saved_plan.save(settings, out, force=args.force)
        note = (
            f"Saved the plan to {out}; to write exactly it: {prog} apply {out}"
            if kept
            else f"plan not saved to {out}: the plan failed"
        )
    else:
        report = run(settings, force=args.force)
    _print(report, args)
    if note is not None:
        print(note, file=sys.stderr if args.json or report.exit_code() == 1 else sys.stdout)
    return report.exit_code()


def _print(report: Report, args: argparse.Namespace) -> None:
    from sync.app.render import render

    if args.json:
        print(report.model_dump_json(indent=2))
    if report.error is not None and (args.json or not report.targets):
        print(f"error: {report.error}", file=sys.stderr)
    elif not args.json:
        print(render(report, full=args.full))
