"""``python -m armemu``: serve the local ARM on 127.0.0.1 until interrupted.

The first line on stdout is ``{"endpoint": ..., "ca_bundle": ...}`` so a script can read where
to point its client and which CA to trust. ``--seed`` creates a sample set of resources first
(see armemu.seed) and lists it on stderr.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from armemu import seed
from armemu.server import Emulator
from armemu.throttle import Limits


def build_parser(prog: str = "python -m armemu") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description="A local Azure Resource Manager over HTTPS on 127.0.0.1."
    )
    parser.add_argument("--port", type=int, default=0, help="TCP port (default: any free port)")
    parser.add_argument("--state", type=Path, help="JSON file that keeps resources across restarts")
    parser.add_argument(
        "--load",
        type=Path,
        metavar="FILE",
        help="start from the resources of a --state file, keeping changes in memory only "
        "(a large fleet for benchmarks: saving it on every write would be the bottleneck)",
    )
    parser.add_argument(
        "--feed", type=Path, help="Service Tags release served by the serviceTags API"
    )
    parser.add_argument("--lro-polls", type=int, default=1, help="InProgress answers per operation")
    parser.add_argument(
        "--retry-after", type=int, default=0, help="Retry-After to send, whole seconds as ARM does"
    )
    parser.add_argument(
        "--slow",
        action="append",
        default=[],
        metavar="TYPE=POLLS",
        help="InProgress answers for one resource type, e.g. ipGroups=20 (firewall policy update)",
    )
    parser.add_argument(
        "--seed", action="store_true", help="create sample resources to plan and apply against"
    )
    parser.add_argument(
        "--throttle",
        action="store_true",
        help="emulate ARM's token buckets (reads 250 refilled 25/s, writes and deletes 200, 10/s) "
        "and Resource Graph's quota (15 queries every 5 s per user)",
    )
    parser.add_argument(
        "--bucket",
        action="append",
        default=[],
        metavar="OP=SIZE/RATE",
        help="with --throttle: another bucket size and refill per second for reads, writes or "
        "deletes, e.g. reads=10/1",
    )
    parser.add_argument(
        "--subscription",
        action="append",
        default=[],
        metavar="ID",
        help="a subscription GET /subscriptions lists while it is empty (repeatable)",
    )
    return parser


def _slow(values: list[str], parser: argparse.ArgumentParser) -> dict[str, int]:
    slow = {}
    for value in values:
        name, _, polls = value.partition("=")
        if not name or not polls.isdigit():
            parser.error(f"--slow takes TYPE=POLLS, not {value!r}")
        slow[name] = int(polls)
    return slow


def _limits(args: argparse.Namespace, parser: argparse.ArgumentParser) -> Limits | None:
    if not args.throttle:
        if args.bucket:
            parser.error("--bucket needs --throttle")
        return None
    sizes: dict[str, tuple[float, float]] = {}
    for value in args.bucket:
        operation, _, numbers = value.partition("=")
        size, _, rate = numbers.partition("/")
        try:
            if operation not in ("reads", "writes", "deletes"):
                raise ValueError(operation)
            sizes[operation] = (float(size), float(rate))
        except ValueError:
            parser.error(f"--bucket takes reads|writes|deletes=SIZE/RATE, not {value!r}")
    return Limits(**sizes)


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM ends the emulator as Ctrl-C does: it stops and removes its CA folder."""
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None, prog: str = "python -m armemu") -> int:
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    emulator = Emulator(
        port=args.port,
        state_file=args.state,
        load=args.load,
        feed=args.feed,
        lro_polls=args.lro_polls,
        retry_after=args.retry_after,
        slow=_slow(args.slow, parser),
        subscriptions=tuple(args.subscription),
        throttle=_limits(args, parser),
    ).start()
    if args.seed:
        created = seed.seed(emulator.store)
        print(f"seeded subscription {seed.SUBSCRIPTION}:", *created, sep="\n  ", file=sys.stderr)
    print(json.dumps({"endpoint": emulator.endpoint, "ca_bundle": str(emulator.ca_bundle)}))
    sys.stdout.flush()
    try:
        emulator.serve_forever()
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
